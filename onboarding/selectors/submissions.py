"""Read queries for the submission pages."""

from django.db.models import Count, Q, QuerySet

from onboarding.models import ClientRecord, RecordStatus, Submission, SubmissionBatch, Upload


def submission_list() -> QuerySet[Submission]:
    return Submission.objects.select_related("created_by").order_by("-created_at", "-id")


def submission_get(*, pk: int) -> Submission:
    return Submission.objects.select_related("created_by").get(pk=pk)


def submission_by_token(token: str) -> Submission | None:
    """The submission a form with this one-time token already started (a double click, a resent form)."""
    return Submission.objects.filter(scope__token=token).first() if token else None


def submission_batches(submission: Submission) -> QuerySet[SubmissionBatch]:
    return submission.batches.order_by("index")


def submission_records(submission: Submission, *, status: str | None = None) -> QuerySet[ClientRecord]:
    records = ClientRecord.objects.filter(batch__submission=submission).order_by("pk")
    if status in RecordStatus.values:
        records = records.filter(status=status)
    return records.only(
        "pk",
        "uuid",
        "name",
        "middle_name",
        "last_name",
        "external_id",
        "status",
        "artu_id",
        "artu_created_at",
        "artu_messages",
        "client_type",
    )


def uploads_with_approved_records(limit: int = 50) -> list[tuple[Upload, int]]:
    """Recent uploads that have approved records not yet submitted, with that count (one query)."""
    uploads = (
        Upload.objects.annotate(ready=Count("records", filter=Q(records__status=RecordStatus.APPROVED)))
        .filter(ready__gt=0)
        .order_by("-created_at")[:limit]
    )
    return [(upload, upload.ready) for upload in uploads]
