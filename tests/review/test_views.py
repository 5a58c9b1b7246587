"""Review pages: roles, the queue (full page and htmx), row actions, inline cell edits, bulk with confirmation."""

import json
import re

import pytest
from django.db import connection
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from onboarding.models import ArtuRecord, AuditAction, AuditEvent, ClientRecord, RecordStatus
from onboarding.services.records import record_update
from onboarding.services.review import SKIP_LABELS, RejectReason, review_availability
from tests.factories import ClientRecordFactory

pytestmark = pytest.mark.django_db
HX = {"HX-Request": "true"}
ROLES = ["capturista", "auditor", "nobody", "oficial", "oficial_live", "admin_user"]
REVIEWERS = {"oficial", "oficial_live", "admin_user"}


def record_events(record, action):
    return AuditEvent.objects.filter(record=record, action=action)


# -- roles -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_queue_is_read_by_everyone_who_reads_records_and_acted_on_by_reviewers(request, client_as, staged, role):
    """Data entry opens the queue to find and fix its rows, auditors to read; the bulk bar and the selection
    boxes are only for reviewers."""
    staged()
    response = client_as(request.getfixturevalue(role)).get(reverse("review:queue"))
    assert response.status_code == (403 if role == "nobody" else 200)
    if response.status_code == 200:
        html = response.content.decode()
        assert ('id="bulk-form"' in html) == (role in REVIEWERS)
        assert ("data-select-page" in html) == (role in REVIEWERS)


def test_queue_asks_anonymous_users_to_sign_in(client):
    response = client.get(reverse("review:queue"))
    assert response.status_code == 302 and reverse("login") in response["Location"]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("action", "data"),
    [
        ("approve", {}),
        ("reject", {"reason": RejectReason.OTHER, "comment": "No"}),
        ("send_back", {"comment": "Corrige"}),
    ],
)
def test_single_actions_are_for_reviewers_only(request, client_as, staged, role, action, data):
    record = staged()
    response = client_as(request.getfixturevalue(role)).post(reverse("review:action", args=[record.pk, action]), data)
    record.refresh_from_db()
    if role in REVIEWERS:
        assert response.status_code == 302
        assert record.status != RecordStatus.IN_REVIEW
    else:
        assert response.status_code == 403
        assert record.status == RecordStatus.IN_REVIEW


@pytest.mark.parametrize("role", ROLES)
def test_bulk_actions_are_for_reviewers_and_cell_edits_for_those_who_edit(request, client_as, staged, role):
    record = staged()
    client = client_as(request.getfixturevalue(role))
    bulk = client.post(reverse("review:bulk"), {"bulk_action": "approve", "scope": "selected", "ids": [record.pk]})
    cell = client.post(reverse("review:cell", args=[record.pk, "name"]), {"value": "Otro", "version": 1}, headers=HX)
    record.refresh_from_db()
    assert bulk.status_code == (302 if role in REVIEWERS else 403)
    editors = REVIEWERS | {"capturista"}
    assert cell.status_code == (200 if role in editors else 403)
    assert (record.name == "Otro") == (role in editors)
    if role not in REVIEWERS:
        assert record.status == RecordStatus.IN_REVIEW


def test_unknown_actions_and_cells_are_not_found(client_as, oficial, staged):
    record = staged()
    client = client_as(oficial)
    assert client.post(reverse("review:action", args=[record.pk, "delete"])).status_code == 404
    assert client.get(reverse("review:cell", args=[record.pk, "created_by"]), headers=HX).status_code == 404
    assert client.get(reverse("review:action", args=[987654, "approve"])).status_code == 404


def test_actions_refuse_get_for_changes_and_bulk_refuses_get(client_as, oficial, staged):
    record = staged()
    client = client_as(oficial)
    assert client.get(reverse("review:bulk")).status_code == 405
    assert client.get(reverse("review:action", args=[record.pk, "approve"])).status_code == 200  # a confirm form
    record.refresh_from_db()
    assert record.status == RecordStatus.IN_REVIEW


# -- the queue ---------------------------------------------------------------------------------------------------


def count_of(html, status):
    return int(re.search(rf'class="tab-{status}"[^>]*>[^<]*<span class="count">(\d+)</span>', html).group(1))


def test_queue_shows_counts_filters_and_keyboard_hint(client_as, oficial, staged):
    staged(name="Ana")
    staged(name="Anabel", status=RecordStatus.APPROVED)
    staged(name="Beto", status=RecordStatus.APPROVED)
    client = client_as(oficial)
    response = client.get(reverse("review:queue"), {"status": RecordStatus.IN_REVIEW, "q": "ana"})
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="review-counts"' in html and 'id="review-keys"' in html and "review.js" in html
    assert (count_of(html, "in_review"), count_of(html, "approved")) == (1, 1)  # every status, within the search
    assert "Ana" in html and "Anabel" not in html and "Beto" not in html
    assert 'name="q" value="ana"' in html  # the filter lives in the URL and the form shows it
    unfiltered = client.get(reverse("review:queue")).content.decode()
    assert (count_of(unfiltered, "in_review"), count_of(unfiltered, "approved")) == (1, 2)


def test_queue_htmx_request_returns_only_the_table(client_as, oficial, staged):
    staged(name="Ana")
    response = client_as(oficial).get(reverse("review:queue"), {"sort": "-name"}, headers=HX)
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert html.lstrip().startswith('<section id="review-table"')
    assert response["Vary"] and "HX-Request" in response["Vary"]


def test_queue_cells_escape_what_they_show(client_as, oficial, staged):
    record = staged(
        name='<img src=x onerror="alert(1)">',
        external_id="A&B",
        error_count=1,
        problems=[
            {"field": "name", "code": "custom", "severity": "error", "params": {"message": "<b>no</b>"}},
        ],
    )
    html = client_as(oficial).get(reverse("review:queue")).content.decode()
    assert "<img src=x" not in html and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html
    assert "A&amp;B" in html and "<b>no</b>" not in html
    assert re.search(rf'<span id="cell-{record.pk}-name" class="cell cell-error">', html)


@pytest.mark.parametrize(
    ("language", "shown", "not_shown"),
    [("en", ">Individual<", "Individual (persona física)"), ("es-mx", ">Persona física<", "Individual")],
)
def test_queue_names_the_type_briefly_in_the_users_language(client_as, oficial, staged, language, shown, not_shown):
    staged(client_type="individual")
    client = client_as(oficial)
    client.cookies["django_language"] = language
    row = re.search(
        r'<tr id="record-\d+" class="review-row.*?</tr>', client.get(reverse("review:queue")).text, re.S
    ).group(0)
    assert shown in row and not_shown not in row


def test_queue_names_the_duplicated_field_by_its_label(client_as, oficial, staged, settings):
    settings.LANGUAGE_CODE = "en"
    staged(duplicate_field="external_id")
    html = " ".join(client_as(oficial).get(reverse("review:queue")).text.split())
    assert "Possible duplicate · External id" in html and "· external_id" not in html


def test_queue_of_an_empty_table_counts_zero(client_as, oficial):
    html = client_as(oficial).get(reverse("review:queue")).content.decode()
    assert count_of(html, "in_review") == count_of(html, "approved") == 0 and "review-row" not in html


def test_queue_with_invalid_filters_says_so(client_as, oficial):
    response = client_as(oficial).get(reverse("review:queue"), {"date_from": "2025-05-02", "date_to": "2025-05-01"})
    assert response.status_code == 422
    assert 'class="form-errors"' in response.content.decode()


def queue_queries(client, n_records, staged):
    existing = ClientRecord.objects.count()
    for _ in range(n_records - existing):
        staged(upload=None)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("review:queue"), {"per_page": 100})
    assert response.status_code == 200
    assert response.content.decode().count('class="review-row"') == n_records
    return len(ctx.captured_queries)


def test_queue_costs_the_same_queries_for_5_and_50_rows(
    client_as, oficial, staged, capturista2, django_assert_num_queries
):
    client = client_as(oficial)
    client.get(reverse("review:queue"))  # session and permission caches warmed like any later request
    five = queue_queries(client, 5, staged)
    ClientRecordFactory.create_batch(45, created_by=capturista2, updated_by=oficial)  # other people on the rows
    with django_assert_num_queries(five):
        response = client.get(reverse("review:queue"), {"per_page": 100})
    assert response.content.decode().count('class="review-row"') == 50


def test_record_page_costs_the_same_queries_whatever_its_history(
    client_as, oficial, oficial2, staged, django_assert_num_queries
):
    short, long = staged(), staged()
    for i in range(5):
        record_update(actor=oficial, record_id=short.pk, version=1 + i, data={"external_id": f"S-{i}"})
    for i in range(50):
        record_update(actor=oficial2, record_id=long.pk, version=1 + i, data={"external_id": f"L-{i}"})
    client = client_as(oficial)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(reverse("records:detail", args=[short.pk])).status_code == 200
    with django_assert_num_queries(len(ctx.captured_queries)):
        assert client.get(reverse("records:detail", args=[long.pk])).status_code == 200


# -- one-record actions ------------------------------------------------------------------------------------------


def test_approve_from_a_row_rerenders_the_row_and_refreshes_the_counts(client_as, oficial, staged):
    record = staged()
    response = client_as(oficial).post(
        reverse("review:action", args=[record.pk, "approve"]), {"version": 1, "from": "row"}, headers=HX
    )
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert html.lstrip().startswith(f'<tr id="record-{record.pk}"')
    assert "status-approved" in html
    assert json.loads(response["HX-Trigger"]) == {"counts-changed": {}}
    assert record_events(record, AuditAction.RECORD_APPROVED).count() == 1


def test_maker_checker_refusal_shows_in_the_row(client_as, oficial, staged):
    record = staged(created_by=oficial)
    response = client_as(oficial).post(
        reverse("review:action", args=[record.pk, "approve"]), {"version": 1, "from": "row"}, headers=HX
    )
    html = response.content.decode()
    assert response.status_code == 422
    assert f'id="record-{record.pk}"' in html and 'role="alert"' in html
    assert 'aria-disabled="true"' in html  # the button says it is unavailable, and why
    record.refresh_from_db()
    assert record.status == RecordStatus.IN_REVIEW


def test_reject_form_in_a_row_requires_reason_and_comment(client_as, oficial, staged):
    record = staged()
    client = client_as(oficial)
    form = client.get(reverse("review:action", args=[record.pk, "reject"]), headers=HX)
    assert form.status_code == 200 and form.content.decode().lstrip().startswith(f'<tr id="action-{record.pk}"')
    url = reverse("review:action", args=[record.pk, "reject"])
    refused = client.post(url, {"version": 1, "from": "form", "reason": "", "comment": ""}, headers=HX)
    assert refused.status_code == 422 and refused["HX-Retarget"] == f"#action-{record.pk}"
    assert refused.content.decode().count('class="error"') == 2
    done = client.post(
        url, {"version": 1, "from": "form", "reason": RejectReason.INCOMPLETE, "comment": "Sin INE"}, headers=HX
    )
    assert done.status_code == 200 and 'hx-swap-oob="delete"' in done.content.decode()
    record.refresh_from_db()
    assert record.status == RecordStatus.REJECTED and record.reject_reason == RejectReason.INCOMPLETE


def test_reject_page_without_htmx_redirects_to_next_with_a_message(client_as, oficial, staged):
    record = staged()
    url = reverse("review:action", args=[record.pk, "reject"])
    page = client_as(oficial).get(url, {"next": "/review/?status=in_review"})
    assert page.status_code == 200 and "<html" in page.content.decode()
    response = client_as(oficial).post(
        url,
        {"version": 1, "reason": RejectReason.OTHER, "comment": "Duplicado real", "next": "/review/?status=in_review"},
    )
    assert response.status_code == 302 and response["Location"] == "/review/?status=in_review"
    evil = client_as(oficial).post(
        reverse("review:action", args=[staged().pk, "send_back"]), {"comment": "x", "next": "https://evil.example/"}
    )
    assert evil["Location"].startswith("/records/")


def test_stale_approval_is_refused_with_what_changed(client_as, oficial, oficial2, staged):
    record = staged()
    record_update(actor=oficial2, record_id=record.pk, version=1, data={"external_id": "CAMBIADO-1"})
    response = client_as(oficial).post(
        reverse("review:action", args=[record.pk, "approve"]), {"version": 1, "from": "row"}, headers=HX
    )
    html = response.content.decode()
    assert response.status_code == 422 and 'class="stale-changes"' in html and "CAMBIADO-1" in html
    record.refresh_from_db()
    assert record.status == RecordStatus.IN_REVIEW


def test_record_page_actions_partial_explains_unavailable_approval(oficial, staged):
    record = staged(
        created_by=oficial,
        error_count=1,
        problems=[{"field": "rfc", "code": "rfc_checksum", "severity": "error", "params": {}}],
    )
    request = RequestFactory().get(f"/records/{record.pk}/")
    request.user = oficial
    html = render_to_string(
        "review/_actions.html",
        {"record": record, "review": review_availability(record=record, user=oficial)},
        request=request,
    )
    assert 'id="review-actions"' in html and 'id="review-why-approve"' in html
    assert html.count("<li>") == 2  # maker-checker and errors
    assert reverse("review:action", args=[record.pk, "reject"]) in html


# -- inline cell editing -----------------------------------------------------------------------------------------


def test_cell_edit_flow_revalidates_and_rerenders_the_row(client_as, oficial, staged):
    record = staged()
    client = client_as(oficial)
    url = reverse("review:cell", args=[record.pk, "rfc"])
    editor = client.get(url, headers=HX)
    html = editor.content.decode()
    assert editor.status_code == 200 and html.lstrip().startswith(f'<div id="cell-{record.pk}-rfc"')
    assert 'name="value"' in html and f'value="{record.rfc}"' in html
    bad = record.rfc[:-1] + ("A" if record.rfc[-1] != "A" else "B")  # wrong check digit: saved, flagged at the cell
    saved = client.post(url, {"value": f" {bad.lower()} ", "version": 1}, headers=HX)
    row = saved.content.decode()
    assert saved.status_code == 200 and row.lstrip().startswith(f'<tr id="record-{record.pk}"')
    assert re.search(rf'id="cell-{record.pk}-rfc" class="cell cell-error', row)
    record.refresh_from_db()
    assert record.rfc == bad and record.version == 2 and record.error_count >= 1
    assert record_events(record, AuditAction.RECORD_UPDATED).get().changes["rfc"][1] == bad


def test_cell_form_errors_stay_in_the_cell(client_as, oficial, staged):
    record = staged()
    response = client_as(oficial).post(
        reverse("review:cell", args=[record.pk, "birth_date"]), {"value": "31/02/1990", "version": 1}, headers=HX
    )
    assert response.status_code == 422
    assert response["HX-Retarget"] == f"#cell-{record.pk}-birth_date"
    assert 'class="error"' in response.content.decode()
    record.refresh_from_db()
    assert record.version == 1


def test_editing_an_approved_record_in_place_sends_it_back_to_review(client_as, oficial, oficial2, staged):
    record = staged(status=RecordStatus.APPROVED, reviewed_by=oficial2)
    response = client_as(oficial).post(
        reverse("review:cell", args=[record.pk, "external_id"]), {"value": "SUC-77", "version": 1}, headers=HX
    )
    assert response.status_code == 200 and "status-in_review" in response.content.decode()
    record.refresh_from_db()
    assert record.status == RecordStatus.IN_REVIEW and record.updated_by == oficial


def test_two_officers_editing_the_same_cell_second_is_refused_with_what_changed(
    client_as, client, oficial, oficial2, staged, django_user_model
):
    record = staged(name="Ana")
    url = reverse("review:cell", args=[record.pk, "name"])
    first = client_as(oficial).post(url, {"value": "Ana Luisa", "version": 1}, headers=HX)
    assert first.status_code == 200
    second = client_as(oficial2).post(url, {"value": "Anita", "version": 1}, headers=HX)
    html = second.content.decode()
    assert second.status_code == 422 and second["HX-Retarget"] == f"#cell-{record.pk}-name"
    assert 'class="stale-changes"' in html and "Ana Luisa" in html and "oficial" in html
    assert 'value="Anita"' in html and 'name="version" value="2"' in html  # what they typed is kept, re-armed
    record.refresh_from_db()
    assert record.name == "Ana Luisa" and record.version == 2
    again = client_as(oficial2).post(url, {"value": "Anita", "version": 2}, headers=HX)
    assert again.status_code == 200
    record.refresh_from_db()
    assert record.name == "Anita"


def test_cell_edit_without_htmx_falls_back_to_the_full_form(client_as, oficial, staged):
    record = staged()
    response = client_as(oficial).get(reverse("review:cell", args=[record.pk, "name"]))
    assert response.status_code == 302 and response["Location"] == reverse("records:edit", args=[record.pk])


def test_row_endpoint_returns_the_row_for_cancel(client_as, oficial, staged):
    record = staged()
    response = client_as(oficial).get(reverse("review:row", args=[record.pk]), headers=HX)
    assert response.status_code == 200 and response.content.decode().lstrip().startswith(f'<tr id="record-{record.pk}"')


# -- bulk --------------------------------------------------------------------------------------------------------


def test_bulk_on_selected_rows_reports_done_and_skipped(client_as, oficial, staged):
    mine, clean = staged(created_by=oficial), staged()
    client = client_as(oficial)
    response = client.post(
        reverse("review:bulk"),
        {"bulk_action": "approve", "scope": "selected", "ids": [mine.pk, clean.pk], "status": RecordStatus.IN_REVIEW},
    )
    assert response.status_code == 302 and response["Location"] == "/review/?status=in_review"
    (message,) = list(response.wsgi_request._messages)
    assert message.level_tag == "success" and str(SKIP_LABELS["maker_checker"]) in str(message)
    clean.refresh_from_db(), mine.refresh_from_db()
    assert clean.status == RecordStatus.APPROVED and mine.status == RecordStatus.IN_REVIEW


def test_bulk_on_a_filter_asks_to_confirm_the_count_first(client_as, oficial, staged):
    for i in range(3):
        staged(external_id=f"LOTE-{i}")
    staged(external_id="OTRO")
    client = client_as(oficial)
    data = {"bulk_action": "send_back", "scope": "filter", "q": "LOTE-", "comment": "Revisar", "expected_count": 3}
    confirm = client.post(reverse("review:bulk"), data)
    html = confirm.content.decode()
    assert confirm.status_code == 200 and 'id="confirm-count"' in html
    assert 'name="expected_count" value="3"' in html and 'name="confirmed" value="true"' in html
    assert not ClientRecord.objects.filter(status=RecordStatus.DRAFT).exists()
    done = client.post(reverse("review:bulk"), {**data, "confirmed": "true"})
    assert done.status_code == 302
    assert ClientRecord.objects.filter(status=RecordStatus.DRAFT).count() == 3
    assert AuditEvent.objects.filter(action=AuditAction.RECORD_SENT_BACK).count() == 3


def test_bulk_confirmation_is_refused_when_the_filter_count_changed(client_as, oficial, staged):
    for i in range(2):
        staged(external_id=f"LOTE-{i}")
    client = client_as(oficial)
    staged(external_id="LOTE-9")  # staged after the officer saw "2 records"
    response = client.post(
        reverse("review:bulk"),
        {"bulk_action": "approve", "scope": "filter", "q": "LOTE-", "expected_count": 2, "confirmed": "true"},
    )
    html = response.content.decode()
    assert response.status_code == 422 and 'name="expected_count" value="3"' in html
    assert not ClientRecord.objects.filter(status=RecordStatus.APPROVED).exists()


def test_bulk_reject_without_reason_shows_the_confirmation_with_errors(client_as, oficial, staged):
    record = staged()
    response = client_as(oficial).post(
        reverse("review:bulk"), {"bulk_action": "reject", "scope": "selected", "ids": [record.pk], "comment": ""}
    )
    assert response.status_code == 422
    assert f'name="ids" value="{record.pk}"' in response.content.decode()
    record.refresh_from_db()
    assert record.status == RecordStatus.IN_REVIEW


def test_bulk_with_nothing_selected_is_refused(client_as, oficial):
    response = client_as(oficial).post(reverse("review:bulk"), {"bulk_action": "approve", "scope": "selected"})
    assert response.status_code == 422


def test_record_page_shows_the_review_buttons_and_why_approval_is_unavailable(client_as, oficial, staged):
    record = staged(
        created_by=oficial,
        error_count=1,
        problems=[{"field": "rfc", "code": "rfc_checksum", "severity": "error", "params": {}}],
    )
    html = client_as(oficial).get(reverse("records:detail", args=[record.pk])).content.decode()
    assert 'id="review-actions"' in html and 'id="review-why-approve"' in html
    assert reverse("review:action", args=[record.pk, "reject"]) in html


def test_record_page_of_a_data_entry_user_has_no_review_buttons(client_as, capturista, staged):
    record = staged()
    html = client_as(capturista).get(reverse("records:detail", args=[record.pk])).content.decode()
    assert 'id="review-actions"' not in html


def test_record_page_shows_artu_refusal_and_answer(client_as, oficial, staged):
    refused = staged(artu_messages=[{"path": "rfc", "message": "RFC already registered"}])
    created = staged(status=RecordStatus.SENT_TO_TEST)
    ArtuRecord.objects.create(
        record=created,
        environment="test",
        artu_id="7d3c1e0a-0000-4000-8000-000000000001",
        response={"id": "7d3c1e0a-0000-4000-8000-000000000001", "name": "ANA"},
        recorded_at=timezone.now(),
    )
    client = client_as(oficial)
    html = client.get(reverse("records:detail", args=[refused.pk])).content.decode()
    assert 'id="artu-messages"' in html and "RFC already registered" in html
    html = client.get(reverse("records:detail", args=[created.pk])).content.decode()
    assert 'id="artu-test"' in html and "7d3c1e0a-0000-4000-8000-000000000001" in html
