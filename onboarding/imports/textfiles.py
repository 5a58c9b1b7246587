"""Text files: encoding detection (UTF-8, UTF-8 BOM, UTF-16, cp1252, then charset-normalizer) and CSV with any of
the usual delimiters, read as a stream."""

import codecs
import csv
import io
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

import charset_normalizer
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from onboarding.imports.tables import (
    HEADER_SEARCH_ROWS,
    SAMPLE_BYTES,
    FileInfo,
    check_cells,
    clean_headers,
    find_header,
    is_blank,
    refuse,
    row_limit_error,
    row_too_long,
    undecodable_error,
)
from onboarding.models import UploadFormat

DELIMITERS = (",", ";", "\t", "|")
BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
# Besides UTF-8 and cp1252: what other machines in a Mexican branch write (DOS, old Mac, ISO Latin).
FALLBACK_ENCODINGS = ["latin_1", "iso8859_15", "cp850", "cp437", "mac_roman"]
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")

# A cell can never be longer than its row (`UPLOAD_MAX_LINE_CHARS`), which `csv_rows` bounds; this is a backstop.
csv.field_size_limit(1024 * 1024)


def detect_encoding(head: bytes) -> str:
    """BOM first; then UTF-8 if the sample decodes; then cp1252 (Excel's "CSV" in Mexico); then charset-normalizer."""
    for bom, name in BOMS:
        if head.startswith(bom):
            return name
    if b"\x00" in head:
        raise refuse(
            "binary",
            _("The file is not a spreadsheet: it looks like a %(kind)s. Upload a CSV, Excel (.xlsx) or JSON file."),
            kind=_("binary file"),
        )
    sample = _cut_to_char_boundary(head)
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        sample.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        pass
    best = charset_normalizer.from_bytes(sample, cp_isolation=FALLBACK_ENCODINGS).best()
    if best is None or best.chaos > 0.3:
        raise refuse(
            "undecodable",
            _(
                "The file's characters could not be read in any known encoding. Save it as "
                "“CSV UTF-8” and upload it again."
            ),
        )
    return codecs.lookup(best.encoding).name


def _cut_to_char_boundary(head: bytes) -> bytes:
    """A sample cut at a byte limit may end inside a UTF-8 character; drop that partial character."""
    if len(head) < SAMPLE_BYTES:
        return head
    cut = len(head)
    while cut > len(head) - 4 and head[cut - 1] & 0xC0 == 0x80:
        cut -= 1
    if cut > len(head) - 4 and head[cut - 1] >= 0xC0:
        cut -= 1
    return head[:cut]


def _check_text(sample: str) -> None:
    if sample and len(_CONTROL.findall(sample)) > max(2, len(sample) // 100):
        raise refuse(
            "binary",
            _("The file is not a spreadsheet: it looks like a %(kind)s. Upload a CSV, Excel (.xlsx) or JSON file."),
            kind=_("binary file"),
        )


@contextmanager
def text_stream(fileobj: IO[bytes], encoding: str) -> Iterator[IO[str]]:
    fileobj.seek(0)
    wrapper = io.TextIOWrapper(fileobj, encoding=encoding, newline="", errors="strict")
    try:
        yield wrapper
    finally:
        wrapper.detach()


# -- CSV ---------------------------------------------------------------------------------------------------------


def sniff_delimiter(text: str) -> str:
    """The delimiter that splits most sample lines into the same number (≥ 2) of columns."""
    lines = text.splitlines()[:60]
    best, best_score = ",", (0, 0)
    for delimiter in DELIMITERS:
        widths = [len(r) for r in csv.reader(lines, delimiter=delimiter) if not is_blank(r)]
        if not widths:
            continue
        width, freq = Counter(widths).most_common(1)[0]
        score = (freq, width) if width >= 2 else (0, 0)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def inspect_csv(fileobj: IO[bytes], head: bytes, encoding: str, max_rows: int) -> FileInfo:
    forced = bool(encoding)
    if forced:
        try:
            encoding = codecs.lookup(encoding).name
        except LookupError:
            raise refuse(
                "encoding_unknown", _("“%(encoding)s” is not an encoding this system knows."), encoding=encoding
            ) from None
    else:
        encoding = detect_encoding(head)
    while True:
        try:
            return _scan_csv(fileobj, encoding, max_rows)
        except UnicodeDecodeError as exc:
            # The sample was plain ASCII but a later row is not UTF-8: Excel's cp1252.
            if not forced and encoding == "utf-8" and _decodes(fileobj, "cp1252"):
                encoding = "cp1252"
                continue
            raise undecodable_error(encoding, exc.start) from None


def _decodes(fileobj: IO[bytes], encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)()
    fileobj.seek(0)
    try:
        while chunk := fileobj.read(1024 * 1024):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _scan_csv(fileobj: IO[bytes], encoding: str, max_rows: int) -> FileInfo:
    with text_stream(fileobj, encoding) as text:
        sample = text.read(SAMPLE_BYTES)
        _check_text(sample)
        delimiter = sniff_delimiter(sample)
        text.seek(0)
        rows = csv_rows(text, delimiter)
        top = [row for _, (_, row) in zip(range(HEADER_SEARCH_ROWS), rows, strict=False)]
        index = find_header(top)
        headers = clean_headers(top[index])
        count = sum(1 for row in top[index + 1 :] if not is_blank(row))
        for _, row in rows:
            if row and not is_blank(row):
                count += 1
                if count > max_rows:
                    raise row_limit_error(max_rows)
    if count > max_rows:
        raise row_limit_error(max_rows)
    return FileInfo(UploadFormat.CSV, headers, index + 1, count, encoding=encoding, delimiter=delimiter)


def iter_csv(fileobj: IO[bytes], info: FileInfo) -> Iterator[tuple[int, list]]:
    with text_stream(fileobj, info.encoding) as text:
        header_row = info.header_row
        for number, row in csv_rows(text, info.delimiter or ","):
            if number > header_row and row and not is_blank(row):
                yield number, row


class _RowTooLong(Exception):
    pass


class _Lines:
    """The text's lines as csv.reader asks for them, refusing a row (which may span lines inside quotes) longer
    than `limit` characters before csv splits it: one 50 MB line of 16 million cells takes minutes to split."""

    def __init__(self, text: IO[str], limit: int):
        self.readline, self.limit, self.used = text.readline, limit, 0

    def __iter__(self) -> "_Lines":
        return self

    def __next__(self) -> str:
        # Never more than the row's remaining allowance: a longer line is refused here, unread.
        line = self.readline(self.limit + 1 - self.used)
        if not line:
            raise StopIteration
        self.used += len(line)
        if self.used > self.limit:
            raise _RowTooLong
        return line


def csv_rows(text: IO[str], delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """`(row number, cells)` of every row, blank ones included; a row over a size limit is refused (tables)."""
    lines = _Lines(text, settings.UPLOAD_MAX_LINE_CHARS)
    reader = csv.reader(lines, delimiter=delimiter)
    max_columns, max_chars = settings.UPLOAD_MAX_COLUMNS, settings.UPLOAD_MAX_CELL_CHARS
    number = 0
    try:
        for number, row in enumerate(reader, start=1):
            # No cell is longer than its row: most rows need no look at their cells' lengths.
            if len(row) > max_columns or lines.used > max_chars:
                check_cells(number, row, max_columns, max_chars)
            yield number, row
            lines.used = 0
    except _RowTooLong:
        raise row_too_long(where=_("row %(row)s") % {"row": f"{number + 1:,}"}) from None
    except csv.Error as exc:
        raise refuse(
            "csv_invalid",
            _("The file cannot be read as CSV near line %(line)s: %(detail)s."),
            line=reader.line_num,
            detail=str(exc),
        ) from None
