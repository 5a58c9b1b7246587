"""The record beside the queue (`review:panel`, `/review/?open=<pk>`): the record page's rules and body, the queue's
address kept, and decisions taken in the panel answering into it."""

import json
import re
import uuid

import pytest
from django.urls import reverse
from django.utils import timezone

from onboarding.models import ArtuRecord, AuditAction, AuditEvent, ClientRecord, RecordStatus
from onboarding.services.records import record_update
from onboarding.services.review import RejectReason
from tests.factories import ClientRecordFactory

pytestmark = pytest.mark.django_db
HX = {"HX-Request": "true"}
ROLES = ["capturista", "auditor", "nobody", "oficial", "admin_user"]
REVIEWERS = {"oficial", "admin_user"}


def panel_url(record):
    return reverse("review:panel", args=[record.pk])


@pytest.mark.parametrize("role", ROLES)
def test_the_panel_follows_the_record_pages_rules(request, client_as, staged, role):
    record = staged()
    client = client_as(request.getfixturevalue(role))
    page = client.get(reverse("records:detail", args=[record.pk]))
    panel = client.get(panel_url(record), headers=HX)
    assert panel.status_code == page.status_code == (403 if role == "nobody" else 200)
    if panel.status_code == 200:
        html = panel.content.decode()
        # Decisions for reviewers only, answering into the panel.
        assert ('hx-target="#record-panel"' in html) == (role in REVIEWERS)
        assert ('id="review-actions"' in html) == (role in REVIEWERS)


def test_anonymous_users_are_asked_to_sign_in(client, staged):
    response = client.get(panel_url(staged()), headers=HX)
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_the_panel_is_the_record_pages_body_as_a_fragment(client_as, oficial, staged):
    record = staged(rfc="XAXX010101000")
    ArtuRecord.objects.create(
        record=record,
        environment="test",
        artu_id=uuid.uuid4(),
        response={"id": "cli_123", "createdAt": "2026-01-01T00:00:00Z"},
        recorded_at=timezone.now(),
    )
    record_update(actor=oficial, record_id=record.pk, version=record.version, data={"name": "Ana"})
    response = client_as(oficial).get(panel_url(record), headers=HX)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and html.lstrip().startswith('<aside id="record-panel"')
    assert f'data-record="{record.pk}"' in html
    assert 'id="history"' in html and 'id="artu-test"' in html and "cli_123" in html
    assert "XAXX010101000" in html
    assert response["Vary"] and "HX-Request" in response["Vary"]
    # The same sections as the record's own page: one template, not a copy.
    page = client_as(oficial).get(reverse("records:detail", args=[record.pk])).content.decode()
    for section in ('id="history"', 'id="artu-test"', 'id="review-actions"', "<h2>Identidad</h2>"):
        assert section in page and section in html, section


def test_a_plain_visit_opens_the_queue_with_the_record_beside_it(client_as, oficial, staged):
    record = staged()
    response = client_as(oficial).get(panel_url(record))
    assert response.status_code == 302 and response["Location"] == f"/review/?open={record.pk}"
    queue = client_as(oficial).get(response["Location"])
    html = queue.content.decode()
    assert queue.status_code == 200
    assert f'<aside id="record-panel" class="record-panel" data-record="{record.pk}"' in html
    assert 'class="review-layout panel-open"' in html
    assert f'name="open" value="{record.pk}"' in html  # a filter change keeps the record open


@pytest.mark.parametrize("value", ["999999999", "abc", "-1", "0"])
def test_a_queue_address_naming_no_record_shows_the_queue_alone(client_as, oficial, staged, value):
    staged()
    response = client_as(oficial).get(reverse("review:queue"), {"open": value})
    assert response.status_code == 200
    assert '<aside id="record-panel" class="record-panel" hidden></aside>' in response.content.decode()


def test_a_missing_record_is_not_found(client_as, oficial):
    assert client_as(oficial).get(reverse("review:panel", args=[999999]), headers=HX).status_code == 404
    assert client_as(oficial).get(reverse("review:panel", args=[999999])).status_code == 404


def test_the_tables_links_leave_the_open_record_out_and_the_rows_view_link_keeps_the_filters(
    client_as, oficial, staged
):
    record = staged()
    html = client_as(oficial).get(reverse("review:queue"), {"status": "in_review", "open": record.pk}).content.decode()
    links = re.findall(r'(?:href|hx-get)="(/review/\?[^"]*|\?[^"]*)"(?! data-key="view")', html)
    assert any("sort=" in link for link in links) and any("status=" in link for link in links)
    assert not [link for link in links if "open=" in link]
    assert f'href="/review/?status=in_review&amp;open={record.pk}" data-key="view"' in html
    # A row redrawn by htmx builds its link from the queue's address that htmx sends along.
    row = client_as(oficial).get(
        reverse("review:row", args=[record.pk]),
        headers=HX | {"HX-Current-URL": "http://testserver/review/?q=ana&open=5"},
    )
    assert f'href="/review/?q=ana&amp;open={record.pk}" data-key="view"' in row.content.decode()


def test_approving_in_the_panel_answers_with_the_panel_and_tells_the_row(client_as, oficial, staged):
    record = staged()
    response = client_as(oficial).post(
        reverse("review:action", args=[record.pk, "approve"]),
        {"version": record.version, "from": "panel"},
        headers=HX | {"HX-Current-URL": f"http://testserver/review/?open={record.pk}"},
    )
    html = response.content.decode()
    assert response.status_code == 200 and html.lstrip().startswith('<aside id="record-panel"')
    assert "Registro aprobado." in html
    trigger = json.loads(response["HX-Trigger"])
    assert trigger["record-changed"] == {"pk": record.pk} and "counts-changed" in trigger
    assert ClientRecord.objects.get(pk=record.pk).status == RecordStatus.APPROVED
    assert AuditEvent.objects.filter(record=record, action=AuditAction.RECORD_APPROVED).count() == 1


def test_a_stale_approval_in_the_panel_says_why_at_its_top(client_as, oficial, oficial2, staged):
    record = staged()
    record_update(actor=oficial2, record_id=record.pk, version=record.version, data={"external_id": "X-1"})
    response = client_as(oficial).post(
        reverse("review:action", args=[record.pk, "approve"]), {"version": record.version, "from": "panel"}, headers=HX
    )
    html = response.content.decode()
    assert response.status_code == 422
    assert 'class="form-errors panel-errors" role="alert"' in html and "X-1" in html
    assert ClientRecord.objects.get(pk=record.pk).status == RecordStatus.IN_REVIEW


def test_the_reason_form_opens_in_the_panel_and_keeps_its_errors_there(client_as, oficial, staged):
    record = staged()
    url = reverse("review:action", args=[record.pk, "reject"])
    form = client_as(oficial).get(url, {"from": "panel"}, headers=HX).content.decode()
    assert form.lstrip().startswith(f'<form method="post" action="{url}" class="action-form"')
    assert 'hx-target="#record-panel"' in form and 'name="from" value="panel"' in form
    assert 'data-clear="panel-action"' in form
    refused = client_as(oficial).post(url, {"version": record.version, "from": "panel"}, headers=HX)
    assert refused.status_code == 422 and refused["HX-Retarget"] == f"#action-form-{record.pk}"
    done = client_as(oficial).post(
        url, {"version": record.version, "from": "panel", "reason": RejectReason.OTHER, "comment": "No"}, headers=HX
    )
    assert done.status_code == 200 and "Registro rechazado." in done.content.decode()
    assert ClientRecord.objects.get(pk=record.pk).status == RecordStatus.REJECTED


def test_the_panel_shows_the_latest_history_and_links_to_the_whole(client_as, oficial, staged):
    record = staged()
    for i in range(12):
        data = {"external_id": f"E{i}"}
        record = record_update(actor=oficial, record_id=record.pk, version=record.version, data=data)
    html = client_as(oficial).get(panel_url(record), headers=HX).content.decode()
    assert html.count('<li id="event-') == 10
    assert f'href="/records/{record.pk}/#history"' in html
    assert 'class="pagination"' not in html


def test_data_entry_sees_a_sent_back_draft_beside_the_queue_with_its_reason(client_as, capturista, staged):
    record = ClientRecordFactory(created_by=capturista, status=RecordStatus.DRAFT, review_comment="Falta el CURP")
    html = client_as(capturista).get(panel_url(record), headers=HX).content.decode()
    assert "Falta el CURP" in html


def test_without_javascript_a_decision_in_the_panel_comes_back_to_the_queue_with_the_record_open(
    client_as, oficial, staged
):
    record = staged()
    html = client_as(oficial).get(reverse("review:queue"), {"status": "in_review", "open": record.pk}).content.decode()
    back = f"/review/?status=in_review&amp;open={record.pk}"
    assert f'name="next" value="{back}"' in html  # the panel's forms say where to come back to
    response = client_as(oficial).post(
        reverse("review:action", args=[record.pk, "approve"]),
        {"version": record.version, "next": back.replace("&amp;", "&")},
    )
    assert response.status_code == 302 and response["Location"] == back.replace("&amp;", "&")
    assert ClientRecord.objects.get(pk=record.pk).status == RecordStatus.APPROVED
