"""No dead ends: a sent-back draft goes back to review as it is, and a save made stale by another is re-applied."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from onboarding.errors import InvalidTransition, StaleRecord
from onboarding.models import DATA_FIELDS, AuditAction, AuditEvent, RecordStatus
from onboarding.selectors.records import record_stale_fields
from onboarding.services.records import record_resubmit, record_update
from onboarding.services.review import record_approve, record_duplicate_dismiss, record_send_back
from tests.factories import ClientRecordFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent_back(capturista, oficial):
    record = ClientRecordFactory(created_by=capturista)
    return record_send_back(actor=oficial, record_id=record.pk, comment="Confirme la fecha de nacimiento")


def test_a_sent_back_draft_shows_the_reviewers_comment(sent_back):
    assert sent_back.status == RecordStatus.DRAFT
    assert sent_back.sent_back_comment == "Confirme la fecha de nacimiento"


def test_the_comment_is_no_longer_a_sent_back_reason_once_in_review(sent_back, capturista):
    record = record_resubmit(actor=capturista, record_id=sent_back.pk)
    assert record.sent_back_comment == ""


def test_data_entry_sends_a_draft_back_to_review_without_changing_data(sent_back, capturista):
    before = {f: getattr(sent_back, f) for f in DATA_FIELDS}
    record = record_resubmit(actor=capturista, record_id=sent_back.pk, comment="  La fecha es correcta  ")
    record.refresh_from_db()
    assert record.status == RecordStatus.IN_REVIEW
    assert {f: getattr(record, f) for f in DATA_FIELDS} == before
    assert record.version == sent_back.version and record.updated_by == capturista
    event = AuditEvent.objects.get(action=AuditAction.RECORD_SENT_TO_REVIEW)
    assert event.record_id == record.pk and event.actor == capturista
    assert event.changes == {"status": [RecordStatus.DRAFT, RecordStatus.IN_REVIEW]}
    assert event.reason == "La fecha es correcta"


def test_an_officer_who_resubmits_made_no_data_and_may_still_approve(sent_back, oficial):
    record_resubmit(actor=oficial, record_id=sent_back.pk)
    approved = record_approve(actor=oficial, record_id=sent_back.pk)
    assert approved.status == RecordStatus.APPROVED


def test_resubmitting_by_the_records_maker_does_not_let_them_approve(roles, capturista, oficial, oficial2):
    record = ClientRecordFactory(created_by=oficial2)
    record_send_back(actor=oficial, record_id=record.pk, comment="Revise")
    record_resubmit(actor=oficial2, record_id=record.pk)
    with pytest.raises(ValidationError) as refused:
        record_approve(actor=oficial2, record_id=record.pk)
    assert refused.value.error_list[0].code == "maker_checker"


@pytest.mark.parametrize("status", [RecordStatus.IN_REVIEW, RecordStatus.APPROVED, RecordStatus.SUBMITTED])
def test_only_drafts_are_resubmitted(capturista, status):
    record = ClientRecordFactory(status=status)
    with pytest.raises(InvalidTransition):
        record_resubmit(actor=capturista, record_id=record.pk)
    assert not AuditEvent.objects.filter(action=AuditAction.RECORD_SENT_TO_REVIEW).exists()


def test_an_auditor_cannot_resubmit(sent_back, auditor):
    with pytest.raises(PermissionDenied):
        record_resubmit(actor=auditor, record_id=sent_back.pk)
    sent_back.refresh_from_db()
    assert sent_back.status == RecordStatus.DRAFT


# -- re-applying a stale save ------------------------------------------------------------------------------------


def form_data(record, **changes):
    return {f: getattr(record, f) for f in DATA_FIELDS} | changes


@pytest.fixture
def opened(capturista):
    """A record as a user opened it at version 1."""
    return ClientRecordFactory(created_by=capturista, name="Ana", middle_name="", external_id="CLI-1")


def test_a_stale_save_is_refused_then_reapplied_over_the_other_save(opened, oficial, oficial2):
    mine = form_data(opened, middle_name="Sofía")  # typed over version 1
    record_update(actor=oficial2, record_id=opened.pk, version=1, data={"external_id": "CLI-9"})
    with pytest.raises(StaleRecord):
        record_update(actor=oficial, record_id=opened.pk, version=1, data=mine)
    record = record_update(actor=oficial, record_id=opened.pk, version=2, data=mine, base_version=1)
    assert (record.middle_name, record.external_id, record.version) == ("Sofía", "CLI-9", 3)
    event = AuditEvent.objects.filter(action=AuditAction.RECORD_UPDATED).latest("seq")
    assert set(event.changes) == {"middle_name", "version", "reapplied_from"}  # their external id untouched
    assert event.changes["reapplied_from"] == 1 and event.actor == oficial


def test_a_field_both_changed_keeps_theirs_unless_the_user_chooses_theirs_over_mine(opened, oficial, oficial2):
    mine = form_data(opened, name="Ana María", middle_name="Sofía")
    record_update(actor=oficial2, record_id=opened.pk, version=1, data={"name": "Anabel"})
    record = record_update(actor=oficial, record_id=opened.pk, version=2, data=mine, base_version=1)
    assert (record.name, record.middle_name) == ("Anabel", "Sofía")  # theirs by default, mine where only I changed


def test_a_field_both_changed_takes_mine_when_chosen(opened, oficial, oficial2):
    mine = form_data(opened, name="Ana María")
    record_update(actor=oficial2, record_id=opened.pk, version=1, data={"name": "Anabel"})
    record = record_update(actor=oficial, record_id=opened.pk, version=2, data=mine, base_version=1, keep_mine=["name"])
    assert record.name == "Ana María" and record.updated_by == oficial


def test_reapplying_onto_a_version_that_moved_again_is_refused(opened, oficial, oficial2):
    mine = form_data(opened, middle_name="Sofía")
    record_update(actor=oficial2, record_id=opened.pk, version=1, data={"name": "Anabel"})
    record_update(actor=oficial2, record_id=opened.pk, version=2, data={"name": "Anabela"})
    with pytest.raises(StaleRecord):
        record_update(actor=oficial, record_id=opened.pk, version=2, data=mine, base_version=1)
    record = record_update(actor=oficial, record_id=opened.pk, version=3, data=mine, base_version=1)
    assert (record.name, record.middle_name) == ("Anabela", "Sofía")


def test_stale_fields_say_who_changed_what_and_what_the_user_typed(opened, oficial, oficial2):
    record_update(actor=oficial2, record_id=opened.pk, version=1, data={"name": "Anabel", "external_id": "CLI-9"})
    record_duplicate_dismiss_safe(opened, oficial2)
    opened.refresh_from_db()
    fields = {
        f.field: f
        for f in record_stale_fields(
            record=opened,
            base_version=1,
            data=form_data(opened, name="Ana María", external_id="CLI-1", birth_date=None),
        )
    }
    assert fields["name"].conflict and fields["name"].by == "oficial2"
    assert (fields["name"].base, fields["name"].theirs, fields["name"].mine) == ("Ana", "Anabel", "Ana María")
    assert fields["external_id"].theirs_changed and not fields["external_id"].mine_changed  # I typed what I saw
    assert fields["birth_date"].mine_changed and not fields["birth_date"].theirs_changed
    assert fields["birth_date"].mine_text == "—"
    assert "middle_name" not in fields


def record_duplicate_dismiss_safe(record, actor):
    """A review-state change written after the data change (no version): the walk over changes must go past it."""
    from onboarding.models import ClientRecord

    ClientRecord.objects.filter(pk=record.pk).update(duplicate_field="rfc")
    record_duplicate_dismiss(actor=actor, record_id=record.pk)


def test_a_birth_date_changed_by_both_is_shown_day_first(opened, oficial, oficial2):
    record_update(actor=oficial2, record_id=opened.pk, version=1, data={"birth_date": datetime.date(1990, 1, 2)})
    opened.refresh_from_db()
    mine = form_data(opened, birth_date=datetime.date(1990, 2, 1))
    (field,) = [f for f in record_stale_fields(record=opened, base_version=1, data=mine) if f.field == "birth_date"]
    assert field.conflict and (field.theirs_text, field.mine_text) == ("02/01/1990", "01/02/1990")
