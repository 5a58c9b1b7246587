"""Reading uploaded files as rows of cells: CSV (any delimiter, UTF-8/UTF-8 BOM/UTF-16/cp1252), XLSX and JSON.

`inspect_file` looks at a file once (format, encoding, delimiter, where the header row is, the headers, how many
data rows) and refuses a bad file with a `ValidationError` whose code names the problem. `iter_rows` then streams
the data rows as `(row number in the file, [cells])`, skipping blank rows, so a file of any length is read in
constant memory. Cells come back as the user sees them in Excel: text, with leading zeros kept and no `.0`.
"""

import codecs
from collections.abc import Iterator
from typing import IO

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from onboarding.imports.excel import inspect_xlsx, iter_xlsx
from onboarding.imports.jsonfile import inspect_json, iter_json
from onboarding.imports.tables import SAMPLE_BYTES, FileInfo, refuse
from onboarding.imports.textfiles import inspect_csv, iter_csv
from onboarding.models import UploadFormat

MAGIC = (
    (b"\x89PNG", _("PNG image")),
    (b"\xff\xd8\xff", _("JPEG image")),
    (b"GIF8", _("GIF image")),
    (b"%PDF", _("PDF document")),
    (b"\x1f\x8b", _("gzip archive")),
    (b"Rar!", _("RAR archive")),
    (b"7z\xbc\xaf", _("7-Zip archive")),
    (b"MZ", _("program")),
    (b"\x7fELF", _("program")),
    (b"BM", _("BMP image")),
    (b"II*\x00", _("TIFF image")),
    (b"MM\x00*", _("TIFF image")),
)
OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP = b"PK\x03\x04"


def detect_format(head: bytes, name: str) -> str:
    """The upload format from the file's first bytes (its name is only a hint); refuses what is none of them."""
    if not head.strip(b" \t\r\n" + codecs.BOM_UTF8):
        raise refuse("empty", _("The file is empty."))
    if head.startswith(ZIP):
        return UploadFormat.XLSX
    if head.startswith(OLE2):
        raise refuse(
            "xls_legacy",
            _(
                "This is an old Excel (.xls) workbook. Open it in Excel, save it as .xlsx or "
                "CSV UTF-8, and upload that file."
            ),
        )
    for magic, kind in MAGIC:
        # Two-letter signatures ("BM", "MZ") also start ordinary text ("BMW"); binary ones have NULs right after.
        if head.startswith(magic) and (len(magic) > 2 or b"\x00" in head[:64]):
            raise refuse(
                "binary",
                _("The file is not a spreadsheet: it looks like a %(kind)s. Upload a CSV, Excel (.xlsx) or JSON file."),
                kind=kind,
            )
    text_start = head.lstrip(b" \t\r\n").removeprefix(codecs.BOM_UTF8).lstrip(b" \t\r\n")
    if name.lower().endswith(".json") or text_start[:1] in (b"[", b"{"):
        return UploadFormat.JSON
    if name.lower().endswith((".xlsx", ".xlsm")):
        raise refuse(
            "xlsx_corrupt",
            _("The Excel file is damaged or is not really an .xlsx file (%(detail)s)."),
            detail=_("it is not a zip archive"),
        )
    return UploadFormat.CSV


# -- entry points ------------------------------------------------------------------------------------------------


def inspect_file(fileobj: IO[bytes], *, name: str, encoding: str = "", max_rows: int | None = None) -> FileInfo:
    """Everything the mapping step needs to know about the file; raises ValidationError for a file refused whole."""
    max_rows = max_rows or settings.UPLOAD_MAX_ROWS
    fileobj.seek(0)
    head = fileobj.read(SAMPLE_BYTES)
    kind = detect_format(head, name)
    if kind == UploadFormat.XLSX:
        info = inspect_xlsx(fileobj, max_rows)
    elif kind == UploadFormat.JSON:
        info = inspect_json(fileobj, head, encoding, max_rows)
    else:
        info = inspect_csv(fileobj, head, encoding, max_rows)
    if info.row_count == 0:
        raise refuse("no_rows", _("The file has no data rows under its header."))
    return info


def iter_rows(fileobj: IO[bytes], info: FileInfo) -> Iterator[tuple[int, list]]:
    """The data rows under the header, blank rows skipped: `(row number in the file, cells)`."""
    if info.format == UploadFormat.XLSX:
        return iter_xlsx(fileobj, info)
    if info.format == UploadFormat.JSON:
        return iter_json(fileobj, info)
    return iter_csv(fileobj, info)


def sample_rows(fileobj: IO[bytes], info: FileInfo, n: int = 3) -> list[list]:
    rows = []
    iterator = iter_rows(fileobj, info)
    try:
        for _, cells in iterator:
            rows.append(cells)
            if len(rows) >= n:
                break
    finally:
        iterator.close()
    return rows
