"""A file as a table of cells: refusals, what inspection finds, the header row and its names, the size limits."""

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from onboarding.imports.mapping import header_key, match_header
from onboarding.validation import control_character

SAMPLE_BYTES = 64 * 1024
HEADER_SEARCH_ROWS = 20
# A column name longer than this is not a name (the upload page, the mapping and the audit trail show them all).
HEADER_MAX_CHARS = 200


def refuse(code: str, message, **params: Any) -> ValidationError:
    return ValidationError(message, code=code, params=params)


@dataclass
class FileInfo:
    format: str
    headers: list[str]
    header_row: int
    row_count: int
    encoding: str = ""
    delimiter: str = ""
    notes: list[str] = field(default_factory=list)


def column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def is_blank(cells: list) -> bool:
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in cells)


def find_header(rows: list[list]) -> int:
    """Index of the header row among the first rows: the one naming most known fields, else the first full row.

    Title rows ("Clientes sucursal Norte, marzo") and blank rows above the header are skipped this way.
    """
    best, best_hits = -1, 1
    for i, cells in enumerate(rows):
        hits = len({t for c in cells if isinstance(c, str) and (t := match_header(c))})
        if hits > best_hits:
            best, best_hits = i, hits
    if best >= 0:
        return best
    widths = [sum(1 for c in cells if c not in (None, "") and str(c).strip()) for cells in rows]
    widest = max(widths, default=0)
    if widest == 0:
        raise refuse("empty", _("The file is empty."))
    return next(i for i, w in enumerate(widths) if w == widest)


def clean_headers(cells: list) -> list[str]:
    """Header names trimmed; an unnamed column in the middle gets its Excel letter; trailing empty ones go.

    Refuses a header repeated (also when it differs only in accents or case): its column could not be told apart.
    """
    names = [" ".join(str(c).split()) if c is not None else "" for c in cells]
    while names and not names[-1]:
        names.pop()
    if not names:
        raise refuse("no_header", _("No header row found: the file's first rows hold no column names."))
    if len(names) > settings.UPLOAD_MAX_COLUMNS:
        raise too_many_columns(where=_("column %(column)s") % {"column": column_letter(len(names) - 1)})
    for i, name in enumerate(names):
        if len(name) > HEADER_MAX_CHARS:
            raise refuse(
                "header_too_long",
                _(
                    "The name of column %(column)s is %(length)s characters long; a column name may have at "
                    "most %(limit)s."
                ),
                column=column_letter(i),
                length=f"{len(name):,}",
                limit=HEADER_MAX_CHARS,
            )
        if char := control_character(name):
            raise refuse(
                "control_character",
                _(
                    "The name of column %(column)s holds an invisible or unreadable character (%(char)s). Correct "
                    "it and upload the file again."
                ),
                column=column_letter(i),
                char=char,
            )
    headers = [name or f"({column_letter(i)})" for i, name in enumerate(names)]
    counts = Counter(header_key(h) or h.lower() for h in headers)
    doubled = [h for h in headers if counts[header_key(h) or h.lower()] > 1]
    if doubled:
        raise refuse(
            "duplicate_headers",
            _(
                "These column names appear more than once: %(names)s. Give each column "
                "its own name and upload the file again."
            ),
            names=", ".join(f"“{h}”" for h in dict.fromkeys(doubled)),
        )
    return headers


def undecodable_error(encoding: str, position: int) -> ValidationError:
    return refuse(
        "undecodable",
        _(
            "The file cannot be read as %(encoding)s (byte %(position)s). Save it as "
            "“CSV UTF-8” and upload it again, or choose its encoding."
        ),
        encoding=encoding,
        position=position,
    )


def row_limit_error(limit: int) -> ValidationError:
    return refuse(
        "too_many_rows",
        _("The file has more than %(limit)s data rows, the most one upload may have. Split it into smaller files."),
        limit=f"{limit:,}",
    )


# -- size limits: each is checked while the file is read, before work that grows with what it limits ---------


def where_cell(row: int, index: int) -> str:
    return _("row %(row)s, column %(column)s") % {"row": f"{row:,}", "column": column_letter(index)}


def too_many_columns(*, where: str) -> ValidationError:
    return refuse(
        "too_many_columns",
        _(
            "The file has more than %(limit)s columns, the most one upload may have (%(where)s). Remove the "
            "columns that are not client data and upload it again."
        ),
        limit=f"{settings.UPLOAD_MAX_COLUMNS:,}",
        where=where,
    )


def cell_too_long(*, length: int, where: str) -> ValidationError:
    return refuse(
        "cell_too_long",
        _(
            "A cell holds %(length)s characters; a cell may have at most %(limit)s (%(where)s). Shorten it and "
            "upload the file again."
        ),
        length=f"{length:,}",
        limit=f"{settings.UPLOAD_MAX_CELL_CHARS:,}",
        where=where,
    )


def row_too_long(*, where: str) -> ValidationError:
    return refuse(
        "row_too_long",
        _(
            "A row is longer than %(limit)s characters, the most one row may have (%(where)s). The file is damaged "
            "or is not a list of clients."
        ),
        limit=f"{settings.UPLOAD_MAX_LINE_CHARS:,}",
        where=where,
    )


def check_cells(row: int, cells: list[str], max_columns: int, max_chars: int) -> None:
    """Refuse a row of text cells with a value right of the last allowed column, or a cell over the length limit."""
    if len(cells) > max_columns:
        beyond = next((i for i in range(max_columns, len(cells)) if cells[i].strip()), None)
        if beyond is not None:
            raise too_many_columns(where=where_cell(row, beyond))
    if cells and max(map(len, cells)) > max_chars:
        index = next(i for i, cell in enumerate(cells) if len(cell) > max_chars)
        raise cell_too_long(length=len(cells[index]), where=where_cell(row, index))
