"""Read queries for the submission pages."""

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery

from onboarding.models import ArtuRecord, ClientRecord, RecordStatus, Submission, SubmissionBatch, Upload


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
    """The records the submission carries or created (a record sent to test, then to live, is in both), with
    `artu_id` and `artu_created_at` in the submission's environment."""
    batches = SubmissionBatch.objects.filter(submission=submission).values("pk")
    created = ArtuRecord.objects.filter(submission=submission).values("record_id")
    records = ClientRecord.objects.filter(Q(batch__in=batches) | Q(pk__in=created)).order_by("pk")
    if status in RecordStatus.values:
        records = records.filter(status=status)
    at_artu = ArtuRecord.objects.filter(record=OuterRef("pk"), environment=submission.environment)
    records = records.annotate(
        artu_id=Subquery(at_artu.values("artu_id")[:1]),
        artu_created_at=Subquery(at_artu.values("artu_created_at")[:1]),
    )
    return records.only(
        "pk",
        "uuid",
        "name",
        "middle_name",
        "last_name",
        "external_id",
        "status",
        "artu_messages",
        "client_type",
    )


def uploads_with_approved_records(limit: int = 50) -> list[tuple[Upload, int]]:
    """Recent uploads that have records ready to send (approved, or sent to test and waiting for live), with that
    count (one query)."""
    ready = Q(records__status__in=(RecordStatus.APPROVED, RecordStatus.SENT_TO_TEST))
    uploads = (
        Upload.objects.annotate(ready=Count("records", filter=ready))
        .filter(ready__gt=0)
        .order_by("-created_at")[:limit]
    )
    return [(upload, upload.ready) for upload in uploads]
