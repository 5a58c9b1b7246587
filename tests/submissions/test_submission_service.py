"""Submission to the Artu sandbox over real HTTP: exactly once, whatever the sandbox does wrong."""

import datetime
import threading
import time
from collections import Counter

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.utils import timezone

from onboarding.artu.client import ArtuClient
from onboarding.artu.payload import record_to_item
from onboarding.models import (
    ArtuRecord,
    AuditAction,
    AuditEvent,
    BatchState,
    ClientRecord,
    RecordStatus,
    Submission,
    SubmissionBatch,
    SubmissionStatus,
)
from onboarding.services.submissions import (
    Scope,
    SubmissionRefused,
    submission_preview,
    submission_resume,
    submission_run,
    submission_start,
)
from onboarding.services.submissions.start import CREATED_STATUS
from tests.factories import ClientRecordFactory

KEY = "onboardingRecordId"


@pytest.fixture
def fast_retries(settings):
    settings.ARTU_BACKOFF_BASE = 0.01
    settings.ARTU_BACKOFF_CAP = 0.05
    settings.ARTU_TIMEOUT = 1.5
    settings.ARTU_MAX_ATTEMPTS = 6


def approved(n, **fields):
    return ClientRecordFactory.create_batch(n, status=RecordStatus.APPROVED, **fields)


def start_and_run(actor, *, concurrency=1, **kwargs):
    submission = submission_start(actor=actor, environment=kwargs.pop("environment", "test"), enqueue=False, **kwargs)
    return submission_run(submission.pk, concurrency=concurrency)


def artu_id_of(record, env="test"):
    """Artu's id of the record in `env`, None when Artu does not hold it there."""
    return ArtuRecord.objects.filter(record=record, environment=env).values_list("artu_id", flat=True).first()


def assert_exactly_once(artu, records, env="test"):
    """The sandbox holds one client per record (by the reserved key), and each record holds that client's id."""
    held = artu.clients(env)
    by_key = Counter(c["metadata"][KEY] for c in held)
    assert all(n == 1 for n in by_key.values()), f"duplicates at Artu: {[k for k, n in by_key.items() if n > 1]}"
    ids = {c["metadata"][KEY]: c["id"] for c in held}
    for record in ClientRecord.objects.filter(pk__in=[r.pk for r in records]):
        assert record.status == CREATED_STATUS[env], (record.pk, record.status, record.artu_messages)
        assert str(artu_id_of(record, env)) == ids[str(record.uuid)]
    assert len(held) == len(records)


def test_approved_records_are_created_at_artu_with_ids_kept(artu, oficial, fast_retries):
    records = approved(5)
    submission = start_and_run(oficial)
    assert submission.status == SubmissionStatus.FINISHED and submission.created_count == 5
    assert_exactly_once(artu, records)
    held = ArtuRecord.objects.get(record=records[0])
    assert held.artu_created_at is not None and held.response["id"] == str(held.artu_id)
    assert held.environment == "test" and held.submission == submission
    actions = Counter(AuditEvent.objects.filter(submission_id=submission.pk).values_list("action", flat=True))
    assert actions == {
        AuditAction.SUBMISSION_STARTED: 1,
        AuditAction.BATCH_RESULT: 1,
        AuditAction.RECORD_SUBMITTED: 5,
        AuditAction.SUBMISSION_FINISHED: 1,
    }


def test_records_are_cut_into_batches_of_the_configured_size(artu, oficial, settings, fast_retries):
    settings.ARTU_BATCH_SIZE = 2
    records = approved(5)
    assert submission_preview(Scope(), environment="test").batch_count == 3
    submission = start_and_run(oficial)
    assert submission.batch_count == 3
    assert (
        list(SubmissionBatch.objects.filter(submission=submission).values_list("state", flat=True))
        == [BatchState.DONE] * 3
    )
    assert artu.stats()["stats"]["requests_batch"] == 3
    assert_exactly_once(artu, records)


@pytest.mark.parametrize("fault", ["server_error", "rate_limit", "drop", "commit_then_drop", "commit_then_late"])
def test_each_fault_ends_with_exactly_one_client_per_record(artu, oficial, settings, fast_retries, fault):
    settings.ARTU_BATCH_SIZE = 3
    records = approved(7)
    artu.set_faults(next=[{"fault": fault, "count": 2, "endpoint": "batch"}], late_ms=2500)
    submission = start_and_run(oficial)
    assert submission.status == SubmissionStatus.FINISHED
    assert_exactly_once(artu, records)


@pytest.mark.django_db(transaction=True)
def test_random_faults_with_concurrency_still_exactly_once(artu, oficial, settings, fast_retries):
    settings.ARTU_BATCH_SIZE = 4
    settings.ARTU_MAX_ATTEMPTS = 12
    records = approved(24)
    artu.set_faults(seed=11, rate_500=0.15, rate_429=0.15, drop_rate=0.1, commit_then_drop_rate=0.15, retry_after=0)
    submission = start_and_run(oficial, concurrency=4)
    assert submission.status == SubmissionStatus.FINISHED
    assert_exactly_once(artu, records)


def test_atomic_batch_with_an_invalid_record(artu, oficial, fast_retries):
    good = approved(3)
    bad = approved(1, rfc="BAD")[0]
    submission = start_and_run(oficial, atomic=True)
    assert submission.status == SubmissionStatus.FINISHED_WITH_FAILURES
    bad.refresh_from_db()
    assert bad.status == RecordStatus.FAILED
    assert any(m.get("path") == "scopeData.MX.rfc" for m in bad.artu_messages)
    for record in ClientRecord.objects.filter(pk__in=[r.pk for r in good]):
        assert record.status == RecordStatus.APPROVED  # and so can be submitted again
        assert record.artu_messages
    assert artu.clients("test") == []


def test_non_atomic_batch_creates_the_valid_records(artu, oficial, fast_retries):
    good = approved(3)
    bad = approved(1, rfc="BAD")[0]
    submission = start_and_run(oficial, atomic=False)
    assert submission.created_count == 3 and submission.failed_count == 1
    assert_exactly_once(artu, good)
    bad.refresh_from_db()
    assert bad.status == RecordStatus.FAILED and artu_id_of(bad) is None


def test_an_external_id_already_at_artu_fails_that_record(artu, oficial, fast_retries):
    existing = ClientRecordFactory.build(external_id="CLI-DUP")
    with ArtuClient() as client:
        client.create_clients([record_to_item(existing)])
    record = approved(1, external_id="CLI-DUP")[0]
    start_and_run(oficial, atomic=False)
    record.refresh_from_db()
    assert record.status == RecordStatus.FAILED and record.artu_messages


def test_a_worker_that_died_after_artu_committed_is_taken_over_without_resending(artu, oficial, settings, fast_retries):
    records = approved(4)
    submission = submission_start(actor=oficial, environment="test", enqueue=False)
    batch = submission.batches.get()
    # The dead worker had sent the batch and Artu stored it; then the process died before writing anything.
    with ArtuClient() as client:
        client.create_clients([record_to_item(r) for r in ClientRecord.objects.filter(batch=batch).order_by("pk")])
    stale = timezone.now() - datetime.timedelta(seconds=settings.ARTU_LEASE_SECONDS + 5)
    SubmissionBatch.objects.filter(pk=batch.pk).update(state=BatchState.SENDING, attempts=1, claimed_at=stale)
    submission = submission_run(submission.pk, concurrency=1)
    assert submission.status == SubmissionStatus.FINISHED
    assert_exactly_once(artu, records)
    assert artu.stats()["stats"]["requests_batch"] == 1  # the dead worker's call only: nothing sent again


def test_a_batch_given_up_on_is_reconciled_when_resumed(artu, oficial, settings, fast_retries):
    settings.ARTU_GIVE_UP_AFTER = 0  # no pause: given up at once, for a person
    settings.ARTU_LOOKUP_ATTEMPTS = 2
    records = approved(3)
    artu.set_faults(
        next=[{"fault": "commit_then_drop", "count": 1, "endpoint": "batch"}, {"fault": "drop", "count": 20}]
    )
    submission = start_and_run(oficial)
    assert submission.status == SubmissionStatus.FINISHED_WITH_FAILURES
    assert ClientRecord.objects.filter(status=RecordStatus.SUBMITTING).count() == 3  # never silently dropped
    artu.set_faults()
    submission_resume(actor=oficial, submission_id=submission.pk, enqueue=False)
    submission = submission_run(submission.pk, concurrency=1)
    assert submission.status == SubmissionStatus.FINISHED
    assert_exactly_once(artu, records)


def test_a_wrong_key_returns_the_records_to_approved(artu, oficial, settings, fast_retries):
    settings.ARTU_API_KEY = "sk_test_wrong"
    records = approved(2)
    submission = start_and_run(oficial)
    assert submission.status == SubmissionStatus.FINISHED_WITH_FAILURES
    for record in ClientRecord.objects.filter(pk__in=[r.pk for r in records]):
        assert record.status == RecordStatus.APPROVED and record.artu_messages
    assert "sk_test_wrong" not in str(list(AuditEvent.objects.values_list("changes", flat=True)))


def test_who_may_submit_where(artu, capturista, oficial, oficial_live, auditor):
    approved(1)
    for user in (capturista, auditor):
        with pytest.raises(PermissionDenied):
            submission_start(actor=user, environment="test", enqueue=False)
    with pytest.raises(PermissionDenied):
        submission_start(actor=oficial, environment="live", confirmation="LIVE", enqueue=False)
    with pytest.raises(SubmissionRefused):
        submission_start(actor=oficial_live, environment="live", confirmation="", enqueue=False)
    for almost in ("live", "Live", "LIVE!", "LIV"):
        with pytest.raises(SubmissionRefused):
            submission_start(actor=oficial_live, environment="live", confirmation=almost, enqueue=False)
    submission = submission_start(actor=oficial_live, environment="live", confirmation="LIVE", enqueue=False)
    submission_run(submission.pk, concurrency=1)
    assert len(artu.clients("live")) == 1 and artu.clients("test") == []


def test_a_record_is_never_in_two_submissions(artu, oficial, oficial2):
    approved(3)
    first = submission_start(actor=oficial, environment="test", enqueue=False)
    with pytest.raises(SubmissionRefused):
        submission_start(actor=oficial2, environment="test", enqueue=False)
    assert first.record_count == 3
    assert not Submission.objects.exclude(pk=first.pk).exists()


def test_only_the_chosen_upload_or_selection_is_submitted(artu, oficial):
    chosen = approved(2)
    others = approved(2)
    submission = submission_start(
        actor=oficial, environment="test", scope=Scope(record_ids=tuple(r.pk for r in chosen)), enqueue=False
    )
    assert submission.record_count == 2
    assert set(ClientRecord.objects.filter(status=RecordStatus.APPROVED).values_list("pk", flat=True)) == {
        r.pk for r in others
    }


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_overlapping_submissions_on_postgresql_claim_disjoint_records(artu, oficial, oficial2, fast_retries):
    if connection.vendor != "postgresql":
        pytest.skip("row locks with SKIP LOCKED are PostgreSQL's")
    records = approved(40)
    barrier = threading.Barrier(2)
    results, errors = [], []

    def start(user):
        try:
            barrier.wait()
            results.append(submission_start(actor=user, environment="test", enqueue=False))
        except SubmissionRefused as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=start, args=(u,)) for u in (oficial, oficial2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(s.record_count for s in results) == 40
    for submission in results:
        submission_run(submission.pk, concurrency=2)
    assert_exactly_once(artu, records)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("concurrency", [1, 3])
def test_no_more_batches_in_flight_than_the_concurrency(
    artu, oficial, settings, fast_retries, monkeypatch, concurrency
):
    """Workers outnumber the calls in flight by one (to write one outcome while the next batch is sent); the
    number of calls waiting on Artu at once never exceeds the setting."""
    settings.ARTU_BATCH_SIZE = 2
    records = approved(14)
    artu.set_faults(latency_ms=60)
    in_flight, peak, lock = 0, 0, threading.Lock()
    real = ArtuClient.create_clients

    def counted(self, *args, **kwargs):
        nonlocal in_flight, peak
        with lock:
            in_flight += 1
            peak = max(peak, in_flight)
        try:
            return real(self, *args, **kwargs)
        finally:
            with lock:
                in_flight -= 1

    monkeypatch.setattr(ArtuClient, "create_clients", counted)
    submission = start_and_run(oficial, concurrency=concurrency)
    assert submission.status == SubmissionStatus.FINISHED
    assert peak == concurrency
    assert_exactly_once(artu, records)


def test_an_outcome_is_written_only_to_records_no_other_worker_has_settled(oficial):
    """Two workers can hold the same batch after a lease expires: the second answer changes only what is still
    waiting, and is audited only for those records."""
    import uuid

    from onboarding.services.submissions.outcome import _waiting_records, _write_outcome

    approved(4)
    submission = submission_start(actor=oficial, environment="test", enqueue=False)
    batch = submission.batches.get()
    loaded = _waiting_records(batch)
    first_ids = {r.pk: uuid.uuid4() for r in loaded[:2]}
    for pk, artu_id in first_ids.items():  # the other worker's answer, already written
        ClientRecord.objects.filter(pk=pk).update(status=RecordStatus.SENT_TO_TEST)
        ArtuRecord.objects.create(
            record_id=pk, environment="test", artu_id=artu_id, submission=submission, recorded_at=timezone.now()
        )
    answer = {r.pk: {"id": str(uuid.uuid4()), "createdAt": "2026-12-01T10:00:00Z"} for r in loaded}

    _write_outcome(batch, loaded, created=answer, failed={}, returned={}, state=BatchState.DONE, summary={})

    for record in ClientRecord.objects.filter(batch=batch):
        assert record.status == RecordStatus.SENT_TO_TEST
        expected = first_ids.get(record.pk) or uuid.UUID(answer[record.pk]["id"])
        assert artu_id_of(record) == expected
    audited = AuditEvent.objects.filter(action=AuditAction.RECORD_SUBMITTED, submission_id=submission.pk)
    assert sorted(audited.values_list("record_id", flat=True)) == sorted(r.pk for r in loaded[2:])
    batch.refresh_from_db()
    assert batch.created_count == 2


@pytest.mark.django_db(transaction=True)
def test_a_worker_waiting_out_a_429_does_not_send_a_batch_another_worker_took_meanwhile(oficial, settings, monkeypatch):
    """Worker A waits out a 429 in-process; its retry time passes and worker B claims the batch and is sending it
    when A wakes. A must find the batch taken and leave it: Artu gets each record once."""
    import uuid

    from onboarding.artu import wire
    from onboarding.artu.client import ArtuRateLimited
    from onboarding.services.submissions import send as service
    from onboarding.services.submissions.start import _batch_claim

    settings.ARTU_BACKOFF_BASE = settings.ARTU_BACKOFF_CAP = 0.05
    approved(3)
    submission = submission_start(actor=oficial, environment="test", enqueue=False)
    sent_by, b_sending, a_done = [], threading.Event(), threading.Event()

    class Artu:
        def create_clients(self, items, atomic=True, environment=None):
            if not sent_by:
                sent_by.append("rate limited")
                raise ArtuRateLimited("slow down", status=429, retry_after=0.05)
            sent_by.append(threading.current_thread().name)
            if threading.current_thread().name == "B":
                b_sending.set()
                a_done.wait(10)  # B's call is in flight while A wakes up
            body = {"data": [{"id": str(uuid.uuid4()), "createdAt": "2026-01-02T03:04:05Z", **i} for i in items]}
            return wire.parse_batch(body, items, atomic=True, key=KEY)

        def find_by_metadata(self, *args, **kwargs):
            return None

    def worker_b():
        try:
            claimed = _batch_claim(submission.pk)
            assert claimed is not None, "the batch was claimable once A's retry time had passed"
            service.batch_process(Artu(), *claimed)
        finally:
            connection.close()

    real_sleep, b = time.sleep, threading.Thread(target=worker_b, name="B")

    def a_waits(delay):
        real_sleep(delay + 0.02)  # A wakes a little after its retry time...
        b.start()
        assert b_sending.wait(10)  # ...when B has claimed the batch and is sending it

    monkeypatch.setattr(service.time, "sleep", a_waits)
    batch, maybe_at_artu = _batch_claim(submission.pk)
    try:
        with pytest.raises(service.BatchTakenOver):
            service.batch_process(Artu(), batch, maybe_at_artu)
    finally:
        a_done.set()
        b.join(10)

    assert sent_by == ["rate limited", "B"]
    records = ClientRecord.objects.filter(batch=batch)
    assert {r.status for r in records} == {RecordStatus.SENT_TO_TEST}
    assert AuditEvent.objects.filter(action=AuditAction.RECORD_SUBMITTED, submission_id=submission.pk).count() == 3


def test_one_nationality_travels_as_a_string_and_several_as_a_list(artu, oficial):
    one = approved(1, nationalities="MX")[0]
    several = approved(1, nationalities="MX,US")[0]

    start_and_run(oficial, atomic=True)

    stored = {c["metadata"]["onboardingRecordId"]: c["nationalities"] for c in artu.clients("test")}
    assert stored == {str(one.uuid): "MX", str(several.uuid): ["MX", "US"]}
    assert set(ClientRecord.objects.values_list("status", flat=True)) == {RecordStatus.SENT_TO_TEST}


def _given_up_live_submission(artu, oficial_live, settings):
    """A live submission whose batch was given up on with its records left waiting (Artu did not answer)."""
    settings.ARTU_MAX_ATTEMPTS = 2
    settings.ARTU_GIVE_UP_AFTER = 0  # no pause: given up at once, for a person
    settings.ARTU_LOOKUP_ATTEMPTS = 2
    records = approved(2)
    artu.set_faults(next=[{"fault": "drop", "count": 20}])
    submission = start_and_run(oficial_live, environment="live", confirmation="LIVE")
    assert submission.status == SubmissionStatus.FINISHED_WITH_FAILURES
    assert ClientRecord.objects.filter(status=RecordStatus.SUBMITTING).count() == 2
    artu.set_faults()
    return submission, records


def test_resuming_a_live_submission_needs_the_live_permission(artu, oficial, oficial_live, settings, fast_retries):
    submission, records = _given_up_live_submission(artu, oficial_live, settings)
    events = AuditEvent.objects.count()
    with pytest.raises(PermissionDenied):
        submission_resume(actor=oficial, submission_id=submission.pk, enqueue=False)
    submission.refresh_from_db()
    assert submission.status == SubmissionStatus.FINISHED_WITH_FAILURES
    assert submission.batches.get().state == BatchState.GAVE_UP
    assert AuditEvent.objects.count() == events
    assert submission_run(submission.pk, concurrency=1).created_count == 0
    assert artu.clients("live") == []

    submission_resume(actor=oficial_live, submission_id=submission.pk, enqueue=False)
    assert submission_run(submission.pk, concurrency=1).status == SubmissionStatus.FINISHED
    assert_exactly_once(artu, records, env="live")
    resumed = AuditEvent.objects.filter(submission_id=submission.pk, changes__resumed=True).get()
    assert resumed.actor == oficial_live


def test_resuming_a_test_submission_needs_only_the_submit_permission(artu, oficial, oficial2, settings, fast_retries):
    settings.ARTU_MAX_ATTEMPTS = 2
    settings.ARTU_GIVE_UP_AFTER = 0  # no pause: given up at once, for a person
    settings.ARTU_LOOKUP_ATTEMPTS = 2
    records = approved(1)
    artu.set_faults(next=[{"fault": "drop", "count": 20}])
    submission = start_and_run(oficial)
    artu.set_faults()
    submission_resume(actor=oficial2, submission_id=submission.pk, enqueue=False)
    assert submission_run(submission.pk, concurrency=1).status == SubmissionStatus.FINISHED
    assert_exactly_once(artu, records)
