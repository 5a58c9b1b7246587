"""Roles are Django groups with real permissions; views check permissions, never group names."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from onboarding.models import ArtuEnvironment


class Role(models.TextChoices):
    DATA_ENTRY = "Data entry", _("Data entry")
    OFFICER = "Compliance officer", _("Compliance officer")
    AUDITOR = "Auditor", _("Auditor")
    LIVE_SUBMITTER = "Submit to live", _("Submit to live")


# Permission codenames (all in the `onboarding` app) granted to each role's group.
ROLE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    Role.DATA_ENTRY: ("view_clientrecord", "add_clientrecord", "change_clientrecord", "view_upload", "stage_upload"),
    Role.OFFICER: (
        "view_clientrecord",
        "add_clientrecord",
        "change_clientrecord",
        "review_clientrecord",
        "submit_clientrecord",
        "view_upload",
        "stage_upload",
        "view_submission",
    ),
    Role.AUDITOR: (
        "view_clientrecord",
        "view_upload",
        "view_submission",
        "view_auditevent",
        "view_auditverification",
    ),
    Role.LIVE_SUBMITTER: ("submit_live_clientrecord",),
}

PERM_VIEW_RECORDS = "onboarding.view_clientrecord"
PERM_ADD_RECORD = "onboarding.add_clientrecord"
PERM_CHANGE_RECORD = "onboarding.change_clientrecord"
PERM_REVIEW = "onboarding.review_clientrecord"
PERM_SUBMIT = "onboarding.submit_clientrecord"
PERM_SUBMIT_LIVE = "onboarding.submit_live_clientrecord"
PERM_VIEW_AUDIT = "onboarding.view_auditevent"
PERM_VIEW_UPLOADS = "onboarding.view_upload"
PERM_STAGE_UPLOAD = "onboarding.stage_upload"
PERM_VIEW_SUBMISSIONS = "onboarding.view_submission"


def may_submit_to(user, environment: str) -> bool:
    """Whether `user` may start, resume or retry a submission to Artu's `environment`: live (real regulatory
    records) needs the "Submit to live" role on top of the submit permission."""
    if not user.has_perm(PERM_SUBMIT):
        return False
    return environment != ArtuEnvironment.LIVE or holds_live_role(user)


def holds_live_role(user) -> bool:
    """Whether the user was given "Submit to live" (through a group or directly). Being a superuser is not enough:
    creating real regulatory records is a role someone grants on purpose, not a side effect of administering users."""
    if not user.is_active:
        return False
    app_label, codename = PERM_SUBMIT_LIVE.split(".")
    granted = {"codename": codename, "content_type__app_label": app_label}
    return (
        user.user_permissions.filter(**granted).exists()
        or user.groups.filter(**{f"permissions__{key}": value for key, value in granted.items()}).exists()
    )
