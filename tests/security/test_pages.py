"""What every page of the project (each URL of the access table, opened by someone allowed to) must never lack,
leak or do: the browser-side protections in its headers, the Artu API key in its body, a change of state on GET
(the CSRF check guards POST only)."""

import pytest

from onboarding.models import (
    AuditAction,
    AuditEvent,
    AuditVerification,
    ClientRecord,
    SavedMapping,
    Submission,
    SubmissionBatch,
    Upload,
)
from tests.security.access import ACCESS, url_for
from tests.security.world import ANONYMOUS

CANARY = "sk_live_PAGECANARY_93c1d7a2"
# The administrator reaches the most; a page the table gives only to others is opened by one of them.
OPENERS = ("admin", "auditor", "oficial_live", "capturista", "nobody", ANONYMOUS)
PAGES = sorted(key for key, rule in ACCESS.items() if rule.get)


def _opener(key: str) -> str:
    return next(role for role in OPENERS if role in ACCESS[key].get)


def _state() -> tuple:
    """What a request could change. A download writes its own audit event (data.export), and nothing else."""
    return (
        list(ClientRecord.objects.order_by("pk").values_list("pk", "status", "version", "updated_by")),
        list(Upload.objects.order_by("pk").values_list("pk", "status", "mapping")),
        list(Submission.objects.order_by("pk").values_list("pk", "status")),
        list(SubmissionBatch.objects.order_by("pk").values_list("pk", "state", "claimed_at")),
        list(SavedMapping.objects.order_by("pk").values_list("pk", "mapping")),
        AuditEvent.objects.exclude(action=AuditAction.EXPORT).count(),
        AuditVerification.objects.count(),
    )


@pytest.mark.parametrize("key", PAGES)
def test_each_page_keeps_its_protections_shows_no_secret_and_changes_nothing(world, client_for, settings, key):
    settings.ARTU_API_KEY = CANARY
    rule = ACCESS[key]
    before = _state()
    response = client_for(_opener(key)).get(url_for(key, rule, world), headers=rule.headers or {})
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert _state() == before, f"GET {key} changed something"
    assert CANARY.encode() not in body
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    if response.status_code == 200 and response["Content-Type"].startswith("text/html"):
        policy = response["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
