"""Re-import that corrects: a fixed row of an earlier upload changes its record in place, it is not staged again."""

import io

import pytest
from django.core.management import call_command
from django.urls import reverse

from onboarding.models import AuditAction, AuditEvent, ClientRecord, RecordStatus, UploadStatus
from onboarding.services.records import record_update
from tests.imports import csv_bytes, person

pytestmark = pytest.mark.django_db


def test_a_corrected_row_updates_its_record_in_place_with_its_history(stage, capturista):
    first = stage(csv_bytes([person(0, RFC="PEXA900101XX1"), person(1)]))  # row 2: a bad RFC
    bad = ClientRecord.objects.get(upload=first, external_id="C-00000")
    assert bad.error_count
    fixed = person(0)
    second = stage(csv_bytes([fixed, person(2)]))

    assert ClientRecord.objects.count() == 3  # C-00000 corrected, C-00002 new: no duplicate of the bad one
    bad.refresh_from_db()
    assert bad.rfc != "PEXA900101XX1" and bad.error_count == 0 and bad.duplicate_of is None
    assert (bad.upload_id, bad.source_row, bad.version, bad.status) == (second.pk, 2, 2, RecordStatus.IN_REVIEW)
    assert (second.row_count, second.updated_count, second.new_count, second.duplicate_count) == (2, 1, 1, 0)
    event = AuditEvent.objects.get(action=AuditAction.RECORD_UPDATED, record_id=bad.pk)
    assert event.upload_id == second.pk and event.actor == capturista
    assert event.changes["rfc"] == ["PEXA900101XX1", bad.rfc]
    assert event.changes["previous_upload"] == first.pk and event.changes["row"] == 2
    staged = AuditEvent.objects.get(action=AuditAction.UPLOAD_STAGED, upload_id=second.pk)
    assert (staged.changes["updated"], staged.changes["unchanged"]) == (1, 0)


def test_the_same_row_again_changes_nothing_and_is_counted_unchanged(stage):
    stage(csv_bytes([person(0)]))
    again = stage(csv_bytes([person(0), person(1)]), allow_same_file=True)
    assert ClientRecord.objects.count() == 2
    assert (again.updated_count, again.unchanged_count, again.new_count) == (0, 1, 1)
    assert not AuditEvent.objects.filter(action=AuditAction.RECORD_UPDATED).exists()


@pytest.mark.parametrize("status", [RecordStatus.APPROVED, RecordStatus.SUBMITTED, RecordStatus.REJECTED])
def test_a_record_past_review_is_not_corrected_the_row_is_staged_and_flagged(stage, status):
    first = stage(csv_bytes([person(0)]))
    ClientRecord.objects.filter(upload=first).update(status=status)
    second = stage(csv_bytes([person(0, **{"Nombre(s)": "María Josefa"})]))
    original = ClientRecord.objects.get(upload=first)
    assert original.name == "María José" and ClientRecord.objects.count() == 2
    new = ClientRecord.objects.get(upload=second)
    assert second.updated_count == 0 and second.new_count == 1
    if status != RecordStatus.REJECTED:  # a rejected record is no duplicate of anything, as before
        assert new.duplicate_of_id == original.pk and second.duplicate_count == 1


def test_a_record_sent_back_to_data_entry_is_corrected_and_goes_to_review(stage, oficial):
    first = stage(csv_bytes([person(0)]))
    ClientRecord.objects.filter(upload=first).update(status=RecordStatus.DRAFT)
    stage(csv_bytes([person(0, **{"Apellido materno": "Nuñez Ruiz"})]))
    record = ClientRecord.objects.get()
    assert record.status == RecordStatus.IN_REVIEW and record.apellido_materno == "Nuñez Ruiz"


def test_an_open_form_on_the_corrected_record_is_stale(stage, oficial):
    first = stage(csv_bytes([person(0)]))
    record = ClientRecord.objects.get(upload=first)
    stage(csv_bytes([person(0, **{"Nombre(s)": "María Josefa"})]))
    from onboarding.errors import StaleRecord

    with pytest.raises(StaleRecord):
        record_update(actor=oficial, record_id=record.pk, version=record.version, data={"name": "Otra"})


def test_a_record_typed_into_the_form_is_not_corrected_by_a_file(stage, capturista):
    from onboarding.services.records import record_create

    typed = record_create(actor=capturista, data={"client_type": "individual", "name": "Ana", "external_id": "C-00000"})
    upload = stage(csv_bytes([person(0)]))
    assert upload.updated_count == 0 and ClientRecord.objects.get(pk=typed.pk).name == "Ana"


def test_a_changed_identifier_moves_the_duplicate_flags_with_it(stage):
    stage(csv_bytes([person(0), person(1)]))
    other = ClientRecord.objects.get(external_id="C-00001")
    # Row C-00000 now carries C-00001's RFC by mistake: both records get flagged.
    stage(csv_bytes([person(0, RFC=other.rfc)]))
    corrected = ClientRecord.objects.get(external_id="C-00000")
    other.refresh_from_db()
    assert {corrected.duplicate_field, other.duplicate_field} == {"rfc"}
    assert other.pk in (corrected.duplicate_of_id, corrected.pk) or other.duplicate_of_id == corrected.pk


def test_import_clients_reports_updated_apart_from_new(tmp_path, capturista):
    path = tmp_path / "clientes.csv"
    path.write_bytes(csv_bytes([person(0, RFC="PEXA900101XX1")]))
    call_command("import_clients", str(path), "--user", "capturista", stdout=io.StringIO())
    path.write_bytes(csv_bytes([person(0), person(1)]))
    out = io.StringIO()
    call_command("import_clients", str(path), "--user", "capturista", stdout=out)
    assert "new: 1  updated: 1  unchanged: 0" in out.getvalue()
    assert ClientRecord.objects.count() == 2
    assert ClientRecord.objects.get(external_id="C-00000").upload.status == UploadStatus.STAGED


def test_the_result_page_counts_updated_apart_from_new(stage, client_as, capturista):
    stage(csv_bytes([person(0, RFC="PEXA900101XX1")]))
    second = stage(csv_bytes([person(0), person(1), person(2)]))
    html = client_as(capturista).get(reverse("uploads:detail", args=[second.pk])).text
    line = html.split('id="upload-new-updated">')[1].split("</p>")[0]
    assert "Registros nuevos: 2" in line and "(registros de cargas anteriores aún en revisión): 1" in line


def test_a_client_twice_in_the_corrected_file_corrects_once_and_stages_the_other_as_a_duplicate(stage):
    stage(csv_bytes([person(0, RFC="PEXA900101XX1")]))
    second = stage(csv_bytes([person(0), person(0, **{"Nombre(s)": "Otra"})]))
    assert (second.updated_count, second.new_count) == (1, 1)
    corrected, new = ClientRecord.objects.filter(external_id="C-00000").order_by("pk")
    assert corrected.name == "María José" and new.name == "Otra" and new.duplicate_of_id == corrected.pk
