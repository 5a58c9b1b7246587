"""CSV export of the filtered log: streamed, formula-safe, and itself an audited event."""

import csv
import io

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from onboarding.imports.export import csv_safe
from onboarding.models import AuditAction, AuditEvent
from onboarding.selectors.audit import audit_event_list
from onboarding.services.audit import audit_export_csv
from tests.audit import events_since, last_seq, write

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english(settings):
    settings.LANGUAGE_CODE = "en"


def download(client, **params) -> tuple[object, list[list[str]]]:
    response = client.get(reverse("audit:export"), params)
    assert response.status_code == 200
    assert response.streaming
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    return response, list(csv.reader(io.StringIO(text[1:])))


def test_the_export_streams_the_filtered_events_as_csv(client_as, auditor, oficial):
    updated = [write(oficial, reason=f"change {i}").seq for i in range(3)]
    write(oficial, action=AuditAction.RECORD_APPROVED)
    response, rows = download(client_as(auditor), action=AuditAction.RECORD_UPDATED)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="audit-')
    header, *body = rows
    assert header[:5] == ["Sequence", "Time", "User", "Role", "Action"]
    assert [int(r[0]) for r in body] == updated
    assert {r[4] for r in body} == {"Record changed"}


def test_the_export_is_itself_audited_with_its_filters_and_row_count(client_as, auditor, oficial):
    client = client_as(auditor)
    for i in range(3):
        write(oficial, reason=f"change {i}")
    before = last_seq()
    _, rows = download(client, action=AuditAction.RECORD_UPDATED, actor="oficial", page=2)
    [event] = events_since(before)
    assert (event.action, event.actor, event.target_type) == (AuditAction.EXPORT, auditor, "audit_log")
    assert event.changes["filters"] == {"action": AuditAction.RECORD_UPDATED, "actor": "oficial"}
    assert event.changes["rows"] == len(rows) - 1 == 3
    assert event.changes["up_to_seq"] == before


def test_the_file_stops_at_the_export_itself(client_as, auditor):
    client = client_as(auditor)
    before = last_seq()
    _, rows = download(client)
    assert int(rows[1][0]) == 1 and int(rows[-1][0]) == before
    assert len(rows) - 1 == before


@pytest.mark.parametrize("dangerous", ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"])
def test_cells_a_spreadsheet_would_run_as_formulas_are_quoted(client_as, auditor, dangerous):
    event = write(auditor, action=AuditAction.RECORD_REJECTED, reason=dangerous)
    _, rows = download(client_as(auditor), action=AuditAction.RECORD_REJECTED)
    header, row = rows
    assert int(row[0]) == event.seq
    assert row[header.index("Reason")] == "'" + dangerous


@pytest.mark.parametrize(
    "value, expected",
    [("=1+1", "'=1+1"), ("plain", "plain"), ("", ""), (None, ""), (-5, "'-5"), (12, "12"), ("a=b", "a=b")],
)
def test_csv_safe(value, expected):
    assert csv_safe(value) == expected


def test_a_username_chosen_as_a_formula_is_quoted_too(client, client_as, auditor):
    client.post(reverse("login"), {"username": "=cmd|' /C calc'!A0", "password": "x"})
    _, rows = download(client_as(auditor), action=AuditAction.LOGIN_FAILED)
    assert rows[1][rows[0].index("Changes")].startswith('{"username": "=cmd')


@pytest.mark.parametrize("role", ["capturista", "oficial", "nobody"])
def test_other_roles_cannot_export_and_nothing_is_written(request, client_as, role):
    client = client_as(request.getfixturevalue(role))
    before = last_seq()
    assert client.get(reverse("audit:export")).status_code == 403
    assert last_seq() == before


def test_the_service_refuses_a_user_without_the_permission(capturista):
    with pytest.raises(PermissionDenied):
        audit_export_csv(actor=capturista, events=audit_event_list(), filters={})
    assert not AuditEvent.objects.filter(action=AuditAction.EXPORT).exists()


def test_invalid_filters_send_back_to_the_log_without_exporting(client_as, auditor):
    client = client_as(auditor)
    before = last_seq()
    response = client.get(reverse("audit:export"), {"date_from": "2026-03-12", "date_to": "2026-03-10"})
    assert response.status_code == 302 and response["Location"].startswith(reverse("audit:log"))
    assert last_seq() == before
