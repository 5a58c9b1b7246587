"""Writing an upload's problem rows as CSV or XLSX: original cells, the record, one column of messages; and
`csv_safe`, which every CSV the app writes (problem rows, a submission's results, the audit export) puts each cell
through.

Text a spreadsheet would run as a formula (`= + - @`, tab, CR) gets an apostrophe before it (OWASP "CSV
injection"); in the workbook every cell is also typed as text.
"""

import csv
import io
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


def xlsx_chunks(lines: Iterator[list[str]]) -> Iterator[bytes]:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Problems")
    for line in lines:
        cells = []
        for value in line:
            cell = WriteOnlyCell(sheet, value=value)
            cell.data_type = "s"  # text, never a formula, whatever it starts with
            cells.append(cell)
        sheet.append(cells)
    with tempfile.TemporaryFile() as out:
        workbook.save(out)
        out.seek(0)
        while chunk := out.read(256 * 1024):
            yield chunk
