"""What a user chose for their own screens: the review queue's columns."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ReviewQueueColumns(models.Model):
    """The queue columns one user hid. No row: the defaults (onboarding.forms_review.QUEUE_COLUMNS)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="+", verbose_name=_("user")
    )
    hidden = models.JSONField(_("hidden columns"), default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("review queue columns")
        verbose_name_plural = _("review queue columns")

    def __str__(self) -> str:
        return f"{self.user_id}: {', '.join(self.hidden) or '-'}"
