"""Possible duplicates: every path flags both records, "not a duplicate" settles the pair, keeping one rejects the
other; two saves at once cannot both miss each other."""

import datetime
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

import onboarding.services.records as record_services
from onboarding.errors import InvalidTransition
from onboarding.models import AuditAction, AuditEvent, ClientRecord, ClientType, DuplicateDismissal, RecordStatus
from onboarding.selectors.review import record_changes_since
from onboarding.services.records import record_create, record_update
from onboarding.services.review import (
    RejectReason,
    record_approve,
    record_bulk_reject,
    record_duplicate_dismiss,
    record_duplicate_keep,
    record_reject,
)
from tests.factories import ClientRecordFactory, person_identifiers

pytestmark = pytest.mark.django_db

BIRTH = datetime.date(1985, 4, 12)
RFC, CURP = person_identifiers("JORGE", "HERNANDEZ", "LOPEZ", BIRTH)


def person_data(**overrides) -> dict:
    data = {
        "client_type": ClientType.INDIVIDUAL,
        "name": "Jorge",
        "apellido_paterno": "Hernández",
        "apellido_materno": "López",
        "birth_date": BIRTH,
        "nationalities": "MX",
        "rfc": RFC,
        "curp": CURP,
        "external_id": "",
        "metadata": {},
        "scopes": [],
    }
    return data | overrides


def fresh(record) -> ClientRecord:
    return ClientRecord.objects.get(pk=record.pk)


def flags(record) -> set[tuple[str, str, int]]:
    """(field, value, other record) of each duplicate problem the record carries now."""
    problems = fresh(record).problems
    return {(p["field"], p["params"]["value"], p["params"]["other"]) for p in problems if p["code"] == "duplicate"}


def updates(record) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(record=record, action=AuditAction.RECORD_UPDATED).order_by("seq"))


# -- the form and the queue's cells ------------------------------------------------------------------------------


def test_a_record_typed_with_an_rfc_already_staged_flags_both_records(capturista, capturista2):
    first = record_create(actor=capturista, data=person_data(curp=""))
    second = record_create(actor=capturista2, data=person_data(curp=""))
    assert flags(second) == {("rfc", RFC, first.pk)}
    assert flags(first) == {("rfc", RFC, second.pk)}
    first, second = fresh(first), fresh(second)
    assert (first.duplicate_of_id, first.duplicate_field) == (second.pk, "rfc")
    assert (second.duplicate_of_id, second.duplicate_field) == (first.pk, "rfc")
    assert first.error_count == second.error_count == 1
    # The earlier record's flag is a change to it, audited under the person whose save found it.
    event = updates(first)[-1]
    assert event.actor == capturista2 and event.changes["duplicate_of"] == [None, second.pk]
    # The new record: created, then flagged, in that order and the same transaction.
    assert [e.action for e in AuditEvent.objects.filter(record=second).order_by("seq")] == [
        AuditAction.RECORD_CREATED,
        AuditAction.RECORD_UPDATED,
    ]
    assert updates(second)[-1].changes["duplicate_of"] == [None, first.pk]


@pytest.mark.parametrize("field", ["external_id", "rfc", "curp"])
def test_each_identifier_is_checked_on_its_own(capturista, field):
    only = {"external_id": "", "rfc": "", "curp": ""} | {field: person_data(external_id="SUC-1")[field]}
    first = record_create(actor=capturista, data=person_data(**only))
    second = record_create(actor=capturista, data=person_data(**only))
    assert {f for f, _v, _o in flags(first)} == {f for f, _v, _o in flags(second)} == {field}


def test_two_duplicates_are_both_blocked_from_approval(capturista, oficial):
    first = record_create(actor=capturista, data=person_data())
    second = record_create(actor=capturista, data=person_data())
    for record in (first, second):
        with pytest.raises(ValidationError) as exc:
            record_approve(actor=oficial, record_id=record.pk)
        assert "duplicate" in {e.code for e in exc.value.error_list}


def test_the_generic_rfc_and_rejected_records_are_never_duplicates(capturista, oficial):
    generic = person_data(rfc="XAXX010101000", curp="")
    record_create(actor=capturista, data=generic)
    assert not flags(record_create(actor=capturista, data=generic))
    rejected = ClientRecordFactory(rfc=RFC, status=RecordStatus.REJECTED)
    typed = record_create(actor=capturista, data=person_data(curp=""))
    assert not flags(typed) and not flags(rejected)


def test_a_full_edit_that_takes_another_records_rfc_flags_both(capturista, oficial):
    first = record_create(actor=capturista, data=person_data(curp=""))
    other = ClientRecordFactory(created_by=capturista, curp="")
    record_update(actor=oficial, record_id=other.pk, version=1, data=person_data(curp="", name="Jorge Luis"))
    assert flags(other) == {("rfc", RFC, first.pk)} and flags(first) == {("rfc", RFC, other.pk)}


def test_an_edit_that_drops_the_shared_value_clears_both(capturista, oficial):
    first = record_create(actor=capturista, data=person_data(curp=""))
    second = record_create(actor=capturista, data=person_data(curp=""))
    other_rfc, _ = person_identifiers("JORGE", "HERNANDEZ", "LOPEZ", datetime.date(1986, 5, 13))
    record_update(actor=oficial, record_id=second.pk, version=1, data={"rfc": other_rfc})
    assert not flags(first) and not flags(second)
    assert fresh(first).duplicate_of_id is None and fresh(first).error_count == 0
    assert updates(first)[-1].changes["duplicate_of"] == [second.pk, None]


def test_an_edit_of_another_field_keeps_the_flags(capturista, oficial):
    first = record_create(actor=capturista, data=person_data(curp=""))
    second = record_create(actor=capturista, data=person_data(curp=""))
    record_update(actor=oficial, record_id=second.pk, version=1, data={"name": "Jorge Alberto"})
    assert flags(second) == {("rfc", RFC, first.pk)} and fresh(second).error_count == 1
    assert flags(first) == {("rfc", RFC, second.pk)}


def test_a_cell_edited_in_the_queue_is_checked_like_the_form(client_as, capturista, oficial):
    first = record_create(actor=capturista, data=person_data(curp=""))
    other = ClientRecordFactory(created_by=capturista, curp="", name="Jorge", last_name="Hernández López")
    other.birth_date = BIRTH
    other.save()
    response = client_as(oficial).post(
        f"/review/{other.pk}/cell/rfc/", {"value": RFC, "version": 1}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert "badge-duplicate" in response.text
    assert flags(other) == {("rfc", RFC, first.pk)} and flags(first) == {("rfc", RFC, other.pk)}


def test_an_approved_record_found_to_have_a_duplicate_goes_back_to_review(capturista, oficial):
    approved = ClientRecordFactory(created_by=capturista, rfc=RFC, curp="", status=RecordStatus.APPROVED)
    record_create(actor=capturista, data=person_data(curp=""))
    approved = fresh(approved)
    assert approved.status == RecordStatus.IN_REVIEW and approved.duplicate_of_id
    assert updates(approved)[-1].changes["status"] == [RecordStatus.APPROVED, RecordStatus.IN_REVIEW]


def test_a_submitted_record_is_never_written_but_its_newcomer_is_flagged(capturista):
    submitted = ClientRecordFactory(created_by=capturista, rfc=RFC, curp="", status=RecordStatus.SUBMITTED)
    newcomer = record_create(actor=capturista, data=person_data(curp=""))
    assert flags(newcomer) == {("rfc", RFC, submitted.pk)}
    assert not flags(submitted) and not updates(submitted)


def test_three_holders_each_point_at_the_oldest_other(capturista):
    a, b, c = (record_create(actor=capturista, data=person_data(curp="")) for _ in range(3))
    assert flags(a) == {("rfc", RFC, b.pk)}
    assert flags(b) == flags(c) == {("rfc", RFC, a.pk)}


# -- settling a pair ---------------------------------------------------------------------------------------------


def test_not_a_duplicate_on_one_record_clears_the_pair_and_is_audited_on_both(capturista, oficial):
    first = record_create(actor=capturista, data=person_data())
    second = record_create(actor=capturista, data=person_data())
    record_duplicate_dismiss(actor=oficial, record_id=second.pk, comment="Padre e hijo, mismo nombre.")
    for record in (first, second):
        assert not flags(record) and fresh(record).duplicate_of_id is None and fresh(record).error_count == 0
        event = updates(record)[-1]
        assert event.actor == oficial and "Padre e hijo, mismo nombre." in event.reason
    assert updates(first)[-1].changes["not_duplicate_of"] == [None, [second.pk]]
    assert DuplicateDismissal.objects.count() == 2  # RFC and CURP, the two values they share


def test_a_dismissed_pair_stays_settled_when_either_is_edited(capturista, oficial):
    first = record_create(actor=capturista, data=person_data(curp=""))
    second = record_create(actor=capturista, data=person_data(curp=""))
    record_duplicate_dismiss(actor=oficial, record_id=first.pk, other_id=second.pk)
    record_update(actor=oficial, record_id=second.pk, version=1, data={"name": "Jorge Luis", "external_id": "X-1"})
    assert not flags(first) and not flags(second)
    # A third holder is a new question: it is flagged against both, and they against it.
    third = record_create(actor=capturista, data=person_data(curp=""))
    assert flags(third) == {("rfc", RFC, first.pk)}
    assert flags(first) == flags(second) == {("rfc", RFC, third.pk)}


def test_not_a_duplicate_of_records_that_share_nothing_is_refused(capturista, oficial):
    a, b = ClientRecordFactory(), ClientRecordFactory()
    with pytest.raises(ValidationError) as exc:
        record_duplicate_dismiss(actor=oficial, record_id=a.pk, other_id=b.pk)
    assert exc.value.error_list[0].code == "not_duplicate"
    assert not DuplicateDismissal.objects.exists() and not AuditEvent.objects.filter(record__in=[a, b]).exists()


def test_not_a_duplicate_needs_the_review_permission(capturista):
    first = record_create(actor=capturista, data=person_data())
    second = record_create(actor=capturista, data=person_data())
    with pytest.raises(Exception) as exc:
        record_duplicate_dismiss(actor=capturista, record_id=first.pk, other_id=second.pk)
    assert exc.type.__name__ == "PermissionDenied"
    assert flags(first)


def test_keep_one_rejects_the_other_with_the_duplicate_reason_and_clears_the_kept(capturista, oficial):
    first = record_create(actor=capturista, data=person_data())
    second = record_create(actor=capturista, data=person_data())
    rejected = record_duplicate_keep(actor=oficial, record_id=first.pk, other_id=second.pk, comment="Misma CURP.")
    assert rejected.pk == second.pk
    second = fresh(second)
    assert second.status == RecordStatus.REJECTED and second.reject_reason == RejectReason.DUPLICATE
    assert f"#{first.pk}" in second.review_comment and "Misma CURP." in second.review_comment
    assert not flags(first) and fresh(first).error_count == 0
    kept_event = updates(first)[-1]
    assert kept_event.actor == oficial and kept_event.changes["duplicate_of"] == [second.pk, None]


def test_keep_one_of_records_that_share_nothing_is_refused(oficial):
    a, b = ClientRecordFactory(), ClientRecordFactory()
    with pytest.raises(ValidationError):
        record_duplicate_keep(actor=oficial, record_id=a.pk, other_id=b.pk)
    assert fresh(b).status == RecordStatus.IN_REVIEW


def test_a_rejected_record_cannot_be_the_one_kept(capturista, oficial):
    first = record_create(actor=capturista, data=person_data())
    second = record_create(actor=capturista, data=person_data())
    record_duplicate_keep(actor=oficial, record_id=first.pk, other_id=second.pk)
    with pytest.raises(InvalidTransition):
        record_duplicate_keep(actor=oficial, record_id=second.pk, other_id=first.pk)
    assert fresh(first).status == RecordStatus.IN_REVIEW


def test_rejecting_one_of_a_pair_from_the_queue_clears_the_other_too(capturista, oficial):
    first = record_create(actor=capturista, data=person_data())
    second = record_create(actor=capturista, data=person_data())
    record_reject(actor=oficial, record_id=first.pk, reason=RejectReason.TEST_DATA, comment="Prueba.")
    assert not flags(second)


def test_bulk_reject_clears_the_flags_of_the_records_left(capturista, oficial):
    first = record_create(actor=capturista, data=person_data())
    second = record_create(actor=capturista, data=person_data())
    third = record_create(actor=capturista, data=person_data())
    pks = [second.pk, third.pk]
    record_bulk_reject(actor=oficial, reason=RejectReason.DUPLICATE, comment="Duplicados.", record_ids=pks)
    assert not flags(first) and fresh(first).duplicate_of_id is None


def test_maker_checker_still_applies_once_the_pair_is_settled(capturista, oficial, oficial2):
    mine = record_create(actor=oficial, data=person_data())
    theirs = record_create(actor=capturista, data=person_data())
    record_duplicate_keep(actor=oficial, record_id=mine.pk, other_id=theirs.pk)
    with pytest.raises(ValidationError) as exc:
        record_approve(actor=oficial, record_id=mine.pk)
    assert {e.code for e in exc.value.error_list} == {"maker_checker"}
    record_approve(actor=oficial2, record_id=mine.pk)
    assert fresh(mine).status == RecordStatus.APPROVED


def test_a_settled_pair_cannot_be_settled_again_once_both_are_closed(capturista, oficial):
    first = ClientRecordFactory(rfc=RFC, status=RecordStatus.SUBMITTED)
    second = ClientRecordFactory(rfc=RFC, status=RecordStatus.SUBMITTED)
    with pytest.raises(InvalidTransition):
        record_duplicate_dismiss(actor=oficial, record_id=first.pk, other_id=second.pk)


# -- two saves at once -------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_saves_at_once_cannot_both_miss_each_other(capturista, capturista2, monkeypatch):
    """Both saves look for holders before either commits unless the second waits for the first: each save stops
    just before it commits until the other has got there too (or a second has passed, when it is held back)."""
    arrived = threading.Barrier(2, timeout=1)
    real_refresh = record_services.duplicates_refresh

    def refresh_then_wait(**kwargs):
        changes = real_refresh(**kwargs)
        try:
            arrived.wait()
        except threading.BrokenBarrierError:
            pass
        return changes

    monkeypatch.setattr(record_services, "duplicates_refresh", refresh_then_wait)
    created, errors = [], []

    def save(user):
        try:
            created.append(record_create(actor=user, data=person_data(curp="")))
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=save, args=(u,)) for u in (capturista, capturista2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(created) == 2
    first, second = sorted(created, key=lambda r: r.pk)
    assert flags(first) == {("rfc", RFC, second.pk)} and flags(second) == {("rfc", RFC, first.pk)}


def test_what_changed_meanwhile_still_lists_data_changes_after_a_flag(capturista, oficial):
    """A stale save shows what others changed since the user opened the record; a duplicate flag written after
    that change (an event without a version) must not hide it."""
    record = record_create(actor=capturista, data=person_data(curp=""))
    record_update(actor=oficial, record_id=record.pk, version=1, data={"name": "Jorge Luis"})
    record_create(actor=capturista, data=person_data(curp=""))  # flags `record`: a newer event, no data change
    changes = record_changes_since(record_id=record.pk, version=1)
    assert [(c["field"], c["new"]) for c in changes] == [("name", "Jorge Luis")]
