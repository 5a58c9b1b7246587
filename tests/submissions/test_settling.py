"""A submission settles by itself under Artu's faults: every approved record is created exactly once (or refused,
or, after ARTU_GIVE_UP_AFTER, left for a person), none stuck "submitting" while the worker could go on."""

import datetime
import io
import time
import uuid

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from onboarding.artu import wire
from onboarding.artu.client import ArtuClient
from onboarding.artu.payload import record_to_item
from onboarding.models import (
    AuditAction,
    AuditEvent,
    BatchState,
    ClientRecord,
    RecordStatus,
    Submission,
    SubmissionBatch,
    SubmissionStatus,
)
from onboarding.services.recovery import work_requeue_stalled
from onboarding.services.submissions import submission_progress, submission_run, submission_start
from onboarding.tasks import submission_run_task
from tests.fixtures_worker import wait_for
from tests.submissions.test_submission_service import approved, assert_exactly_once, start_and_run

# What a new user ran against: on every call, batch and lookup alike.
FAULT_MIX = {"rate_500": 0.15, "rate_429": 0.15, "commit_then_drop_rate": 0.15, "drop_rate": 0.10, "retry_after": 0}


@pytest.fixture
def fast(settings):
    """Small batches and short waits; the attempts and the total time keep their defaults."""
    settings.ARTU_BATCH_SIZE = 10
    settings.ARTU_BACKOFF_BASE = 0.01
    settings.ARTU_BACKOFF_CAP = 0.05
    settings.ARTU_COOL_OFF_BASE = 0.05
    settings.ARTU_COOL_OFF_CAP = 0.2
    settings.ARTU_TIMEOUT = 1.5


def submitting():
    return ClientRecord.objects.filter(status=RecordStatus.SUBMITTING)


def seconds_until(moment) -> float:
    return (moment - timezone.now()).total_seconds()


@pytest.mark.django_db(transaction=True)
def test_under_the_fault_mix_submit_and_wait_creates_every_record_exactly_once(artu, oficial, fast):
    records = approved(240)
    artu.set_faults(seed=364, **FAULT_MIX)
    out = io.StringIO()

    call_command("submit_clients", "--as", "oficial", "--wait", stdout=out)

    assert "created: 240" in out.getvalue() and "not created: 0" in out.getvalue()
    assert_exactly_once(artu, records)
    assert not submitting().exists()
    assert Submission.objects.get().status == SubmissionStatus.FINISHED
    stats = artu.stats()["stats"]
    assert stats["fault_commit_then_drop"] > 0 and stats["requests_lookup"] > 0  # the faults did happen


def test_failed_lookups_do_not_use_up_the_send_attempts(artu, oficial, settings, fast):
    settings.ARTU_MAX_ATTEMPTS = 2
    records = approved(3)
    artu.set_faults(
        next=[
            {"fault": "commit_then_drop", "count": 1, "endpoint": "batch"},
            {"fault": "server_error", "count": 5, "endpoint": "lookup"},
        ]
    )

    submission = start_and_run(oficial)

    assert submission.status == SubmissionStatus.FINISHED
    assert_exactly_once(artu, records)
    assert artu.stats()["stats"]["requests_batch"] == 1  # found by the lookups: never sent again
    assert submission.batches.get().attempts == 1


def test_a_batch_artu_keeps_failing_is_paused_and_resumed_by_the_sweep_after_a_growing_cool_off(
    artu, oficial, settings, fast, django_capture_on_commit_callbacks
):
    settings.ARTU_MAX_ATTEMPTS = 2
    settings.ARTU_COOL_OFF_BASE, settings.ARTU_COOL_OFF_CAP = 60, 150
    records = approved(3)
    artu.set_faults(next=[{"fault": "server_error", "count": 2, "endpoint": "batch"}])

    submission = start_and_run(oficial)

    batch = submission.batches.get()
    assert batch.state == BatchState.PAUSED and 55 < seconds_until(batch.next_attempt_at) <= 60
    assert submission.status == SubmissionStatus.RUNNING and submission.finished_at is None
    assert submitting().count() == 3  # Artu may hold them: nothing is approved again, nothing is sent meanwhile
    progress = submission_progress(submission)
    assert progress["paused"] == 1 and progress["resumes_at"] == batch.next_attempt_at
    # Not due yet: the sweep leaves it, and does not take a resting submission for a stalled one.
    SubmissionBatch.objects.filter(pk=batch.pk).update(claimed_at=timezone.now() - datetime.timedelta(hours=1))
    Submission.objects.filter(pk=submission.pk).update(started_at=timezone.now() - datetime.timedelta(hours=1))
    assert work_requeue_stalled().submissions == [] and work_requeue_stalled().resumed == []

    def pause_again_and_resume() -> SubmissionBatch:
        SubmissionBatch.objects.filter(pk=batch.pk).update(next_attempt_at=timezone.now())
        with django_capture_on_commit_callbacks(execute=True):
            assert work_requeue_stalled().resumed == [submission.pk]
        assert DBTaskResult.objects.filter(status="READY", args_kwargs__args=[submission.pk]).count() == 1
        DBTaskResult.objects.all().delete()
        resumed = SubmissionBatch.objects.get(pk=batch.pk)
        assert resumed.state == BatchState.RECONCILING and resumed.attempts == 0
        artu.set_faults(next=[{"fault": "server_error", "count": 2, "endpoint": "batch"}])
        submission_run(submission.pk, concurrency=1)
        return SubmissionBatch.objects.get(pk=batch.pk)

    again = pause_again_and_resume()
    assert again.state == BatchState.PAUSED and again.resumes == 1 and 115 < seconds_until(again.next_attempt_at) <= 120
    again = pause_again_and_resume()
    assert again.resumes == 2 and 145 < seconds_until(again.next_attempt_at) <= 150  # the cap

    SubmissionBatch.objects.filter(pk=batch.pk).update(next_attempt_at=timezone.now())
    assert work_requeue_stalled().resumed == [submission.pk]
    submission = submission_run(submission.pk, concurrency=1)
    assert submission.status == SubmissionStatus.FINISHED
    assert_exactly_once(artu, records)
    automatic = AuditEvent.objects.filter(action=AuditAction.SUBMISSION_STARTED, changes__automatic=True)
    assert automatic.count() == 3 and all(e.changes["batches"] == [batch.pk] for e in automatic)
    assert AuditEvent.objects.filter(action=AuditAction.BATCH_RESULT, changes__paused=True).count() == 3


def test_the_progress_shows_when_a_paused_batch_is_tried_again(artu, oficial, settings, fast, client_as):
    settings.LANGUAGE_CODE = "en"
    settings.ARTU_MAX_ATTEMPTS = 1
    settings.ARTU_COOL_OFF_BASE = 600
    approved(2)
    artu.set_faults(next=[{"fault": "server_error", "count": 1, "endpoint": "batch"}])
    submission = start_and_run(oficial)
    resumes_at = timezone.localtime(submission.batches.get().next_attempt_at)

    response = client_as(oficial).get(reverse("submissions:progress", args=[submission.pk]), HTTP_HX_REQUEST="true")

    html = " ".join(response.content.decode().split())
    expected = f"1 batch paused after repeated errors from Artu; it is tried again by itself at {resumes_at:%H:%M:%S}."
    assert 'id="progress-paused"' in html and expected in html
    assert "every 1s" in html  # still polling: the submission is not over


@pytest.mark.django_db(transaction=True)
def test_submit_and_wait_returns_once_the_total_time_is_up_and_leaves_what_artu_may_hold(artu, oficial, settings, fast):
    settings.ARTU_MAX_ATTEMPTS = 2
    settings.ARTU_GIVE_UP_AFTER = 1.5
    approved(3)
    artu.set_faults(rate_500=1.0)  # Artu fails every call, lookups included
    started = time.monotonic()

    with pytest.raises(CommandError, match="not created"):
        call_command("submit_clients", "--as", "oficial", "--wait", stdout=io.StringIO())

    assert time.monotonic() - started < 30  # not the hour of the default
    batch = SubmissionBatch.objects.get()
    assert batch.state == BatchState.GAVE_UP and batch.next_attempt_at is None and batch.resumes > 0
    assert Submission.objects.get().status == SubmissionStatus.FINISHED_WITH_FAILURES
    assert submitting().count() == 3  # a 500 may hide a created client: they wait for a person's resume


def test_given_up_without_having_reached_artu_the_records_are_approved_again(artu, oficial, settings, fast):
    settings.ARTU_MAX_ATTEMPTS = 2
    settings.ARTU_GIVE_UP_AFTER = 0
    records = approved(2)
    artu.set_faults(next=[{"fault": "rate_limit", "count": 2, "endpoint": "batch"}], retry_after=0)

    submission = start_and_run(oficial)

    assert submission.batches.get().state == BatchState.GAVE_UP
    for record in ClientRecord.objects.filter(pk__in=[r.pk for r in records]):
        assert record.status == RecordStatus.APPROVED and "HTTP 429" in record.artu_messages[0]["message"]


def given_up(actor, environment="test", confirmation=""):
    """A submission whose one batch was given up after Artu may have created its records (commit, then drop)."""
    submission = submission_start(actor=actor, environment=environment, confirmation=confirmation, enqueue=False)
    SubmissionBatch.objects.filter(submission=submission).update(state=BatchState.GAVE_UP, attempts=6)
    Submission.objects.filter(pk=submission.pk).update(
        status=SubmissionStatus.FINISHED_WITH_FAILURES, finished_at=timezone.now()
    )
    return submission


def test_submit_clients_resume_checks_with_artu_and_finishes(artu, oficial, fast):
    records = approved(3)
    submission = given_up(oficial)
    with ArtuClient() as client:  # the attempt that was given up had reached Artu after all
        client.create_clients([record_to_item(r) for r in ClientRecord.objects.filter(pk=records[0].pk)])
    out = io.StringIO()

    call_command("submit_clients", "--as", "oficial", "--resume", str(submission.pk), "--wait", stdout=out)

    assert f"submission: {submission.pk}" in out.getvalue() and "created: 3" in out.getvalue()
    assert_exactly_once(artu, records)
    assert artu.stats()["stats"]["requests_batch"] == 2  # the earlier attempt, then the two records not found


def test_submit_clients_resume_needs_the_same_permissions_as_the_page(artu, capturista, oficial, oficial_live):
    approved(2)
    live = given_up(oficial_live, environment="live", confirmation="LIVE")

    for user in (capturista, oficial):  # oficial may submit to test, not to live
        with pytest.raises(CommandError, match=f"{user.username} may not resume submission {live.pk}"):
            call_command("submit_clients", "--as", user.username, "--resume", str(live.pk), stdout=io.StringIO())
    assert SubmissionBatch.objects.get(submission=live).state == BatchState.GAVE_UP
    with pytest.raises(CommandError, match="no submission 999"):
        call_command("submit_clients", "--as", "oficial_live", "--resume", "999", stdout=io.StringIO())

    out = io.StringIO()
    call_command("submit_clients", "--as", "oficial_live", "--resume", str(live.pk), stdout=out)

    assert "queued" in out.getvalue()
    assert SubmissionBatch.objects.get(submission=live).state == BatchState.RECONCILING
    assert AuditEvent.objects.filter(action=AuditAction.SUBMISSION_STARTED, actor=oficial_live).count() == 2


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_worker_processes_under_the_fault_mix_create_every_record_exactly_once(
    artu, oficial, settings, worker_process
):
    if connection.vendor != "postgresql":
        pytest.skip("several worker processes on one database: PostgreSQL's production set-up")
    settings.ARTU_BATCH_SIZE = 10
    records = approved(200)
    artu.set_faults(seed=2, **FAULT_MIX)
    env = {"ARTU_CONCURRENCY": "2", "ARTU_COOL_OFF_BASE": "0.1", "ARTU_COOL_OFF_CAP": "0.5"}
    workers = [worker_process(**env), worker_process(**env)]
    for worker in workers:
        wait_for(lambda w=worker: "Starting worker" in w.log(), timeout=30, what="the worker starts", worker=worker)

    submission = submission_start(actor=oficial, environment="test")  # its run is queued as this commits
    submission_run_task.enqueue(submission.pk)  # and a second one: both workers send the same submission

    wait_for(
        lambda: Submission.objects.get(pk=submission.pk).finished_at is not None,
        timeout=50,
        what="the submission finishes",
        worker=workers[0],
    )
    assert Submission.objects.get(pk=submission.pk).status == SubmissionStatus.FINISHED
    assert_exactly_once(artu, records)
    assert not submitting().exists()
    runs = DBTaskResult.objects.filter(args_kwargs__args=[submission.pk])
    assert len({worker for run in runs for worker in run.worker_ids}) == 2


@pytest.mark.django_db(transaction=True)
def test_a_batch_being_looked_up_after_a_retry_wait_is_not_taken_by_another_worker(oficial, settings):
    """After a 500 and its backoff, the worker looks the records up: meanwhile no other worker may claim the batch
    (it would look them up again, and this worker's work would be lost)."""
    from onboarding.artu.client import ArtuServerError
    from onboarding.services.submissions import batch_process
    from onboarding.services.submissions.start import _batch_claim, _claimable

    settings.ARTU_BACKOFF_BASE = settings.ARTU_BACKOFF_CAP = 0.01
    approved(2)
    submission = submission_start(actor=oficial, environment="test", enqueue=False)
    claimable_during_lookups = []

    class Artu:
        def create_clients(self, items, atomic=True, environment=None):
            if not claimable_during_lookups:
                raise ArtuServerError("boom", status=500)
            body = {"data": [{"id": str(uuid.uuid4()), "createdAt": "2026-01-02T03:04:05Z", **i} for i in items]}
            return wire.parse_batch(body, items, atomic=True, key="onboardingRecordId")

        def find_by_metadata(self, *args, **kwargs):
            try:  # a lookup thread: what another worker's claim would find now
                claimable_during_lookups.append(_claimable(submission.pk).exists())
            finally:
                connection.close()
            return None

    batch_process(Artu(), *_batch_claim(submission.pk))

    assert claimable_during_lookups == [False, False]
    assert not submitting().exists()
