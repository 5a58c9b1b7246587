"""CSRF: every URL that accepts POST refuses one without the token (403 from the CSRF check), and answers the same
request with the token as the access table says (which shows the test can tell the difference).

The endpoints come from the access table (tests/security/access.py), which covers every URL the project serves, so
an endpoint added later is checked here too. Each request is sent as a role the table lets POST there, so the 403
cannot be a permission refusal; where nobody may POST (the admin's read-only models), as the administrator.
"""

import logging

import pytest
from django.conf import settings
from django.urls import reverse

from tests.security.access import ACCESS, judge, url_for
from tests.security.world import ANONYMOUS

# Whom to send: the least powerful role the table lets POST (anonymous where that is the point, as signing in).
PREFERENCE = (ANONYMOUS, "nobody", "capturista", "oficial", "auditor", "oficial_live", "admin")
POST_ENDPOINTS = sorted(key for key, rule in ACCESS.items() if rule.post is not None)


def _poster(key: str) -> str:
    return next((role for role in PREFERENCE if role in ACCESS[key].post), "admin")


def _csrf_refusals(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "django.security.csrf"]


def test_the_project_has_post_endpoints_to_check():
    assert {"records:create", "review:bulk", "submissions:create", "audit:verify", "login"} <= set(POST_ENDPOINTS)


@pytest.mark.parametrize("key", POST_ENDPOINTS)
def test_post_without_the_csrf_token_is_refused(world, client_for, caplog, key):
    rule, role = ACCESS[key], _poster(key)
    client = client_for(role, enforce_csrf_checks=True)
    url = url_for(key, rule, world)
    caplog.set_level(logging.WARNING, logger="django.security.csrf")

    refused = client.post(url, headers=rule.headers or {})
    assert refused.status_code == 403, f"POST {key} as {role} without a token: {refused.status_code}"
    assert _csrf_refusals(caplog), "the 403 did not come from the CSRF check"

    caplog.clear()
    client.get(reverse("login") if role == ANONYMOUS else reverse("home"))  # a page with a form sets the cookie
    token = client.cookies[settings.CSRF_COOKIE_NAME].value
    accepted = client.post(url, headers={**(rule.headers or {}), "X-CSRFToken": token})
    assert not _csrf_refusals(caplog)
    expected, got = judge(key, "POST", role, accepted)
    assert got == expected, f"POST {key} as {role} with a token: {accepted.status_code}"
