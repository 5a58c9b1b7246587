"""What a queue row tells without a click (every name part, each problem's field and message), compact actions, the
folded filter panel and its summary, and the columns each user keeps shown or hidden."""

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from onboarding.models import ReviewQueueColumns
from onboarding.services.review import review_columns_set

pytestmark = pytest.mark.django_db
HX = {"HX-Request": "true"}


@pytest.fixture
def english(settings):
    settings.LANGUAGE_CODE = "en"


def row_of(html: str, record) -> str:
    return re.search(rf'<tr id="record-{record.pk}" class="review-row".*?</tr>', html, re.S).group(0)


def shown_columns(html: str) -> set[str]:
    return set(re.findall(r'<input type="checkbox" name="shown" value="(\w+)" data-column="\w+" checked>', html))


def test_the_row_names_each_problems_field_and_says_what_is_wrong(client_as, oficial, staged, english):
    record = staged(rfc="GODE561231GR8")
    record.rfc = record.rfc[:-1] + ("1" if record.rfc[-1] != "1" else "2")
    record.problems = [{"field": "rfc", "code": "rfc_checksum", "severity": "error", "params": {"value": record.rfc}}]
    record.error_count = 1
    record.save()
    row = " ".join(row_of(client_as(oficial).get(reverse("review:queue")).text, record).split())
    assert '<span class="problem-field">RFC</span>' in row
    assert f"{record.rfc} has a wrong check digit (homoclave)." in row
    assert "badge-error" not in row  # not just "1 error"


def test_the_name_column_shows_every_part_of_the_name_each_editable(client_as, oficial, staged):
    record = staged(
        name="María Guadalupe", middle_name="Fernanda", apellido_paterno="Hernández", apellido_materno="de la Garza"
    )
    row = row_of(client_as(oficial).get(reverse("review:queue")).text, record)
    name_cell = re.search(r'<th scope="row" class="col-name">(.*?)</th>', row, re.S).group(1)
    parts = [
        ("name", "María Guadalupe"),
        ("middle_name", "Fernanda"),
        ("apellido_paterno", "Hernández"),
        ("apellido_materno", "de la Garza"),
    ]
    for field, value in parts:
        assert re.search(rf'id="cell-{record.pk}-{field}" class="cell">.*?>{value}</a>', name_cell, re.S), field
    assert reverse("review:cell", args=[record.pk, "middle_name"]) in name_cell


def test_a_row_has_approve_as_a_button_and_the_rest_in_a_menu(client_as, oficial, staged):
    record = staged()
    row = row_of(client_as(oficial).get(reverse("review:queue")).text, record)
    approve = re.search(r'<button [^>]*data-key="approve"', row)
    assert approve and "row-menu" not in row[: approve.start()].rsplit("<td", 1)[-1]
    menu = re.search(r'<details class="row-menu">(.*?)</details>', row, re.S).group(1)
    for key in ("reject", "send-back", "open"):
        assert f'data-key="{key}"' in menu, key
    assert 'data-key="approve"' not in menu


def test_filters_fold_into_a_panel_whose_summary_says_what_is_active(client_as, oficial, staged, english):
    staged(name="Ana")
    html = client_as(oficial).get(reverse("review:queue"), {"status": "in_review", "q": "ana"}).text
    panel = re.search(r'<details class="card review-filters" id="review-filters"( open)?>', html)
    assert panel and not panel.group(1)  # folded while the filters are valid
    summary = " ".join(re.search(r'<span id="filters-summary".*?</span></span>', html, re.S).group(0).split())
    assert "Status: <strong>In review</strong>" in summary and "Search: <strong>“ana”</strong>" in summary
    unfiltered = client_as(oficial).get(reverse("review:queue")).text
    assert "none: every record" in unfiltered


def test_invalid_filters_open_the_panel(client_as, oficial):
    html = client_as(oficial).get(reverse("review:queue"), {"date_from": "2025-05-02", "date_to": "2025-05-01"}).text
    assert '<details class="card review-filters" id="review-filters" open>' in html


def test_a_table_swap_updates_the_summary_and_the_sort_outside_it(client_as, oficial, staged, english):
    staged()
    client = client_as(oficial)
    table = client.get(reverse("review:queue"), {"sort": "-name", "q": "x"}, headers=HX | {"HX-Target": "review-table"})
    assert re.search(r'<span id="filters-summary" class="filters-summary" hx-swap-oob="true">', table.text)
    assert '<input type="hidden" name="sort" id="id_sort" value="-name" hx-swap-oob="true">' in table.text
    counts = client.get(reverse("review:queue"), headers=HX | {"HX-Target": "review-counts"})
    assert "hx-swap-oob" not in counts.text


def test_columns_start_with_the_defaults(client_as, oficial, staged):
    staged()
    html = client_as(oficial).get(reverse("review:queue")).text
    assert shown_columns(html) == {"client_type", "rfc", "curp", "birth_date", "external_id", "status"}


def test_hidden_columns_are_kept_for_that_user_only(client_as, oficial, oficial2, staged):
    staged()
    client = client_as(oficial)
    shown = ["client_type", "rfc", "birth_date", "external_id", "status", "staged"]
    response = client.post(reverse("review:columns"), {"shown": shown}, headers=HX)
    assert response.status_code == 204
    assert sorted(ReviewQueueColumns.objects.get(user=oficial).hidden) == ["curp", "nationalities"]
    assert shown_columns(client.get(reverse("review:queue")).text) == set(shown)
    other = client_as(oficial2).get(reverse("review:queue")).text
    assert "curp" in shown_columns(other) and "staged" not in shown_columns(other)


def test_columns_form_without_javascript_goes_back_to_the_queue_it_came_from(client_as, oficial):
    client = client_as(oficial)
    response = client.post(reverse("review:columns"), {"shown": ["rfc"], "next": "/review/?status=approved"})
    assert response.status_code == 302 and response["Location"] == "/review/?status=approved"
    evil = client.post(reverse("review:columns"), {"shown": ["rfc"], "next": "https://evil.example/"})
    assert evil["Location"] == reverse("review:queue")


def test_columns_refuse_unknown_or_unhideable_columns(client_as, oficial):
    client = client_as(oficial)
    for shown in (["password"], ["name"], ["problems"]):
        assert client.post(reverse("review:columns"), {"shown": shown}, headers=HX).status_code == 422
    assert not ReviewQueueColumns.objects.exists()


@pytest.mark.parametrize(("role", "status"), [("nobody", 403), ("auditor", 204), ("capturista", 204)])
def test_columns_are_for_everyone_who_reads_the_queue(request, client_as, role, status):
    response = client_as(request.getfixturevalue(role)).post(reverse("review:columns"), {"shown": []}, headers=HX)
    assert response.status_code == status


def test_columns_refuse_get_and_anonymous_users(client_as, oficial):
    assert client_as(oficial).get(reverse("review:columns")).status_code == 405
    response = Client().post(reverse("review:columns"), {"shown": []})
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_saved_columns_cost_the_queue_no_extra_query(client_as, oficial, staged, django_assert_num_queries):
    for _ in range(3):
        staged()
    client = client_as(oficial)
    client.get(reverse("review:queue"))
    with CaptureQueriesContext(connection) as defaults:
        client.get(reverse("review:queue"))
    review_columns_set(user=oficial, hidden=["curp"])
    with django_assert_num_queries(len(defaults.captured_queries)):
        assert client.get(reverse("review:queue")).status_code == 200


def test_the_decision_page_lists_the_records_problems(client_as, oficial, staged, english):
    record = staged(
        error_count=1,
        problems=[{"field": "curp", "code": "curp_length", "severity": "error", "params": {"length": 17}}],
    )
    html = " ".join(client_as(oficial).get(reverse("review:action", args=[record.pk, "reject"])).text.split())
    assert '<span class="problem-field">CURP</span> must have 18 characters; it has 17.' in html
