"""Access that depends on the object and the person, not only the role: maker-checker (README: the person who
approves a record is never the person who created it or last changed its data), the live permission, what a
record's state allows, and what a refusal gives away. Every check goes through the pages, as a user would."""

import datetime

import pytest
from django.urls import reverse

from onboarding.models import BatchState, ClientRecord, RecordStatus, Submission
from tests.factories import ClientRecordFactory, person_identifiers


def _record_form(**overrides) -> dict[str, str]:
    """The record form filled in as data entry would: a valid individual."""
    rfc, curp = person_identifiers("MARIA", "LOPEZ", "GARCIA", datetime.date(1988, 3, 14), sex="M")
    data = {
        "client_type": "individual",
        "name": "María José",
        "apellido_paterno": "López",
        "apellido_materno": "García",
        "birth_date": "14/03/1988",
        "nationalities": "mx",
        "external_id": "SEC-0001",
        "rfc": rfc,
        "curp": curp,
    }
    return data | overrides


def _fresh(record: ClientRecord) -> ClientRecord:
    """The row as the database has it now: the module's objects are shared, and a test's changes are rolled back."""
    return ClientRecord.objects.get(pk=record.pk)


def _approve(client, record: ClientRecord):
    return client.post(
        reverse("review:action", args=[record.pk, "approve"]),
        {"version": record.version},
        headers={"Accept-Language": "en"},
    )


def _edit_external_id(client, record: ClientRecord, value: str):
    """Change the record's external id in its queue cell, as the inline editor sends it (no rule depends on it)."""
    return client.post(
        reverse("review:cell", args=[record.pk, "external_id"]),
        {"value": value, "version": record.version},
        headers={"HX-Request": "true"},
    )


def _maker_refused_checker_approves(world, client_for, record: ClientRecord, maker: str, why: str) -> None:
    refused = _approve(client_for(maker), record)
    assert refused.status_code == 422
    assert why in refused.content.decode()
    record.refresh_from_db()
    assert record.status == RecordStatus.IN_REVIEW

    assert _approve(client_for("oficial_live"), record).status_code == 302
    record.refresh_from_db()
    assert record.status == RecordStatus.APPROVED and record.reviewed_by == world.users["oficial_live"]


def test_an_officer_cannot_approve_a_record_they_created(world, client_for):
    assert client_for("oficial").post(reverse("records:create"), _record_form()).status_code == 302
    record = ClientRecord.objects.get(external_id="SEC-0001")
    assert record.created_by == world.users["oficial"]
    why = "You created this record; another officer must check it."
    _maker_refused_checker_approves(world, client_for, record, "oficial", why)


def test_an_officer_cannot_approve_a_record_whose_data_they_last_changed(world, client_for):
    record = _fresh(world.record)  # staged by data entry
    assert _edit_external_id(client_for("oficial"), record, "SEC-EDIT-1").status_code == 200
    record.refresh_from_db()
    assert record.updated_by == world.users["oficial"]
    why = "You made the last change to this record"
    _maker_refused_checker_approves(world, client_for, record, "oficial", why)


def test_bulk_approval_skips_the_officers_own_records(world, client_for):
    own = ClientRecordFactory(created_by=world.users["oficial"])
    other = ClientRecordFactory(created_by=world.users["capturista"])
    response = client_for("oficial").post(
        reverse("review:bulk"), {"bulk_action": "approve", "scope": "selected", "ids": [own.pk, other.pk]}
    )
    assert response.status_code == 302
    own.refresh_from_db()
    other.refresh_from_db()
    assert own.status == RecordStatus.IN_REVIEW
    assert other.status == RecordStatus.APPROVED


def test_data_entry_cannot_decide_on_a_record(world, client_for):
    record = ClientRecordFactory(created_by=world.users["capturista2"])
    assert _approve(client_for("capturista"), record).status_code == 403
    record.refresh_from_db()
    assert record.status == RecordStatus.IN_REVIEW


def test_data_entry_may_edit_a_record_someone_else_staged(world, client_for):
    """No ownership of records: README gives data entry "create and edit client records", not only their own."""
    record = _fresh(world.record)
    assert _edit_external_id(client_for("capturista2"), record, "SEC-EDIT-1").status_code == 200
    record.refresh_from_db()
    assert record.external_id == "SEC-EDIT-1" and record.updated_by == world.users["capturista2"]


def test_a_record_being_submitted_cannot_be_edited_by_anyone(world, client_for):
    record = ClientRecord.objects.filter(batch__submission=world.submission).first()
    assert record.status == RecordStatus.SUBMITTING
    for role in ("capturista", "oficial", "admin"):
        assert _edit_external_id(client_for(role), record, "SEC-EDIT-1").status_code == 422, role
    record.refresh_from_db()
    assert record.external_id != "SEC-EDIT-1"


def _live_form() -> dict[str, str]:
    return {"what": "all", "environment": "live", "atomic": "on", "confirmation": "LIVE"}


def _approved_record(world) -> ClientRecord:
    """A record staged by data entry and approved by an officer: something to submit."""
    return ClientRecordFactory(
        created_by=world.users["capturista"], status=RecordStatus.APPROVED, reviewed_by=world.users["oficial2"]
    )


def _live_refused_to(client) -> None:
    live_before = Submission.objects.filter(environment="live").count()
    refused = client.post(reverse("submissions:create"), _live_form())
    assert refused.status_code in (403, 422)
    assert Submission.objects.filter(environment="live").count() == live_before


def test_only_the_live_role_starts_a_live_submission(world, client_for):
    _approved_record(world)
    _live_refused_to(client_for("oficial"))
    live_before = Submission.objects.filter(environment="live").count()
    started = client_for("oficial_live").post(reverse("submissions:create"), _live_form())
    assert started.status_code == 302
    assert Submission.objects.filter(environment="live").count() == live_before + 1


def test_the_administrator_without_the_live_role_cannot_start_a_live_submission(world, client_for):
    _approved_record(world)
    _live_refused_to(client_for("admin"))


def test_only_the_live_role_resumes_a_live_submission(world, client_for):
    live = world.live_submission
    refused = client_for("oficial").post(reverse("submissions:resume", args=[live.pk]))
    assert refused.status_code == 403
    assert set(live.batches.values_list("state", flat=True)) == {BatchState.GAVE_UP}


def test_the_live_role_resumes_a_live_submission(world, client_for):
    live = world.live_submission
    resumed = client_for("oficial_live").post(reverse("submissions:resume", args=[live.pk]))
    assert resumed.status_code == 302
    assert set(live.batches.values_list("state", flat=True)) == {BatchState.RECONCILING}


def test_the_officer_who_mapped_an_upload_cannot_approve_its_records(world, client_for):
    upload = world.upload_unmapped  # uploaded by data entry
    oficial = client_for("oficial")
    form = {f"col_{i}": target for i, target in enumerate(upload.mapping.get(h, "") for h in upload.headers)}
    mapped = oficial.post(reverse("uploads:mapping", args=[upload.pk]), form)
    if mapped.status_code == 403:
        return  # mapping someone else's upload refused: the maker-checker question does not arise
    assert mapped.status_code == 302
    record = ClientRecord.objects.get(upload=upload)
    assert _approve(oficial, record).status_code == 422


@pytest.mark.parametrize(
    ("role", "name"),
    [
        ("nobody", "records:detail"),
        ("capturista", "submissions:detail"),
        ("oficial", "audit:event"),
        ("auditor", "review:action"),
    ],
)
def test_a_refusal_does_not_tell_whether_the_object_exists(world, client_for, role, name):
    existing = {"records:detail": world.record.pk, "submissions:detail": world.submission.pk}
    existing |= {"audit:event": world.event.seq, "review:action": world.record.pk}
    args = (lambda pk: [pk, "approve"]) if name == "review:action" else (lambda pk: [pk])
    client = client_for(role)
    assert client.get(reverse(name, args=args(existing[name]))).status_code == 403
    assert client.get(reverse(name, args=args(10**9))).status_code == 403


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("set_language", {"language": "en"}),
        ("review:action", {}),
    ],
)
def test_next_never_leads_off_the_site(world, client_for, name, data):
    url = reverse(name) if name == "set_language" else reverse(name, args=[world.record.pk, "approve"])
    response = client_for("oficial").post(url, {**data, "next": "https://evil.example/phish"})
    assert response.status_code == 302
    assert "evil.example" not in response["Location"]


def test_signing_in_never_leads_off_the_site(world, client_for):
    response = client_for("anonymous").post(
        f"{reverse('login')}?next=https://evil.example/phish",
        {"username": "capturista", "password": "a-long-test-password"},
    )
    assert response.status_code == 302
    assert "evil.example" not in response["Location"]
