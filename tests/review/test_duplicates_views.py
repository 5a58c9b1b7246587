"""The side-by-side page of two possible duplicates: who sees it, who settles it, and how it is reached."""

import re

import pytest
from django.urls import reverse

from onboarding.models import AuditAction, AuditEvent, ClientRecord, DuplicateDismissal, RecordStatus
from onboarding.services.records import record_create
from onboarding.services.review import RejectReason
from tests.review.test_duplicates import RFC, person_data

pytestmark = pytest.mark.django_db
ROLES = ["capturista", "auditor", "nobody", "oficial", "oficial_live", "admin_user"]
REVIEWERS = {"oficial", "oficial_live", "admin_user"}


@pytest.fixture(autouse=True)
def english(settings):
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def pair(capturista):
    """Two records typed with the same RFC and CURP, the second with another name: flagged for each other."""
    first = record_create(actor=capturista, data=person_data(external_id="SUC-1"))
    second = record_create(actor=capturista, data=person_data(external_id="SUC-2", name="Jorge Luis"))
    return first, second


def compare_url(a, b) -> str:
    return reverse("duplicates:compare", args=[a.pk, b.pk])


def row(html: str, field: str) -> str:
    return re.search(rf'<tr id="dup-row-{field}".*?</tr>', html, re.S).group(0)


def decision(a, b):
    return {"left_version": a.version, "right_version": b.version, "comment": ""}


# -- who sees what -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_everyone_who_reads_records_may_compare_and_only_reviewers_may_settle(request, client_as, pair, role):
    response = client_as(request.getfixturevalue(role)).get(compare_url(*pair))
    assert response.status_code == (403 if role == "nobody" else 200)
    if response.status_code == 200:
        assert ('formaction="/review/duplicates/' in response.text) == (role in REVIEWERS)
        assert ('id="dup-read-only"' in response.text) == (role not in REVIEWERS)


@pytest.mark.parametrize("role", ["capturista", "auditor", "nobody"])
def test_settling_is_refused_to_who_may_not_review(request, client_as, pair, role):
    first, second = pair
    client = client_as(request.getfixturevalue(role))
    keep = client.post(reverse("duplicates:keep", args=[first.pk, second.pk, first.pk]), decision(first, second))
    dismiss = client.post(reverse("duplicates:not-duplicate", args=[first.pk, second.pk]), decision(first, second))
    assert keep.status_code == dismiss.status_code == 403
    assert ClientRecord.objects.get(pk=second.pk).status == RecordStatus.IN_REVIEW
    assert not DuplicateDismissal.objects.exists()


def test_the_page_shows_each_field_of_both_records_with_the_differences_said_in_words(client_as, oficial, pair):
    first, second = pair
    html = client_as(oficial).get(compare_url(first, second)).text
    assert f"#{first.pk} · Jorge Hernández López" in html and f"#{second.pk} · Jorge Luis Hernández López" in html
    name = row(html, "name")
    assert 'class="dup-differs"' in name and "Different" in name and "Jorge Luis" in name
    rfc = row(html, "rfc")
    assert 'class="dup-shared"' in rfc and "Shared" in rfc and rfc.count(RFC) == 2
    assert "Same" in row(html, "birth_date") and 'class="dup-same"' in row(html, "birth_date")
    assert "Different" in row(html, "external_id")  # SUC-1 and SUC-2
    assert "2 fields differ." in " ".join(html.split())


def test_a_missing_record_or_the_same_record_twice_is_not_found(client_as, oficial, pair):
    first, _second = pair
    client = client_as(oficial)
    assert client.get(reverse("duplicates:compare", args=[first.pk, first.pk])).status_code == 404
    assert client.get(reverse("duplicates:compare", args=[first.pk, 999999])).status_code == 404


def test_wrong_methods_are_refused(client_as, oficial, pair):
    first, second = pair
    client = client_as(oficial)
    assert client.post(compare_url(first, second)).status_code == 405
    assert client.get(reverse("duplicates:keep", args=[first.pk, second.pk, first.pk])).status_code == 405
    assert client.get(reverse("duplicates:not-duplicate", args=[first.pk, second.pk])).status_code == 405


# -- settling ----------------------------------------------------------------------------------------------------


def test_keep_one_rejects_the_other_as_its_duplicate(client_as, oficial, pair):
    first, second = pair
    data = decision(first, second) | {"comment": "Misma persona, capturada dos veces."}
    response = client_as(oficial).post(reverse("duplicates:keep", args=[first.pk, second.pk, first.pk]), data)
    assert response.status_code == 302 and response["Location"] == compare_url(first, second)
    second.refresh_from_db()
    assert second.status == RecordStatus.REJECTED and second.reject_reason == RejectReason.DUPLICATE
    assert "Misma persona, capturada dos veces." in second.review_comment
    first.refresh_from_db()
    assert first.duplicate_of_id is None and first.error_count == 0
    page = client_as(oficial).get(response["Location"]).text
    assert f"Record #{first.pk} kept; #{second.pk} rejected as its duplicate." in page
    # Settled: the rejected one cannot be kept now, and they are no longer flagged for each other.
    assert 'formaction="/review/duplicates/' not in page and 'id="dup-nothing"' in page


def test_keep_is_only_for_one_of_the_two(client_as, oficial, pair, capturista):
    first, second = pair
    stranger = record_create(actor=capturista, data=person_data(rfc="", curp="", external_id="X-1"))
    url = reverse("duplicates:keep", args=[first.pk, second.pk, stranger.pk])
    assert client_as(oficial).post(url, decision(first, second)).status_code == 404


def test_not_a_duplicate_clears_both_and_a_second_click_is_refused(client_as, oficial, pair):
    first, second = pair
    client = client_as(oficial)
    url = reverse("duplicates:not-duplicate", args=[first.pk, second.pk])
    response = client.post(url, decision(first, second) | {"comment": "Homónimos."})
    assert response.status_code == 302
    for record in (first, second):
        record.refresh_from_db()
        assert record.duplicate_of_id is None and record.error_count == 0
        assert AuditEvent.objects.filter(record=record, action=AuditAction.RECORD_UPDATED, reason="Homónimos.").exists()
    again = client.post(url, decision(first, second))
    assert again.status_code == 422 and "not already settled" in again.text
    assert DuplicateDismissal.objects.count() == 2


def test_a_stale_page_is_refused_and_shown_again_with_the_current_versions(client_as, oficial, oficial2, pair):
    first, second = pair
    seen = decision(first, second) | {"comment": "Revisado con el expediente."}
    client_as(oficial2).post(
        reverse("records:edit", args=[second.pk]), {**person_data(external_id="SUC-2", name="Jorge L."), "version": 1}
    )
    response = client_as(oficial).post(reverse("duplicates:keep", args=[first.pk, second.pk, first.pk]), seen)
    assert response.status_code == 422 and "Someone else changed this record" in response.text
    second.refresh_from_db()
    assert second.status == RecordStatus.IN_REVIEW
    assert f'name="right_version" value="{second.version}"' in response.text
    assert "Revisado con el expediente.</textarea>" in response.text


def test_a_record_that_cannot_be_rejected_offers_no_keep_the_other(client_as, oficial, pair):
    first, second = pair
    ClientRecord.objects.filter(pk=first.pk).update(status=RecordStatus.SUBMITTED)
    html = client_as(oficial).get(compare_url(first, second)).text
    keep_second = reverse("duplicates:keep", args=[first.pk, second.pk, second.pk])
    keep_first = reverse("duplicates:keep", args=[first.pk, second.pk, first.pk])
    assert keep_second not in html and keep_first in html


# -- how it is reached -------------------------------------------------------------------------------------------


def test_the_record_page_badge_opens_the_comparison(client_as, auditor, pair):
    first, second = pair
    html = client_as(auditor).get(reverse("records:detail", args=[first.pk])).text
    badge = re.search(r'<p id="record-duplicates">.*?</p>', html, re.S).group(0)
    assert f'href="{compare_url(first, second)}"' in badge and f"compare with #{second.pk}" in badge


def test_the_queue_problems_cell_opens_the_comparison(client_as, oficial, pair):
    first, second = pair
    html = client_as(oficial).get(reverse("review:queue")).text
    assert f'href="{compare_url(second, first)}"' in html and f'href="{compare_url(first, second)}"' in html


def test_a_hand_made_pair_of_huge_numbers_is_not_found(client_as, oficial):
    huge = "9" * 20  # past a 64-bit id
    assert client_as(oficial).get(f"/review/duplicates/{huge}/1/").status_code == 404
    response = client_as(oficial).post(f"/review/duplicates/1/{huge}/not-duplicate/", {"comment": ""})
    assert response.status_code == 404
