"""Every response and error shape of Artu that is [assumed] in ARTU_CONTRACT.md, parsed tolerantly.

The documented atomic answer is `{"atomic": true, "data": [client, ...]}`. For `atomic: false` the wire form is
not documented, so both plausible forms are read: the SDK's `{succeeded: [{index, data}], failed: [{index, error}]}`
and `{data: [...], errors: [{index, ...}]}`. Error bodies carry a message in `error.message` or `message`, maybe a
`code`, and maybe `validationErrors: [{path, code, message}]`. A returned client is tied to a submitted item by
index and checked against the item's own metadata key; whatever cannot be tied for sure is "unknown", never
"failed". When Artu confirms a shape, only this module changes.
"""

import datetime
import email.utils
import re
import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

ISSUE_LISTS = ("validationErrors", "issues", "errors", "details")
ITEM_PATH = re.compile(r"^items\[(\d+)\]\.?")
NO_MESSAGE = "Artu gave no message."


class Outcome(StrEnum):
    CREATED = "created"
    FAILED = "failed"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Issue:
    """One problem Artu reported; `path` is relative to the item (`scopeData.MX.rfc`), `index` the item's."""

    message: str
    path: str | None = None
    code: str | None = None
    index: int | None = None

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


@dataclass(frozen=True)
class ItemResult:
    index: int
    outcome: Outcome
    client: dict[str, Any] | None = None
    issues: tuple[Issue, ...] = ()

    @property
    def artu_id(self) -> str | None:
        return self.client["id"] if self.client else None


@dataclass(frozen=True)
class BatchResult:
    """Per submitted index: created (with Artu's client object), failed (with Artu's issues) or unknown."""

    atomic: bool
    items: tuple[ItemResult, ...]
    body: Any = field(default=None, repr=False)

    def _with(self, outcome: Outcome) -> list[ItemResult]:
        return [item for item in self.items if item.outcome == outcome]

    @property
    def created(self) -> list[ItemResult]:
        return self._with(Outcome.CREATED)

    @property
    def failed(self) -> list[ItemResult]:
        return self._with(Outcome.FAILED)

    @property
    def unknown(self) -> list[ItemResult]:
        return self._with(Outcome.UNKNOWN)


@dataclass(frozen=True)
class ErrorBody:
    message: str | None = None
    code: str | None = None
    issues: tuple[Issue, ...] = ()


def _index(value: Any, count: int) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    try:
        index = int(value)
    except ValueError:
        return None
    return index if 0 <= index < count else None


def _text(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _path(value: Any) -> tuple[str | None, int | None]:
    """`items[3].scopeData.MX.rfc`, `["items", 3, "scopeData", "MX", "rfc"]` or the JSON Pointer
    `/items/3/scopeData/MX/rfc` → (`scopeData.MX.rfc`, 3)."""
    if isinstance(value, str) and value.startswith("/"):
        value = [part.replace("~1", "/").replace("~0", "~") for part in value[1:].split("/")]  # RFC 6901
    if isinstance(value, list):
        parts = [str(part) for part in value]
        if len(parts) >= 2 and parts[0] == "items" and parts[1].isdigit():
            return ".".join(parts[2:]) or None, int(parts[1])
        return ".".join(parts) or None, None
    text = _text(value)
    if text is None:
        return None, None
    match = ITEM_PATH.match(text)
    if match:
        return text[match.end() :] or None, int(match.group(1))
    return text, None


def _issue(entry: Any, index: int | None = None) -> Issue | None:
    if isinstance(entry, str):
        return Issue(message=entry, index=index)
    if not isinstance(entry, dict):
        return None
    path, path_index = _path(entry.get("path", entry.get("field")))
    message = _text(entry.get("message")) or _text(entry.get("msg")) or _text(entry.get("detail"))
    code = _text(entry.get("code"))
    if message is None and code is None and path is None:
        return None
    return Issue(
        message=message or code or NO_MESSAGE, path=path, code=code, index=index if index is not None else path_index
    )


def _issues(container: dict[str, Any], index: int | None = None) -> list[Issue]:
    found: list[Issue] = []
    for name in ISSUE_LISTS:
        entries = container.get(name)
        if isinstance(entries, list):
            found += [issue for entry in entries if (issue := _issue(entry, index)) is not None]
    return found


def parse_error(body: Any) -> ErrorBody:
    """Artu's message, code and issues from an error body of any of the assumed shapes (or none)."""
    if isinstance(body, str):
        return ErrorBody(message=_text(body[:500]))
    if not isinstance(body, dict):
        return ErrorBody()
    error = body.get("error")
    nested = error if isinstance(error, dict) else {}
    message = (
        _text(nested.get("message"))
        or _text(body.get("message"))
        or _text(error)
        or _text(body.get("detail"))
        or _text(body.get("title"))
    )
    code = _text(nested.get("code")) or _text(body.get("code"))
    return ErrorBody(message=message, code=code, issues=tuple(_issues(nested) + _issues(body)))


def _item_failure(entry: dict[str, Any], index: int) -> tuple[Issue, ...]:
    """The issues of one failed item: `{index, error: {message, code, validationErrors}}` or a flat entry."""
    error = entry.get("error")
    parsed = parse_error({key: value for key, value in entry.items() if key != "index"})
    issues = [Issue(message=issue.message, path=issue.path, code=issue.code, index=index) for issue in parsed.issues]
    if not issues:
        source = error if isinstance(error, dict) else entry
        path, _ = _path(source.get("path", source.get("field")))
        issues = [Issue(message=parsed.message or parsed.code or NO_MESSAGE, path=path, code=parsed.code, index=index)]
    return tuple(issues)


def _is_client(value: Any) -> bool:
    if not isinstance(value, dict) or not isinstance(value.get("id"), str):
        return False
    try:
        uuid.UUID(value["id"])
    except ValueError:
        return False
    return True


class _Matcher:
    """Ties returned clients to submitted indexes: by index, checked against each item's own metadata key."""

    def __init__(self, items: list[dict[str, Any]], key: str) -> None:
        self.key = key
        self.sent = [(item.get("metadata") or {}).get(key) for item in items]
        self.created: dict[int, dict[str, Any]] = {}
        self.failed: dict[int, tuple[Issue, ...]] = {}
        self.contested: set[int] = set()

    def _claim(self, target: dict[int, Any], index: int, value: Any) -> None:
        if index in self.created or index in self.failed:
            self.contested.add(index)
        target[index] = value

    def place(self, client: Any, hint: int | None) -> None:
        if not _is_client(client):
            return
        metadata = client.get("metadata")
        echoed = metadata.get(self.key) if isinstance(metadata, dict) else None
        if echoed is None:
            # Artu did not echo the key: the index is all there is; a client with no index is unknown.
            if hint is not None:
                self._claim(self.created, hint, client)
            return
        if hint is not None and self.sent[hint] == echoed:
            self._claim(self.created, hint, client)
        elif self.sent.count(echoed) == 1:
            self._claim(self.created, self.sent.index(echoed), client)

    def fail(self, entry: Any, count: int) -> None:
        if isinstance(entry, dict) and (index := _index(entry.get("index"), count)) is not None:
            self._claim(self.failed, index, _item_failure(entry, index))

    def result(self, atomic: bool, count: int, body: Any) -> BatchResult:
        items = []
        for index in range(count):
            if index in self.contested:
                items.append(ItemResult(index, Outcome.UNKNOWN))
            elif index in self.created:
                items.append(ItemResult(index, Outcome.CREATED, client=self.created[index]))
            elif index in self.failed:
                items.append(ItemResult(index, Outcome.FAILED, issues=self.failed[index]))
            else:
                items.append(ItemResult(index, Outcome.UNKNOWN))
        return BatchResult(atomic=atomic, items=tuple(items), body=body)


def parse_batch(body: Any, items: list[dict[str, Any]], *, atomic: bool, key: str) -> BatchResult:
    """The per-index outcome of a 2xx answer to `POST /clients/batch` for the submitted `items`."""
    count = len(items)
    matcher = _Matcher(items, key)
    if not isinstance(body, dict):
        return matcher.result(atomic, count, body)
    succeeded, failed = body.get("succeeded"), body.get("failed")
    if isinstance(succeeded, list) or isinstance(failed, list):
        for entry in succeeded if isinstance(succeeded, list) else []:
            if isinstance(entry, dict):
                matcher.place(entry.get("data", entry.get("client")), _index(entry.get("index"), count))
        for entry in failed if isinstance(failed, list) else []:
            matcher.fail(entry, count)
        return matcher.result(atomic, count, body)
    data, errors = body.get("data"), body.get("errors")
    for entry in errors if isinstance(errors, list) else []:
        matcher.fail(entry, count)
    if isinstance(data, list):
        # Positions mean indexes only when the answer lists exactly the items not reported as failed.
        remaining = [index for index in range(count) if index not in matcher.failed]
        positional = len(data) == len(remaining)
        for position, client in enumerate(data):
            explicit = _index(client.get("index"), count) if isinstance(client, dict) else None
            hint = explicit if explicit is not None else remaining[position] if positional else None
            matcher.place(client, hint)
    return matcher.result(atomic, count, body)


def parse_client(body: Any) -> dict[str, Any] | None:
    """The one client of a metadata lookup: the object itself, `{data: client}` or `{data: [client]}`."""
    if _is_client(body):
        return body
    data = body.get("data") if isinstance(body, dict) else None
    if isinstance(data, list) and len(data) == 1:
        data = data[0]
    return data if _is_client(data) else None


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.UTC)
    return max(0.0, (when - datetime.datetime.now(datetime.UTC)).total_seconds())
