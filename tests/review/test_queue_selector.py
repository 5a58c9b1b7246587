"""The queue's filters, search, sort and counts per status."""

import datetime

import pytest
from django.utils import timezone

from onboarding.models import ClientRecord, ClientType, RecordStatus, Upload
from onboarding.selectors.review import (
    review_queue,
    review_queue_filter,
    review_queue_ordering,
    review_queue_page,
    review_status_counts,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def cast(staged, capturista2, oficial):
    upload = Upload.objects.create(
        file="u.csv", original_name="u.csv", sha256="1" * 64, format="csv", created_by=oficial
    )
    records = {
        "plain": staged(name="Ana", last_name="Zepeda Ruiz", external_id="SUC-1"),
        "errors": staged(name="Beto", error_count=2, external_id="SUC-2"),
        "warned": staged(name="Carla", warning_count=1, external_id="SUC-3"),
        "acked": staged(name="Diana", warning_count=1, warnings_acknowledged=True, external_id="SUC-4"),
        "dup": staged(name="Elsa", duplicate_field="rfc", external_id="SUC-5"),
        "company": staged(
            name="Frutas del Norte",
            client_type=ClientType.COMPANY,
            last_name="",
            curp="",
            external_id="EMP-1",
            upload=upload,
        ),
        "avi": staged(name="Gabriel", av_avi=True, created_by=capturista2, status=RecordStatus.APPROVED),
        "old": staged(name="Hugo", status=RecordStatus.REJECTED),
    }
    ClientRecord.objects.filter(pk=records["old"].pk).update(created_at=timezone.now() - datetime.timedelta(days=40))
    records["upload"] = upload
    return records


def names(qs):
    return sorted(qs.values_list("name", flat=True))


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"status": RecordStatus.APPROVED}, ["Gabriel"]),
        ({"has_errors": True}, ["Beto"]),
        (
            {"has_errors": False, "status": RecordStatus.IN_REVIEW},
            ["Ana", "Carla", "Diana", "Elsa", "Frutas del Norte"],
        ),
        ({"warnings": "with"}, ["Carla", "Diana"]),
        ({"warnings": "unacknowledged"}, ["Carla"]),
        ({"duplicate": True}, ["Elsa"]),
        ({"client_type": ClientType.COMPANY}, ["Frutas del Norte"]),
        ({"actividad": "AVI"}, ["Gabriel"]),
        ({"created_by": "CAPTURISTA2"}, ["Gabriel"]),
        ({"q": "zepeda"}, ["Ana"]),
        ({"q": "emp-1"}, ["Frutas del Norte"]),
        ({"q": "suc-2"}, ["Beto"]),
        ({"q": "uc-2"}, []),  # identifiers are found by their start, from their indexes
        ({"q": "frutas norte"}, ["Frutas del Norte"]),
    ],
)
def test_each_filter_narrows_the_queue(cast, filters, expected):
    assert names(review_queue_filter(**filters)) == expected


def test_upload_and_date_filters(cast):
    assert names(review_queue_filter(upload_id=cast["upload"].pk)) == ["Frutas del Norte"]
    today = timezone.localdate()
    assert "Hugo" not in names(review_queue_filter(date_from=today - datetime.timedelta(days=1)))
    assert names(review_queue_filter(date_to=today - datetime.timedelta(days=30))) == ["Hugo"]


def test_search_matches_rfc_and_curp(cast):
    record = cast["plain"]
    assert names(review_queue_filter(q=record.rfc.lower())) == ["Ana"]
    assert names(review_queue_filter(q=record.curp[:12])) == ["Ana"]


def test_sorting_by_a_column_both_ways_with_a_stable_tie_breaker(cast):
    ascending = list(review_queue(sort="name").values_list("name", flat=True))
    assert ascending == sorted(ascending)
    assert list(review_queue(sort="-name").values_list("name", flat=True)) == ascending[::-1]
    assert review_queue_ordering("bogus") == review_queue_ordering("-created") == ["-created_at", "-id"]
    assert review_queue_ordering("problems") == ["error_count", "warning_count", "id"]


def test_counts_per_status_ignore_the_status_filter_and_give_the_page_total(cast):
    counts = review_status_counts(status=RecordStatus.APPROVED)
    assert (counts[RecordStatus.IN_REVIEW], counts[RecordStatus.APPROVED], counts[RecordStatus.DRAFT]) == (6, 1, 0)
    result = review_queue_page(filters={"status": RecordStatus.IN_REVIEW}, sort="name", page=1, per_page=4)
    assert result.total == 6 and result.page.paginator.num_pages == 2 and result.all_count == 8
    assert [r.name for r in result.page] == ["Ana", "Beto", "Carla", "Diana"]
