"""Submitting approved records to Artu exactly once.

The flow: `submission_start` claims the approved records in one guarded step (row locks with SKIP LOCKED on
PostgreSQL, a conditional update under SQLite's write lock) and cuts them into batches of at most
`ARTU_BATCH_SIZE`. `submission_run` (the background task) sends the batches, `ARTU_CONCURRENCY` at a time,
through one httpx client. No HTTP call happens inside a transaction; each batch's outcome is written in one
transaction with its audit events.

Exactly once: every record's own UUID travels in `metadata[ARTU_RECORD_METADATA_KEY]`. After an attempt that
may have reached Artu (timeout, dropped connection, 5xx, an item the answer does not account for), the records
still waiting are looked up by that key before anything is sent again: found → stored as created; not found →
sent again. A batch whose worker died is taken over once its lease expires, with the same reconciliation. The
batch's `claimed_at` is the hold's token: every state its worker writes is conditional on it, so a worker that
slept past its retry time, or past its lease, finds the batch taken and leaves it instead of sending it again.
"""

import contextlib
import datetime
import logging
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.db.models import Count, F, Max, Q
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _

from onboarding.artu.client import ArtuAuthError, ArtuClient, ArtuError, ArtuRateLimited
from onboarding.artu.payload import PAYLOAD_FIELDS, record_to_item
from onboarding.artu.wire import BatchResult, Outcome
from onboarding.errors import DomainError
from onboarding.imports.export import csv_safe
from onboarding.models import (
    ArtuEnvironment,
    AuditAction,
    BatchState,
    ClientRecord,
    RecordStatus,
    Submission,
    SubmissionBatch,
    SubmissionStatus,
)
from onboarding.permissions import PERM_SUBMIT, PERM_SUBMIT_LIVE, PERM_VIEW_SUBMISSIONS
from onboarding.services.audit import EventSpec, audit_event_write, audit_events_write, json_safe
from onboarding.services.bulk import objects_update

logger = logging.getLogger(__name__)

LIVE_CONFIRMATION = "LIVE"
FINAL_BATCH_STATES = (BatchState.DONE, BatchState.GAVE_UP)
ATOMIC_SIBLING_MESSAGE = _("Not created: Artu refused the whole batch (all or nothing) because of another record.")
NOT_SENT_MESSAGE = _("Not sent: %(error)s. The record is approved again and can be submitted later.")


class SubmissionRefused(DomainError):
    """The submission cannot start; `message` says why in the user's language."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Scope:
    """What the officer chose: every approved record, one upload's, or a selection of ids."""

    upload_id: int | None = None
    record_ids: tuple[int, ...] = ()
    token: str = ""  # the form's one-time token: a second click finds the submission the first one started

    def as_dict(self) -> dict[str, Any]:
        return {"upload_id": self.upload_id, "record_ids": list(self.record_ids), "token": self.token}

    def queryset(self):
        records = ClientRecord.objects.filter(status=RecordStatus.APPROVED)
        if self.upload_id is not None:
            records = records.filter(upload_id=self.upload_id)
        if self.record_ids:
            records = records.filter(pk__in=self.record_ids)
        return records


@dataclass(frozen=True)
class Preview:
    record_count: int
    batch_count: int


def _submission_event(submission: Submission, *, actor, action: str, changes: dict[str, Any]) -> None:
    """An audit event about the submission as a whole (in the caller's transaction)."""
    audit_event_write(
        actor=actor,
        action=action,
        submission_id=submission.pk,
        target_type="submission",
        target_id=str(submission.pk),
        changes=changes,
    )


def _batch_count(records: int) -> int:
    size = settings.ARTU_BATCH_SIZE
    return (records + size - 1) // size


def submission_preview(scope: Scope) -> Preview:
    """How many records and batches a submission of `scope` would send now."""
    count = scope.queryset().count()
    return Preview(count, _batch_count(count))


def _check_permission(actor, environment: str, confirmation: str) -> None:
    if not actor.has_perm(PERM_SUBMIT):
        raise PermissionDenied
    if environment not in ArtuEnvironment.values:
        raise SubmissionRefused(_("Unknown Artu environment."))
    if environment == ArtuEnvironment.LIVE:
        if not actor.has_perm(PERM_SUBMIT_LIVE):
            raise PermissionDenied
        # The word exactly as shown, capitals included: typing it is the officer's deliberate act.
        if (confirmation or "").strip() != LIVE_CONFIRMATION:
            raise SubmissionRefused(_("To send to live, type LIVE in the confirmation box."))


def _claim_ids(scope: Scope) -> list[int]:
    """Ids of the records this submission takes; concurrent claimers never get the same row."""
    candidates = scope.queryset().order_by("pk")
    if connection.features.has_select_for_update_skip_locked:
        return list(candidates.select_for_update(skip_locked=True, of=("self",)).values_list("pk", flat=True))
    # SQLite: the transaction holds the database's write lock (BEGIN IMMEDIATE); the update below is conditional.
    return list(candidates.values_list("pk", flat=True))


def submission_start(
    *,
    actor,
    environment: str,
    atomic: bool = True,
    scope: Scope = Scope(),
    confirmation: str = "",
    enqueue: bool = True,
) -> Submission:
    """Claim the chosen approved records, cut them into batches and queue the background task."""
    _check_permission(actor, environment, confirmation)
    size = settings.ARTU_BATCH_SIZE
    with transaction.atomic(durable=True):
        if scope.token and (existing := Submission.objects.filter(scope__token=scope.token).first()):
            return existing  # the same form sent twice (a double click): one submission
        ids = _claim_ids(scope)
        if not ids:
            raise SubmissionRefused(_("There are no approved records to submit in what you chose."))
        submission = Submission.objects.create(
            environment=environment,
            atomic=atomic,
            scope=scope.as_dict(),
            created_by=actor,
            status=SubmissionStatus.QUEUED,
        )
        claimed: list[int] = []
        for index, start in enumerate(range(0, len(ids), size)):
            chunk = ids[start : start + size]
            batch = SubmissionBatch.objects.create(submission=submission, index=index)
            # The status is the guard: a record leaves "approved" once, for one batch.
            taken = ClientRecord.objects.filter(pk__in=chunk, status=RecordStatus.APPROVED).update(
                status=RecordStatus.SUBMITTING, batch=batch, artu_messages=[]
            )
            if taken != len(chunk):  # another submission took some meanwhile (SQLite only)
                chunk = list(ClientRecord.objects.filter(batch=batch).values_list("pk", flat=True))
            claimed += chunk
        SubmissionBatch.objects.filter(submission=submission, records__isnull=True).delete()
        submission.record_count = len(claimed)
        submission.batch_count = submission.batches.count()
        submission.save(update_fields=["record_count", "batch_count"])
        _submission_event(
            submission,
            actor=actor,
            action=AuditAction.SUBMISSION_STARTED,
            changes={
                "environment": environment,
                "atomic": atomic,
                "scope": scope.as_dict(),
                "records": claimed,
                "batches": submission.batch_count,
                "status": [RecordStatus.APPROVED, RecordStatus.SUBMITTING],
            },
        )
        if enqueue:
            from onboarding.tasks import submission_run_task

            transaction.on_commit(lambda: submission_run_task.enqueue(submission.pk))
    return submission


# -- the worker side ---------------------------------------------------------------------------------------------

_sqlite_writer = threading.Lock()


@contextlib.contextmanager
def _writing():
    """A write transaction. SQLite has one writer at a time: the worker's threads queue on a lock here rather
    than in SQLite's busy handler, which sleeps in steps of up to 100 ms."""
    if connection.vendor == "sqlite":
        with _sqlite_writer, transaction.atomic():
            yield
    else:
        with transaction.atomic():
            yield


def _lease() -> datetime.timedelta:
    return datetime.timedelta(seconds=settings.ARTU_LEASE_SECONDS)


def _claimable(submission_id: int):
    now = timezone.now()
    stale = now - _lease()
    return SubmissionBatch.objects.filter(submission_id=submission_id).filter(
        Q(state=BatchState.QUEUED)
        | Q(state__in=(BatchState.RETRY_WAIT, BatchState.RECONCILING), next_attempt_at__lte=now)
        | Q(state__in=(BatchState.SENDING, BatchState.RETRY_WAIT, BatchState.RECONCILING), claimed_at__lt=stale)
    )


_claim_lock = threading.Lock()


def _batch_claim(submission_id: int) -> tuple[SubmissionBatch, bool] | None:
    """Take one batch for this worker. Returns it and whether Artu may already hold some of its records."""
    # This process's threads take turns (no race among them for the same batch); other processes are kept out by
    # the conditional update, which also checks that nothing changed since the batch was read.
    with _claim_lock:
        candidates = _claimable(submission_id).select_related("submission").order_by("index")[:20]
        for batch in candidates:
            previous, now = batch.state, timezone.now()
            with _writing():
                taken = (
                    _claimable(submission_id)
                    .filter(pk=batch.pk, state=previous, attempts=batch.attempts)
                    .update(state=BatchState.SENDING, claimed_at=now)
                )
            if taken:
                batch.state, batch.claimed_at = BatchState.SENDING, now
                # A batch left mid-flight (sending) or after an ambiguous answer may have reached Artu.
                return batch, previous in (BatchState.SENDING, BatchState.RECONCILING) or batch.attempts > 0 and (
                    previous != BatchState.RETRY_WAIT
                )
    return None


OUTCOME_FIELDS = ("status", "artu_id", "artu_created_at", "artu_environment", "artu_response", "artu_messages")
REFUSED_FIELDS = ("status", "artu_messages")


class Waiting:
    """A record waiting in a batch: the fields its Artu item is built from, then its outcome. Lighter than a
    model instance, which matters at 250 records a batch."""

    __slots__ = (*PAYLOAD_FIELDS, *OUTCOME_FIELDS)

    def __init__(self, values) -> None:
        for name, value in zip(PAYLOAD_FIELDS, values, strict=True):
            setattr(self, name, value)

    @property
    def pk(self) -> int:
        return self.id


def _waiting_records(batch: SubmissionBatch) -> list[Waiting]:
    rows = ClientRecord.objects.filter(batch=batch, status=RecordStatus.SUBMITTING).order_by("pk")
    return [Waiting(values) for values in rows.values_list(*PAYLOAD_FIELDS)]


def _backoff(attempt: int, retry_after: float | None) -> float:
    """Exponential backoff with full jitter, never shorter than Artu's Retry-After."""
    ceiling = min(settings.ARTU_BACKOFF_CAP, settings.ARTU_BACKOFF_BASE * 2 ** (attempt - 1))
    delay = random.uniform(ceiling / 2, ceiling)
    return max(delay, retry_after or 0.0)


def _record_created_fields(record: Waiting, client: dict[str, Any], environment: str) -> dict[str, Any]:
    created = client.get("createdAt")
    record.status = RecordStatus.SUBMITTED
    record.artu_id = client.get("id")
    record.artu_created_at = parse_datetime(created) if isinstance(created, str) else None
    record.artu_environment = environment
    record.artu_response = client
    record.artu_messages = []
    return {
        "artu_id": str(record.artu_id),
        "artu_created_at": created,
        "environment": environment,
        "status": [str(RecordStatus.SUBMITTING), str(RecordStatus.SUBMITTED)],
    }


def _issues_as_messages(issues) -> list[dict[str, Any]]:
    return [{"message": i.message, "path": i.path, "code": i.code} for i in issues]


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
    attempts: int | None = None,
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
    for pk, client in created.items():
        changes = _record_created_fields(by_pk[pk], client, submission.environment)
        events.append(
            EventSpec(action=AuditAction.RECORD_SUBMITTED, record_id=pk, submission_id=submission.pk, changes=changes)
        )
    # Refused: failed, to be corrected. Not created but not refused (atomic sibling, key refused): approved
    # again, claimable, and still listed in this submission's results.
    for outcome, status in ((failed, RecordStatus.FAILED), (returned, RecordStatus.APPROVED)):
        for pk, messages in outcome.items():
            record = by_pk[pk]
            record.status, record.artu_messages = status, messages
            events.append(
                EventSpec(
                    action=AuditAction.RECORD_SUBMISSION_FAILED,
                    record_id=pk,
                    submission_id=submission.pk,
                    changes={"status": [str(RecordStatus.SUBMITTING), str(status)], "messages": messages},
                )
            )
    # Created records take Artu's answer; the others only their status and messages (nothing else loaded).
    updates = (
        objects_update(ClientRecord, [by_pk[pk] for pk in created], OUTCOME_FIELDS),
        objects_update(ClientRecord, [by_pk[pk] for pk in (*failed, *returned)], REFUSED_FIELDS),
    )
    batch_fields = {
        "state": state,
        "response": json_safe(response),
        "last_error": error[:2000],
        **({} if attempts is None else {"attempts": attempts}),
    }
    with _writing():
        # Only records still waiting in this batch change: another worker may have settled some meanwhile.
        waiting = {"batch_id": batch.pk, "status": RecordStatus.SUBMITTING}
        changed = set().union(*(update.run(where=waiting) for update in updates))
        now = timezone.now()
        counters = {
            "created_count": F("created_count") + sum(1 for pk in created if pk in changed),
            "failed_count": F("failed_count") + sum(1 for pk in failed if pk in changed),
            "updated_at": now,
        }
        # The records' outcome is kept whoever holds the batch; its state only by the worker holding it.
        held = _held(batch).update(**batch_fields, **counters, claimed_at=now, next_attempt_at=None)
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


def _set_state(batch: SubmissionBatch, state: str, *, error: str = "", delay: float = 0.0, attempts=None) -> None:
    """Move the batch this worker holds to `state`, renewing the hold; `BatchTakenOver` if another worker took it."""
    now = timezone.now()
    fields = {
        "state": state,
        "last_error": error[:2000],
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


def _lookup(client: ArtuClient, record: Waiting, environment: str) -> dict[str, Any] | None:
    """One record's client at Artu by its own UUID; transient errors are retried here, with backoff."""
    key = settings.ARTU_RECORD_METADATA_KEY
    for attempt in range(1, settings.ARTU_MAX_ATTEMPTS + 1):
        try:
            found = client.find_by_metadata(key, str(record.uuid), environment=environment)
            return found if found and found.get("id") else None
        except ArtuError as exc:
            if not exc.transient or attempt == settings.ARTU_MAX_ATTEMPTS:
                raise
            time.sleep(_backoff(attempt, getattr(exc, "retry_after", None)))
    return None


def _reconcile(client: ArtuClient, batch: SubmissionBatch, records: list[Waiting]) -> list[Waiting]:
    """Look every waiting record up at Artu by its own UUID; store the found ones, return the others."""
    found: dict[int, dict] = {}
    try:
        for record in records:
            if client_obj := _lookup(client, record, batch.submission.environment):
                found[record.pk] = client_obj
    finally:
        if found:  # kept even when a later lookup fails
            _write_outcome(
                batch,
                records,
                created=found,
                failed={},
                returned={},
                state=BatchState.SENDING,
                summary={"reconciled": len(found), "looked_up": len(records)},
            )
    return [r for r in records if r.pk not in found]


def _apply_result(batch: SubmissionBatch, records: list[Waiting], result: BatchResult, attempt: int) -> list[Waiting]:
    """Store created and failed items; return the records whose fate the answer leaves unknown."""
    created, failed, returned, unknown = {}, {}, {}, []
    refused_somewhere = bool(result.failed)
    for item, record in zip(result.items, records, strict=True):
        if item.outcome == Outcome.CREATED:
            created[record.pk] = item.client
        elif item.outcome == Outcome.FAILED:
            messages = _issues_as_messages(item.issues)
            if batch.submission.atomic and not messages and refused_somewhere:
                returned[record.pk] = [{"message": str(ATOMIC_SIBLING_MESSAGE)}]
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
            by_index.setdefault(issue.index, []).append(
                {"message": issue.message, "path": issue.path, "code": issue.code}
            )
        else:
            general.append({"message": issue.message, "path": issue.path, "code": issue.code})
    failed, returned = {}, {}
    for index, record in enumerate(records):
        if index in by_index:
            failed[record.pk] = by_index[index]
        elif by_index:
            returned[record.pk] = [{"message": str(ATOMIC_SIBLING_MESSAGE)}]
        else:
            failed[record.pk] = general or [{"message": exc.message}]
    if isinstance(exc, ArtuAuthError):
        returned, failed = (
            {pk: [{"message": str(NOT_SENT_MESSAGE % {"error": exc.message})}] for pk in [*failed, *returned]},
            {},
        )
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
        attempts=attempt,
    )


def batch_process(client: ArtuClient, batch: SubmissionBatch, maybe_at_artu: bool) -> None:
    """Send one batch until every record in it is created, refused, or the attempts are exhausted."""
    attempts = batch.attempts
    # Just claimed, never sent: the claim already marked the batch as sending (a worker dying from here on leaves
    # it to be reconciled); the attempt count is written with the outcome.
    claimed_fresh = batch.state == BatchState.SENDING and not maybe_at_artu
    while True:
        records = _waiting_records(batch)
        if records and maybe_at_artu:
            try:
                records = _reconcile(client, batch, records)
            except ArtuError as exc:
                attempts += 1
                if attempts >= settings.ARTU_MAX_ATTEMPTS:
                    _set_state(batch, BatchState.GAVE_UP, error=str(exc), attempts=attempts)
                    return
                delay = _backoff(attempts, getattr(exc, "retry_after", None))
                _set_state(batch, BatchState.RECONCILING, error=str(exc), delay=delay, attempts=attempts)
                time.sleep(delay)
                continue
        if not records:
            _finish_batch(batch)
            return
        attempts += 1
        if not claimed_fresh:
            _set_state(batch, BatchState.SENDING, attempts=attempts)
        claimed_fresh = False
        items = [record_to_item(record) for record in records]
        try:
            result = client.create_clients(
                items, atomic=batch.submission.atomic, environment=batch.submission.environment
            )
        except ArtuError as exc:
            if not exc.transient:
                _refused(batch, records, exc, attempts)
                return
            maybe_at_artu = maybe_at_artu or exc.maybe_committed
            if attempts >= settings.ARTU_MAX_ATTEMPTS:
                if maybe_at_artu:
                    # Artu may hold some of them: they stay "submitting" until a later run reconciles them.
                    _set_state(batch, BatchState.GAVE_UP, error=str(exc), attempts=attempts)
                else:
                    _write_outcome(
                        batch,
                        records,
                        created={},
                        failed={},
                        state=BatchState.GAVE_UP,
                        error=str(exc),
                        returned={r.pk: [{"message": str(NOT_SENT_MESSAGE % {"error": exc.message})}] for r in records},
                        summary={"attempt": attempts, "error": exc.message, "gave_up": True},
                        attempts=attempts,
                    )
                return
            retry_after = exc.retry_after if isinstance(exc, ArtuRateLimited) else None
            delay = _backoff(attempts, retry_after)
            _set_state(
                batch,
                BatchState.RECONCILING if maybe_at_artu else BatchState.RETRY_WAIT,
                error=str(exc),
                delay=delay,
                attempts=attempts,
            )
            logger.info("batch %s attempt %s: %s; retrying in %.1f s", batch.pk, attempts, type(exc).__name__, delay)
            time.sleep(delay)
            continue
        unknown = _apply_result(batch, records, result, attempts)
        if not unknown:
            return
        maybe_at_artu = True


def _finish_batch(batch: SubmissionBatch) -> None:
    SubmissionBatch.objects.filter(pk=batch.pk).exclude(state=BatchState.DONE).update(
        state=BatchState.DONE, claimed_at=timezone.now()
    )


def _worker_loop(submission_id: int, client: ArtuClient, stop: threading.Event) -> None:
    try:
        while not stop.is_set():
            claimed = _batch_claim(submission_id)
            if claimed is None:
                return
            batch, maybe_at_artu = claimed
            try:
                batch_process(client, batch, maybe_at_artu)
            except BatchTakenOver:
                logger.info("batch %s is held by another worker now; this one leaves it", batch.pk)
            except Exception:
                logger.exception("batch %s failed unexpectedly; it is retried after its lease", batch.pk)
                with contextlib.suppress(BatchTakenOver):
                    _set_state(batch, BatchState.RECONCILING, error="worker error", delay=0)
                raise
    finally:
        if threading.current_thread() is not threading.main_thread():
            connection.close()  # each pool thread opened its own connection


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
        submission.created_count = counts.get(RecordStatus.SUBMITTED, 0)
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


def submission_run(submission_id: int, *, concurrency: int | None = None) -> Submission:
    """Send every open batch of the submission; safe to run again or in several workers at once."""
    concurrency = max(1, concurrency or settings.ARTU_CONCURRENCY)
    with transaction.atomic():
        Submission.objects.filter(pk=submission_id, status=SubmissionStatus.QUEUED).update(
            status=SubmissionStatus.RUNNING, started_at=timezone.now()
        )
    stop = threading.Event()
    with ArtuClient(pool_size=concurrency) as artu:
        client = _InFlightLimit(artu, concurrency)
        if connection.in_atomic_block:
            # Called inside a transaction (a test, a shell): other threads' connections could not see its rows.
            _worker_loop(submission_id, client, stop)
            return submission_refresh(submission_id)
        # Twice as many workers as calls in flight: answers tend to come back together, and while some workers
        # write their outcomes, the others already hold the next batches, ready for the free slots.
        workers = 2 * concurrency
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="artu") as pool:
            futures = [pool.submit(_worker_loop, submission_id, client, stop) for _ in range(workers)]
            for future in futures:
                future.result()
    return submission_refresh(submission_id)


class _InFlightLimit:
    """The Artu client with at most `limit` calls in flight at once, whatever the number of worker threads."""

    def __init__(self, client: ArtuClient, limit: int):
        self._client = client
        self._slots = threading.BoundedSemaphore(limit)

    def create_clients(self, *args, **kwargs):
        with self._slots:
            return self._client.create_clients(*args, **kwargs)

    def find_by_metadata(self, *args, **kwargs):
        with self._slots:
            return self._client.find_by_metadata(*args, **kwargs)


def submission_resume(*, actor, submission_id: int, enqueue: bool = True) -> Submission:
    """Put the batches given up on (or abandoned by a dead worker) back in the queue; reconciliation comes first."""
    if not actor.has_perm(PERM_SUBMIT):
        raise PermissionDenied
    with transaction.atomic(durable=True):
        submission = Submission.objects.select_for_update().get(pk=submission_id)
        reopened = (
            SubmissionBatch.objects.filter(
                submission=submission, state=BatchState.GAVE_UP, records__status=RecordStatus.SUBMITTING
            )
            .distinct()
            .values_list("pk", flat=True)
        )
        SubmissionBatch.objects.filter(pk__in=list(reopened)).update(
            state=BatchState.RECONCILING, attempts=0, next_attempt_at=timezone.now(), claimed_at=timezone.now()
        )
        submission.status = SubmissionStatus.RUNNING
        submission.finished_at = None
        submission.save(update_fields=["status", "finished_at"])
        _submission_event(
            submission,
            actor=actor,
            action=AuditAction.SUBMISSION_STARTED,
            changes={"resumed": True, "batches": len(reopened)},
        )
        if enqueue:
            from onboarding.tasks import submission_run_task

            transaction.on_commit(lambda: submission_run_task.enqueue(submission.pk))
    return submission


def submission_requeue_stalled() -> list[int]:
    """Queue the task again for each unfinished submission none of whose batches has shown a sign of life for
    ARTU_LEASE_SECONDS, unless a run of it waits in the queue already; returns their ids. The run takes over the
    batches whose lease has expired (reconciling them first), sends the others and finishes the submission."""
    from onboarding.tasks import submission_run_task, task_runs_abandon, task_subjects_waiting

    last_sign = Greatest(Coalesce(Max("batches__claimed_at"), "created_at"), Coalesce("started_at", "created_at"))
    stalled = set(
        Submission.objects.filter(status__in=(SubmissionStatus.QUEUED, SubmissionStatus.RUNNING))
        .annotate(last_sign=last_sign)
        .filter(last_sign__lt=timezone.now() - _lease())
        .values_list("pk", flat=True)
    ) - task_subjects_waiting(submission_run_task)
    task_runs_abandon(submission_run_task, stalled)
    for pk in sorted(stalled):
        logger.warning("submission %s shows no sign of life; its task is queued again", pk)
        submission_run_task.enqueue(pk)
    return sorted(stalled)


def submission_progress(submission: Submission) -> dict[str, Any]:
    """Counts for the progress page: batches done of total, records created/failed/waiting, time left."""
    batches = dict(submission.batches.values_list("state").annotate(n=Count("pk")).values_list("state", "n"))
    records = dict(
        ClientRecord.objects.filter(batch__submission=submission)
        .values_list("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    done = sum(batches.get(s, 0) for s in FINAL_BATCH_STATES)
    total = submission.batch_count or sum(batches.values())
    eta = None
    if submission.started_at and 0 < done < total:
        elapsed = (timezone.now() - submission.started_at).total_seconds()
        eta = int(elapsed / done * (total - done))
    created = records.get(RecordStatus.SUBMITTED, submission.created_count if submission.finished_at else 0)
    return {
        "batches_done": done,
        "batches_total": total,
        "percent": int(100 * done / total) if total else 100,
        "created": created,
        "failed": records.get(RecordStatus.FAILED, 0),
        "waiting": records.get(RecordStatus.SUBMITTING, 0),
        "returned": max(
            0,
            submission.record_count
            - created
            - records.get(RecordStatus.FAILED, 0)
            - records.get(RecordStatus.SUBMITTING, 0),
        ),
        "eta_seconds": eta,
        "finished": submission.finished_at is not None,
        "retrying": batches.get(BatchState.RETRY_WAIT, 0) + batches.get(BatchState.RECONCILING, 0),
        "gave_up": batches.get(BatchState.GAVE_UP, 0),
    }


def submission_results_export(*, actor, submission: Submission) -> list[list[str]]:
    """The results file (local id, external id, Artu id, status, message) as rows; the download is audited."""
    if not actor.has_perm(PERM_VIEW_SUBMISSIONS):
        raise PermissionDenied
    records = (
        ClientRecord.objects.filter(batch__submission=submission)
        .order_by("pk")
        .only("uuid", "external_id", "artu_id", "status", "artu_messages")
    )
    rows = [[str(_("Local id")), str(_("External id")), str(_("Artu id")), str(_("Status")), str(_("Message"))]]
    labels = dict(RecordStatus.choices)
    for record in records:
        message = "; ".join(
            f"{m.get('path')}: {m.get('message')}" if m.get("path") else str(m.get("message", ""))
            for m in record.artu_messages or []
        )
        rows.append(
            [
                csv_safe(v)
                for v in (
                    record.uuid,
                    record.external_id,
                    record.artu_id or "",
                    labels.get(record.status, record.status),
                    message,
                )
            ]
        )
    with transaction.atomic(durable=True):
        _submission_event(
            submission,
            actor=actor,
            action=AuditAction.EXPORT,
            changes={"what": "submission_results", "rows": len(rows) - 1, "format": "csv"},
        )
    return rows
