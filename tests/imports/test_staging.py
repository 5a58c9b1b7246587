"""The upload services: receive, map, stage (all or none), duplicates, same file twice, background staging."""

import csv
import io

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import override_settings
from django.utils import translation
from django_tasks_db.models import DBTaskResult
from openpyxl import load_workbook

import onboarding.services.uploads as uploads
from onboarding.imports.pipeline import RowPreparer
from onboarding.models import AuditAction, AuditEvent, ClientRecord, RecordStatus, SavedMapping, Upload, UploadStatus
from onboarding.services.audit import audit_chain_verify
from onboarding.services.records import record_apply_data, record_create, record_update
from onboarding.services.review import record_approve, record_bulk_approve
from onboarding.services.uploads import (
    upload_map_columns,
    upload_problems_export,
    upload_receive,
    upload_stage,
)
from onboarding.tasks import upload_stage_task
from tests.factories import ClientRecordFactory
from tests.imports import artu_item, company, csv_bytes, json_bytes, person, uploaded, xlsx_bytes


def actions(**filters) -> list[str]:
    return list(AuditEvent.objects.filter(**filters).order_by("seq").values_list("action", flat=True))


def by_row(upload: Upload) -> dict[int, ClientRecord]:
    return {r.source_row: r for r in ClientRecord.objects.filter(upload=upload)}


# -- the happy path ----------------------------------------------------------------------------------------------


def test_a_file_is_staged_as_records_in_review_with_one_event_each(stage, capturista):
    upload = stage(csv_bytes([person(0), person(1), company(2)]))
    assert upload.status == UploadStatus.STAGED
    assert (upload.row_count, upload.ready_count, upload.error_count, upload.duplicate_count) == (3, 3, 0, 0)
    records = by_row(upload)
    assert set(records) == {2, 3, 4}
    maria = records[2]
    assert (maria.name, maria.middle_name, maria.last_name) == ("María José", "", "Peña Núñez")
    assert maria.status == RecordStatus.IN_REVIEW
    assert maria.created_by == maria.updated_by == capturista
    assert maria.source_data["Apellido materno"] == "Núñez"
    assert maria.scopes == ["MX"] and records[3].scopes == ["MX", "MX:AV", "MX:AV:INM", "MX:AV:VEH"]
    assert records[4].client_type == "company"
    assert actions(upload_id=upload.pk) == [
        AuditAction.UPLOAD_RECEIVED,
        AuditAction.UPLOAD_MAPPED,
        *[AuditAction.RECORD_CREATED] * 3,
        AuditAction.UPLOAD_STAGED,
    ]
    created = AuditEvent.objects.filter(action=AuditAction.RECORD_CREATED, record=maria).get()
    assert created.actor == capturista and created.changes == {"source": "upload", "row": 2, "mapped_by": "capturista"}
    staged = AuditEvent.objects.get(action=AuditAction.UPLOAD_STAGED)
    assert staged.changes["ready"] == 3 and staged.changes["sha256"] == upload.sha256
    assert audit_chain_verify().ok


def test_staged_records_hold_what_the_form_path_would_compute(stage):
    upload = stage(csv_bytes([person(0, RFC="PENM971117RT4"), person(1, **{"Nacionalidad": "Narnia"})]))
    for record in ClientRecord.objects.filter(upload=upload):
        stored = (list(record.problems), record.error_count, record.warning_count, list(record.scopes))
        record_apply_data(record, {})
        assert stored == (record.problems, record.error_count, record.warning_count, record.scopes)


def test_an_xlsx_file_is_staged_with_leading_zero_ids_kept(stage):
    header = [
        "Número de cliente",
        "Tipo de persona",
        "Nombre(s)",
        "Apellido paterno",
        "Apellido materno",
        "Fecha de nacimiento",
        "RFC",
        "CURP",
    ]
    row = person(0)
    data = xlsx_bytes(
        [
            header,
            [
                "000123",
                "Física",
                row["Nombre(s)"],
                "Peña",
                "Núñez",
                row["Fecha de nacimiento"],
                row["RFC"],
                row["CURP"],
            ],
        ]
    )
    upload = stage(data, "clientes.xlsx")
    record = ClientRecord.objects.get(upload=upload)
    assert record.external_id == "000123" and record.last_name == "Peña Núñez" and record.error_count == 0


def test_a_json_file_in_artu_shape_is_staged(stage):
    upload = stage(json_bytes([artu_item(0), artu_item(1)]), "clientes.json")
    assert upload.status == UploadStatus.STAGED and upload.error_count == 0
    record = ClientRecord.objects.get(upload=upload, source_row=1)
    assert record.av_avi and record.av_inm and record.avi_username == "user0"
    assert record.metadata == {"branch": "Norte"}
    assert record.scopes == ["MX", "MX:AV", "MX:AV:AVI", "MX:AV:INM"]


def test_staging_as_a_user_without_the_upload_permission_is_refused(auditor):
    with pytest.raises(PermissionDenied):
        upload_receive(actor=auditor, file=uploaded(csv_bytes([person(0)])))
    assert not Upload.objects.exists()


# -- validation and duplicates -----------------------------------------------------------------------------------


def test_row_problems_are_stored_with_codes_and_counted(stage):
    upload = stage(
        csv_bytes(
            [
                person(0),
                person(1, RFC="PENM971117RT4"),
                person(2, **{"Fecha de nacimiento": "31/02/1990"}),
                person(3, **{"Nombre(s)": ""}),
                person(4, **{"Apellido paterno": "", "Apellido materno": ""}),
            ]
        )
    )
    records = by_row(upload)
    codes = {row: {p["code"] for p in r.problems} for row, r in records.items()}
    assert codes[2] == set()
    assert "rfc_checksum" in codes[3] or "rfc_birth_date_mismatch" in codes[3]
    assert "date_invalid" in codes[4]
    assert "required" in codes[5]
    assert codes[6] == {"last_name_missing"}
    assert (upload.ready_count, upload.error_count, upload.warning_count) == (2, 3, 1)


def duplicate_flags(record: ClientRecord) -> set[tuple[str, int]]:
    record.refresh_from_db()
    return {(p["field"], p["params"]["other"]) for p in record.problems if p["code"] == "duplicate"}


@pytest.mark.parametrize(("column", "field"), [("Número de cliente", "external_id"), ("RFC", "rfc"), ("CURP", "curp")])
def test_duplicates_inside_the_file_flag_both_rows(stage, column, field):
    first, second = person(0), person(1)
    second[column] = first[column]
    upload = stage(csv_bytes([first, second, person(2)]))
    records = by_row(upload)
    assert records[3].duplicate_of == records[2] and records[2].duplicate_of == records[3]
    assert records[3].duplicate_field == records[2].duplicate_field == field
    later = next(p for p in records[3].problems if p["code"] == "duplicate")
    assert later["severity"] == "error" and later["params"]["in_file"] and later["params"]["row"] == 2
    earlier = next(p for p in records[2].problems if p["code"] == "duplicate")
    assert earlier["params"] == {"value": later["params"]["value"], "other": records[3].pk, "in_file": True, "row": 3}
    assert records[4].duplicate_of is None
    assert (upload.ready_count, upload.error_count, upload.duplicate_count) == (1, 2, 2)
    # New rows: their `record.created` events say how they were staged, with no extra event for the flag.
    assert not AuditEvent.objects.filter(action=AuditAction.RECORD_UPDATED).exists()


def test_duplicates_are_found_across_chunks(stage, monkeypatch):
    monkeypatch.setattr(uploads, "CHUNK_ROWS", 2)
    rows = [person(i) for i in range(5)] + [person(0)]
    upload = stage(csv_bytes(rows))
    records = by_row(upload)
    assert records[7].duplicate_of == records[2] and records[2].duplicate_of == records[7]
    assert upload.duplicate_count == 2 and upload.ready_count == 4


def test_duplicates_of_records_staged_before_are_flagged_on_both_not_of_rejected_ones(stage):
    existing = ClientRecordFactory(external_id="C-00000")
    rejected = ClientRecordFactory(external_id="C-00001", status=RecordStatus.REJECTED)
    upload = stage(csv_bytes([person(0), person(1)]))
    records = by_row(upload)
    assert records[2].duplicate_of == existing and records[2].duplicate_field == "external_id"
    duplicate = next(p for p in records[2].problems if p["code"] == "duplicate")
    assert duplicate["params"] == {"value": "C-00000", "other": existing.pk, "in_file": False}
    assert records[3].duplicate_of is None
    assert duplicate_flags(existing) == {("external_id", records[2].pk)}
    assert duplicate_flags(rejected) == set()
    # The record staged before changed: audited, as the person whose upload found the duplicate.
    event = AuditEvent.objects.get(record=existing, action=AuditAction.RECORD_UPDATED)
    assert event.actor == upload.created_by and event.changes["duplicate_of"] == [None, records[2].pk]
    assert upload.duplicate_count == 1  # the upload's own rows
    assert audit_chain_verify().ok


def test_a_record_typed_before_and_a_later_upload_flag_each_other(stage, capturista):
    typed = record_create(
        actor=capturista,
        data={
            "client_type": "individual",
            "name": "Ana",
            "apellido_paterno": "Ruiz",
            "apellido_materno": "Paz",
            "external_id": "C-00000",
        },
    )
    upload = stage(csv_bytes([person(0)]))
    row = ClientRecord.objects.get(upload=upload)
    assert duplicate_flags(typed) == {("external_id", row.pk)} and duplicate_flags(row) == {("external_id", typed.pk)}


def test_the_generic_rfc_is_never_a_duplicate(stage):
    rows = [person(i, RFC="XAXX010101000", CURP="") for i in range(3)]
    upload = stage(csv_bytes(rows))
    assert upload.duplicate_count == 0


# -- same file, saved mappings -----------------------------------------------------------------------------------


def test_the_same_file_twice_is_caught_before_staging(stage, capturista):
    data = csv_bytes([person(0), person(1)])
    stage(data)
    again = upload_receive(actor=capturista, file=uploaded(data))
    with pytest.raises(ValidationError) as caught:
        upload_map_columns(actor=capturista, upload_id=again.pk, mapping=again.mapping)
    assert caught.value.code == "same_file"
    assert ClientRecord.objects.count() == 2
    again = upload_map_columns(actor=capturista, upload_id=again.pk, mapping=again.mapping, allow_same_file=True)
    # Its rows name records still in review, with the same data: nothing is staged twice (imports.corrections).
    assert again.status == UploadStatus.STAGED and (again.unchanged_count, again.new_count) == (2, 0)
    assert ClientRecord.objects.count() == 2 and not ClientRecord.objects.filter(duplicate_of__isnull=False).exists()


def test_a_saved_mapping_is_applied_to_a_later_file_with_the_same_headers(stage, capturista):
    headers = ("Clave", "Cliente", "Ap1", "Ap2", "Nac", "Tipo", "RFC", "CURP")
    source = (
        "Número de cliente",
        "Nombre(s)",
        "Apellido paterno",
        "Apellido materno",
        "Fecha de nacimiento",
        "Tipo de persona",
        "RFC",
        "CURP",
    )

    def rows(i):
        return [dict(zip(headers, (person(i)[s] for s in source), strict=True))]

    mapping = {
        "Clave": "external_id",
        "Cliente": "name",
        "Ap1": "apellido_paterno",
        "Ap2": "apellido_materno",
        "Nac": "birth_date",
        "Tipo": "client_type",
        "RFC": "rfc",
        "CURP": "curp",
    }
    first = upload_receive(actor=capturista, file=uploaded(csv_bytes(rows(0))))
    assert first.mapping["Cliente"] == "" and first.saved_mapping is None
    upload_map_columns(actor=capturista, upload_id=first.pk, mapping=mapping, save_as="Sucursal Norte")
    assert SavedMapping.objects.get(name="Sucursal Norte").mapping == mapping

    later = upload_receive(actor=capturista, file=uploaded(csv_bytes(rows(1)).replace(b"Ap1", b"AP1"), "marzo.csv"))
    assert later.saved_mapping.name == "Sucursal Norte"
    assert later.mapping["AP1"] == "apellido_paterno" and later.mapping["Cliente"] == "name"
    staged = upload_map_columns(actor=capturista, upload_id=later.pk, mapping=later.mapping)
    assert ClientRecord.objects.get(upload=staged).last_name == "García López"


def test_a_mapping_without_required_columns_stages_nothing(capturista):
    upload = upload_receive(actor=capturista, file=uploaded(csv_bytes([person(0)])))
    with pytest.raises(ValidationError) as caught:
        upload_map_columns(actor=capturista, upload_id=upload.pk, mapping={"RFC": "rfc"})
    assert caught.value.code == "missing_columns"
    upload.refresh_from_db()
    assert upload.status == UploadStatus.MAPPING and not ClientRecord.objects.exists()
    assert actions(upload_id=upload.pk) == [AuditAction.UPLOAD_RECEIVED]


def test_a_staged_upload_cannot_be_mapped_again(stage, capturista):
    upload = stage(csv_bytes([person(0)]))
    from onboarding.errors import InvalidTransition

    with pytest.raises(InvalidTransition):
        upload_map_columns(actor=capturista, upload_id=upload.pk, mapping=upload.mapping)


# -- who maps decides the data ------------------------------------------------------------------------------------


def _mapped_by_another(capturista, oficial):
    """The data-entry user uploads; an officer maps the columns (and so decides the records' data)."""
    upload = upload_receive(actor=capturista, file=uploaded(csv_bytes([person(0), person(2)])))
    return upload_map_columns(actor=oficial, upload_id=upload.pk, mapping=upload.mapping)


def test_whoever_maps_an_upload_cannot_approve_its_records(capturista, oficial, oficial2):
    upload = _mapped_by_another(capturista, oficial)
    records = list(ClientRecord.objects.filter(upload=upload).order_by("pk"))
    assert upload.status == UploadStatus.STAGED and len(records) == 2
    with pytest.raises(ValidationError) as caught:
        record_approve(actor=oficial, record_id=records[0].pk)
    assert "maker_checker" in [e.code for e in caught.value.error_list]
    result = record_bulk_approve(actor=oficial, record_ids=[r.pk for r in records])
    assert result.done == 0 and result.skipped == {"maker_checker": 2}
    assert set(ClientRecord.objects.filter(upload=upload).values_list("status", flat=True)) == {RecordStatus.IN_REVIEW}
    approved = record_approve(actor=oficial2, record_id=records[0].pk)
    assert approved.status == RecordStatus.APPROVED and approved.reviewed_by == oficial2


def test_approve_clients_skips_the_records_of_an_upload_the_officer_mapped(capturista, oficial, capsys):
    upload = _mapped_by_another(capturista, oficial)
    call_command("approve_clients", "--upload", str(upload.pk), "--as", oficial.username)
    out = capsys.readouterr().out
    assert "approved: 0" in out and "maker_checker: 2" in out
    assert not ClientRecord.objects.filter(status=RecordStatus.APPROVED).exists()


def test_the_mapper_stays_a_maker_after_someone_else_changes_the_record(capturista, oficial, oficial2):
    upload = _mapped_by_another(capturista, oficial)
    record = ClientRecord.objects.filter(upload=upload).first()
    record_update(actor=oficial2, record_id=record.pk, version=record.version, data={"name": "María Fernanda"})
    record.refresh_from_db()
    assert record.updated_by == oficial2
    with pytest.raises(ValidationError) as caught:
        record_approve(actor=oficial, record_id=record.pk)
    assert "maker_checker" in [e.code for e in caught.value.error_list]


def test_the_audit_names_who_uploaded_and_who_mapped(capturista, oficial):
    upload = _mapped_by_another(capturista, oficial)
    events = {e.action: e for e in AuditEvent.objects.filter(upload_id=upload.pk, record__isnull=True)}
    assert events[AuditAction.UPLOAD_RECEIVED].actor == capturista
    assert events[AuditAction.UPLOAD_MAPPED].actor == oficial
    staged = events[AuditAction.UPLOAD_STAGED]
    assert staged.changes["uploaded_by"] == capturista.username and staged.changes["mapped_by"] == oficial.username
    for created in AuditEvent.objects.filter(action=AuditAction.RECORD_CREATED, upload_id=upload.pk):
        assert created.actor == capturista and created.changes["mapped_by"] == oficial.username
    assert audit_chain_verify().ok


# -- bad files ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "name", "code"),
    [
        (b"", "vacio.csv", "empty"),
        (b"\x89PNG\r\n\x1a\n" + bytes(200), "foto.csv", "binary"),
        (b"Nombre,Nombre\r\nAna,Ana\r\n", "c.csv", "duplicate_headers"),
        (b'{"name": "Ana"}', "c.json", "json_not_array"),
        (b"PK\x03\x04broken", "c.xlsx", "xlsx_corrupt"),
    ],
)
def test_a_bad_file_is_kept_as_refused_with_its_message_and_stages_nothing(capturista, media_root, data, name, code):
    with pytest.raises(ValidationError) as caught:
        upload_receive(actor=capturista, file=uploaded(data, name))
    assert caught.value.code == code
    upload = Upload.objects.get()
    assert upload.status == UploadStatus.FAILED and upload.error_code == code and upload.error_message
    assert actions(upload_id=upload.pk) == [AuditAction.UPLOAD_FAILED]
    assert not ClientRecord.objects.exists()
    assert not upload.file and not media_root.exists()  # its name, size and SHA-256 are in the event, not its bytes


def test_a_file_over_the_size_limit_is_refused_before_it_is_stored(capturista, settings, media_root):
    settings.UPLOAD_MAX_BYTES = 100
    with pytest.raises(ValidationError) as caught:
        upload_receive(actor=capturista, file=uploaded(csv_bytes([person(0), person(1)])))
    assert caught.value.code == "too_large"
    assert not Upload.objects.exists() and not media_root.exists()


def test_the_size_refusal_counts_megabytes_as_file_browsers_do(capturista, settings, media_root):
    settings.UPLOAD_MAX_BYTES = 50 * 1024 * 1024
    big = SimpleUploadedFile("clientes.csv", b"a" * (settings.UPLOAD_MAX_BYTES + 300 * 1024), "text/csv")
    with pytest.raises(ValidationError) as caught:
        upload_receive(actor=capturista, file=big)
    message = " ".join(caught.value.messages)
    assert "50.3 MB" in message and " 50 MB." in message


def test_a_file_over_the_row_limit_is_refused(capturista, settings):
    settings.UPLOAD_MAX_ROWS = 2
    with pytest.raises(ValidationError) as caught:
        upload_receive(actor=capturista, file=uploaded(csv_bytes([person(i) for i in range(3)])))
    assert caught.value.code == "too_many_rows"
    assert not ClientRecord.objects.exists()


# -- all or nothing ----------------------------------------------------------------------------------------------


def test_a_failure_half_way_leaves_no_record_and_no_record_event(capturista, monkeypatch):
    monkeypatch.setattr(uploads, "CHUNK_ROWS", 2)
    real_write = uploads.audit_events_write
    calls = []

    def failing_write(**kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return real_write(**kwargs)

    monkeypatch.setattr(uploads, "audit_events_write", failing_write)
    upload = upload_receive(actor=capturista, file=uploaded(csv_bytes([person(i) for i in range(5)])))
    with pytest.raises(RuntimeError):
        upload_map_columns(actor=capturista, upload_id=upload.pk, mapping=upload.mapping)
    assert len(calls) == 2  # every record and the first events were written before the failure
    assert not ClientRecord.objects.exists()
    assert actions(upload_id=upload.pk) == [
        AuditAction.UPLOAD_RECEIVED,
        AuditAction.UPLOAD_MAPPED,
        AuditAction.UPLOAD_FAILED,
    ]
    upload.refresh_from_db()
    assert upload.status == UploadStatus.FAILED and upload.error_code == "internal"
    assert audit_chain_verify().ok


def test_a_row_limit_found_only_while_staging_stages_nothing(capturista, settings):
    upload = upload_receive(actor=capturista, file=uploaded(csv_bytes([person(i) for i in range(4)])))
    settings.UPLOAD_MAX_ROWS = 3
    upload = upload_map_columns(actor=capturista, upload_id=upload.pk, mapping=upload.mapping)
    assert upload.status == UploadStatus.FAILED and upload.error_code == "too_many_rows"
    assert not ClientRecord.objects.exists()


# -- background staging ------------------------------------------------------------------------------------------


def test_a_large_file_is_queued_for_the_background_task(capturista, settings, django_capture_on_commit_callbacks):
    settings.UPLOAD_SYNC_MAX_ROWS = 2
    upload = upload_receive(actor=capturista, file=uploaded(csv_bytes([person(i) for i in range(3)])))
    with django_capture_on_commit_callbacks(execute=True):
        upload = upload_map_columns(actor=capturista, upload_id=upload.pk, mapping=upload.mapping)
    assert upload.status == UploadStatus.QUEUED and not ClientRecord.objects.exists()
    task = DBTaskResult.objects.get()
    assert task.task_path.endswith("upload_stage_task") and task.args_kwargs["kwargs"] == {"upload_id": upload.pk}
    assert upload_stage_task.call(*task.args_kwargs["args"], **task.args_kwargs["kwargs"]) == {
        "status": "staged",
        "rows": 3,
        "errors": 0,
    }
    upload.refresh_from_db()
    assert upload.status == UploadStatus.STAGED and upload.rows_done == 3
    assert ClientRecord.objects.filter(upload=upload).count() == 3


@override_settings(TASKS={"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}})
def test_the_background_task_runs_through_the_task_backend(capturista, settings, django_capture_on_commit_callbacks):
    settings.UPLOAD_SYNC_MAX_ROWS = 1
    upload = upload_receive(actor=capturista, file=uploaded(csv_bytes([person(0), person(1)])))
    with django_capture_on_commit_callbacks(execute=True):
        upload_map_columns(actor=capturista, upload_id=upload.pk, mapping=upload.mapping)
    upload.refresh_from_db()
    assert upload.status == UploadStatus.STAGED and upload.row_count == 2


def test_staging_twice_stages_once(stage):
    upload = stage(csv_bytes([person(0)]))
    assert upload_stage(upload_id=upload.pk).status == UploadStatus.STAGED
    assert ClientRecord.objects.count() == 1
    assert actions(action=AuditAction.UPLOAD_STAGED) == [AuditAction.UPLOAD_STAGED]


def test_progress_is_committed_while_rows_are_checked(capturista, monkeypatch, settings):
    monkeypatch.setattr(uploads, "CHUNK_ROWS", 2)
    monkeypatch.setattr(uploads, "PROGRESS_EVERY_SECONDS", 0)
    seen = []
    real_prepare = RowPreparer.prepare

    def watching(self, cells):
        seen.append(Upload.objects.get().rows_done)
        return real_prepare(self, cells)

    monkeypatch.setattr(RowPreparer, "prepare", watching)
    upload = upload_receive(actor=capturista, file=uploaded(csv_bytes([person(i) for i in range(5)])))
    upload_map_columns(actor=capturista, upload_id=upload.pk, mapping=upload.mapping)
    assert seen == [0, 0, 2, 2, 4]


# -- problem rows ------------------------------------------------------------------------------------------------


@pytest.fixture
def problem_upload(stage):
    return stage(
        csv_bytes(
            [
                person(0),
                person(1, **{"Nombre(s)": '=HYPERLINK("http://x")'}),
                person(2, **{"Fecha de nacimiento": "31/02/1990"}),
                person(3, **{"Apellido paterno": "", "Apellido materno": ""}),
                person(0),
            ]
        )
    )


def test_problem_rows_export_as_csv_with_neutralised_formulas_and_messages(problem_upload, oficial):
    with translation.override("en"):
        export = upload_problems_export(actor=oficial, upload_id=problem_upload.pk, file_format="csv")
        content = b"".join(export.chunks).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(content)))
    assert rows[0][0] == "Row" and rows[0][-1] == "Messages" and rows[0][1:-2] == problem_upload.headers
    assert [r[0] for r in rows[1:]] == ["2", "3", "4", "5", "6"]
    assert "is also in row 6 of this file" in rows[1][-1]  # both rows of a duplicate pair
    formula_row = rows[2]
    assert formula_row[3] == '\'=HYPERLINK("http://x")'
    assert "would run as a spreadsheet formula" in formula_row[-1]
    assert "is not a date" in rows[3][-1]
    assert rows[4][-1].startswith("Warning:")
    assert "is also in row 2 of this file" in rows[5][-1]
    event = AuditEvent.objects.get(action=AuditAction.EXPORT)
    assert event.actor == oficial and event.upload_id == problem_upload.pk and event.changes["rows"] == 5


def test_problem_rows_messages_follow_the_readers_language(problem_upload, oficial):
    with translation.override("en"):
        english = b"".join(
            upload_problems_export(actor=oficial, upload_id=problem_upload.pk, file_format="csv").chunks
        ).decode("utf-8-sig")
    with translation.override("es-mx"):
        spanish = b"".join(
            upload_problems_export(actor=oficial, upload_id=problem_upload.pk, file_format="csv").chunks
        ).decode("utf-8-sig")
    assert english.splitlines()[0].endswith("Messages")
    assert english != spanish


def test_problem_rows_export_as_xlsx_never_as_formulas(problem_upload, auditor):
    export = upload_problems_export(actor=auditor, upload_id=problem_upload.pk, file_format="xlsx")
    sheet = load_workbook(io.BytesIO(b"".join(export.chunks))).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert len(values) == 6
    assert values[2][3] == '\'=HYPERLINK("http://x")'
    # The file's cells are text here (none reads as a number); the row and record numbers are numbers.
    assert all(c.data_type == "s" for c in sheet[3][1:-2])
    assert sheet[3][0].data_type == sheet[3][-2].data_type == "n"


def test_problem_rows_are_for_upload_viewers_only(problem_upload, nobody):
    with pytest.raises(PermissionDenied):
        upload_problems_export(actor=nobody, upload_id=problem_upload.pk, file_format="csv")
    assert not AuditEvent.objects.filter(action=AuditAction.EXPORT).exists()


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_record_typed_while_a_file_is_staged_is_flagged_with_its_row(stage, capturista, monkeypatch):
    """On PostgreSQL the file's rows are looked up before the form's record commits; the check under the lock at
    the end of staging finds it."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("SQLite stages one write transaction at a time")
    import threading

    typed, real = [], uploads._flag_earlier_holders

    def type_one_meanwhile(upload, held_twice, counts):
        def save():
            data = {
                "client_type": "individual",
                "name": "Ana",
                "apellido_paterno": "Ruiz",
                "apellido_materno": "Paz",
                "external_id": "C-00000",
            }
            typed.append(record_create(actor=capturista, data=data))
            connection.close()

        thread = threading.Thread(target=save)
        thread.start()
        thread.join()
        return real(upload, held_twice, counts)

    monkeypatch.setattr(uploads, "_flag_earlier_holders", type_one_meanwhile)
    upload = stage(csv_bytes([person(0)]))
    row = ClientRecord.objects.get(upload=upload)
    assert duplicate_flags(typed[0]) == {("external_id", row.pk)}
    assert duplicate_flags(row) == {("external_id", typed[0].pk)}
    assert upload.duplicate_count == 1 and upload.ready_count == 0
