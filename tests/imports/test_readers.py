"""Reading files: encodings, delimiters, title rows, Excel cells as the user sees them, JSON, and every bad file."""

import io
import json
import zipfile

import pytest
from django.core.exceptions import ValidationError

from onboarding.imports.excel import excel_text
from onboarding.imports.readers import inspect_file, iter_rows
from onboarding.imports.textfiles import sniff_delimiter
from tests.imports import SPANISH_HEADERS, artu_item, csv_bytes, json_bytes, person, xlsx_bytes


def read(data: bytes, name: str = "clientes.csv", **kwargs):
    handle = io.BytesIO(data)
    info = inspect_file(handle, name=name, **kwargs)
    return info, list(iter_rows(handle, info))


def refused(data: bytes, name: str = "clientes.csv", **kwargs) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        inspect_file(io.BytesIO(data), name=name, **kwargs)
    return caught.value


# -- encodings ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "detected"),
    [
        ("utf-8", "utf-8"),
        ("utf-8-sig", "utf-8-sig"),
        ("cp1252", "cp1252"),
        ("utf-16", "utf-16"),
    ],
)
def test_each_encoding_is_detected_and_accents_survive(encoding, detected):
    info, rows = read(csv_bytes([person(0), person(1)], encoding=encoding))
    assert info.encoding == detected
    assert info.headers == list(SPANISH_HEADERS)
    assert rows[0][1][2:5] == ["María José", "Peña", "Núñez"]


def test_cp1252_accents_only_after_the_sample_are_still_read_as_cp1252():
    plain = [person(1, **{"Nombre(s)": "Juan", "Apellido paterno": "Lopez", "Apellido materno": "Ruiz"})] * 1500
    info, rows = read(csv_bytes([*plain, person(0)], encoding="cp1252"))
    assert info.encoding == "cp1252"
    assert rows[-1][1][3] == "Peña"


def test_a_chosen_encoding_that_does_not_fit_is_refused_with_the_encoding_named():
    error = refused(csv_bytes([person(0)], encoding="cp1252"), encoding="utf-8")
    assert error.code == "undecodable"
    assert "utf-8" in error.messages[0]


def test_an_unknown_encoding_name_is_refused():
    assert refused(csv_bytes([person(0)]), encoding="klingon-8").code == "encoding_unknown"


def test_bytes_no_encoding_can_read_are_refused():
    # 0x81 and 0x8D exist in no Windows code page text; not UTF-8 either; mostly control characters when forced.
    data = b"Nombre,RFC\n" + bytes([0x81, 0x8D, 0x8F, 0x90, 0x9D, 0x01, 0x02, 0x03] * 400)
    assert refused(data).code == "undecodable"


# -- delimiters, title rows, blank rows --------------------------------------------------------------------------


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_each_delimiter_is_detected(delimiter):
    info, rows = read(csv_bytes([person(0), person(1)], delimiter=delimiter))
    assert info.delimiter == delimiter
    assert len(rows) == 2 and rows[0][1][7].startswith("penj")


def test_commas_inside_values_do_not_fool_the_semicolon_sniffer():
    rows = [person(i, **{"Nombre(s)": "Pérez, Juan"}) for i in range(3)]
    assert sniff_delimiter(csv_bytes(rows, delimiter=";").decode()) == ";"


def test_title_rows_above_the_header_and_blank_trailing_rows_are_skipped():
    data = csv_bytes([person(0), person(1)], title_rows=("Clientes sucursal Norte", "Marzo 2026"), trailing_blank=3)
    info, rows = read(data)
    assert info.header_row == 3
    assert info.headers[0] == "Número de cliente"
    assert info.row_count == 2
    assert [number for number, _ in rows] == [4, 5]


# -- Excel -------------------------------------------------------------------------------------------------------


def test_xlsx_keeps_leading_zeros_and_shows_numbers_without_dot_zero_or_exponent():
    data = xlsx_bytes(
        [
            ["Número de cliente", "Nombre", "RFC", "Código postal", "Número de cuenta", "Cuenta (texto)", "Monto"],
            ["000123", "Ana", "PENM971117RT3", 6700, 123456789012345678, "123456789012345678", 1234.5],
            [42.0, "Luis", "GALJ660110988", 1000, 5.0, "007", 0.1],
        ],
        formats={(2, 4): "00000", (3, 4): "00000"},
    )
    info, rows = read(data, name="clientes.xlsx")
    assert info.format == "xlsx"
    first, second = rows[0][1], rows[1][1]
    assert first[0] == "000123"  # typed as text: kept
    assert first[3] == "06700"  # a number shown with a 00000 format
    assert first[4] == "123456789012346000"  # what Excel keeps and shows: 15 digits, no 1.23E+17
    assert first[5] == "123456789012345678"  # entered as text: exact
    assert first[6] == "1234.5"
    assert second[0] == "42" and second[4] == "5" and second[5] == "007" and second[6] == "0.1"


def test_xlsx_dates_come_back_as_iso_dates_and_title_rows_are_skipped():
    import datetime

    data = xlsx_bytes(
        [
            ["Reporte de clientes"],
            [],
            ["Nombre", "RFC", "Fecha de nacimiento"],
            ["Ana", "PENM971117RT3", datetime.datetime(1997, 11, 17)],
            [],
            [],
        ]
    )
    info, rows = read(data, name="c.xlsx")
    assert info.header_row == 3
    assert rows == [(4, ["Ana", "PENM971117RT3", "1997-11-17"])]


@pytest.mark.parametrize(
    ("value", "number_format", "shown"),
    [
        (None, None, ""),
        (True, None, "TRUE"),
        (12.0, "General", "12"),
        (1e20, None, "100000000000000000000"),
        (0.000015, None, "0.000015"),
        (7, "000", "007"),
    ],
)
def test_excel_text(value, number_format, shown):
    assert excel_text(value, number_format) == shown


# -- JSON --------------------------------------------------------------------------------------------------------


def test_a_json_array_in_artu_shape_is_read_with_flattened_columns():
    info, rows = read(json_bytes([artu_item(0), artu_item(1)]), name="clientes.json")
    assert info.format == "json" and info.row_count == 2
    assert "scopeData.MX.rfc" in info.headers
    assert "scopeData.MX.actividadVulnerable.AVI.username" in info.headers
    row = dict(zip(info.headers, rows[0][1], strict=True))
    assert row["name"] == "María José"
    assert row["metadata"] == {"branch": "Norte"}
    assert row["scopeData.MX.actividadVulnerable"] == {"AVI": {"username": "user0"}, "INM": {}}


def test_a_long_json_array_is_streamed_item_by_item():
    items = [artu_item(i, notes="x" * 200) for i in range(2000)]  # larger than one read
    info, rows = read(json_bytes(items), name="c.json")
    assert info.row_count == 2000 and len(rows) == 2000
    assert rows[-1][0] == 2000


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b'{"name": "Ana"}', "json_not_array"),
        (b'"clientes"', "json_not_array"),
        (b'{"name": ', "json_invalid"),
        (b'[{"name": "Ana"}, 3]', "json_item_not_object"),
        (b'[{"name": "Ana"}', "json_invalid"),
        (b'[{"name": "Ana"} {"name": "Luis"}]', "json_invalid"),
        (b"[]", "no_rows"),
    ],
)
def test_bad_json_is_refused(data, code):
    assert refused(data, name="c.json").code == code


# -- bad files ---------------------------------------------------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(256))


@pytest.mark.parametrize(
    ("data", "name", "code"),
    [
        (b"", "c.csv", "empty"),
        (b"\r\n \r\n", "c.csv", "empty"),
        (PNG, "clientes.csv", "binary"),
        (b"%PDF-1.7\n...", "clientes.csv", "binary"),
        (b"Nombre,RFC\x00\x00\x00\x01\x02" * 50, "c.csv", "binary"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "clientes.xls", "xls_legacy"),
        (b"Nombre,Nombre,RFC\r\nAna,Ana,X\r\n", "c.csv", "duplicate_headers"),
        (b"Nombre,RFC\r\n", "c.csv", "no_rows"),
        (b"not a zip at all", "clientes.xlsx", "xlsx_corrupt"),
    ],
)
def test_bad_files_are_refused_with_a_code(data, name, code):
    error = refused(data, name)
    assert error.code == code
    assert error.messages[0]


def test_duplicate_headers_differing_only_in_accents_or_case_are_refused_and_named():
    error = refused("Número de cliente,NUMERO DE CLIENTE,RFC\r\n1,2,3\r\n".encode())
    assert error.code == "duplicate_headers"
    assert "Número de cliente" in error.messages[0]


def test_a_zip_that_is_not_a_workbook_is_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "hi")
    assert refused(buffer.getvalue(), "c.xlsx").code == "xlsx_corrupt"


def test_a_truncated_workbook_is_refused():
    data = xlsx_bytes([["Nombre", "RFC"], ["Ana", "X"]])
    assert refused(data[: len(data) // 2], "c.xlsx").code == "xlsx_corrupt"


def test_a_workbook_that_unpacks_to_far_more_than_its_size_is_refused_before_it_is_opened(settings):
    settings.UPLOAD_MAX_BYTES = 1_000_000  # at most 20 MB unpacked
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"<sheetData>" + b" " * 30_000_000 + b"</sheetData>")
    data = buffer.getvalue()
    assert len(data) < 100_000
    error = refused(data, "bomba.xlsx")
    assert error.code == "xlsx_too_big"


def test_more_rows_than_the_limit_is_refused(settings):
    settings.UPLOAD_MAX_ROWS = 5
    assert refused(csv_bytes([person(i) for i in range(6)])).code == "too_many_rows"
    assert inspect_file(io.BytesIO(csv_bytes([person(i) for i in range(5)])), name="c.csv").row_count == 5


def test_json_over_the_row_limit_is_refused(settings):
    settings.UPLOAD_MAX_ROWS = 2
    assert refused(json.dumps([{"name": "a"}] * 3).encode(), "c.json").code == "too_many_rows"


def test_text_that_starts_like_a_binary_signature_is_still_text():
    info, rows = read(b"BMW cliente,RFC\r\nAna,PENM971117RT3\r\n")
    assert info.headers == ["BMW cliente", "RFC"] and len(rows) == 1
