"""JSON files: an array of client objects in Artu's own shape, decoded one item at a time, flattened to columns."""

import json
from collections.abc import Iterator
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from onboarding.imports.tables import (
    FileInfo,
    cell_too_long,
    clean_headers,
    refuse,
    row_limit_error,
    row_too_long,
    too_many_columns,
    undecodable_error,
)
from onboarding.imports.textfiles import detect_encoding, text_stream
from onboarding.models import UploadFormat

# Kept whole as one cell: free-form objects, and the actividades map (its keys are the activities).
JSON_LEAVES = frozenset({"metadata", "scopeData.US", "scopeData.MX.actividadVulnerable"})
# A client in Artu's shape is 4 levels deep; free-form metadata may add a few.
JSON_MAX_DEPTH = 16


def _flatten(item: dict, prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in item.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and path not in JSON_LEAVES:
            flat.update(_flatten(value, path + "."))
        else:
            flat[path] = value
            if path == "scopeData.MX.actividadVulnerable" and isinstance(value, dict):
                avi = value.get("AVI")
                if isinstance(avi, dict) and "username" in avi:
                    flat[path + ".AVI.username"] = avi["username"]
    return flat


def _json_items(text: IO[str]) -> Iterator[Any]:
    """The elements of a top-level JSON array, decoded one at a time (the file is never loaded whole); an element
    longer than `UPLOAD_MAX_LINE_CHARS`, or nested deeper than the decoder can follow, is refused."""
    decoder = json.JSONDecoder()
    buffer, pos, eof, consumed = "", 0, False, 0
    limit, index = settings.UPLOAD_MAX_LINE_CHARS, 1

    def more() -> bool:
        nonlocal buffer, pos, eof, consumed
        chunk = text.read(256 * 1024)
        if not chunk:
            eof = True
            return False
        consumed += pos
        buffer, pos = buffer[pos:] + chunk, 0
        return True

    def skip_ws() -> None:
        nonlocal pos
        while True:
            while pos < len(buffer) and buffer[pos] in " \t\r\n\ufeff":
                pos += 1
            if pos < len(buffer) or not more():
                return

    def error(detail: str) -> ValidationError:
        return refuse(
            "json_invalid",
            _("The file is not valid JSON (character %(position)s: %(detail)s)."),
            position=consumed + pos + 1,
            detail=detail,
        )

    skip_ws()
    if pos >= len(buffer):
        raise refuse("empty", _("The file is empty."))
    if buffer[pos] != "[":
        try:
            # Only what one item may hold is read: a longer file is not JSON this upload could take anyway.
            kind = type(json.loads(buffer[pos:] + text.read(limit))).__name__
        except (ValueError, RecursionError):
            raise error(_("it does not start with “[”")) from None
        kinds = {"dict": _("one object"), "str": _("a text"), "int": _("a number"), "float": _("a number")}
        raise refuse(
            "json_not_array",
            _("The JSON file must be an array of clients: [ {…}, {…} ]. It holds %(kind)s."),
            kind=kinds.get(kind, kind),
        )
    pos += 1
    first = True
    while True:
        skip_ws()
        if pos >= len(buffer):
            raise error(_("the array is not closed with “]”"))
        if buffer[pos] == "]":
            pos += 1
            skip_ws()
            if pos < len(buffer):
                raise error(_("extra data after the array"))
            return
        if not first:
            if buffer[pos] != ",":
                raise error(_("“,” expected between items"))
            pos += 1
            skip_ws()
        while True:
            try:
                value, end = decoder.raw_decode(buffer, pos)
            except json.JSONDecodeError as exc:
                # An item cut by the read size (the error is at the end of what was read, or in a text not closed
                # yet): read on, unless the file has ended or the item is longer than any item may be.
                cut = exc.pos >= len(buffer) - 16 or exc.msg.startswith("Unterminated string")
                if cut and len(buffer) - pos > limit:
                    raise row_too_long(where=_item(index)) from None
                if cut and more():
                    continue
                raise error(exc.msg) from None
            except RecursionError:
                raise _too_deep(index) from None
            # A number or word at the very end of what was read may continue in the next chunk.
            if end >= len(buffer) and more():
                continue
            break
        if end - pos > limit:
            raise row_too_long(where=_item(index))
        pos = end
        first = False
        index += 1
        yield value


def _item(index: int) -> str:
    return _("item %(item)s") % {"item": f"{index:,}"}


def _too_deep(index: int) -> ValidationError:
    return refuse(
        "json_too_deep",
        _(
            "The JSON file nests objects or lists more than %(limit)s levels deep (item %(item)s); a client in "
            "Artu's shape needs far fewer."
        ),
        limit=JSON_MAX_DEPTH,
        item=f"{index:,}",
    )


def _check_item(index: int, item: Any) -> None:
    """Refuse an item nested deeper than JSON_MAX_DEPTH or holding a text longer than UPLOAD_MAX_CELL_CHARS."""
    max_chars = settings.UPLOAD_MAX_CELL_CHARS
    pending = [(item, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, str):
            if len(value) > max_chars:
                raise cell_too_long(length=len(value), where=_item(index))
            continue
        if depth > JSON_MAX_DEPTH:
            raise _too_deep(index)
        if isinstance(value, dict):
            pending += ((v, depth + 1) for v in (*value, *value.values()))
        elif isinstance(value, list):
            pending += ((v, depth + 1) for v in value)


def _json_objects(text: IO[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    for index, item in enumerate(_json_items(text), start=1):
        if not isinstance(item, dict):
            raise refuse(
                "json_item_not_object",
                _("Item %(index)s of the JSON array is not an object {…}; each item must be one client."),
                index=index,
            )
        _check_item(index, item)
        yield index, _flatten(item)


def inspect_json(fileobj: IO[bytes], head: bytes, encoding: str, max_rows: int) -> FileInfo:
    encoding = encoding or detect_encoding(head)
    headers: dict[str, None] = {}
    count = 0
    max_columns = settings.UPLOAD_MAX_COLUMNS
    try:
        with text_stream(fileobj, encoding) as text:
            for count, flat in _json_objects(text):  # noqa: B007 - the count is used after the loop
                headers.update(dict.fromkeys(flat))
                if len(headers) > max_columns:
                    field = list(headers)[max_columns]
                    where = _("item %(item)s, field “%(field)s”") % {"item": f"{count:,}", "field": field[:100]}
                    raise too_many_columns(where=where)
                if count > max_rows:
                    raise row_limit_error(max_rows)
    except UnicodeDecodeError as exc:
        raise undecodable_error(encoding, exc.start) from None
    if count == 0:
        raise refuse("no_rows", _("The file has no data rows under its header."))
    return FileInfo(UploadFormat.JSON, clean_headers(list(headers)), 0, count, encoding=encoding)


def iter_json(fileobj: IO[bytes], info: FileInfo) -> Iterator[tuple[int, list]]:
    with text_stream(fileobj, info.encoding) as text:
        for index, flat in _json_objects(text):
            yield index, [flat.get(h) for h in info.headers]
