"""Read queries for the submission pages, and what a record's Artu messages say in the reader's language."""

from typing import Any

from django.db.models import Case, CharField, Count, Exists, OuterRef, Q, QuerySet, Subquery, Value, When
from django.urls import reverse

from onboarding.models import (
    NOT_SENT_MESSAGE,
    SIBLING_REFUSED_MESSAGE,
    ArtuRecord,
    ClientRecord,
    RecordOutcome,
    RecordStatus,
    SendCause,
    Submission,
    SubmissionBatch,
    Upload,
)
from onboarding.validation import FIELD_LABELS

# Statuses a record goes back to when a submission does not create it: approved, or sent to test when the submission
# was to live (test, then live).
_BACK = (RecordStatus.APPROVED, RecordStatus.SENT_TO_TEST)
# Held back with a refused record of its batch when its first message names that record; any other record back in
# `_BACK` never reached Artu (or was not answered).
_HELD_BACK = Q(status__in=_BACK, artu_messages__0__has_key="refused_record")
# Approved again with Artu's refusal still beside it (a path in the item): refused, corrected and approved since.
_CORRECTED = Q(status=RecordStatus.APPROVED, artu_messages__0__has_key="path")


# The page's "Failed" tab: every record the submission did not create, whatever the reason.
FAILED = "failed"
FAILED_OUTCOMES = (RecordOutcome.REFUSED, RecordOutcome.NOT_CREATED, RecordOutcome.NOT_SENT)


def record_outcome(submission_id: int | None = None) -> Case:
    """The `RecordOutcome` of a record in a submission, as an annotation ("" for a record changed since): created when
    that submission created it (its `ArtuRecord` row, which stays when the record moves on from test to live). The
    submission is `submission_id`, or else the one of the record's latest batch."""
    by = OuterRef("batch__submission_id") if submission_id is None else submission_id
    created = ArtuRecord.objects.filter(record=OuterRef("pk"), submission_id=by)
    return Case(
        When(Exists(created), then=Value(RecordOutcome.CREATED)),
        When(status=RecordStatus.FAILED, then=Value(RecordOutcome.REFUSED)),
        When(status=RecordStatus.SUBMITTING, then=Value(RecordOutcome.WAITING)),
        When(_HELD_BACK, then=Value(RecordOutcome.NOT_CREATED)),
        When(_CORRECTED, then=Value("")),
        When(status__in=_BACK, then=Value(RecordOutcome.NOT_SENT)),
        default=Value(""),
        output_field=CharField(),
    )


def _submission_record_set(submission_id: int) -> QuerySet[ClientRecord]:
    """The records a submission carries or created (a record sent to test, then to live, is in both), each with its
    `outcome` in that submission."""
    batches = SubmissionBatch.objects.filter(submission_id=submission_id).values("pk")
    created = ArtuRecord.objects.filter(submission_id=submission_id).values("record_id")
    records = ClientRecord.objects.filter(Q(batch__in=batches) | Q(pk__in=created))
    return records.annotate(outcome=record_outcome(submission_id))


def submission_outcome_records(submission_id: int, outcome: str) -> QuerySet[ClientRecord]:
    """The records of a submission with this outcome (unordered, for a count or a new submission's claim)."""
    return _submission_record_set(submission_id).filter(outcome=outcome)


def submission_outcome_counts(submission: Submission) -> dict[str, int]:
    """How many of the submission's records have each `RecordOutcome` (every one present, 0 when none), and
    `"elsewhere"`: records it took that are in another submission now (resubmitted), or changed since. One query."""
    rows = _submission_record_set(submission.pk).values_list("outcome").annotate(n=Count("pk")).order_by()
    counts = dict.fromkeys(RecordOutcome.values, 0) | dict(rows.values_list("outcome", "n"))
    here = sum(n for code, n in counts.items() if code in RecordOutcome.values)
    counts["elsewhere"] = max(0, submission.record_count - here)
    counts.pop("", None)
    return counts


def submission_resubmissions(submission: Submission) -> QuerySet[Submission]:
    """The submissions started from this one's records not created (its retry buttons)."""
    return Submission.objects.filter(scope__from_submission=submission.pk).order_by("created_at", "pk")


def artu_message_text(message: dict[str, Any]) -> str:
    """One of a record's Artu messages as a sentence in the reader's language (the results file, the history)."""
    if message.get("refused_record"):
        return str(SIBLING_REFUSED_MESSAGE % {"name": message.get("refused_name") or f"#{message['refused_record']}"})
    if message.get("cause") in SendCause.values:
        label, detail = SendCause(message["cause"]).label, message.get("detail")
        return str(NOT_SENT_MESSAGE % {"error": f"{label} ({detail})" if detail else label})
    text = str(message.get("message", ""))
    return f"{message['path']}: {text}" if message.get("path") else text


def artu_messages_shown(messages: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """A record's Artu messages as the pages show them (components/artu_messages.html): which kind of message, its
    sentence in the reader's language, and for Artu's own messages the field they concern by its label."""
    shown = []
    for message in messages or []:
        if message.get("refused_record"):
            shown.append(
                {
                    "kind": RecordOutcome.NOT_CREATED,
                    "refused_url": reverse("records:detail", args=[message["refused_record"]]),
                    "refused_name": message.get("refused_name") or f"#{message['refused_record']}",
                    "refused_others": message.get("refused_others") or 0,
                }
            )
        elif message.get("outcome") == RecordOutcome.NOT_SENT or message.get("cause"):
            shown.append({"kind": RecordOutcome.NOT_SENT, "text": artu_message_text(message)})
        else:
            field = message.get("field") or ""
            label = FIELD_LABELS.get(field, "")
            shown.append(
                {
                    "kind": RecordOutcome.REFUSED,
                    "label": str(label) if label else "",
                    "path": message.get("path") or "",
                    "text": str(message.get("message", "")),
                }
            )
    return shown


def submission_list() -> QuerySet[Submission]:
    return Submission.objects.select_related("created_by").order_by("-created_at", "-id")


def submission_get(*, pk: int) -> Submission:
    return Submission.objects.select_related("created_by").get(pk=pk)


def submission_by_token(token: str) -> Submission | None:
    """The submission a form with this one-time token already started (a double click, a resent form)."""
    return Submission.objects.filter(scope__token=token).first() if token else None


def submission_batches(submission: Submission) -> QuerySet[SubmissionBatch]:
    return submission.batches.order_by("index")


def submission_records(submission: Submission, *, outcome: str | None = None) -> QuerySet[ClientRecord]:
    """The submission's records in the order it took them, each with its `outcome`, and `artu_id` and
    `artu_created_at` in the submission's environment; only those of `outcome`."""
    records = _submission_record_set(submission.pk).order_by("pk")
    if outcome in RecordOutcome.values:
        records = records.filter(outcome=outcome)
    elif outcome == FAILED:
        records = records.filter(outcome__in=FAILED_OUTCOMES)
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
