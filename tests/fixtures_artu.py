"""The Artu sandbox as fixtures: one real server on a free loopback port per test session.

`artu_sandbox` (session) is a `SandboxHandle`; `artu` (function) resets it, points `settings.ARTU_API_URL` and
`ARTU_API_KEY` at it and returns the same handle. `artu_items(n)` builds n valid, distinct batch items.
"""

import secrets
from typing import Any

import httpx
import pytest

from onboarding.artu.sandbox import SandboxServer

# A fresh token per session, so a leak of it is unmistakable in any output.
SANDBOX_TOKEN = f"sk_test_{secrets.token_hex(12)}"


class SandboxHandle:
    """Talks to the sandbox's admin endpoints, as a test or a benchmark would over HTTP."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self.token = token
        self._http = httpx.Client(base_url=url, timeout=10)

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._http.request(method, path, **kwargs)
        response.raise_for_status()
        return response.json()

    def reset(self) -> None:
        """Empties both stores, zeroes the counters and removes every fault."""
        self._call("POST", "/_sandbox/reset")

    def clients(self, env: str = "test") -> list[dict[str, Any]]:
        return self._call("GET", "/_sandbox/clients", params={"environment": env})["data"]

    def set_faults(self, **faults: Any) -> dict[str, Any]:
        """Replaces the fault configuration (see `FaultConfig`), e.g. `set_faults(next=[{"fault": "drop"}])`."""
        return self._call("POST", "/_sandbox/faults", json=faults)

    def stats(self) -> dict[str, Any]:
        return self._call("GET", "/_sandbox/stats")

    def close(self) -> None:
        self._http.close()


@pytest.fixture(scope="session")
def artu_sandbox():
    server = SandboxServer("127.0.0.1", 0, token=SANDBOX_TOKEN)
    server.start()
    handle = SandboxHandle(server.url, SANDBOX_TOKEN)
    yield handle
    handle.close()
    server.shutdown()
    server.server_close()


@pytest.fixture
def artu(artu_sandbox, settings):
    """A clean sandbox that `ArtuClient()` talks to by default (environment `test`)."""
    artu_sandbox.reset()
    settings.ARTU_API_URL = artu_sandbox.url
    settings.ARTU_API_KEY = artu_sandbox.token
    settings.ARTU_ENVIRONMENT = "test"
    return artu_sandbox


@pytest.fixture
def artu_items():
    """`artu_items(n, **record_fields)`: items of n valid individuals (unsaved records, no database)."""
    from onboarding.artu.payload import record_to_item
    from tests.factories import ClientRecordFactory

    def build(count: int, **fields: Any) -> list[dict[str, Any]]:
        return [record_to_item(ClientRecordFactory.build(**fields)) for _ in range(count)]

    return build
