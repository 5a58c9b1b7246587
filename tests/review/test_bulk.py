"""Bulk review: a selection or a whole filter, the count confirmed, blocked records skipped and counted by reason."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command

from onboarding.models import AuditAction, AuditEvent, RecordStatus, Upload
from onboarding.services.review import (
    BulkResult,
    RejectReason,
    bulk_summary,
    record_bulk_approve,
    record_bulk_reject,
    record_bulk_send_back,
)

pytestmark = pytest.mark.django_db

ERROR = {"field": "rfc", "code": "rfc_checksum", "severity": "error", "params": {}}
WARNING = {"field": "apellido_paterno", "code": "last_name_missing", "severity": "warning", "params": {}}


@pytest.fixture
def mixed(staged, oficial):
    """Three clean records, one created by the officer, one with errors, one with unacknowledged warnings."""
    return {
        "clean": [staged(external_id=f"OK-{i}") for i in range(3)],
        "own": staged(created_by=oficial, external_id="OWN"),
        "errors": staged(error_count=1, problems=[ERROR], external_id="ERR"),
        "warnings": staged(warning_count=1, problems=[WARNING], external_id="WARN"),
    }


def all_ids(mixed):
    return [r.pk for r in mixed["clean"]] + [mixed[k].pk for k in ("own", "errors", "warnings")]


def test_bulk_approve_counts_done_and_skipped_by_reason(oficial, mixed):
    result = record_bulk_approve(actor=oficial, record_ids=all_ids(mixed))
    assert result.done == 3
    assert dict(result.skipped) == {"maker_checker": 1, "has_errors": 1, "warnings": 1}
    approved = RecordStatus.APPROVED
    assert {r.pk for r in mixed["clean"]} == set(
        mixed["clean"][0].__class__.objects.filter(status=approved).values_list("pk", flat=True)
    )
    events = AuditEvent.objects.filter(action=AuditAction.RECORD_APPROVED)
    assert sorted(events.values_list("record_id", flat=True)) == sorted(r.pk for r in mixed["clean"])
    assert "3" in bulk_summary(result)


def test_bulk_approve_over_a_filter_acts_only_on_matching_records(oficial, mixed):
    result = record_bulk_approve(actor=oficial, filters={"q": "OK-"}, expected_count=3)
    assert (result.done, result.skipped_total) == (3, 0)
    assert AuditEvent.objects.filter(action=AuditAction.RECORD_APPROVED).count() == 3
    mixed["own"].refresh_from_db()
    assert mixed["own"].status == RecordStatus.IN_REVIEW


def test_bulk_action_refuses_when_the_filter_no_longer_matches_the_confirmed_count(oficial, mixed, staged):
    staged(external_id="OK-late")  # arrived after the officer saw "3 records"
    with pytest.raises(ValidationError) as exc:
        record_bulk_approve(actor=oficial, filters={"q": "OK-"}, expected_count=3)
    assert exc.value.code == "count_changed"
    assert not AuditEvent.objects.filter(record__isnull=False).exists()
    assert not mixed["clean"][0].__class__.objects.filter(status=RecordStatus.APPROVED).exists()


def test_bulk_reject_needs_reason_and_comment_and_writes_one_event_each(oficial, mixed):
    with pytest.raises(ValidationError):
        record_bulk_reject(actor=oficial, reason="", comment="", record_ids=all_ids(mixed))
    result = record_bulk_reject(
        actor=oficial,
        reason=RejectReason.TEST_DATA,
        comment="Carga de prueba",
        filters={"status": RecordStatus.IN_REVIEW},
        expected_count=6,
    )
    assert (result.done, result.skipped_total) == (6, 0)  # rejection has no maker-checker and ignores errors
    events = AuditEvent.objects.filter(action=AuditAction.RECORD_REJECTED)
    assert events.count() == 6 and set(events.values_list("reason", flat=True)) == {"Carga de prueba"}


def test_bulk_send_back_skips_records_in_a_status_that_does_not_allow_it(oficial, mixed):
    record_bulk_reject(actor=oficial, reason=RejectReason.OTHER, comment="x", record_ids=[mixed["own"].pk])
    result = record_bulk_send_back(actor=oficial, comment="Revisar domicilio", record_ids=all_ids(mixed))
    assert result.done == 5 and dict(result.skipped) == {"status": 1}
    assert AuditEvent.objects.filter(action=AuditAction.RECORD_SENT_BACK).count() == 5


def test_bulk_counts_records_that_vanished_from_the_selection(oficial, mixed):
    result = record_bulk_approve(actor=oficial, record_ids=[mixed["clean"][0].pk, 999_999])
    assert result.done == 1 and dict(result.skipped) == {"gone": 1}


@pytest.mark.parametrize("role", ["capturista", "auditor", "nobody"])
def test_bulk_actions_refuse_non_reviewers(request, mixed, role):
    actor = request.getfixturevalue(role)
    with pytest.raises(PermissionDenied):
        record_bulk_approve(actor=actor, record_ids=all_ids(mixed))
    with pytest.raises(PermissionDenied):
        record_bulk_send_back(actor=actor, comment="x", filters={})
    assert not AuditEvent.objects.filter(record__isnull=False).exists()


def test_bulk_works_across_chunks(oficial, staged, monkeypatch):
    from onboarding.services import review

    monkeypatch.setattr(review, "BULK_CHUNK", 2)
    records = [staged() for _ in range(5)]
    result = record_bulk_approve(actor=oficial, record_ids=[r.pk for r in records])
    assert result == BulkResult(done=5)
    assert AuditEvent.objects.filter(action=AuditAction.RECORD_APPROVED).count() == 5


# -- approve_clients ---------------------------------------------------------------------------------------------


@pytest.fixture
def upload(capturista):
    return Upload.objects.create(
        file="uploads/x.csv", original_name="clientes.csv", sha256="0" * 64, format="csv", created_by=capturista
    )


def test_approve_clients_approves_the_clean_records_of_an_upload_and_reports_the_rest(oficial, staged, upload, capsys):
    clean = [staged(upload=upload) for _ in range(3)]
    staged(upload=upload, created_by=oficial)
    staged(upload=upload, error_count=1, problems=[ERROR])
    staged(upload=upload, warning_count=1, problems=[WARNING])
    other_upload_record = staged()
    call_command("approve_clients", "--upload", str(upload.pk), "--as", "oficial")
    out = capsys.readouterr().out
    assert "approved: 3" in out and "skipped: 3" in out
    assert "maker_checker: 1" in out and "has_errors: 1" in out and "warnings: 1" in out
    approved = upload.records.filter(status=RecordStatus.APPROVED).values_list("pk", flat=True)
    assert {r.pk for r in clean} == set(approved)
    other_upload_record.refresh_from_db()
    assert other_upload_record.status == RecordStatus.IN_REVIEW
    events = AuditEvent.objects.filter(action=AuditAction.RECORD_APPROVED, actor=oficial)
    assert sorted(events.values_list("record_id", flat=True)) == sorted(r.pk for r in clean)


def test_approve_clients_refuses_unknown_users_uploads_and_non_reviewers(capturista, oficial, upload):
    with pytest.raises(CommandError):
        call_command("approve_clients", "--upload", str(upload.pk), "--as", "ghost")
    with pytest.raises(CommandError):
        call_command("approve_clients", "--upload", "424242", "--as", "oficial")
    with pytest.raises(CommandError):
        call_command("approve_clients", "--upload", str(upload.pk), "--as", "capturista")
