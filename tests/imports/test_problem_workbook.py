"""The problem-rows workbook, read back as a spreadsheet reads it: a frozen, filtered header row, columns fitted to
their content, numbers where they are numbers and text where leading zeros or long digit runs matter."""

import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from onboarding.imports.export import xlsx_value
from tests.imports import csv_bytes, person

pytestmark = pytest.mark.django_db

EXTRA = {"Código postal": "06600", "CLABE": "012180001234567897", "Sucursal": "42", "Nota": "=1+1"}


@pytest.fixture
def sheet(client_as, auditor, stage):
    rows = [
        person(0, **{"Número de cliente": "000123", **EXTRA}),
        person(1, **{"Fecha de nacimiento": "99/99/1999", **EXTRA}),
        person(2, **EXTRA),  # no problem: not in the file
    ]
    rows[0]["RFC"] = "PEXA900101XX1"
    upload = stage(csv_bytes(rows))
    response = client_as(auditor).get(reverse("uploads:problems", args=[upload.pk]), {"format": "xlsx"})
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    return workbook["Problems"]


def _columns(sheet) -> dict[str, int]:
    """Header → column; the columns the export adds by their place (their headers are in the reader's language)."""
    columns = {cell.value: cell.column for cell in sheet[1]}
    return columns | {"Row": 1, "Record": sheet.max_column - 1, "Messages": sheet.max_column}


def test_the_header_row_is_frozen_and_filtered(sheet):
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:{sheet.cell(1, sheet.max_column).column_letter}3"
    assert sheet.max_row == 3


def test_columns_are_fitted_to_their_content(sheet):
    columns = _columns(sheet)
    width = {h: sheet.column_dimensions[sheet.cell(1, i).column_letter].width for h, i in columns.items()}
    assert width["Row"] < width["Nombre(s)"] < width["Messages"]
    assert width["CLABE"] >= 20  # 18 digits fit
    assert len(set(width.values())) > 3


def test_leading_zeros_and_long_digit_runs_stay_text_other_numbers_are_numbers(sheet):
    columns = _columns(sheet)
    first = {h: sheet.cell(2, i) for h, i in columns.items()}
    assert first["Número de cliente"].value == "000123" and first["Número de cliente"].data_type == "s"
    assert first["Código postal"].value == "06600" and first["CLABE"].value == "012180001234567897"
    assert first["Sucursal"].value == 42 and first["Row"].value == 2 and isinstance(first["Record"].value, int)
    assert first["Nota"].data_type == "s" and not str(first["Nota"].value).startswith("=")  # never a formula


@pytest.mark.parametrize(
    ("text", "stored"),
    [("42", 42), ("0", 0), ("3.5", 3.5), ("-7", -7), ("007", "007"), ("1234567890123456", "1234567890123456")],
)
def test_a_cell_is_a_number_only_when_nothing_is_lost(text, stored):
    assert xlsx_value(text) == stored and type(xlsx_value(text)) is type(stored)
