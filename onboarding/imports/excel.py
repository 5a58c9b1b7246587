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
    clean_headers,
    find_header,
    is_blank,
    refuse,
    row_limit_error,
)
from onboarding.models import UploadFormat

# An .xlsx is a zip; its XML is typically 5-10 times the file. More than this is a damaged file or a zip bomb.
XLSX_MAX_EXPANSION = 20
XLSX_MAX_RATIO = 200


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
    for number, row in enumerate(sheet.iter_rows(min_row=1), start=1):
        yield number, [excel_text(c.value, c.number_format if isinstance(c.value, (int, float)) else None) for c in row]


def inspect_xlsx(fileobj: IO[bytes], max_rows: int) -> FileInfo:
    with _workbook(fileobj) as sheet:
        declared = sheet.max_row if sheet.max_row and sheet.max_row > 1 else None
        sheet.reset_dimensions()
        rows = _xlsx_rows(sheet)
        top = [cells for _, (_, cells) in zip(range(HEADER_SEARCH_ROWS), rows, strict=False)]
        index = find_header(top)
        headers = clean_headers(top[index])
        count = sum(1 for row in top[index + 1 :] if not is_blank(row))
        if declared is not None:
            # The sheet's own dimension gives the count without reading every cell; staging counts exactly.
            count = max(count, declared - index - 1)
        else:
            for _, row in rows:
                if not is_blank(row):
                    count += 1
                    if count > max_rows:
                        break
    if count > max_rows:
        raise row_limit_error(max_rows)
    return FileInfo(UploadFormat.XLSX, headers, index + 1, count)


def iter_xlsx(fileobj: IO[bytes], info: FileInfo) -> Iterator[tuple[int, list]]:
    with _workbook(fileobj) as sheet:
        sheet.reset_dimensions()
        for number, row in _xlsx_rows(sheet):
            if number > info.header_row and not is_blank(row):
                yield number, row
