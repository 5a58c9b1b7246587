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
from django.db import DatabaseError, connection
from django.urls import reverse
from django.utils import translation

from onboarding.forms import ClientRecordForm
from onboarding.imports.tables import column_letter
from onboarding.models import AuditAction, AuditEvent, ClientRecord, Upload, UploadStatus
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


# -- columns -----------------------------------------------------------------------------------------------------


def test_a_csv_of_5000_columns_is_refused_at_its_header(capturista, media_root):
    header = ",".join(f"Columna {i}" for i in range(5000))
    data = f"{header}\r\n{','.join(['x'] * 5000)}\r\n".encode()
    error = receive_refused(capturista, data, "ancho.csv")
    assert error.code == "too_many_columns"
    assert "more than 500 columns" in error.messages[0] and f"row 1, column {column_letter(500)}" in error.messages[0]
    assert_nothing_kept(media_root, "too_many_columns")


def test_a_file_of_exactly_the_column_limit_is_accepted(capturista, settings):
    settings.UPLOAD_MAX_COLUMNS = 12
    headers = (*SPANISH_HEADERS, "Notas", "Sucursal")
    upload = upload_receive(actor=capturista, file=uploaded(csv_bytes([person(0)], headers=headers)))
    assert len(upload.headers) == 12 and upload.status == UploadStatus.MAPPING
    settings.UPLOAD_MAX_COLUMNS = 11
    with pytest.raises(ValidationError) as caught:
        upload_receive(actor=capturista, file=uploaded(csv_bytes([person(1)], headers=headers)))
    assert caught.value.code == "too_many_columns"


def test_empty_cells_right_of_the_column_limit_are_let_be(capturista, settings):
    settings.UPLOAD_MAX_COLUMNS = 10
    data = csv_bytes([person(0)]).replace(b"\r\n", b"," * 30 + b"\r\n")
    upload = upload_receive(actor=capturista, file=uploaded(data))
    assert upload.headers == list(SPANISH_HEADERS)


def test_an_xlsx_row_of_20000_cells_is_refused_as_soon_as_it_passes_the_limit(capturista, media_root):
    error = receive_refused(capturista, wide_sheet(20_000), "ancho.xlsx")
    assert error.code == "too_many_columns"
    assert f"row 1, column {column_letter(500)}" in error.messages[0]
    assert_nothing_kept(media_root, "too_many_columns")


def test_an_xlsx_row_too_wide_below_the_rows_inspected_fails_staging_and_stages_nothing(stage):
    upload = stage(wide_sheet(20_000, at_row=40, declared="A1:C42"), "ancho.xlsx")
    assert upload.status == UploadStatus.FAILED and upload.error_code == "too_many_columns"
    assert "row 40, column" in upload.error_message
    assert not ClientRecord.objects.exists()


def test_an_xlsx_row_of_empty_cells_past_what_excel_allows_is_refused(capturista):
    error = receive_refused(capturista, wide_sheet(20_000, cell=b"<c/>"), "ancho.xlsx")
    assert error.code == "xlsx_corrupt" and "more than 16,384 cells" in error.messages[0]


def test_a_json_item_of_5000_fields_is_refused(capturista, media_root):
    item = artu_item(0, metadata=None) | {f"campo{i}": i for i in range(5000)}
    error = receive_refused(capturista, json_bytes([item]), "ancho.json")
    assert error.code == "too_many_columns" and "item 1, field" in error.messages[0]
    assert_nothing_kept(media_root, "too_many_columns")


# -- rows and cells ----------------------------------------------------------------------------------------------


def test_a_single_csv_line_of_2_mb_is_refused_before_it_is_split(capturista, media_root):
    data = b"a," * (1024 * 1024)
    error = receive_refused(capturista, data, "linea.csv", megabytes=3)
    assert error.code == "row_too_long"
    assert "longer than 100,000 characters" in error.messages[0] and "(row 1)" in error.messages[0]
    assert_nothing_kept(media_root, "row_too_long")


def test_a_row_spread_over_many_quoted_lines_counts_as_one_row(capturista):
    # Each line is short; a quote left open joins them all into one row of 2 MB.
    data = b"Nombre,RFC\r\n" + b'"' + b"a\n" * (1024 * 1024) + b'"\r\n'
    error = receive_refused(capturista, data, "multilinea.csv", megabytes=3)
    assert error.code == "row_too_long" and "(row 2)" in error.messages[0]


def test_a_csv_cell_over_the_length_limit_is_refused_with_its_place(capturista):
    data = csv_bytes([person(0), person(1, **{"Nombre(s)": "A" * 20_000})])
    error = receive_refused(capturista, data, "largo.csv")
    assert error.code == "cell_too_long"
    assert "20,000 characters" in error.messages[0] and "at most 10,000 (row 3, column C)" in error.messages[0]


def test_a_json_string_of_1_mb_is_refused_without_reading_it_whole(capturista, media_root):
    data = json_bytes([artu_item(0, name="A" * MB), artu_item(1)])
    error = receive_refused(capturista, data, "largo.json", megabytes=3)
    assert error.code == "row_too_long" and "(item 1)" in error.messages[0]
    assert_nothing_kept(media_root, "row_too_long")


def test_a_json_text_over_the_cell_limit_is_refused(capturista):
    data = json_bytes([artu_item(0), artu_item(1, metadata={"nota": "n" * 20_000})])
    error = receive_refused(capturista, data, "largo.json")
    assert error.code == "cell_too_long" and "(item 2)" in error.messages[0]


def test_column_names_are_short_and_readable(capturista):
    long_name = csv_bytes([person(0)], headers=(*SPANISH_HEADERS, "N" * 300))
    assert receive_refused(capturista, long_name, "c.csv").code == "header_too_long"
    with pytest.raises(ValidationError) as caught:
        upload_receive(actor=capturista, file=uploaded(json_bytes([artu_item(0, **{"nom\u0000bre": "x"})]), "c.json"))
    assert caught.value.code == "control_character" and "U+0000" in caught.value.messages[0]


def test_the_mapping_page_cuts_long_sample_values(client_as, capturista):
    data = csv_bytes([person(i, Notas="n" * 9_000) for i in range(3)], headers=(*SPANISH_HEADERS, "Notas"))
    upload = upload_receive(actor=capturista, file=uploaded(data))
    response = client_as(capturista).get(reverse("uploads:mapping", args=[upload.pk]))
    assert response.status_code == 200
    assert "n" * 59 + "…" in response.text and "n" * 61 not in response.text


# -- nesting, and no file without its upload ---------------------------------------------------------------------


def test_deeply_nested_json_is_refused_on_the_page_and_leaves_no_file(client_as, capturista, media_root):
    client = client_as(capturista)
    client.cookies["django_language"] = "en"
    response = client.post(reverse("uploads:list"), {"file": uploaded(b"[" * 100_000, "hondo.json"), "encoding": ""})
    assert response.status_code == 422
    assert "more than 16 levels deep (item 1)" in response.text
    upload = assert_nothing_kept(media_root, "json_too_deep")
    assert list(AuditEvent.objects.filter(upload_id=upload.pk).values_list("action", flat=True)) == [
        AuditAction.UPLOAD_FAILED
    ]


def test_json_nested_within_the_decoder_but_past_the_limit_is_refused(capturista):
    deep: dict = {}
    for _ in range(200):
        deep = {"n": deep}
    error = receive_refused(capturista, json_bytes([artu_item(0, metadata=deep)]), "hondo.json")
    assert error.code == "json_too_deep"


def test_a_file_whose_upload_row_cannot_be_written_is_not_kept(capturista, media_root):
    def upload_insert_fails(execute, sql, params, many, context):
        if sql.startswith("INSERT") and Upload._meta.db_table in sql:
            raise DatabaseError("could not extend file: No space left on device")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(upload_insert_fails), pytest.raises(DatabaseError):
        upload_receive(actor=capturista, file=uploaded(csv_bytes([person(0)])))
    assert not Upload.objects.exists()
    assert not any(p.is_file() for p in media_root.rglob("*"))


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
