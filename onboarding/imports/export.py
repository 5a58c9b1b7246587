"""Writing an upload's problem rows as CSV or XLSX: original cells, the record, one column of messages; and
`csv_safe`, which every CSV the app writes (problem rows, a submission's results, the audit export) puts each cell
through.

Text a spreadsheet would run as a formula (`= + - @`, tab, CR) gets an apostrophe before it (OWASP "CSV
injection"). In the workbook no cell is ever a formula: a cell is a number only when it reads as one and nothing is
lost that way, and text otherwise, so an id, a CLABE or a postal code keeps its leading zeros and every digit. The
header row is frozen and filtered, and each column is as wide as its header and first rows need.
"""

import csv
import io
import itertools
import json
import re
import tempfile
from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet
from django.utils import translation
from django.utils.translation import gettext as _

from onboarding.validation import FORMULA_PREFIXES, Problem, Severity, problem_message

# Where a spreadsheet may start a cell inside our text: a file written with `,` is split on `;` where that is the
# list separator (Excel in Mexico and much of Europe), and on tabs when pasted; a line break starts a row. Spaces
# and quotes before a formula character are skipped, as a spreadsheet may strip them.
FORMULA_START = re.compile(r"(^|[,;\t\r\n])(?=[ \"]*[" + re.escape("".join(FORMULA_PREFIXES)) + "])")


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def csv_safe(value: Any) -> str:
    """The cell as text, with an apostrophe wherever a spreadsheet splitting it on `,` `;` or tab would find a
    formula: `=1+1` → `'=1+1`, `A;=1+1` → `A;'=1+1`."""
    return FORMULA_START.sub(r"\1'", cell_text(value))


def row_messages(problems: list[dict[str, Any]]) -> str:
    """Every problem of a row as one text, errors first, in the active language."""
    labels = {Severity.ERROR: _("Error"), Severity.WARNING: _("Warning")}
    parts = []
    for data in sorted(problems, key=lambda p: p.get("severity") != Severity.ERROR):
        problem = Problem.from_dict(data)
        code = problem.code
        if code == "duplicate" and problem.params.get("in_file"):
            code = "duplicate_in_file"
        parts.append(f"{labels[problem.severity]}: {problem_message(problem.field, code, problem.params)}")
    return " | ".join(parts)


def problem_lines(*, headers: list[str], rows: QuerySet, language: str) -> Iterator[list[str]]:
    # The body runs while the response streams, after the view returned: keep the reader's language.
    with translation.override(language):
        yield [csv_safe(h) for h in (_("Row"), *headers, _("Record"), _("Messages"))]
        for source_row, source_data, problems, pk in rows.values_list(
            "source_row", "source_data", "problems", "pk"
        ).iterator(chunk_size=2000):
            cells = [source_data.get(h) for h in headers] if isinstance(source_data, dict) else []
            yield [str(source_row), *(csv_safe(c) for c in cells), str(pk), csv_safe(row_messages(problems))]


def csv_chunks(lines: Iterator[list[str]]) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    yield "\ufeff".encode()  # Excel reads a UTF-8 CSV with accents and ñ correctly only with the BOM
    for n, line in enumerate(lines, start=1):
        writer.writerow(line)
        if n % 500 == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


# A cell that reads as a number: written as one unless that loses something (a leading zero, digits past the 15 a
# spreadsheet keeps, as in an 18-digit CLABE).
NUMBER = re.compile(r"-?(0|[1-9]\d*)(\.\d+)?")
SPREADSHEET_DIGITS = 15
# Columns are fitted to the header and this many first rows (the sheet is written as it streams), within bounds.
WIDTH_SAMPLE_ROWS = 500
WIDTH_MIN, WIDTH_MAX, MESSAGES_WIDTH_MAX = 6, 50, 90


def xlsx_value(value: str) -> str | int | float:
    """The cell as the workbook stores it: a number when `value` reads as one without loss, else the text."""
    if NUMBER.fullmatch(value) and sum(c.isdigit() for c in value) <= SPREADSHEET_DIGITS:
        return float(value) if "." in value else int(value)
    return value


def _fitted_widths(lines: list[list[str]]) -> list[float]:
    widths = [max(len(line[i]) if i < len(line) else 0 for line in lines) for i in range(len(lines[0]))]
    fitted = [min(max(w + 2, WIDTH_MIN), WIDTH_MAX) for w in widths]
    fitted[-1] = min(max(widths[-1] + 2, WIDTH_MIN), MESSAGES_WIDTH_MAX)  # the messages: the column people read
    return fitted


def xlsx_chunks(lines: Iterator[list[str]]) -> Iterator[bytes]:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.utils import get_column_letter

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Problems")
    lines = iter(lines)
    # Widths must be set before the first row is written: fit them to the first rows, held back until then.
    first = [line for _, line in zip(range(WIDTH_SAMPLE_ROWS + 1), lines, strict=False)]
    for index, width in enumerate(_fitted_widths(first), start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    count = 0
    for count, line in enumerate(itertools.chain(first, lines), start=1):  # noqa: B007 - the count is used below
        cells = []
        for value in line:
            cell = WriteOnlyCell(sheet, value=value if count == 1 else xlsx_value(value))
            if isinstance(cell.value, str):
                cell.data_type = "s"  # text, never a formula, whatever it starts with
            cells.append(cell)
        sheet.append(cells)
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(first[0]))}{count}"
    with tempfile.TemporaryFile() as out:
        workbook.save(out)
        out.seek(0)
        while chunk := out.read(256 * 1024):
            yield chunk
