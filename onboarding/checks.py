"""Deploy checks (`manage.py check --deploy`) that refuse a production set-up still pointed at the sandbox.

They are errors, not warnings: gunicorn's start hook (deploy/gunicorn.conf.py) and the worker unit run
`check --deploy --fail-level ERROR` first, so a server with DEBUG off does not start with the sandbox's key,
a key equal to the sandbox's token, or Artu over plain HTTP (the key would travel in clear).
"""

from django.conf import settings
from django.core.checks import Error, Tags, register

# The committed default of ARTU_API_KEY and ARTU_SANDBOX_TOKEN: known to everyone who reads the repository.
BUILT_IN_SANDBOX_KEY = "sk_test_sandbox"


@register(Tags.security, deploy=True)
def check_artu_settings(app_configs, **kwargs) -> list[Error]:
    if settings.DEBUG:
        return []
    errors = []
    if settings.ARTU_API_KEY == BUILT_IN_SANDBOX_KEY:
        errors.append(
            Error(
                "ARTU_API_KEY is the built-in sandbox key.",
                hint="Set ARTU_API_KEY to the key Artu issued you, in the environment file.",
                id="onboarding.E001",
            )
        )
    elif settings.ARTU_API_KEY == settings.ARTU_SANDBOX_TOKEN:
        errors.append(
            Error(
                "ARTU_API_KEY equals ARTU_SANDBOX_TOKEN: the app is set up to talk to a sandbox.",
                hint="Set ARTU_API_KEY to the key Artu issued you; the sandbox does not run in production.",
                id="onboarding.E003",
            )
        )
    if not settings.ARTU_API_URL.lower().startswith("https://"):
        errors.append(
            Error(
                "ARTU_API_URL does not start with https://: the API key would be sent in clear.",
                hint="Set ARTU_API_URL to Artu's https:// address, e.g. https://api.artu.ai.",
                id="onboarding.E002",
            )
        )
    return errors
