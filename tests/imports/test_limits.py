"""Files built to exhaust the server: too wide, too long, too deep, control characters. Each is refused (or its
cells made storable) while it is read, in bounded memory and time, with nothing staged and no file left behind.

Memory is the peak that tracemalloc traces during the call (every Python object, whatever else runs on the
machine); time is the CPU time of this process, which other processes on the machine do not inflate. Each file
is large enough that reading it whole would cross the bounds many times over.
"""

import gc
import io
import json
import time
import tracemalloc
import zipfile

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from onboarding.forms import ClientRecordForm
from onboarding.models import ClientRecord, Upload, UploadStatus
from onboarding.services.uploads import upload_receive
from tests.imports import SPANISH_HEADERS, artu_item, csv_bytes, json_bytes, person, uploaded, xlsx_bytes

MB = 1024 * 1024


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def refused_within(call, *, megabytes: float, seconds: float) -> ValidationError:
    """The ValidationError `call()` raises, asserting the peak memory it traced and the CPU time it took."""
    gc.collect()
    tracemalloc.start()
    started = time.process_time()
    try:
        with pytest.raises(ValidationError) as caught:
            call()
    finally:
        cpu = time.process_time() - started
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peak < megabytes * MB, f"peak {peak / MB:.1f} MB"
    assert cpu < seconds, f"{cpu:.2f} s of CPU"
    return caught.value


def receive_refused(user, data: bytes, name: str, *, megabytes: float = 4, seconds: float = 1) -> ValidationError:
    file = uploaded(data, name)
    return refused_within(lambda: upload_receive(actor=user, file=file), megabytes=megabytes, seconds=seconds)


def assert_nothing_kept(media_root, code: str) -> Upload:
    upload = Upload.objects.get()
    assert upload.status == UploadStatus.FAILED and upload.error_code == code
    assert not ClientRecord.objects.exists()
    assert not media_root.exists() or not any(p.is_file() for p in media_root.rglob("*"))
    return upload


def wide_sheet(width: int, *, at_row: int = 1, declared: str = "", cell: bytes = b"<c><v>%d</v></c>") -> bytes:
    """A workbook whose row `at_row` holds `width` cells (numbers unless `cell` says otherwise), written straight
    into the sheet's XML; the other rows are ordinary. `declared` is the sheet's <dimension> (none when empty, as
    a hostile file would have)."""
    rows = [list(SPANISH_HEADERS[:3])] + [["C-1", "Física", "Ana"]] * (at_row + 1)
    archive = zipfile.ZipFile(io.BytesIO(xlsx_bytes(rows)))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in archive.infolist():
            data = archive.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                head, rest = data.split(b"<sheetData>", 1)
                body, tail = rest.split(b"</sheetData>", 1)
                rows_xml = body.split(b"</row>")
                cells = b"".join(cell % i if b"%d" in cell else cell for i in range(width))
                rows_xml[at_row - 1] = b'<row r="%d">%s' % (at_row, cells)
                head = head.split(b"<dimension", 1)[0] + (
                    b'<dimension ref="%s"/>' % declared.encode() if declared else b""
                )
                data = head + b"<sheetData>" + b"</row>".join(rows_xml) + b"</sheetData>" + tail
            target.writestr(item, data)
    return out.getvalue()


# -- control characters ------------------------------------------------------------------------------------------


def test_a_nul_after_the_first_64_kb_is_reported_and_never_stored(stage):
    headers = (*SPANISH_HEADERS, "Notas")
    rows = [person(i, Notas="ok") for i in range(800)]
    rows.append(person(800, **{"Nombre(s)": "Ana\x00María", "Notas": "nota\x00\x07"}))
    data = csv_bytes(rows, headers=headers)
    assert data.index(b"\x00") > 64 * 1024
    upload = stage(data)
    assert upload.status == UploadStatus.STAGED and upload.row_count == 801
    record = ClientRecord.objects.get(upload=upload, source_row=802)
    assert record.name == "Ana\ufffdMaría" and record.source_data["Notas"] == "nota\ufffd\ufffd"
    assert [(p["field"], p["code"]) for p in record.problems if p["code"] == "control_character"] == [
        ("name", "control_character")
    ]
    assert ClientRecord.objects.filter(upload=upload, error_count=0).count() == 800


def test_a_nul_in_json_metadata_is_reported_and_never_stored(stage):
    upload = stage(json_bytes([artu_item(0, metadata={"rama\u0000": "Norte\u0001"}), artu_item(1)]), "c.json")
    assert upload.status == UploadStatus.STAGED
    record = ClientRecord.objects.get(upload=upload, source_row=1)
    assert record.metadata == {"rama\ufffd": "Norte\ufffd"}
    assert "\\u0000" not in json.dumps(record.source_data)
    assert {(p["field"], p["code"]) for p in record.problems} >= {("metadata", "control_character")}


def test_the_form_reports_a_control_character_with_the_same_code(db):
    data = {"client_type": "company", "name": "Comercializadora\x1b SA", "nationalities": "MX", "metadata": ""}
    form = ClientRecordForm(data=data)
    assert not form.is_valid()
    assert "invisible or unreadable character (U+001B)" in " ".join(form.errors["name"])
