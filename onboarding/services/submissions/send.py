"""Send and reconcile: the worker's loop over a submission's batches, `ARTU_CONCURRENCY` calls in flight at once;
each batch is sent, retried with backoff, and looked up at Artu by its records' own UUIDs whenever an attempt
may have reached Artu, before anything is sent again."""

import collections
import contextlib
import logging
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from onboarding.artu.client import ArtuClient, ArtuError, ArtuRateLimited
from onboarding.artu.payload import record_to_item
from onboarding.models import BatchState, SendCause, Submission, SubmissionBatch, SubmissionStatus
from onboarding.services.submissions.outcome import (
    BatchTakenOver,
    Waiting,
    _apply_result,
    _finish_batch,
    _give_up,
    _hold_renew,
    _refused,
    _set_state,
    _waiting_records,
    _write_outcome,
    error_cause,
    submission_refresh,
)
from onboarding.services.submissions.start import _batch_claim

logger = logging.getLogger(__name__)


def _backoff(attempt: int, retry_after: float | None) -> float:
    """Exponential backoff with full jitter, never shorter than Artu's Retry-After."""
    ceiling = min(settings.ARTU_BACKOFF_CAP, settings.ARTU_BACKOFF_BASE * 2 ** (attempt - 1))
    delay = random.uniform(ceiling / 2, ceiling)
    return max(delay, retry_after or 0.0)


def _lookup(client: ArtuClient, record: Waiting, environment: str) -> dict[str, Any] | None:
    """One record's client at Artu by its own UUID; transient errors are retried here, with backoff, up to
    ARTU_LOOKUP_ATTEMPTS times: a budget of its own, never the batch's send attempts."""
    key, tries = settings.ARTU_RECORD_METADATA_KEY, max(1, settings.ARTU_LOOKUP_ATTEMPTS)
    for attempt in range(1, tries + 1):
        try:
            found = client.find_by_metadata(key, str(record.uuid), environment=environment)
            return found if found and found.get("id") else None
        except ArtuError as exc:
            if not exc.transient or attempt == tries:
                raise
            time.sleep(_backoff(attempt, getattr(exc, "retry_after", None)))
    return None


@dataclass
class _Lookups:
    """What the lookups of some waiting records found: Artu's client of each record found, the records Artu does
    not hold, and the error that ended them early (the records not looked up are in neither)."""

    found: dict[int, dict] = field(default_factory=dict)
    absent: list[Waiting] = field(default_factory=list)
    error: ArtuError | None = None


def _look_up(client: ArtuClient, records: list[Waiting], environment: str) -> _Lookups:
    """Look the records up one after the other (no database). A record whose lookups all fail is looked up again
    after the others; when the next record's fail too, Artu is not answering lookups now, and they stop there."""
    result = _Lookups()
    pending, failed_in_a_row = collections.deque(records), 0
    while pending:
        record = pending.popleft()
        try:
            client_obj = _lookup(client, record, environment)
        except ArtuError as exc:
            failed_in_a_row += 1
            if not exc.transient or failed_in_a_row > 1:
                result.error = exc
                return result
            pending.append(record)
            continue
        failed_in_a_row = 0
        if client_obj:
            result.found[record.pk] = client_obj
        else:
            result.absent.append(record)
    return result


def _reconcile(client: ArtuClient, batch: SubmissionBatch, records: list[Waiting]) -> list[Waiting]:
    """Look every waiting record up at Artu by its own UUID, in ARTU_CONCURRENCY shares looked up side by side;
    store the found ones, return the others. `ArtuError` if the lookups of a share ended early (see `_look_up`);
    the found ones are stored all the same."""
    shares = min(max(1, settings.ARTU_CONCURRENCY), len(records))
    with ThreadPoolExecutor(max_workers=shares, thread_name_prefix="lookup") as pool:
        looking = [
            pool.submit(_look_up, client, records[share::shares], batch.submission.environment)
            for share in range(shares)
        ]
        # The threads only call Artu; this one holds the batch, and shows it is alive while they work.
        while wait(looking, timeout=settings.ARTU_LEASE_SECONDS / 3).not_done:
            _hold_renew(batch)
    results = [future.result() for future in looking]
    found = {pk: client_obj for result in results for pk, client_obj in result.found.items()}
    if found:
        _write_outcome(
            batch,
            records,
            created=found,
            failed={},
            returned={},
            state=BatchState.SENDING,
            summary={"reconciled": len(found), "looked_up": len(records)},
        )
    if errors := [result.error for result in results if result.error]:
        raise errors[0]
    return sorted((record for result in results for record in result.absent), key=lambda record: record.pk)


def batch_process(client: ArtuClient, batch: SubmissionBatch, maybe_at_artu: bool) -> None:
    """Send one batch until every record in it is created or refused; when Artu keeps failing (the send attempts or
    the lookups' budget spent), pause the batch for the worker to resume, or give it up after ARTU_GIVE_UP_AFTER."""
    attempts = batch.attempts
    # Just claimed, never sent: the claim already marked the batch as sending (a worker dying from here on leaves
    # it to be reconciled); the attempt count is written with the outcome.
    claimed_fresh = batch.state == BatchState.SENDING and not maybe_at_artu
    while True:
        records = _waiting_records(batch)
        if records and maybe_at_artu:
            if batch.state != BatchState.SENDING:
                # Back from a retry's wait, when another worker could claim the batch: hold it again before looking
                # its records up, or leave it to the worker that took it.
                _set_state(batch, BatchState.SENDING, attempts=attempts)
            try:
                records = _reconcile(client, batch, records)
            except ArtuError as exc:
                _give_up(batch, records, exc, maybe_at_artu=True, attempts=attempts)
                return
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
                _give_up(batch, records, exc, maybe_at_artu=maybe_at_artu, attempts=attempts)
                return
            retry_after = exc.retry_after if isinstance(exc, ArtuRateLimited) else None
            delay = _backoff(attempts, retry_after)
            _set_state(
                batch,
                BatchState.RECONCILING if maybe_at_artu else BatchState.RETRY_WAIT,
                error=str(exc),
                cause=error_cause(exc),
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
                    _set_state(
                        batch, BatchState.RECONCILING, error="worker error", cause=SendCause.WORKER_ERROR, delay=0
                    )
                raise
    finally:
        if threading.current_thread() is not threading.main_thread():
            connection.close()  # each pool thread opened its own connection


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
