"""Discarding an upload that was never staged: its file is removed, its row stays (status `discarded`) for the
audit trail."""

from functools import partial

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from onboarding.errors import InvalidTransition
from onboarding.models import AuditAction, Upload, UploadStatus
from onboarding.permissions import PERM_REVIEW, PERM_STAGE_UPLOAD
from onboarding.services.audit import audit_event_write

# Not staged yet: received, waiting for its mapping, or queued for a staging that has not started.
DISCARDABLE = (UploadStatus.RECEIVED, UploadStatus.MAPPING, UploadStatus.QUEUED)


def upload_may_discard(user, upload: Upload) -> bool:
    """Its uploader (who may still stage files) or an officer, while it is not staged."""
    if upload.status not in DISCARDABLE:
        return False
    return user.has_perm(PERM_REVIEW) or (user.pk == upload.created_by_id and user.has_perm(PERM_STAGE_UPLOAD))


def upload_discard(*, actor, upload_id: int) -> Upload:
    """Discard a pending upload: status `discarded`, its file removed once committed, `upload.discarded` written.
    Raises PermissionDenied (neither its uploader nor an officer), InvalidTransition once staging has started.
    A queued upload's staging, if it comes, finds it no longer queued and does nothing."""
    with transaction.atomic(durable=True):
        upload = Upload.objects.select_for_update(no_key=True).get(pk=upload_id)
        if upload.status not in DISCARDABLE:
            raise InvalidTransition(
                _("This upload is %(status)s; only an upload that is not staged yet can be discarded.")
                % {"status": upload.get_status_display().lower()}
            )
        if not upload_may_discard(actor, upload):
            raise PermissionDenied
        previous, stored = upload.status, upload.file.name
        upload.status, upload.finished_at, upload.file = UploadStatus.DISCARDED, timezone.now(), ""
        upload.save(update_fields=["status", "finished_at", "file"])
        audit_event_write(
            actor=actor,
            action=AuditAction.UPLOAD_DISCARDED,
            upload_id=upload.pk,
            target_type="upload",
            target_id=str(upload.pk),
            changes={
                "status": [previous, UploadStatus.DISCARDED],
                "name": upload.original_name,
                "sha256": upload.sha256,
                "rows": upload.row_count,
            },
        )
        if stored:
            # The bytes go only once the discard is committed: a rolled-back discard keeps its file.
            transaction.on_commit(partial(upload.file.storage.delete, stored))
    return upload
