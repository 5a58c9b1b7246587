from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OnboardingConfig(AppConfig):
    name = "onboarding"
    verbose_name = _("Onboarding review desk")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from onboarding import checks, signals  # noqa: F401  (deploy checks; auth sign-in/out into the audit trail)
