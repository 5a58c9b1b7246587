"""Review services: maker-checker, what blocks approval, reasons and comments, stale versions, one event per action."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from onboarding.errors import InvalidTransition, StaleRecord
from onboarding.models import AuditAction, AuditEvent, RecordStatus
from onboarding.selectors.review import record_changes_since
from onboarding.services import review as review_services
from onboarding.services.records import record_update
from onboarding.services.review import (
    RejectReason,
    record_acknowledge_warnings,
    record_approve,
    record_duplicate_dismiss,
    record_reject,
    record_send_back,
    review_availability,
    review_blockers,
)

pytestmark = pytest.mark.django_db

WARNING = {"field": "apellido_paterno", "code": "last_name_missing", "severity": "warning", "params": {}}
ERROR = {"field": "rfc", "code": "rfc_checksum", "severity": "error", "params": {"value": "X"}}


def codes(exc_info) -> set[str]:
    return {e.code for e in exc_info.value.error_list}


def events(record, action=None):
    qs = AuditEvent.objects.filter(record=record)
    return qs.filter(action=action) if action else qs


# -- maker-checker -----------------------------------------------------------------------------------------------


def test_approve_refuses_the_records_creator(oficial, staged):
    record = staged(created_by=oficial)
    with pytest.raises(ValidationError) as exc:
        record_approve(actor=oficial, record_id=record.pk)
    assert codes(exc) == {"maker_checker"}
    record.refresh_from_db()
    assert record.status == RecordStatus.IN_REVIEW
    assert not events(record).exists()


def test_approve_refuses_the_creator_even_after_someone_else_changed_the_data(oficial, capturista, staged):
    record = staged(created_by=oficial, updated_by=capturista)
    with pytest.raises(ValidationError) as exc:
        record_approve(actor=oficial, record_id=record.pk)
    assert codes(exc) == {"maker_checker"}


def test_approve_refuses_the_records_last_editor(oficial, oficial2, staged):
    record = staged()
    record_update(actor=oficial, record_id=record.pk, version=1, data={"external_id": "CLI-EDITED"})
    with pytest.raises(ValidationError) as exc:
        record_approve(actor=oficial, record_id=record.pk)
    assert codes(exc) == {"maker_checker"}
    approved = record_approve(actor=oficial2, record_id=record.pk)
    assert approved.status == RecordStatus.APPROVED and approved.reviewed_by == oficial2


def test_another_officer_approves_and_the_event_says_who_and_what(oficial, staged, capturista):
    record = staged()
    record_approve(actor=oficial, record_id=record.pk, version=1)
    record.refresh_from_db()
    assert record.status == RecordStatus.APPROVED
    assert record.reviewed_by == oficial and record.reviewed_at is not None
    assert record.updated_by == capturista  # a decision is not a data change
    event = events(record).get()
    assert event.action == AuditAction.RECORD_APPROVED and event.actor == oficial
    assert event.changes == {"status": [RecordStatus.IN_REVIEW, RecordStatus.APPROVED]}


def test_maker_checker_also_applies_to_acknowledging_warnings(oficial, oficial2, staged):
    record = staged(created_by=oficial, warning_count=1, problems=[WARNING])
    with pytest.raises(ValidationError) as exc:
        record_acknowledge_warnings(actor=oficial, record_id=record.pk)
    assert codes(exc) == {"maker_checker"}
    record_acknowledge_warnings(actor=oficial2, record_id=record.pk)
    record.refresh_from_db()
    assert record.warnings_acknowledged


# -- what blocks approval ----------------------------------------------------------------------------------------


def test_a_record_with_errors_cannot_be_approved(oficial, staged):
    record = staged(error_count=1, problems=[ERROR])
    with pytest.raises(ValidationError) as exc:
        record_approve(actor=oficial, record_id=record.pk)
    assert codes(exc) == {"has_errors"}
    assert not events(record).exists()


def test_warnings_must_be_acknowledged_before_approval(oficial, oficial2, staged):
    record = staged(warning_count=1, problems=[WARNING])
    with pytest.raises(ValidationError) as exc:
        record_approve(actor=oficial, record_id=record.pk)
    assert codes(exc) == {"warnings"}
    record_acknowledge_warnings(actor=oficial2, record_id=record.pk)
    record_approve(actor=oficial, record_id=record.pk)
    record.refresh_from_db()
    assert record.status == RecordStatus.APPROVED
    assert list(events(record).order_by("seq").values_list("action", flat=True)) == [
        AuditAction.RECORD_WARNINGS_ACKNOWLEDGED,
        AuditAction.RECORD_APPROVED,
    ]
    assert events(record, AuditAction.RECORD_WARNINGS_ACKNOWLEDGED).get().changes == {"warnings": ["last_name_missing"]}


def test_acknowledging_without_warnings_is_refused(oficial, staged):
    record = staged()
    with pytest.raises(ValidationError) as exc:
        record_acknowledge_warnings(actor=oficial, record_id=record.pk)
    assert codes(exc) == {"no_warnings"}


@pytest.mark.parametrize(
    "marks",
    [
        {"duplicate_field": "rfc"},
        {
            "problems": [{"field": "rfc", "code": "duplicate", "severity": "warning", "params": {}}],
            "warning_count": 1,
            "warnings_acknowledged": True,
        },
    ],
    ids=["duplicate-link", "duplicate-problem"],
)
def test_a_possible_duplicate_blocks_approval_until_dismissed(oficial, oficial2, staged, marks):
    original = staged()
    record = staged(duplicate_of=original if "duplicate_field" in marks else None, **marks)
    with pytest.raises(ValidationError) as exc:
        record_approve(actor=oficial, record_id=record.pk)
    assert "duplicate" in codes(exc)
    record_duplicate_dismiss(actor=oficial2, record_id=record.pk, comment="Distinct clients: different CURP.")
    record.refresh_from_db()
    assert record.duplicate_of is None and record.duplicate_field == ""
    assert not any(p["code"] == "duplicate" for p in record.problems)
    event = events(record, AuditAction.RECORD_UPDATED).get()
    assert event.reason == "Distinct clients: different CURP." and "duplicate_field" in event.changes
    record_approve(actor=oficial, record_id=record.pk)


def test_every_blocker_is_reported_at_once(oficial, staged):
    record = staged(
        created_by=oficial, error_count=1, warning_count=1, problems=[ERROR, WARNING], duplicate_field="rfc"
    )
    with pytest.raises(ValidationError) as exc:
        record_approve(actor=oficial, record_id=record.pk)
    assert codes(exc) == {"maker_checker", "has_errors", "duplicate", "warnings"}


@pytest.mark.parametrize(
    "status",
    [
        RecordStatus.DRAFT,
        RecordStatus.APPROVED,
        RecordStatus.REJECTED,
        RecordStatus.SUBMITTING,
        RecordStatus.SUBMITTED,
        RecordStatus.FAILED,
    ],
)
def test_only_records_in_review_can_be_approved(oficial, staged, status):
    record = staged(status=status)
    with pytest.raises(InvalidTransition):
        record_approve(actor=oficial, record_id=record.pk)


@pytest.mark.parametrize(
    "status", [RecordStatus.DRAFT, RecordStatus.REJECTED, RecordStatus.SUBMITTING, RecordStatus.SUBMITTED]
)
def test_records_outside_review_cannot_be_rejected_or_sent_back(oficial, staged, status):
    record = staged(status=status)
    with pytest.raises(InvalidTransition):
        record_reject(actor=oficial, record_id=record.pk, reason=RejectReason.OTHER, comment="x")
    with pytest.raises(InvalidTransition):
        record_send_back(actor=oficial, record_id=record.pk, comment="x")


# -- reject and send back ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reason", "comment", "expected"),
    [
        ("", "Fake documents", {"reason"}),
        (RejectReason.OTHER, "  ", {"comment"}),
        ("", "", {"reason", "comment"}),
        ("made_up", "x", {"reason"}),
    ],
)
def test_reject_requires_a_catalogue_reason_and_a_comment(oficial, staged, reason, comment, expected):
    record = staged()
    with pytest.raises(ValidationError) as exc:
        record_reject(actor=oficial, record_id=record.pk, reason=reason, comment=comment)
    assert set(exc.value.message_dict) == expected
    record.refresh_from_db()
    assert record.status == RecordStatus.IN_REVIEW and not events(record).exists()


def test_reject_stores_reason_and_comment_and_writes_its_event(oficial, staged):
    record = staged(error_count=1, problems=[ERROR])  # errors do not prevent a rejection
    reason = RejectReason.IDENTITY_MISMATCH
    record_reject(actor=oficial, record_id=record.pk, reason=reason, comment=" INE no coincide ")
    record.refresh_from_db()
    assert record.status == RecordStatus.REJECTED
    assert record.reject_reason == RejectReason.IDENTITY_MISMATCH and record.review_comment == "INE no coincide"
    event = events(record).get()
    assert event.action == AuditAction.RECORD_REJECTED and event.reason == "INE no coincide"
    assert event.changes["reject_reason"] == RejectReason.IDENTITY_MISMATCH


def test_the_creator_may_reject_but_not_approve(oficial, staged):
    record = staged(created_by=oficial)
    assert review_blockers(record, oficial)
    record_reject(actor=oficial, record_id=record.pk, reason=RejectReason.TEST_DATA, comment="Prueba")
    record.refresh_from_db()
    assert record.status == RecordStatus.REJECTED


def test_send_back_returns_the_record_to_data_entry_who_resubmits_it(oficial, capturista, staged):
    record = staged()
    with pytest.raises(ValidationError):
        record_send_back(actor=oficial, record_id=record.pk, comment="")
    record_send_back(actor=oficial, record_id=record.pk, comment="Falta el apellido materno")
    record.refresh_from_db()
    assert record.status == RecordStatus.DRAFT and record.review_comment == "Falta el apellido materno"
    assert events(record, AuditAction.RECORD_SENT_BACK).get().reason == "Falta el apellido materno"
    record_update(
        actor=capturista,
        record_id=record.pk,
        version=record.version,
        data={"apellido_paterno": "Pérez", "apellido_materno": "Soto"},
    )
    record.refresh_from_db()
    assert record.status == RecordStatus.IN_REVIEW


def test_editing_an_approved_record_sends_it_back_to_review(oficial, oficial2, staged):
    record = staged()
    record_approve(actor=oficial, record_id=record.pk)
    record_update(actor=oficial2, record_id=record.pk, version=1, data={"external_id": "CLI-NEW"})
    record.refresh_from_db()
    assert record.status == RecordStatus.IN_REVIEW and record.updated_by == oficial2
    with pytest.raises(ValidationError) as exc:  # and its editor may not approve it now
        record_approve(actor=oficial2, record_id=record.pk)
    assert codes(exc) == {"maker_checker"}
    record_approve(actor=oficial, record_id=record.pk)


# -- concurrency -------------------------------------------------------------------------------------------------


def test_second_of_two_concurrent_saves_is_refused_with_what_changed(oficial, oficial2, staged):
    record = staged(name="Ana")
    opened_version = record.version  # both officers opened the record at version 1
    record_update(actor=oficial, record_id=record.pk, version=opened_version, data={"name": "Ana Luisa"})
    with pytest.raises(StaleRecord) as exc:
        record_update(actor=oficial2, record_id=record.pk, version=opened_version, data={"name": "Anita"})
    record.refresh_from_db()
    assert record.name == "Ana Luisa" and record.version == 2
    changes = record_changes_since(record_id=record.pk, version=opened_version)
    assert [(c["field"], c["old"], c["new"], c["by"]) for c in changes] == [("name", "Ana", "Ana Luisa", "oficial")]
    assert exc.value.params["current_version"] == 2


def test_a_decision_on_a_stale_version_is_refused_with_what_changed(oficial, oficial2, staged):
    record = staged(rfc="")
    record_update(actor=oficial2, record_id=record.pk, version=1, data={"external_id": "X-9"})
    with pytest.raises(StaleRecord) as exc:
        record_approve(actor=oficial, record_id=record.pk, version=1)
    assert [c["field"] for c in exc.value.params["changes"]] == ["external_id"]
    record.refresh_from_db()
    assert record.status == RecordStatus.IN_REVIEW


# -- permissions and audit ---------------------------------------------------------------------------------------

ACTIONS = {
    "approve": lambda actor, pk: record_approve(actor=actor, record_id=pk),
    "reject": lambda actor, pk: record_reject(actor=actor, record_id=pk, reason=RejectReason.OTHER, comment="c"),
    "send_back": lambda actor, pk: record_send_back(actor=actor, record_id=pk, comment="c"),
    "acknowledge": lambda actor, pk: record_acknowledge_warnings(actor=actor, record_id=pk),
    "not_duplicate": lambda actor, pk: record_duplicate_dismiss(actor=actor, record_id=pk),
}
EVENT = {
    "approve": AuditAction.RECORD_APPROVED,
    "reject": AuditAction.RECORD_REJECTED,
    "send_back": AuditAction.RECORD_SENT_BACK,
    "acknowledge": AuditAction.RECORD_WARNINGS_ACKNOWLEDGED,
    "not_duplicate": AuditAction.RECORD_UPDATED,
}


def record_for(action, staged):
    if action == "acknowledge":
        return staged(warning_count=1, problems=[WARNING])
    if action == "not_duplicate":
        return staged(duplicate_field="curp")
    return staged()


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        ("capturista2", False),
        ("auditor", False),
        ("nobody", False),
        ("oficial", True),
        ("oficial_live", True),
        ("admin_user", True),
    ],
)
def test_each_action_is_allowed_to_reviewers_only(request, staged, action, role, allowed):
    actor = request.getfixturevalue(role)
    record = record_for(action, staged)
    if allowed:
        ACTIONS[action](actor, record.pk)
        assert events(record).count() == 1
    else:
        with pytest.raises(PermissionDenied):
            ACTIONS[action](actor, record.pk)
        assert not events(record).exists()


@pytest.mark.parametrize("action", ACTIONS)
def test_each_action_writes_exactly_its_event(oficial, staged, action):
    record = record_for(action, staged)
    before = AuditEvent.objects.count()
    ACTIONS[action](oficial, record.pk)
    assert AuditEvent.objects.count() == before + 1
    event = events(record).get()
    assert event.action == EVENT[action] and event.actor == oficial and event.record_id == record.pk


@pytest.mark.parametrize("action", ACTIONS)
def test_each_action_rolls_back_when_its_event_cannot_be_written(oficial, staged, monkeypatch, action):
    record = record_for(action, staged)
    snapshot = {f: getattr(record, f) for f in ("status", "warnings_acknowledged", "duplicate_field", "reviewed_by_id")}

    def broken(**kwargs):
        raise RuntimeError("audit store unavailable")

    monkeypatch.setattr(review_services, "audit_events_write", broken)
    monkeypatch.setattr(review_services, "audit_event_write", broken)
    with pytest.raises(RuntimeError):
        ACTIONS[action](oficial, record.pk)
    record.refresh_from_db()
    assert {f: getattr(record, f) for f in snapshot} == snapshot


def test_review_blockers_explain_each_unavailable_button(oficial, staged, auditor):
    record = staged(created_by=oficial, error_count=2, problems=[ERROR, ERROR])
    reasons = review_blockers(record, oficial)
    assert len(reasons) == 2 and all(isinstance(r, str) and r for r in reasons)
    assert review_blockers(staged(), oficial) == []
    options = review_availability(record=record, user=oficial)
    assert options["approve"].shown and not options["approve"].allowed
    assert options["reject"].allowed and not options["acknowledge"].shown
    assert not any(o.shown for o in review_availability(record=record, user=auditor).values())
