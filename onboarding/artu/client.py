"""The one client of the Artu API (httpx): `POST /clients/batch` and `GET /clients/metadata/{key}/{value}`.

Configured from settings; the API key goes only into the `Authorization` header of each request and never into a
log line, an exception or the client's repr. Response shapes are read by `wire`; errors are `ArtuError`s that say
whether the call may be retried (`transient`) and whether Artu may have acted on it (`maybe_committed`: reconcile
by metadata before sending again).
"""

import json
import logging
import time
from collections.abc import Generator, Sequence
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
        response = self._send("POST", "/clients/batch", environment, json={"items": items, "atomic": bool(atomic)})
        body = self._json(response)
        return wire.parse_batch(body, items, atomic=bool(atomic), key=settings.ARTU_RECORD_METADATA_KEY)

    def find_by_metadata(self, key: str, value: str, environment: str | None = None) -> dict[str, Any] | None:
        """The one client whose `metadata[key] == value` (`GET /clients/metadata/{key}/{value}`), or None."""
        path = f"/clients/metadata/{quote(key, safe='')}/{quote(value, safe='')}"
        response = self._send("GET", path, environment, not_found_ok=True)
        if response.status_code == 404:
            return None
        client = wire.parse_client(self._json(response))
        if client is None:
            raise ArtuAmbiguous("Artu's answer to the metadata lookup could not be read", status=response.status_code)
        return client

    @staticmethod
    def _environment(environment: str) -> str:
        if environment not in ENVIRONMENTS:
            raise ValueError(f"the Artu environment is 'test' or 'live', not {environment!r}")
        return environment

    def _send(
        self, method: str, path: str, environment: str | None, *, json: Any = None, not_found_ok: bool = False
    ) -> httpx.Response:
        env = self._environment(environment or self.environment)
        _ensure_no_transaction()
        started = time.monotonic()
        try:
            headers = {"X-Environment": env}
            content = None
            if json is not None:
                content, headers["Content-Type"] = _encode(json), "application/json"
            response = self._http.request(method, path, content=content, headers=headers)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol) as exc:
            logger.warning("Artu %s %s env=%s not sent: %s", method, path, env, type(exc).__name__)
            raise ArtuUnavailable(f"Artu could not be reached ({type(exc).__name__})") from None
        except httpx.TransportError as exc:
            logger.warning("Artu %s %s env=%s no answer: %s", method, path, env, type(exc).__name__)
            raise ArtuAmbiguous(f"no answer from Artu; it may have acted ({type(exc).__name__})") from None
        elapsed = (time.monotonic() - started) * 1000
        logger.info("Artu %s %s env=%s -> %s in %.0f ms", method, path, env, response.status_code, elapsed)
        if response.is_success or (not_found_ok and response.status_code == 404):
            return response
        raise self._error(response)

    def _json(self, response: httpx.Response) -> Any:
        try:
            body = orjson.loads(response.content)
        except orjson.JSONDecodeError:  # not UTF-8, or beyond what orjson reads (an integer over 64 bits)
            try:
                body = response.json()
            except (json.JSONDecodeError, UnicodeDecodeError):
                return self._redact(response.text[:2000])
            return self._redact(body)
        # UTF-8 JSON without a single escape holds the key only as its plain bytes: if they are not there, there is
        # nothing to redact, and the answer need not be encoded again to look.
        if b"\\" not in response.content and self._auth.api_key.encode() not in response.content:
            return body
        return self._redact(body)

    def _redact(self, value: Any) -> Any:
        """Drops the key from anything Artu echoes back, so it can be stored and shown."""
        secret = self._auth.api_key
        if not secret:
            return value
        text = json.dumps(value)
        return json.loads(text.replace(secret, "[secure]")) if secret in text else value

    def _error(self, response: httpx.Response) -> ArtuError:
        status = response.status_code
        body = self._json(response)
        parsed = wire.parse_error(body)
        detail = f"HTTP {status}" + (f" {parsed.code}" if parsed.code else "")
        message = f"{parsed.message or response.reason_phrase or 'error'} ({detail})"
        kwargs: dict[str, Any] = {"status": status, "code": parsed.code, "issues": parsed.issues, "body": body}
        if status in (401, 403):
            return ArtuAuthError(message, **kwargs)
        if status == 409:
            return ArtuConflict(message, **kwargs)
        if status == 429:
            return ArtuRateLimited(
                message, retry_after=wire.parse_retry_after(response.headers.get("Retry-After")), **kwargs
            )
        if status >= 500:
            return ArtuServerError(message, **kwargs)
        return ArtuRequestRefused(message, **kwargs)
