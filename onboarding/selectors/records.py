"""Read queries used by views and services; no writes."""

from django.contrib.auth import get_user_model
from django.db.models import Count, Exists, OuterRef, QuerySet

from onboarding.models import AuditEvent, ClientRecord, RecordStatus, Upload, UploadStatus

RECENT_UPLOADS = 50


def record_list(*, status: str | None = None) -> QuerySet[ClientRecord]:
    """Records newest first, with the people who staged and last changed them."""
    qs = ClientRecord.objects.select_related("created_by", "updated_by")
    if status in RecordStatus.values:
        qs = qs.filter(status=status)
    return qs


def record_get(*, pk: int) -> ClientRecord:
    """One record with its people; raises ClientRecord.DoesNotExist."""
    return ClientRecord.objects.select_related("created_by", "updated_by").get(pk=pk)


def record_status_counts() -> dict[str, int]:
    """{status: count} for every status, zeros included, in one query."""
    counts = dict(ClientRecord.objects.values_list("status").annotate(n=Count("id")).order_by())
    return {s: counts.get(s, 0) for s in RecordStatus.values}


def record_history(*, record_id: int) -> QuerySet[AuditEvent]:
    """The record's audit events, newest first."""
    return AuditEvent.objects.filter(record_id=record_id).select_related("actor").order_by("-seq")


def record_creator_list() -> QuerySet:
    """The users who staged at least one record, by user name: one probe of the created_by index per user, never a
    pass over the records."""
    staged = ClientRecord.objects.filter(created_by=OuterRef("pk"))
    users = get_user_model().objects.filter(Exists(staged))
    return users.only("username", "first_name", "last_name").order_by("username")


def record_upload_list(
    *, limit: int = RECENT_UPLOADS, including: int | None = None, staged_only: bool = True
) -> list[Upload]:
    """The latest uploads (`staged_only`: those that staged records), newest first, plus upload `including`
    wherever it falls."""
    fields = ("original_name", "created_at")
    latest = Upload.objects.only(*fields).order_by("-created_at", "-pk")
    if staged_only:
        latest = latest.filter(status__in=(UploadStatus.STAGING, UploadStatus.STAGED))
    uploads = list(latest[:limit])
    if including is not None and all(u.pk != including for u in uploads):
        uploads += Upload.objects.filter(pk=including).only(*fields)
    return uploads
