"""Excel workbooks (.xlsx), read as the user sees them, after checking the archive is not a zip bomb."""

import datetime
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import IO, Any

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from onboarding.imports.tables import (
    HEADER_SEARCH_ROWS,
    FileInfo,
    cell_too_long,
    clean_headers,
    find_header,
    is_blank,
    refuse,
    row_limit_error,
    too_many_columns,
    where_cell,
)
from onboarding.models import UploadFormat

# An .xlsx is a zip; its XML is typically 5-10 times the file. More than this is a damaged file or a zip bomb.
XLSX_MAX_EXPANSION = 20
XLSX_MAX_RATIO = 200
# Excel's widest row. Empty cells right of UPLOAD_MAX_COLUMNS are let be (a formatted range), up to this many.
EXCEL_MAX_COLUMNS = 16_384


def _check_zip(fileobj: IO[bytes]) -> None:
    """Refuse a damaged archive, or one that would unpack to far more than an honest workbook (a zip bomb)."""
    fileobj.seek(0)
    try:
        with zipfile.ZipFile(fileobj) as archive:
            members = archive.infolist()
            names = {m.filename for m in members}
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise refuse(
            "xlsx_corrupt", _("The Excel file is damaged or is not really an .xlsx file (%(detail)s)."), detail=str(exc)
        ) from None
    if "xl/workbook.xml" not in names:
        raise refuse(
            "xlsx_corrupt",
            _("The Excel file is damaged or is not really an .xlsx file (%(detail)s)."),
            detail=_("no workbook inside"),
        )
    limit = settings.UPLOAD_MAX_BYTES * XLSX_MAX_EXPANSION
    total = sum(m.file_size for m in members)
    worst = max((m.file_size / max(m.compress_size, 1) for m in members if m.file_size > 1024 * 1024), default=0)
    if total > limit or worst > XLSX_MAX_RATIO:
        raise refuse(
            "xlsx_too_big",
            _(
                "The Excel file would unpack to %(size)s MB, far more than a workbook of its "
                "size holds (at most %(limit)s MB). It is damaged or a “zip bomb”; it was not "
                "opened."
            ),
            size=f"{total / 1e6:,.0f}",
            limit=f"{limit / 1e6:,.0f}",
        )


@contextmanager
def _workbook(fileobj: IO[bytes]):
    from openpyxl import load_workbook

    _check_zip(fileobj)
    fileobj.seek(0)
    try:
        workbook = load_workbook(fileobj, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged file; each means the same to the user
        raise refuse(
            "xlsx_corrupt",
            _("The Excel file is damaged or is not really an .xlsx file (%(detail)s)."),
            detail=str(exc)[:200] or type(exc).__name__,
        ) from None
    try:
        sheets = [ws for ws in workbook.worksheets if getattr(ws, "sheet_state", "visible") == "visible"]
        if not sheets:
            raise refuse("empty", _("The file is empty."))
        yield sheets[0]
    finally:
        workbook.close()


def excel_text(value: Any, number_format: str | None = None) -> str:
    """A cell value as Excel shows it: 15 significant digits, no `.0`, no exponent, zero-padded by its format."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, datetime.datetime):
        return value.date().isoformat() if value.time() == datetime.time() else value.isoformat(sep=" ")
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, int):
        text = str(value)
    elif isinstance(value, float):
        # Excel stores 15 significant digits; printing more would show digits the user never typed.
        text = format(Decimal(f"{value:.15g}"), "f")
        if "." in text:
            text = text.rstrip("0").rstrip(".")
    else:
        return str(value)
    if number_format and len(number_format) > 1 and set(number_format) == {"0"} and text.isdigit():
        text = text.zfill(len(number_format))
    return text


def _xlsx_rows(sheet) -> Iterator[tuple[int, list[str]]]:
    """`(row number, cells as text)` of each row the sheet holds, read one cell at a time, so that a row with a value
    right of `UPLOAD_MAX_COLUMNS` or a cell over `UPLOAD_MAX_CELL_CHARS` is refused as soon as that cell is read.
    openpyxl's own `iter_rows` builds a whole row first (3 GB for one row of 3 million cells); its cell parser is
    used here."""
    from openpyxl.cell.read_only import ReadOnlyCell
    from openpyxl.worksheet._reader import CELL_TAG, DATA_TAG, ROW_TAG, WorkSheetParser
    from openpyxl.xml.functions import iterparse

    max_columns, max_chars = settings.UPLOAD_MAX_COLUMNS, settings.UPLOAD_MAX_CELL_CHARS
    book = sheet.parent
    formats: dict[int, str] = {}
    number, count, values = 0, 0, {}
    too_many_cells = _("row %(row)s has more than %(limit)s cells")
    with sheet._get_source() as source:
        parser = WorkSheetParser(
            source,
            sheet._shared_strings,
            data_only=True,
            epoch=book.epoch,
            date_formats=book._date_formats,
            timedelta_formats=book._timedelta_formats,
        )
        parser.row_counter = 1
        try:
            for _event, element in iterparse(source):
                if element.tag == CELL_TAG:
                    cell = parser.parse_cell(element)
                    element.clear()
                    count += 1
                    if count > EXCEL_MAX_COLUMNS:
                        raise ValueError(
                            too_many_cells % {"row": f"{cell['row']:,}", "limit": f"{EXCEL_MAX_COLUMNS:,}"}
                        )
                    if cell["value"] is None:
                        continue
                    column, style = cell["column"], cell["style_id"]
                    if column > max_columns:
                        raise too_many_columns(where=where_cell(cell["row"], column - 1))
                    if isinstance(cell["value"], (int, float)) and style not in formats:
                        formats[style] = ReadOnlyCell(sheet, 0, column, 0, "n", style).number_format
                    text = excel_text(cell["value"], formats.get(style))
                    if len(text) > max_chars:
                        raise cell_too_long(length=len(text), where=where_cell(cell["row"], column - 1))
                    values[column] = text
                elif element.tag == ROW_TAG:
                    row = element.get("r")
                    number = int(row) if row and row.isdigit() else number + 1
                    cells = [""] * max(values, default=0)
                    for column, text in values.items():
                        cells[column - 1] = text
                    yield number, cells
                    element.clear()
                    parser.row_counter, parser.col_counter, count, values = number + 1, 0, 0, {}
                elif element.tag == DATA_TAG:
                    return
        except (ValueError, KeyError, IndexError, SyntaxError) as exc:  # SyntaxError: the XML parser's ParseError
            raise refuse(
                "xlsx_corrupt",
                _("The Excel file is damaged or is not really an .xlsx file (%(detail)s)."),
                detail=str(exc)[:200] or type(exc).__name__,
            ) from None


def inspect_xlsx(fileobj: IO[bytes], max_rows: int) -> FileInfo:
    with _workbook(fileobj) as sheet:
        declared = sheet.max_row if sheet.max_row and sheet.max_row > 1 else None
        rows = _xlsx_rows(sheet)
        # The first rows by their number in the sheet (rows the sheet leaves out are blank).
        top: list[list[str]] = [[] for _ in range(HEADER_SEARCH_ROWS)]
        below = []
        for number, cells in rows:
            if number > HEADER_SEARCH_ROWS:
                below = cells
                break
            top[number - 1] = cells
        index = find_header(top)
        headers = clean_headers(top[index])
        count = sum(1 for row in (*top[index + 1 :], below) if not is_blank(row))
        if declared is not None:
            # The sheet's own dimension gives the count without reading every cell; staging counts exactly.
            count = max(count, declared - index - 1)
        else:
            for _, row in rows:
                if not is_blank(row):
                    count += 1
                    if count > max_rows:
                        break
        rows.close()
    if count > max_rows:
        raise row_limit_error(max_rows)
    return FileInfo(UploadFormat.XLSX, headers, index + 1, count)


def iter_xlsx(fileobj: IO[bytes], info: FileInfo) -> Iterator[tuple[int, list]]:
    with _workbook(fileobj) as sheet:
        for number, row in _xlsx_rows(sheet):
            if number > info.header_row and not is_blank(row):
                yield number, row
