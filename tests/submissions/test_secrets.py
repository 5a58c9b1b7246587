"""A key that Artu echoes back (reason phrase, header) reaches no stored, shown, exported or logged text.

The sandbox's `echo_key` fault answers 401 `{}` with the status line `401 Bad key Bearer <key>` and the key in
`WWW-Authenticate`, as a careless gateway might; the submission then runs for real over HTTP.
"""

import json
import logging

import pytest
from django.db import connection
from django.urls import reverse

from onboarding.models import AuditAction, AuditEvent, ClientRecord, RecordStatus, SubmissionBatch
from onboarding.services.submissions import submission_run, submission_start
from tests.factories import ClientRecordFactory

LOGGERS = ("", "httpx", "httpcore", "onboarding")


@pytest.fixture
def echoed(artu, oficial, caplog):
    """A submission of two records whose one call Artu answered with the key in its status line."""
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    records = ClientRecordFactory.create_batch(2, status=RecordStatus.APPROVED)
    artu.set_faults(next=[{"fault": "echo_key", "endpoint": "batch"}])
    submission = submission_start(actor=oficial, environment="test", enqueue=False)
    submission = submission_run(submission.pk, concurrency=1)
    assert artu.stats()["stats"]["fault_echo_key"] == 1
    return submission, records


def test_the_records_messages_say_why_without_the_key(echoed, artu):
    submission, records = echoed
    for record in ClientRecord.objects.filter(pk__in=[r.pk for r in records]):
        assert record.status == RecordStatus.APPROVED
        text = json.dumps(record.artu_messages)
        assert "Bad key Bearer [secure]" in text
        assert artu.token not in text


def test_the_batchs_last_error_has_no_key(echoed, artu):
    submission, _ = echoed
    batch = SubmissionBatch.objects.get(submission=submission)
    assert "Bad key" in batch.last_error
    assert artu.token not in batch.last_error
    assert artu.token not in json.dumps(batch.response)


def test_no_audit_event_holds_the_key(echoed, artu):
    submission, _ = echoed
    events = AuditEvent.objects.filter(submission_id=submission.pk)
    actions = sorted(events.values_list("action", flat=True))
    assert AuditAction.BATCH_RESULT in actions and actions.count(AuditAction.RECORD_NOT_SENT) == 2
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM onboarding_auditevent")
        assert artu.token not in repr(cursor.fetchall())


def test_the_record_page_does_not_show_the_key(echoed, artu, client_as, auditor):
    _, records = echoed
    html = client_as(auditor).get(reverse("records:detail", args=[records[0].pk])).content.decode()
    assert "Bad key Bearer [secure]" in html
    assert artu.token not in html


def test_the_submission_page_does_not_show_the_key(echoed, artu, client_as, auditor):
    submission, _ = echoed
    html = client_as(auditor).get(reverse("submissions:detail", args=[submission.pk])).content.decode()
    assert "Bad key Bearer [secure]" in html
    assert artu.token not in html


def test_the_results_file_does_not_carry_the_key(echoed, artu, client_as, auditor):
    submission, _ = echoed
    text = client_as(auditor).get(reverse("submissions:results", args=[submission.pk])).content.decode()
    assert "Bad key Bearer [secure]" in text
    assert artu.token not in text


def test_the_audit_export_does_not_carry_the_key(echoed, artu, client_as, auditor):
    response = client_as(auditor).get(reverse("audit:export"))
    text = b"".join(response.streaming_content).decode()
    assert "Bad key Bearer [secure]" in text
    assert artu.token not in text


def test_no_log_line_carries_the_key(echoed, artu, caplog):
    records = caplog.get_records("setup")  # the submission ran in the fixture
    assert any(r.name.startswith("httpcore") for r in records), "httpcore debug logs were not captured"
    lines = "\n".join(caplog.handler.format(r) for r in records)
    assert "401 Bad key Bearer [secure]" in lines
    assert artu.token not in lines
