"""Start and claim: what a submission takes (the approved records of a scope, claimed once, cut into batches),
how a worker takes one of its batches, and how a stopped or given-up submission is put back in the queue."""

import contextlib
import datetime
import logging
import threading
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.db.models import Exists, F, Max, OuterRef, Q
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from onboarding.errors import DomainError
from onboarding.models import (
    ArtuEnvironment,
    ArtuRecord,
    AuditAction,
    BatchState,
    ClientRecord,
    RecordOutcome,
    RecordStatus,
    Submission,
    SubmissionBatch,
    SubmissionStatus,
)
from onboarding.permissions import PERM_SUBMIT, may_submit_to
from onboarding.selectors.review import review_queue_filter
from onboarding.selectors.submissions import submission_outcome_records
from onboarding.services.audit import audit_event_write

logger = logging.getLogger(__name__)

LIVE_CONFIRMATION = "LIVE"
# Batches a worker is on, or will be by itself (queued, or waiting out a retry's backoff).
ACTIVE_STATES = (BatchState.QUEUED, BatchState.SENDING, BatchState.RETRY_WAIT, BatchState.RECONCILING)
RESUMABLE_STATES = (BatchState.GAVE_UP, BatchState.PAUSED)  # what a person's resume puts back in the queue
# A submission's records that may go again as they are: Artu never had them, or created none of their batch.
RESUBMITTABLE = (RecordOutcome.NOT_SENT, RecordOutcome.NOT_CREATED)


class SubmissionRefused(DomainError):
    """The submission cannot start; `message` says why in the user's language."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# What a record may be in to be sent to each environment. Test takes the approved records; live takes them too, and
# those already sent to test (test, then live). A record sent to live is final. Once created in an environment, a
# record is never sent there again (`eligible_for`; ArtuRecord allows one row per record and environment).
CLAIMABLE = {
    ArtuEnvironment.TEST: (RecordStatus.APPROVED,),
    ArtuEnvironment.LIVE: (RecordStatus.APPROVED, RecordStatus.SENT_TO_TEST),
}
# A record's status once Artu created it in each environment.
CREATED_STATUS = {ArtuEnvironment.TEST: RecordStatus.SENT_TO_TEST, ArtuEnvironment.LIVE: RecordStatus.SUBMITTED}


def eligible_for(environment: str) -> Q:
    """The records a submission to `environment` may take: in a status it claims, and not yet created there."""
    held = ArtuRecord.objects.filter(record=OuterRef("pk"), environment=environment)
    return Q(status__in=CLAIMABLE[environment]) & ~Exists(held)


@dataclass(frozen=True)
class Scope:
    """What the officer chose: every approved record, one upload's, a selection of ids, the review queue's filter
    (`review_queue_filter`'s arguments), or a submission's records of one outcome (not sent, or not created because
    another of their batch was refused). Only approved records are ever taken."""

    upload_id: int | None = None
    record_ids: tuple[int, ...] = ()
    token: str = ""  # the form's one-time token: a second click finds the submission the first one started
    queue_filter: tuple[tuple[str, Any], ...] = ()
    from_submission: int | None = None
    outcome: str = ""

    def as_dict(self) -> dict[str, Any]:
        chosen: dict[str, Any] = {"upload_id": self.upload_id, "record_ids": list(self.record_ids), "token": self.token}
        if self.queue_filter:
            chosen["queue_filter"] = {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in self.queue_filter}
        if self.from_submission is not None:
            chosen |= {"from_submission": self.from_submission, "outcome": self.outcome}
        return chosen

    def queryset(self, environment: str):
        """The records of the scope a submission to `environment` would take now (`eligible_for`)."""
        records = ClientRecord.objects.filter(eligible_for(environment))
        if self.queue_filter:
            records = review_queue_filter(**dict(self.queue_filter)).filter(eligible_for(environment))
        if self.upload_id is not None:
            records = records.filter(upload_id=self.upload_id)
        if self.record_ids:
            records = records.filter(pk__in=self.record_ids)
        if self.from_submission is not None:
            if self.outcome not in RESUBMITTABLE:
                raise SubmissionRefused(_("Only records not sent, or not created with a refused one, go again."))
            again = submission_outcome_records(self.from_submission, self.outcome)
            records = records.filter(pk__in=again.values("pk"))
        return records


@dataclass(frozen=True)
class Preview:
    record_count: int
    batch_count: int
    selected: int | None = None  # the records ticked in the review queue, approved or not


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


def submission_preview(scope: Scope, *, environment: str) -> Preview:
    """How many records and batches a submission of `scope` to `environment` would send now."""
    count = scope.queryset(environment).count()
    return Preview(count, _batch_count(count), len(scope.record_ids) if scope.record_ids else None)


def _check_permission(actor, environment: str, confirmation: str) -> None:
    if not actor.has_perm(PERM_SUBMIT):
        raise PermissionDenied
    if environment not in ArtuEnvironment.values:
        raise SubmissionRefused(_("Unknown Artu environment."))
    if not may_submit_to(actor, environment):
        raise PermissionDenied
    if environment == ArtuEnvironment.LIVE:
        # The word exactly as shown, capitals included: typing it is the officer's deliberate act.
        if (confirmation or "").strip() != LIVE_CONFIRMATION:
            raise SubmissionRefused(_("To send to live, type LIVE in the confirmation box."))


def _claim_ids(scope: Scope, environment: str) -> list[int]:
    """Ids of the records this submission takes; concurrent claimers never get the same row."""
    candidates = scope.queryset(environment).order_by("pk")
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
        ids = _claim_ids(scope, environment)
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
            # The status is the guard: a record leaves "approved" (or "sent to test") once, for one batch.
            taken = ClientRecord.objects.filter(eligible_for(environment), pk__in=chunk).update(
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
                "status": [list(CLAIMABLE[environment]), RecordStatus.SUBMITTING],
            },
        )
        if enqueue:
            from onboarding.tasks import submission_run_task

            transaction.on_commit(lambda: submission_run_task.enqueue(submission.pk))
    return submission


def submission_resume(*, actor, submission_id: int, enqueue: bool = True) -> Submission:
    """Put the batches given up on or paused (or abandoned by a dead worker) back in the queue, each with a new
    ARTU_GIVE_UP_AFTER; reconciliation comes first. Raises PermissionDenied unless `actor` may send to the
    submission's environment (live needs the live role)."""
    if not actor.has_perm(PERM_SUBMIT):
        raise PermissionDenied
    with transaction.atomic(durable=True):
        submission = Submission.objects.select_for_update().get(pk=submission_id)
        if not may_submit_to(actor, submission.environment):
            raise PermissionDenied
        reopened = (
            SubmissionBatch.objects.filter(
                submission=submission, state__in=RESUMABLE_STATES, records__status=RecordStatus.SUBMITTING
            )
            .distinct()
            .values_list("pk", flat=True)
        )
        SubmissionBatch.objects.filter(pk__in=list(reopened)).update(
            state=BatchState.RECONCILING,
            attempts=0,
            next_attempt_at=timezone.now(),
            claimed_at=timezone.now(),
            resumes=0,
            give_up_at=None,
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


def submission_resume_due(*, submission_id: int | None = None, enqueue: bool = True) -> list[int]:
    """Put back in the queue the paused batches whose cool-off is over (the worker's sweep; `submit_clients --wait`
    for its own submission), reconciliation first, and queue their submissions' task; returns those ids."""
    from onboarding.tasks import submission_run_task, task_subjects_waiting

    now = timezone.now()
    due = SubmissionBatch.objects.filter(state=BatchState.PAUSED, next_attempt_at__lte=now)
    if submission_id is not None:
        due = due.filter(submission_id=submission_id)
    resumed: dict[int, list[int]] = {}
    with transaction.atomic(durable=True):
        for pk, submission_pk in due.values_list("pk", "submission_id"):
            # Conditional: the sweeps of several workers may find the same batch due.
            if SubmissionBatch.objects.filter(pk=pk, state=BatchState.PAUSED).update(
                state=BatchState.RECONCILING,
                attempts=0,
                next_attempt_at=now,
                claimed_at=now,
                resumes=F("resumes") + 1,
            ):
                resumed.setdefault(submission_pk, []).append(pk)
        for submission in Submission.objects.filter(pk__in=resumed):
            changes = {"resumed": True, "automatic": True, "batches": resumed[submission.pk]}
            _submission_event(submission, actor=None, action=AuditAction.SUBMISSION_STARTED, changes=changes)
        if enqueue and resumed:

            def queue() -> None:
                for pk in sorted(set(resumed) - task_subjects_waiting(submission_run_task)):
                    submission_run_task.enqueue(pk)

            transaction.on_commit(queue)
    return sorted(resumed)


def submission_requeue_stalled() -> list[int]:
    """Queue the task again for each unfinished submission none of whose batches has shown a sign of life for
    ARTU_LEASE_SECONDS, unless a run of it waits in the queue already; returns their ids. The run takes over the
    batches whose lease has expired (reconciling them first), sends the others and finishes the submission."""
    from onboarding.tasks import submission_run_task, task_runs_abandon, task_subjects_waiting

    last_sign = Greatest(Coalesce(Max("batches__claimed_at"), "created_at"), Coalesce("started_at", "created_at"))
    batches = SubmissionBatch.objects.filter(submission=OuterRef("pk"))
    stalled = set(
        Submission.objects.filter(status__in=(SubmissionStatus.QUEUED, SubmissionStatus.RUNNING))
        .annotate(last_sign=last_sign)
        .filter(last_sign__lt=timezone.now() - _lease())
        # One whose only open batches are paused rests until their cool-off is over (`submission_resume_due`).
        .filter(Exists(batches.filter(state__in=ACTIVE_STATES)) | ~Exists(batches.filter(state=BatchState.PAUSED)))
        .values_list("pk", flat=True)
    ) - task_subjects_waiting(submission_run_task)
    task_runs_abandon(submission_run_task, stalled)
    for pk in sorted(stalled):
        logger.warning("submission %s shows no sign of life; its task is queued again", pk)
        submission_run_task.enqueue(pk)
    return sorted(stalled)


# -- the worker's claim ---------------------------------------------------------------------------------------------


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
            # The batch's total time starts at its first claim (a submission's last batches may wait a while).
            batch.give_up_at = batch.give_up_at or now + datetime.timedelta(seconds=settings.ARTU_GIVE_UP_AFTER)
            with _writing():
                taken = (
                    _claimable(submission_id)
                    .filter(pk=batch.pk, state=previous, attempts=batch.attempts)
                    .update(state=BatchState.SENDING, claimed_at=now, give_up_at=batch.give_up_at)
                )
            if taken:
                batch.state, batch.claimed_at = BatchState.SENDING, now
                # A batch left mid-flight (sending) or after an ambiguous answer may have reached Artu.
                return batch, previous in (BatchState.SENDING, BatchState.RECONCILING) or batch.attempts > 0 and (
                    previous != BatchState.RETRY_WAIT
                )
    return None
