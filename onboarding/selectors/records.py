"""Read queries used by views and services; no writes."""

from django.db.models import Count, QuerySet

from onboarding.models import AuditEvent, ClientRecord, RecordStatus


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
