"""What every page of the project (each URL of the access table, opened by someone allowed to) must never lack or
leak: the browser-side protections in its headers, and the Artu API key in its body."""

import pytest

from tests.security.access import ACCESS, url_for
from tests.security.world import ANONYMOUS

CANARY = "sk_live_PAGECANARY_93c1d7a2"
# The administrator reaches the most; a page the table gives only to others is opened by one of them.
OPENERS = ("admin", "auditor", "oficial_live", "capturista", "nobody", ANONYMOUS)
PAGES = sorted(key for key, rule in ACCESS.items() if rule.get)


def _opener(key: str) -> str:
    return next(role for role in OPENERS if role in ACCESS[key].get)


@pytest.mark.parametrize("key", PAGES)
def test_each_page_keeps_its_protections_and_never_shows_the_artu_key(world, client_for, settings, key):
    settings.ARTU_API_KEY = CANARY
    rule = ACCESS[key]
    response = client_for(_opener(key)).get(url_for(key, rule, world), headers=rule.headers or {})
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert CANARY.encode() not in body
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    if response.status_code == 200 and response["Content-Type"].startswith("text/html"):
        policy = response["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
