from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OnboardingConfig(AppConfig):
    name = "onboarding"
    verbose_name = _("Onboarding review desk")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Deploy checks; the idle clock started at sign-in; sign-in/out and role changes into the audit trail.
        from onboarding import checks, middleware, signals  # noqa: F401
