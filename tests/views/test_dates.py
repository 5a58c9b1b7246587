"""One date order per language (DD/MM/YYYY), shown and typed, whatever the browser's own locale says."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from onboarding.models import AuditEvent, ClientRecord, RecordStatus
from onboarding.validation import Problem
from tests.factories import ClientRecordFactory
from tests.views.test_records import valid_post

pytestmark = pytest.mark.django_db
LANGUAGES = ("es-mx", "en")


def speaking(client, language):
    client.cookies["django_language"] = language
    return client


def input_tag(html: str, name: str) -> str:
    return re.search(rf'<input[^>]*name="{name}"[^>]*>', html).group(0)


@pytest.mark.parametrize("language", LANGUAGES)
def test_record_page_shows_the_birth_date_and_the_times_day_first(client_as, capturista, language):
    record = ClientRecordFactory(created_by=capturista, birth_date=datetime.date(1988, 3, 14))
    created = timezone.localtime(record.created_at)
    html = speaking(client_as(capturista), language).get(reverse("records:detail", args=[record.pk])).text
    assert "14/03/1988" in html
    assert created.strftime("%d/%m/%Y %H:%M") in html
    assert created.strftime("%m/%d/%Y") not in html or created.day == created.month


@pytest.mark.parametrize(("language", "placeholder"), [("es-mx", "DD/MM/AAAA"), ("en", "DD/MM/YYYY")])
def test_the_birth_date_is_a_text_box_showing_its_format(client_as, capturista, language, placeholder):
    record = ClientRecordFactory(created_by=capturista, birth_date=datetime.date(1988, 3, 14))
    html = speaking(client_as(capturista), language).get(reverse("records:edit", args=[record.pk])).text
    tag = input_tag(html, "birth_date")
    assert 'type="text"' in tag and 'type="date"' not in html
    assert f'placeholder="{placeholder}"' in tag
    assert 'value="14/03/1988"' in tag


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("typed", ["14/03/1988", "14-03-1988", "1988-03-14"])
def test_a_typed_date_is_read_day_first_or_iso_in_either_language(client_as, capturista, language, typed):
    data, _, _ = valid_post(birth_date=typed)
    response = speaking(client_as(capturista), language).post(reverse("records:create"), data)
    assert response.status_code == 302
    assert ClientRecord.objects.get().birth_date == datetime.date(1988, 3, 14)


@pytest.mark.parametrize("language", LANGUAGES)
def test_month_first_is_never_read(client_as, capturista, language):
    data, _, _ = valid_post(birth_date="03/14/1988")
    response = speaking(client_as(capturista), language).post(reverse("records:create"), data)
    assert response.status_code == 422
    field = response.text.split('id="field-birth_date"')[1].split("</div>")[0]
    assert 'class="error"' in field and 'value="03/14/1988"' in field  # what was typed stays, to be corrected
    assert not ClientRecord.objects.exists()


@pytest.mark.parametrize(
    ("url_name", "names"), [("review:queue", ("date_from", "date_to")), ("audit:log", ("date_from", "date_to"))]
)
def test_date_filters_are_text_boxes_that_read_day_first(client_as, oficial, auditor, url_name, names):
    client = client_as(auditor if url_name == "audit:log" else oficial)
    response = client.get(reverse(url_name), {"date_from": "01/03/2026", "date_to": "2026-03-31"})
    assert response.status_code == 200
    for name in names:
        assert 'type="text"' in input_tag(response.text, name)
    assert 'value="01/03/2026"' in input_tag(response.text, "date_from")


def test_queue_filter_by_staged_date_typed_day_first(client_as, oficial):
    day = timezone.make_aware(datetime.datetime(2026, 3, 5, 12))
    inside = ClientRecordFactory(status=RecordStatus.IN_REVIEW)
    outside = ClientRecordFactory(status=RecordStatus.IN_REVIEW)
    ClientRecord.objects.filter(pk=inside.pk).update(created_at=day)
    ClientRecord.objects.filter(pk=outside.pk).update(created_at=day - datetime.timedelta(days=40))
    html = client_as(oficial).get(reverse("review:queue"), {"date_from": "05/03/2026", "date_to": "05/03/2026"}).text
    assert f'id="record-{inside.pk}"' in html and f'id="record-{outside.pk}"' not in html


@pytest.mark.parametrize("language", LANGUAGES)
def test_audit_log_times_are_day_first(client_as, auditor, capturista, language):
    ClientRecordFactory(created_by=capturista)
    client_as(capturista).post(reverse("records:create"), valid_post()[0])

    event = AuditEvent.objects.latest("seq")
    html = speaking(client_as(auditor), language).get(reverse("audit:log")).text
    assert timezone.localtime(event.created_at).strftime("%d/%m/%Y %H:%M:%S") in html


def test_problem_messages_write_dates_day_first(settings):
    problem = Problem("rfc", "rfc_birth_date_mismatch", params={"rfc_date": "1988-03-15", "birth_date": "1988-03-14"})
    assert "15/03/1988" in problem.message and "14/03/1988" in problem.message
    assert "1988-03" not in problem.message
