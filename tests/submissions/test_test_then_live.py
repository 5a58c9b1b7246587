"""Test, then live (issue 14): a record sent to Artu's test environment can later be sent to live, each environment
exactly once, against the sandbox over real HTTP."""

from collections import Counter

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from onboarding.artu.client import ArtuClient
from onboarding.artu.payload import record_to_item
from onboarding.models import ArtuRecord, ClientRecord, RecordStatus, SubmissionStatus
from onboarding.services.submissions import (
    Scope,
    SubmissionRefused,
    submission_preview,
    submission_run,
    submission_start,
)
from tests.factories import ClientRecordFactory

KEY = "onboardingRecordId"


@pytest.fixture
def fast_retries(settings):
    settings.ARTU_BACKOFF_BASE = 0.01
    settings.ARTU_BACKOFF_CAP = 0.05
    settings.ARTU_TIMEOUT = 1.5


def approved(n, **fields):
    return ClientRecordFactory.create_batch(n, status=RecordStatus.APPROVED, **fields)


def send(actor, environment, **kwargs):
    confirmation = "LIVE" if environment == "live" else ""
    submission = submission_start(
        actor=actor, environment=environment, confirmation=confirmation, enqueue=False, **kwargs
    )
    return submission_run(submission.pk, concurrency=1)


def held(environment):
    """{record pk: Artu's id} of the records Artu holds in `environment`, as stored here."""
    return {
        pk: str(artu_id)
        for pk, artu_id in ArtuRecord.objects.filter(environment=environment).values_list("record_id", "artu_id")
    }


def at_artu(artu, environment):
    """{record uuid: Artu's id} in the sandbox's store, failing on any record held twice."""
    clients = artu.clients(environment)
    keys = Counter(c["metadata"][KEY] for c in clients)
    assert all(n == 1 for n in keys.values()), f"held twice in {environment}: {keys}"
    return {c["metadata"][KEY]: c["id"] for c in clients}


def assert_held_once(artu, records, environment):
    stored, sandbox = held(environment), at_artu(artu, environment)
    assert len(sandbox) == len(records)
    for record in records:
        assert stored[record.pk] == sandbox[str(record.uuid)]


def test_a_record_sent_to_test_is_later_sent_to_live_once_in_each(artu, oficial_live, fast_retries):
    records = approved(3)

    first = send(oficial_live, "test")

    assert first.status == SubmissionStatus.FINISHED and first.created_count == 3
    assert set(ClientRecord.objects.values_list("status", flat=True)) == {RecordStatus.SENT_TO_TEST}
    assert_held_once(artu, records, "test")
    assert artu.clients("live") == []
    assert submission_preview(Scope(), environment="test").record_count == 0
    assert submission_preview(Scope(), environment="live").record_count == 3

    second = send(oficial_live, "live")

    assert second.status == SubmissionStatus.FINISHED and second.created_count == 3
    assert set(ClientRecord.objects.values_list("status", flat=True)) == {RecordStatus.SUBMITTED}
    assert_held_once(artu, records, "live")
    assert_held_once(artu, records, "test")  # nothing sent to test again
    assert not set(held("test").values()) & set(held("live").values())
    assert {row.submission_id for row in ArtuRecord.objects.filter(environment="live")} == {second.pk}
    # Live is final: nothing is left to send anywhere.
    for environment in ("test", "live"):
        with pytest.raises(SubmissionRefused):
            send(oficial_live, environment)
    assert artu.stats()["stats"]["requests_batch"] == 2


def test_a_second_test_submission_takes_nothing_already_in_test(artu, oficial, fast_retries):
    sent = approved(2)
    send(oficial, "test")
    fresh = approved(1)

    again = send(oficial, "test")

    assert again.record_count == 1 and again.created_count == 1
    assert_held_once(artu, [*sent, *fresh], "test")


def test_live_needs_the_live_permission_for_records_in_test(artu, oficial, fast_retries):
    approved(1)
    send(oficial, "test")
    with pytest.raises(PermissionDenied):
        submission_start(actor=oficial, environment="live", confirmation="LIVE", enqueue=False)
    assert ClientRecord.objects.get().status == RecordStatus.SENT_TO_TEST
    assert artu.clients("live") == []


@pytest.mark.parametrize("fault", ["drop", "commit_then_drop", "server_error"])
def test_live_reconciliation_never_takes_the_test_client_for_the_live_one(artu, oficial_live, fault, fast_retries):
    """The record's key (its UUID in metadata) is the same in both environments; Artu keeps them apart, and the
    lookup after an ambiguous live attempt asks live only: the test client is never taken for the live one."""
    records = approved(2)
    send(oficial_live, "test")
    artu.set_faults(next=[{"fault": fault, "count": 1, "endpoint": "batch"}])

    submission = send(oficial_live, "live")

    assert submission.status == SubmissionStatus.FINISHED
    assert_held_once(artu, records, "live")
    assert_held_once(artu, records, "test")
    assert not set(held("test").values()) & set(held("live").values())


def test_a_record_not_created_in_live_goes_back_to_sent_to_test(artu, oficial_live, fast_retries):
    """In an all-or-nothing live batch refused for one record, the others are not created: they go back to "sent to
    test", still eligible for live, not to "approved" (which would send them to test again)."""
    ok, clash = approved(1)[0], approved(1, external_id="CLI-CLASH")[0]
    send(oficial_live, "test")
    taken = ClientRecordFactory.build(external_id="CLI-CLASH")
    with ArtuClient() as client:  # live already holds another client with that external id
        client.create_clients([record_to_item(taken)], atomic=True, environment="live")

    submission = send(oficial_live, "live", atomic=True)

    assert submission.status == SubmissionStatus.FINISHED_WITH_FAILURES
    ok.refresh_from_db()
    clash.refresh_from_db()
    assert ok.status == RecordStatus.SENT_TO_TEST and ok.artu_messages
    assert clash.status == RecordStatus.FAILED
    assert held("live") == {}
    assert submission_preview(Scope(), environment="live").record_count == 1  # `ok`; `clash` waits for a fix
    assert submission_preview(Scope(), environment="test").record_count == 0


def test_the_test_submission_keeps_its_records_and_counts_once_they_are_in_live(
    artu, client_as, oficial_live, auditor, fast_retries
):
    records = approved(2)
    first = send(oficial_live, "test")
    test_ids = held("test")
    send(oficial_live, "live")

    page = client_as(auditor).get(reverse("submissions:detail", args=[first.pk]))

    html = page.content.decode()
    assert page.context["progress"]["created"] == 2
    for record in records:
        assert test_ids[record.pk] in html  # the test ids, on the test submission's page
    assert not any(artu_id in html for artu_id in held("live").values())
    csv = client_as(auditor).get(reverse("submissions:results", args=[first.pk])).content.decode("utf-8-sig")
    assert all(test_ids[record.pk] in csv for record in records)


def test_a_record_corrected_after_a_live_refusal_is_never_sent_to_test_again(artu, oficial_live, fast_retries):
    """Refused by live, corrected and approved again, a record Artu holds in test goes to live only."""
    clash = approved(1, external_id="CLI-CLASH")[0]
    send(oficial_live, "test")
    with ArtuClient() as client:
        client.create_clients([record_to_item(ClientRecordFactory.build(external_id="CLI-CLASH"))], environment="live")
    send(oficial_live, "live")
    ClientRecord.objects.filter(pk=clash.pk).update(external_id="CLI-FIXED", status=RecordStatus.APPROVED)

    with pytest.raises(SubmissionRefused):
        send(oficial_live, "test")
    live = send(oficial_live, "live")

    assert live.created_count == 1
    assert ClientRecord.objects.get(pk=clash.pk).status == RecordStatus.SUBMITTED
    assert_held_once(artu, [clash], "test")
    assert held("live")[clash.pk] in {c["id"] for c in artu.clients("live")}
