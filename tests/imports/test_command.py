"""`manage.py import_clients`: the same services from the command line, a JSON-lines report, non-zero on refusal."""

import io
import json

import pytest
from django.core.management import CommandError, call_command

from onboarding.models import ClientRecord, SavedMapping, Upload, UploadStatus
from tests.imports import csv_bytes, person


def run(*args) -> str:
    out = io.StringIO()
    call_command("import_clients", *args, stdout=out)
    return out.getvalue()


def test_a_file_is_staged_and_reported_row_by_row(tmp_path, capturista):
    path = tmp_path / "clientes.csv"
    path.write_bytes(csv_bytes([person(0), person(1, RFC="PENM971117RT4"), person(0)], encoding="cp1252"))
    report = tmp_path / "report.jsonl"
    output = run(str(path), "--user", "capturista", "--report", str(report))
    upload = Upload.objects.get()
    assert f"upload: {upload.pk}" in output
    assert "rows: 3  ready: 0  errors: 3  warnings: 0  duplicates: 2" in output
    lines = [json.loads(line) for line in report.read_text(encoding="utf-8").splitlines()]
    assert [line["row"] for line in lines] == [2, 3, 4]
    assert lines[0] == {
        "row": 2,
        "external_id": "C-00000",
        "record": lines[0]["record"],
        "status": "error",
        "duplicate_of": lines[2]["record"],
        "problems": lines[0]["problems"],
    }
    assert {p["field"] for p in lines[0]["problems"]} == {"external_id", "rfc", "curp"}
    assert lines[1]["status"] == "error" and any(p["field"] == "rfc" for p in lines[1]["problems"])
    assert lines[2]["duplicate_of"] == lines[0]["record"]
    assert {"field": "external_id", "code": "duplicate", "severity": "error"} in lines[2]["problems"]
    assert ClientRecord.objects.filter(upload=upload, created_by=capturista).count() == 3


def test_a_large_file_is_staged_in_the_command_not_queued(tmp_path, capturista, settings):
    settings.UPLOAD_SYNC_MAX_ROWS = 1
    path = tmp_path / "clientes.csv"
    path.write_bytes(csv_bytes([person(0), person(1)]))
    run(str(path), "--user", "capturista")
    assert Upload.objects.get().status == UploadStatus.STAGED


def test_a_saved_mapping_and_an_encoding_can_be_named(tmp_path, capturista):
    rows = [{"Cliente": "Ana", "Identificador": person(0)["RFC"], "Ext": "A-1"}]
    SavedMapping.objects.create(
        name="socios",
        headers_signature="x",
        owner=capturista,
        mapping={"Cliente": "name", "Identificador": "rfc", "Ext": "external_id"},
    )
    path = tmp_path / "socios.csv"
    path.write_bytes(csv_bytes(rows, encoding="cp1252"))
    run(str(path), "--user", "capturista", "--mapping", "socios", "--encoding", "cp1252")
    record = ClientRecord.objects.get()
    assert (record.name, record.external_id, record.client_type) == ("Ana", "A-1", "individual")
    assert Upload.objects.get().encoding == "cp1252"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "refused:"),
        (b"\x89PNG\r\n\x1a\n" + bytes(100), "refused:"),
    ],
)
def test_a_refused_file_is_a_command_error(tmp_path, capturista, data, message):
    path = tmp_path / "malo.csv"
    path.write_bytes(data)
    with pytest.raises(CommandError, match=message):
        run(str(path), "--user", "capturista")
    assert not ClientRecord.objects.exists()


def test_missing_columns_are_a_command_error(tmp_path, capturista):
    path = tmp_path / "c.csv"
    path.write_bytes(csv_bytes([{"Teléfono": "1", "Correo": "x"}]))
    with pytest.raises(CommandError, match="refused:"):
        run(str(path), "--user", "capturista")
    assert not ClientRecord.objects.exists()


def test_an_unknown_user_or_mapping_is_a_command_error(tmp_path, capturista, auditor):
    path = tmp_path / "c.csv"
    path.write_bytes(csv_bytes([person(0)]))
    with pytest.raises(CommandError, match="No such user"):
        run(str(path), "--user", "ghost")
    with pytest.raises(CommandError, match="No saved mapping"):
        run(str(path), "--user", "capturista", "--mapping", "nope")
    with pytest.raises(CommandError, match="may not upload"):
        run(str(path), "--user", "auditor")
