"""Submissions whose worker stopped: queued again once their batches' lease expires, and finished exactly once."""

import datetime
import signal

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from onboarding.models import BatchState, Submission, SubmissionBatch, SubmissionStatus
from onboarding.services.submissions import submission_requeue_stalled, submission_run, submission_start
from onboarding.tasks import submission_run_task
from tests.fixtures_worker import wait_for
from tests.submissions.test_submission_service import approved, assert_exactly_once


@pytest.fixture
def worker_signals():
    """A worker run in this process sets its own signal handlers: pytest's are put back afterwards."""
    kept = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT)}
    yield
    for number, handler in kept.items():
        signal.signal(number, handler)


def stale(settings) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(seconds=settings.ARTU_LEASE_SECONDS + 5)


def waiting_runs(submission) -> int:
    return DBTaskResult.objects.filter(status="READY", args_kwargs__args=[submission.pk]).count()


def test_a_submission_whose_batches_show_no_sign_of_life_is_queued_again_once(artu, oficial, settings):
    settings.ARTU_BATCH_SIZE = 2
    records = approved(5)
    submission = submission_start(actor=oficial, environment="test", enqueue=False)
    # Its worker was killed: one batch sent, one half way, one never claimed; its run is still shown running.
    run = submission_run_task.enqueue(submission.pk).db_result
    run.claim("killed-worker")
    batches = list(submission.batches.order_by("index"))
    SubmissionBatch.objects.filter(pk=batches[1].pk).update(state=BatchState.SENDING, claimed_at=stale(settings))
    Submission.objects.filter(pk=submission.pk).update(status=SubmissionStatus.RUNNING, started_at=stale(settings))

    assert submission_requeue_stalled() == [submission.pk]
    assert submission_requeue_stalled() == []  # a run waits in the queue now: not queued twice
    assert waiting_runs(submission) == 1
    run.refresh_from_db()
    assert run.status == "FAILED" and run.exception_class_path == "onboarding.tasks.WorkerLost"

    submission = submission_run(submission.pk, concurrency=1)
    assert submission.status == SubmissionStatus.FINISHED
    assert_exactly_once(artu, records)


def test_a_submission_alive_or_finished_is_left_alone(artu, oficial, settings):
    settings.ARTU_BATCH_SIZE = 2
    approved(4)
    running = submission_start(actor=oficial, environment="test", enqueue=False)
    old, fresh = running.batches.order_by("index")
    SubmissionBatch.objects.filter(pk=old.pk).update(state=BatchState.SENDING, claimed_at=stale(settings))
    SubmissionBatch.objects.filter(pk=fresh.pk).update(state=BatchState.SENDING, claimed_at=timezone.now())
    Submission.objects.filter(pk=running.pk).update(status=SubmissionStatus.RUNNING, started_at=stale(settings))
    Submission.objects.filter(pk=running.pk).update(created_at=stale(settings))
    finished = Submission.objects.create(
        environment="test", created_by=oficial, status=SubmissionStatus.FINISHED, started_at=stale(settings)
    )
    Submission.objects.filter(pk=finished.pk).update(created_at=stale(settings))

    assert submission_requeue_stalled() == []


@pytest.mark.django_db(transaction=True)  # a worker loop closes connections: not inside the test's transaction
def test_a_submission_its_worker_left_with_every_batch_done_is_finished(artu, oficial, settings, worker_signals):
    approved(2)
    submission = submission_run(submission_start(actor=oficial, environment="test", enqueue=False).pk)
    # The worker died after the last batch's outcome, before it counted the submission finished.
    Submission.objects.filter(pk=submission.pk).update(
        status=SubmissionStatus.RUNNING, finished_at=None, started_at=stale(settings), created_at=stale(settings)
    )
    SubmissionBatch.objects.filter(submission=submission).update(claimed_at=stale(settings))

    call_command("sweep")
    call_command("worker", batch=True, startup_delay=False, verbosity=0)  # the task the sweep queued

    submission.refresh_from_db()
    assert submission.status == SubmissionStatus.FINISHED and submission.created_count == 2


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_submission_is_replaced_and_every_record_is_created_once(
    artu, oficial, worker_process, settings
):
    settings.ARTU_BATCH_SIZE = 4
    records = approved(40)
    artu.set_faults(latency_ms=250)
    first = worker_process(ARTU_CONCURRENCY="2")
    submission = submission_start(actor=oficial, environment="test")  # its task is queued once this commits

    batches = SubmissionBatch.objects.filter(submission=submission)
    wait_for(lambda: batches.filter(state=BatchState.DONE).count() >= 2, timeout=30, what="two batches", worker=first)
    first.kill()
    assert batches.exclude(state=BatchState.DONE).exists(), "finished before the kill: send more batches"
    assert Submission.objects.get(pk=submission.pk).status == SubmissionStatus.RUNNING

    second = worker_process(ARTU_CONCURRENCY="2")
    wait_for(
        lambda: Submission.objects.get(pk=submission.pk).finished_at is not None,
        timeout=60,
        what="the second worker finishes the submission",
        worker=second,
    )
    submission.refresh_from_db()
    assert submission.status == SubmissionStatus.FINISHED and submission.created_count == 40
    assert_exactly_once(artu, records)
    assert set(batches.values_list("state", flat=True)) == {BatchState.DONE}
    # The batches the killed worker held were looked up at Artu before anything of them was sent again.
    assert artu.stats()["stats"].get("requests_lookup", 0) > 0
