"""JSON files: an array of client objects in Artu's own shape, decoded one item at a time, flattened to columns."""

import json
from collections.abc import Iterator
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from onboarding.imports.tables import FileInfo, clean_headers, refuse, row_limit_error, undecodable_error
from onboarding.imports.textfiles import detect_encoding, text_stream
from onboarding.models import UploadFormat

# Kept whole as one cell: free-form objects, and the actividades map (its keys are the activities).
JSON_LEAVES = frozenset({"metadata", "scopeData.US", "scopeData.MX.actividadVulnerable"})


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
    """The elements of a top-level JSON array, decoded one at a time (the file is never loaded whole)."""
    decoder = json.JSONDecoder()
    buffer, pos, eof, consumed = "", 0, False, 0

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
            kind = type(json.loads(buffer[pos:] + text.read())).__name__
        except ValueError:
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
                # An item cut by the read size: read on, unless the file has ended.
                if more():
                    continue
                raise error(exc.msg) from None
            # A number or word at the very end of what was read may continue in the next chunk.
            if end >= len(buffer) and more():
                continue
            break
        pos = end
        first = False
        yield value


def _json_objects(text: IO[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    for index, item in enumerate(_json_items(text), start=1):
        if not isinstance(item, dict):
            raise refuse(
                "json_item_not_object",
                _("Item %(index)s of the JSON array is not an object {…}; each item must be one client."),
                index=index,
            )
        yield index, _flatten(item)


def inspect_json(fileobj: IO[bytes], head: bytes, encoding: str, max_rows: int) -> FileInfo:
    encoding = encoding or detect_encoding(head)
    headers: dict[str, None] = {}
    count = 0
    try:
        with text_stream(fileobj, encoding) as text:
            for count, flat in _json_objects(text):  # noqa: B007 - the count is used after the loop
                headers.update(dict.fromkeys(flat))
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
