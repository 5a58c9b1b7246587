"""Outcome: what Artu's answer (or its refusal) makes of each record of a batch, written in one transaction with
its audit events, and the batch's state as long as this worker holds it; the submission's counts and its end."""

import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _

from onboarding.artu.client import (
    ArtuAmbiguous,
    ArtuAuthError,
    ArtuConflict,
    ArtuError,
    ArtuRateLimited,
    ArtuRequestRefused,
    ArtuServerError,
    ArtuUnavailable,
)
from onboarding.artu.payload import PAYLOAD_FIELDS, record_field
from onboarding.artu.wire import BatchResult, Issue, Outcome
from onboarding.models import (
    NOT_SENT_MESSAGE,
    SIBLING_REFUSED_MESSAGE,
    ArtuEnvironment,
    ArtuRecord,
    AuditAction,
    BatchState,
    ClientRecord,
    RecordStatus,
    SendCause,
    Submission,
    SubmissionBatch,
    SubmissionStatus,
)
from onboarding.services.audit import EventSpec, audit_events_write, json_safe
from onboarding.services.bulk import objects_update, rows_insert
from onboarding.services.submissions.start import CREATED_STATUS, _submission_event, _writing
from onboarding.validation import Problem, Severity

FINAL_BATCH_STATES = (BatchState.DONE, BatchState.GAVE_UP)
ARTU_REFUSED = "artu_refused"  # the code of the problem a record gets at the field Artu refused
# A record's messages say which kind of "not created" it is, for the pages to group and word in the reader's language.
NOT_SENT, NOT_CREATED = "not_sent", "not_created"

OUTCOME_FIELDS = ("status", "artu_messages")  # Artu's id and answer go to ArtuRecord, one row per environment
REFUSED_FIELDS = ("status", "artu_messages")
FAILED_FIELDS = (*REFUSED_FIELDS, "problems", "error_count")


class Waiting:
    """A record waiting in a batch: the fields its Artu item is built from, then its outcome. Lighter than a
    model instance, which matters at 250 records a batch."""

    __slots__ = (*PAYLOAD_FIELDS, *OUTCOME_FIELDS, "problems", "error_count")

    def __init__(self, values) -> None:
        for name, value in zip(PAYLOAD_FIELDS, values, strict=True):
            setattr(self, name, value)

    @property
    def pk(self) -> int:
        return self.id


def _waiting_records(batch: SubmissionBatch) -> list[Waiting]:
    rows = ClientRecord.objects.filter(batch=batch, status=RecordStatus.SUBMITTING).order_by("pk")
    return [Waiting(values) for values in rows.values_list(*PAYLOAD_FIELDS)]


def _record_created(record: Waiting, client: dict[str, Any], submission: Submission, now) -> dict[str, Any]:
    """The record created at Artu in the submission's environment: its new status, and its ArtuRecord row."""
    created = client.get("createdAt")
    record.status = CREATED_STATUS[submission.environment]
    record.artu_messages = []
    return {
        "record_id": record.pk,
        "environment": submission.environment,
        "artu_id": client.get("id"),
        "artu_created_at": parse_datetime(created) if isinstance(created, str) else None,
        "response": client,
        "submission_id": submission.pk,
        "recorded_at": now,
    }


def _returned_statuses(submission: Submission, pks) -> dict[int, str]:
    """The status each of these records goes back to when not created: approved, or, sent back from live, "sent to
    test" for those test holds (they stay eligible for live)."""
    if submission.environment != ArtuEnvironment.LIVE or not pks:
        return {}
    in_test = ArtuRecord.objects.filter(record_id__in=list(pks), environment=ArtuEnvironment.TEST)
    return dict.fromkeys(in_test.values_list("record_id", flat=True), RecordStatus.SENT_TO_TEST)


def _issue_message(issue: Issue) -> dict[str, Any]:
    """One of Artu's issues as a record keeps it: the message, Artu's path in the item and our field at that path."""
    return {"message": issue.message, "path": issue.path, "code": issue.code, "field": record_field(issue.path)}


def _issues_as_messages(issues) -> list[dict[str, Any]]:
    return [_issue_message(i) for i in issues]


def _sibling_message(refused: list[Waiting]) -> list[dict[str, Any]]:
    """What a record of a refused all-or-nothing batch says when Artu refused others: the first of them by name
    (the record page links to it) and how many more."""
    first = refused[0]
    name = ClientRecord.display_name.fget(first) or str(first.uuid)
    message = str(SIBLING_REFUSED_MESSAGE % {"name": name})
    others = len(refused) - 1
    return [
        {
            "outcome": NOT_CREATED,
            "message": message,
            "refused_record": first.pk,
            "refused_name": name,
            "refused_others": others,
        }
    ]


def error_cause(exc: ArtuError) -> str:
    """The `SendCause` code of an error from Artu (or from reaching it): what the pages say, in the reader's words."""
    for kind, cause in (
        (ArtuUnavailable, SendCause.UNREACHABLE),
        (ArtuAmbiguous, SendCause.NO_ANSWER),
        (ArtuRateLimited, SendCause.RATE_LIMITED),
        (ArtuServerError, SendCause.SERVER_ERROR),
        ((ArtuRequestRefused, ArtuConflict), SendCause.REFUSED),
    ):
        if isinstance(exc, kind):
            return cause
    if isinstance(exc, ArtuAuthError):
        return SendCause.KEY_REFUSED if exc.status == 401 else SendCause.KEY_FORBIDDEN
    return SendCause.OTHER


def _not_sent_message(exc: ArtuError) -> list[dict[str, Any]]:
    """What a record Artu never received (or refused to take in at all) says: the cause's code, shown in the reader's
    language, with Artu's own words when it answered (a refused key: which permission it lacks), and that wording."""
    cause, detail = error_cause(exc), exc.message if exc.status else ""
    error = f"{SendCause(cause).label} ({detail})" if detail else SendCause(cause).label
    return [
        {"outcome": NOT_SENT, "cause": cause, "detail": detail, "message": str(NOT_SENT_MESSAGE % {"error": error})}
    ]


def _failure_action(status: str, messages: list[dict[str, Any]]) -> str:
    """The audit action of a record not created: refused by Artu, held back with a refused one, or never sent."""
    if status == RecordStatus.FAILED:
        return AuditAction.RECORD_SUBMISSION_FAILED
    return (
        AuditAction.RECORD_NOT_CREATED
        if messages and messages[0].get("refused_record")
        else AuditAction.RECORD_NOT_SENT
    )


def _with_artu_problems(record: Waiting, problems: list[dict[str, Any]], messages: list[dict[str, Any]]) -> None:
    """The record's problems with Artu's messages at their fields in place of the previous refusal's, so the review
    queue and the form show them where they belong until the record is changed (and validated again)."""
    kept = [p for p in problems if p.get("code") != ARTU_REFUSED]
    found = [
        Problem(m["field"], ARTU_REFUSED, params={"message": m["message"]}).as_dict()
        for m in messages
        if m.get("field")
    ]
    record.problems = kept + found
    record.error_count = sum(1 for p in record.problems if p.get("severity") == Severity.ERROR)


def _write_outcome(
    batch: SubmissionBatch,
    loaded: list[Waiting],
    *,
    created: dict[int, dict],
    failed: dict[int, list],
    returned: dict[int, list],
    state: str,
    summary: dict[str, Any],
    response: Any = None,
    error: str = "",
    cause: str = "",
    attempts: int | None = None,
    next_attempt_at: datetime.datetime | None = None,
) -> None:
    """One transaction: the records' new state, the batch's, the submission's counters and every audit event.

    Everything that does not depend on the database's state is built before the write transaction starts, so
    the writer (one at a time on SQLite; the audit chain's head on PostgreSQL) is held only for the writes.
    `BatchTakenOver` once committed if another worker holds the batch now (the records' outcome is kept)."""
    submission = batch.submission
    by_pk = {r.pk: r for r in loaded}
    events = [
        EventSpec(
            action=AuditAction.BATCH_RESULT,
            submission_id=submission.pk,
            target_type="batch",
            target_id=str(batch.pk),
            changes=summary,
        )
    ]
    recorded_at = timezone.now()
    held_rows = {pk: _record_created(by_pk[pk], client, submission, recorded_at) for pk, client in created.items()}
    for pk, row in held_rows.items():
        changes = {
            "artu_id": str(row["artu_id"]),
            "artu_created_at": created[pk].get("createdAt"),
            "environment": submission.environment,
            "status": [str(RecordStatus.SUBMITTING), str(by_pk[pk].status)],
        }
        events.append(
            EventSpec(action=AuditAction.RECORD_SUBMITTED, record_id=pk, submission_id=submission.pk, changes=changes)
        )
    # Refused: failed, to be corrected. Not created but not refused (atomic sibling, key refused): approved
    # again (or sent to test), claimable, and still listed in this submission's results.
    back_to = _returned_statuses(submission, returned)
    for outcome, status in ((failed, RecordStatus.FAILED), (returned, RecordStatus.APPROVED)):
        for pk, messages in outcome.items():
            record = by_pk[pk]
            record.status, record.artu_messages = back_to.get(pk, status) if outcome is returned else status, messages
            events.append(
                EventSpec(
                    action=_failure_action(status, messages),
                    record_id=pk,
                    submission_id=submission.pk,
                    changes={"status": [str(RecordStatus.SUBMITTING), str(record.status)], "messages": messages},
                )
            )
    # A refused record is waiting in this batch, so nobody edits its problems meanwhile (only approved ones are sent).
    for pk, problems in ClientRecord.objects.filter(pk__in=list(failed)).values_list("pk", "problems"):
        _with_artu_problems(by_pk[pk], problems, failed[pk])
    # Created records take Artu's answer; the others only their status, messages and problems.
    updates = (
        objects_update(ClientRecord, [by_pk[pk] for pk in created], OUTCOME_FIELDS),
        objects_update(ClientRecord, [by_pk[pk] for pk in failed], FAILED_FIELDS),
        objects_update(ClientRecord, [by_pk[pk] for pk in returned], REFUSED_FIELDS),
    )
    batch_fields = {
        "state": state,
        "response": json_safe(response),
        "last_error": error[:2000],
        "cause": cause,
        **({} if attempts is None else {"attempts": attempts}),
    }
    with _writing():
        # Only records still waiting in this batch change: another worker may have settled some meanwhile.
        waiting = {"batch_id": batch.pk, "status": RecordStatus.SUBMITTING}
        changed = set().union(*(update.run(where=waiting) for update in updates))
        # Only the records this write moved out of "submitting": one row per record and environment, whatever the
        # number of answers or lookups that found it.
        rows_insert(ArtuRecord, [row for pk, row in held_rows.items() if pk in changed])
        now = timezone.now()
        counters = {
            "created_count": F("created_count") + sum(1 for pk in created if pk in changed),
            "failed_count": F("failed_count") + sum(1 for pk in failed if pk in changed),
            "updated_at": now,
        }
        # The records' outcome is kept whoever holds the batch; its state only by the worker holding it.
        held = _held(batch).update(**batch_fields, **counters, claimed_at=now, next_attempt_at=next_attempt_at)
        if not held:
            SubmissionBatch.objects.filter(pk=batch.pk).update(**counters)
        audit_events_write(actor=None, events=[e for e in events if e.record_id is None or e.record_id in changed])
    if not held:
        raise BatchTakenOver(batch.pk)
    batch.state, batch.claimed_at = state, now


class BatchTakenOver(Exception):
    """Another worker holds the batch now: this one's lease ran out, or it waited past the retry time and the other
    claimed the batch first. This worker stops there, so that only one of them ever sends the batch's records."""


def _held(batch: SubmissionBatch):
    """The batch, as long as this worker still holds it: `claimed_at` is the hold's token, renewed on every write."""
    return SubmissionBatch.objects.filter(pk=batch.pk, claimed_at=batch.claimed_at)


def _hold_renew(batch: SubmissionBatch) -> None:
    """Show that this worker still holds the batch (a long reconciliation); `BatchTakenOver` if another took it."""
    now = timezone.now()
    with _writing():
        held = _held(batch).update(claimed_at=now)
    if not held:
        raise BatchTakenOver(batch.pk)
    batch.claimed_at = now


def _set_state(
    batch: SubmissionBatch, state: str, *, error: str = "", cause: str = "", delay: float = 0.0, attempts=None
) -> None:
    """Move the batch this worker holds to `state`, renewing the hold; `BatchTakenOver` if another worker took it."""
    now = timezone.now()
    fields = {
        "state": state,
        "last_error": error[:2000],
        "cause": cause,
        "claimed_at": now,
        "next_attempt_at": now + datetime.timedelta(seconds=delay),
    }
    if attempts is not None:
        fields["attempts"] = attempts
    with _writing():
        held = _held(batch).update(**fields)
    if not held:
        raise BatchTakenOver(batch.pk)
    batch.state, batch.claimed_at = state, now


def _apply_result(batch: SubmissionBatch, records: list[Waiting], result: BatchResult, attempt: int) -> list[Waiting]:
    """Store created and failed items; return the records whose fate the answer leaves unknown."""
    created, failed, returned, unknown = {}, {}, {}, []
    refused = [record for item, record in zip(result.items, records, strict=True) if item.issues]
    for item, record in zip(result.items, records, strict=True):
        if item.outcome == Outcome.CREATED:
            created[record.pk] = item.client
        elif item.outcome == Outcome.FAILED:
            messages = _issues_as_messages(item.issues)
            if batch.submission.atomic and not messages and refused:
                returned[record.pk] = _sibling_message(refused)
            else:
                failed[record.pk] = messages or [{"message": str(_("Artu refused the record without a message."))}]
        else:
            unknown.append(record)
    state = BatchState.RECONCILING if unknown else BatchState.DONE
    summary = {
        "attempt": attempt,
        "atomic": result.atomic,
        "created": len(created),
        "failed": len(failed),
        "returned": len(returned),
        "unknown": len(unknown),
    }
    _write_outcome(
        batch,
        records,
        created=created,
        failed=failed,
        returned=returned,
        state=state,
        summary=summary,
        response=_summarise_body(result.body),
        attempts=attempt,
    )
    return unknown


def _summarise_body(body: Any) -> Any:
    """Artu's answer without the created client objects (each is kept on its own record)."""
    if isinstance(body, dict):
        return {
            k: (f"[{len(v)} objects]" if k in ("data", "succeeded") and isinstance(v, list) else v)
            for k, v in body.items()
        }
    return body


def _refused(batch: SubmissionBatch, records: list[Waiting], exc: ArtuError, attempt: int) -> None:
    """Artu refused the request itself (4xx): the records it names failed; the others go back to approved."""
    by_index: dict[int, list] = {}
    general = []
    for issue in exc.issues:
        if issue.index is not None and 0 <= issue.index < len(records):
            by_index.setdefault(issue.index, []).append(_issue_message(issue))
        else:
            general.append(_issue_message(issue))
    failed, returned = {}, {}
    refused = [records[index] for index in sorted(by_index)]
    for index, record in enumerate(records):
        if index in by_index:
            failed[record.pk] = by_index[index]
        elif by_index:
            returned[record.pk] = _sibling_message(refused)
        else:
            failed[record.pk] = general or [{"message": exc.message}]
    cause = error_cause(exc)
    if isinstance(exc, ArtuAuthError):
        returned, failed = {pk: _not_sent_message(exc) for pk in [*failed, *returned]}, {}
    summary = {
        "attempt": attempt,
        "status": exc.status,
        "error": exc.message,
        "failed": len(failed),
        "returned": len(returned),
        "issues": _issues_as_messages(exc.issues)[:50],
    }
    state = BatchState.GAVE_UP if isinstance(exc, ArtuAuthError) else BatchState.DONE
    _write_outcome(
        batch,
        records,
        created={},
        failed=failed,
        returned=returned,
        state=state,
        summary=summary,
        response=exc.body,
        error=str(exc),
        cause=cause,
        attempts=attempt,
    )


def _give_up(
    batch: SubmissionBatch, records: list[Waiting], exc: ArtuError, *, maybe_at_artu: bool, attempts: int
) -> None:
    """Artu kept failing. A transient failure within the batch's total time (ARTU_GIVE_UP_AFTER) pauses the batch:
    the worker resumes it after a cool-off that doubles each time (ARTU_COOL_OFF_BASE..CAP). Otherwise the batch is
    given up, for a person to resume: the records Artu may hold stay waiting, the others are approved again."""
    now = timezone.now()
    summary = {"attempt": attempts, "cause": error_cause(exc)}
    if exc.transient and (batch.give_up_at is None or now < batch.give_up_at):
        cool_off = min(settings.ARTU_COOL_OFF_CAP, settings.ARTU_COOL_OFF_BASE * 2**batch.resumes)
        resume_at = now + datetime.timedelta(seconds=cool_off)
        summary |= {"paused": True, "resumes_at": resume_at.isoformat()}
        state, returned = BatchState.PAUSED, {}
    else:
        resume_at, state = None, BatchState.GAVE_UP
        summary["gave_up"] = True
        message = _not_sent_message(exc)
        returned = {} if maybe_at_artu else {record.pk: message for record in records}
    _write_outcome(
        batch,
        records,
        created={},
        failed={},
        returned=returned,
        state=state,
        summary=summary,
        error=str(exc),
        cause=error_cause(exc),
        attempts=attempts,
        next_attempt_at=resume_at,
    )


def _finish_batch(batch: SubmissionBatch) -> None:
    SubmissionBatch.objects.filter(pk=batch.pk).exclude(state=BatchState.DONE).update(
        state=BatchState.DONE, claimed_at=timezone.now(), cause=""
    )


def submission_refresh(submission_id: int) -> Submission:
    """Recount the submission from its records and batches; finish it when every batch is final."""
    with transaction.atomic():
        submission = Submission.objects.select_for_update().get(pk=submission_id)
        counts = dict(
            ClientRecord.objects.filter(batch__submission=submission)
            .values_list("status")
            .annotate(n=Count("pk"))
            .values_list("status", "n")
        )
        submission.created_count = submission.created.count()
        submission.failed_count = counts.get(RecordStatus.FAILED, 0)
        open_batches = submission.batches.exclude(state__in=FINAL_BATCH_STATES).exists()
        waiting = counts.get(RecordStatus.SUBMITTING, 0)
        if not open_batches and submission.status in (SubmissionStatus.QUEUED, SubmissionStatus.RUNNING):
            not_created = submission.record_count - submission.created_count
            submission.status = (
                SubmissionStatus.FINISHED_WITH_FAILURES if not_created or waiting else SubmissionStatus.FINISHED
            )
            submission.finished_at = timezone.now()
            _submission_event(
                submission,
                actor=None,
                action=AuditAction.SUBMISSION_FINISHED,
                changes={
                    "status": submission.status,
                    "created": submission.created_count,
                    "failed": submission.failed_count,
                    "waiting": waiting,
                    "returned": not_created - submission.failed_count - waiting,
                },
            )
        submission.save(update_fields=["created_count", "failed_count", "status", "finished_at"])
    return submission
