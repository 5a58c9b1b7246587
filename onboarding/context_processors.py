from django.http import HttpRequest

from onboarding.permissions import (
    PERM_ADD_RECORD,
    PERM_STAGE_UPLOAD,
    PERM_SUBMIT,
    PERM_VIEW_AUDIT,
    PERM_VIEW_RECORDS,
    PERM_VIEW_SUBMISSIONS,
    PERM_VIEW_UPLOADS,
)


def navigation(request: HttpRequest) -> dict:
    """What the signed-in user may open, for the navigation bar."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "nav": {
            "records": user.has_perm(PERM_VIEW_RECORDS),
            "add_record": user.has_perm(PERM_ADD_RECORD),
            "uploads": user.has_perm(PERM_STAGE_UPLOAD) or user.has_perm(PERM_VIEW_UPLOADS),
            "review": user.has_perm(PERM_VIEW_RECORDS),
            "submissions": user.has_perm(PERM_SUBMIT) or user.has_perm(PERM_VIEW_SUBMISSIONS),
            "audit": user.has_perm(PERM_VIEW_AUDIT),
            "admin": user.is_staff,
        }
    }
