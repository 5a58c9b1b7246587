"""The one client of the Artu API (httpx): `POST /clients/batch` and `GET /clients/metadata/{key}/{value}`.

Configured from settings; the API key goes only into the `Authorization` header of each request and never into a
log line, an exception or the client's repr. Whatever Artu sends back (status line, headers, body) passes through
`redact` before anything else reads it, so a key Artu echoes is never stored, shown, exported or logged. Response
shapes are read by `wire`; errors are `ArtuError`s that say whether the call may be retried (`transient`) and
whether Artu may have acted on it (`maybe_committed`: reconcile by metadata before sending again).
"""

import contextvars
import json
import logging
import time
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import Any, Self
from urllib.parse import quote

import httpx
import orjson
from django.conf import settings
from django.db import connections

from onboarding.artu import wire
from onboarding.artu.wire import BatchResult, Issue

logger = logging.getLogger(__name__)

MAX_ITEMS = 250
ENVIRONMENTS = ("test", "live")
REDACTED = "[secure]"
# httpx and httpcore log the status line and headers of every answer (at INFO and DEBUG) before this client sees it.
TRANSPORT_LOGGERS = ("httpx", *(f"httpcore.{name}" for name in ("connection", "http11", "http2", "proxy", "socks")))
MAX_TEXT_BODY = 2000  # characters kept of an answer that is not JSON (an HTML error page, say)


def redact(value: Any, key: str) -> Any:
    """`value` (a text, or JSON read from Artu) with every occurrence of the API key replaced by `[secure]`.

    The one redaction of everything Artu sends: its answers, the errors built from them and the transport's logs."""
    if not key or not _holds(value, key):
        return value
    if isinstance(value, str):
        return value.replace(key, REDACTED)
    if isinstance(value, dict):
        return {redact(name, key): redact(item, key) for name, item in value.items()}
    if isinstance(value, list):
        return [redact(item, key) for item in value]
    return value


def _holds(value: Any, key: str) -> bool:
    if isinstance(value, str):
        return key in value
    if not isinstance(value, dict | list):
        return False
    try:
        text = orjson.dumps(value)  # a fraction of a millisecond for 250 clients; the walk takes twenty times longer
    except TypeError:  # beyond what orjson writes (an integer over 64 bits): look everywhere
        return True
    # orjson escapes only '"', '\\' and control characters: a key holding one of them is looked for everywhere.
    return key.encode() in text or not key.isprintable() or '"' in key or "\\" in key


_key_in_flight: contextvars.ContextVar[str] = contextvars.ContextVar("artu_key_in_flight", default="")


class _RedactTransportLogs(logging.Filter):
    """Redacts the key of the request in flight on this thread from the transport's log records."""

    def filter(self, record: logging.LogRecord) -> bool:
        key = _key_in_flight.get()
        if not key:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a record that cannot be formatted would be printed with its raw arguments: drop it
            return False
        record.msg, record.args = redact(message, key), ()
        return True


for _name in TRANSPORT_LOGGERS:
    logging.getLogger(_name).addFilter(_RedactTransportLogs())


class ArtuError(Exception):
    """A call to Artu that did not give a usable answer."""

    transient = False  # worth retrying later (with backoff)
    maybe_committed = False  # Artu may have acted on it: look the records up before resending

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        issues: Sequence[Issue] = (),
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.issues = tuple(issues)
        self.body = body

    def __str__(self) -> str:
        parts = [self.message]
        parts += [str(issue) if issue.index is None else f"items[{issue.index}] {issue}" for issue in self.issues[:10]]
        return "; ".join(parts)


class ArtuAuthError(ArtuError):
    """401 (the key is wrong) or 403 (the key lacks the permission, e.g. `live:clients:create`)."""


class ArtuRequestRefused(ArtuError):
    """400/422 or another 4xx: the request itself is wrong; `issues` say where (`index` + `path`)."""


class ArtuConflict(ArtuError):
    """409: e.g. an `externalId` that already exists, possibly from an earlier attempt of ours."""


class ArtuRateLimited(ArtuError):
    transient = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ArtuServerError(ArtuError):
    """5xx: Artu may have created the clients before failing."""

    transient = True
    maybe_committed = True


class ArtuAmbiguous(ArtuError):
    """Timeout, dropped connection or unreadable answer after the request may have reached Artu."""

    transient = True
    maybe_committed = True


class ArtuUnavailable(ArtuError):
    """The request was never sent (no connection could be made): safe to send again."""

    transient = True


@dataclass(frozen=True)
class Answer:
    """Artu's answer with every text in it already redacted; header names in lower case."""

    status: int
    reason: str
    headers: dict[str, str]
    body: Any


class ArtuCalledInTransaction(RuntimeError):
    """An HTTP call was attempted inside a database transaction (STYLE.md: never)."""


class _BearerAuth(httpx.Auth):
    """Holds the key; its repr (and so the client's attributes) never shows it."""

    def __init__(self, api_key: str) -> None:
        self.api_key = api_key

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self.api_key}"
        yield request

    def __repr__(self) -> str:
        return "<BearerAuth [secure]>"


def _ensure_no_transaction() -> None:
    for connection in connections.all(initialized_only=True):
        # TestCase wraps each test in atomic blocks of its own; Django's durable check makes the same exception.
        if any(not block._from_testcase for block in connection.atomic_blocks):
            raise ArtuCalledInTransaction(f"Artu called inside a transaction on database {connection.alias!r}")


def _encode(payload: Any) -> bytes:
    """The request body: orjson, several times faster than `json` for a batch of 250; `json` for what orjson
    refuses (an integer beyond 64 bits, say, in metadata read from a spreadsheet)."""
    try:
        return orjson.dumps(payload)
    except TypeError:
        return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


class ArtuClient:
    """Synchronous Artu client; use as a context manager or call `close()`."""

    def __init__(
        self,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        environment: str | None = None,
        timeout: float | None = None,
        connect_timeout: float | None = None,
        pool_size: int | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = (base_url or settings.ARTU_API_URL).rstrip("/")
        self.environment = self._environment(environment or settings.ARTU_ENVIRONMENT)
        self._auth = _BearerAuth(api_key if api_key is not None else settings.ARTU_API_KEY)
        pool = pool_size or settings.ARTU_CONCURRENCY
        self._http = httpx.Client(
            base_url=self.base_url,
            auth=self._auth,
            headers={"Accept": "application/json"},
            timeout=httpx.Timeout(
                timeout or settings.ARTU_TIMEOUT, connect=connect_timeout or settings.ARTU_CONNECT_TIMEOUT
            ),
            limits=httpx.Limits(max_connections=pool, max_keepalive_connections=pool),
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"<ArtuClient {self.base_url} environment={self.environment}>"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def create_clients(
        self, items: Sequence[dict[str, Any]], atomic: bool = True, environment: str | None = None
    ) -> BatchResult:
        """`POST /clients/batch` with 1..250 items; the outcome per index, or an `ArtuError`."""
        items = list(items)
        if not 1 <= len(items) <= MAX_ITEMS:
            raise ValueError(f"a batch holds 1 to {MAX_ITEMS} items, not {len(items)}")
        if not all(isinstance(item, dict) for item in items):
            raise ValueError("every item must be a JSON object")
        answer = self._send("POST", "/clients/batch", environment, json={"items": items, "atomic": bool(atomic)})
        return wire.parse_batch(answer.body, items, atomic=bool(atomic), key=settings.ARTU_RECORD_METADATA_KEY)

    def find_by_metadata(self, key: str, value: str, environment: str | None = None) -> dict[str, Any] | None:
        """The one client whose `metadata[key] == value` (`GET /clients/metadata/{key}/{value}`), or None."""
        path = f"/clients/metadata/{quote(key, safe='')}/{quote(value, safe='')}"
        answer = self._send("GET", path, environment, not_found_ok=True)
        if answer.status == 404:
            return None
        client = wire.parse_client(answer.body)
        if client is None:
            raise ArtuAmbiguous("Artu's answer to the metadata lookup could not be read", status=answer.status)
        return client

    @staticmethod
    def _environment(environment: str) -> str:
        if environment not in ENVIRONMENTS:
            raise ValueError(f"the Artu environment is 'test' or 'live', not {environment!r}")
        return environment

    def _send(
        self, method: str, path: str, environment: str | None, *, json: Any = None, not_found_ok: bool = False
    ) -> Answer:
        env = self._environment(environment or self.environment)
        _ensure_no_transaction()
        started = time.monotonic()
        in_flight = _key_in_flight.set(self._auth.api_key)
        try:
            headers = {"X-Environment": env}
            content = None
            if json is not None:
                content, headers["Content-Type"] = _encode(json), "application/json"
            answer = self._read(self._http.request(method, path, content=content, headers=headers))
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol) as exc:
            logger.warning("Artu %s %s env=%s not sent: %s", method, path, env, type(exc).__name__)
            raise ArtuUnavailable(f"Artu could not be reached ({type(exc).__name__})") from None
        except httpx.TransportError as exc:
            logger.warning("Artu %s %s env=%s no answer: %s", method, path, env, type(exc).__name__)
            raise ArtuAmbiguous(f"no answer from Artu; it may have acted ({type(exc).__name__})") from None
        finally:
            _key_in_flight.reset(in_flight)
        elapsed = (time.monotonic() - started) * 1000
        logger.info("Artu %s %s env=%s -> %s in %.0f ms", method, path, env, answer.status, elapsed)
        if 200 <= answer.status < 300 or (not_found_ok and answer.status == 404):
            return answer
        raise self._error(answer)

    def _read(self, response: httpx.Response) -> Answer:
        """The only reader of what Artu sent: the status line, headers and body, redacted."""
        key = self._auth.api_key
        body = redact(self._json(response), key)  # before the text is cut, which could leave half a key
        return Answer(
            status=response.status_code,
            reason=redact(response.reason_phrase, key),
            headers=redact(dict(response.headers), key),
            body=body[:MAX_TEXT_BODY] if isinstance(body, str) else body,
        )

    @staticmethod
    def _json(response: httpx.Response) -> Any:
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError:  # not UTF-8, or beyond what orjson reads (an integer over 64 bits)
            try:
                return response.json()
            except (json.JSONDecodeError, UnicodeDecodeError):
                return response.text

    def _error(self, answer: Answer) -> ArtuError:
        status = answer.status
        parsed = wire.parse_error(answer.body)
        detail = f"HTTP {status}" + (f" {parsed.code}" if parsed.code else "")
        message = f"{parsed.message or answer.reason or 'error'} ({detail})"
        kwargs: dict[str, Any] = {"status": status, "code": parsed.code, "issues": parsed.issues, "body": answer.body}
        if status in (401, 403):
            return ArtuAuthError(message, **kwargs)
        if status == 409:
            return ArtuConflict(message, **kwargs)
        if status == 429:
            return ArtuRateLimited(
                message, retry_after=wire.parse_retry_after(answer.headers.get("retry-after")), **kwargs
            )
        if status >= 500:
            return ArtuServerError(message, **kwargs)
        return ArtuRequestRefused(message, **kwargs)
