"""The queue's "Staged by" and "Upload" filters are picked from lists; the URL still carries and checks them."""

import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import formats, timezone

from onboarding.models import ClientRecord, Upload, UploadStatus
from onboarding.selectors.records import RECENT_UPLOADS
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english(settings):
    settings.LANGUAGE_CODE = "en"


def options(html: str, name: str) -> list[tuple[str, str, bool]]:
    """(value, label, selected) of each option of the select called `name`."""
    select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', html, flags=re.S)
    assert select, f"no select {name}"
    return [
        (value, label.strip(), bool(selected))
        for value, selected, label in re.findall(r'<option value="([^"]*)"( selected)?>(.*?)</option>', select[1])
    ]


def upload(created_by, name: str, *, status=UploadStatus.STAGED, days_ago: int = 0) -> Upload:
    made = Upload.objects.create(
        file=f"uploads/{name}", original_name=name, sha256="0" * 64, format="csv", created_by=created_by, status=status
    )
    Upload.objects.filter(pk=made.pk).update(created_at=timezone.now() - datetime.timedelta(days=days_ago))
    return Upload.objects.get(pk=made.pk)


def queue(client, **params) -> str:
    response = client.get(reverse("review:queue"), params)
    assert response.status_code == 200
    return response.content.decode()


def test_staged_by_lists_the_users_who_staged_records(client_as, oficial, staged, capturista, capturista2):
    capturista2.first_name, capturista2.last_name = "Lupita", "Núñez"
    capturista2.save()
    staged(name="Ana", created_by=capturista)
    staged(name="Beto", created_by=capturista2)
    UserFactory(username="sin_registros")
    assert options(queue(client_as(oficial)), "created_by") == [
        ("", "Anyone", True),
        ("capturista", "capturista", False),
        ("capturista2", "capturista2 (Lupita Núñez)", False),
    ]


def test_picking_who_staged_filters_and_stays_selected(client_as, oficial, staged, capturista, capturista2):
    staged(name="Ana", created_by=capturista)
    staged(name="Beto", created_by=capturista2)
    client = client_as(oficial)
    response = client.get(reverse("review:queue"), {"created_by": "capturista2"})
    assert [r.name for r in response.context["rows"]] == ["Beto"]
    assert ("capturista2", "capturista2", True) in options(response.content.decode(), "created_by")


def test_a_user_name_from_the_url_that_the_list_lacks_still_filters_and_shows(client_as, oficial, staged, capturista2):
    staged(name="Beto", created_by=capturista2)
    response = client_as(oficial).get(reverse("review:queue"), {"created_by": "CAPTURISTA2"})
    assert [r.name for r in response.context["rows"]] == ["Beto"]
    assert options(response.content.decode(), "created_by")[-1] == ("CAPTURISTA2", "CAPTURISTA2", True)


def test_upload_lists_recent_staged_uploads_by_name_and_date(client_as, oficial, capturista):
    older = upload(capturista, "sucursal_norte.csv", days_ago=3)
    newer = upload(capturista, "sucursal_sur.xlsx")
    upload(capturista, "sin_mapear.csv", status=UploadStatus.MAPPING)  # nothing staged from it
    listed = options(queue(client_as(oficial)), "upload")
    assert [value for value, _label, _selected in listed] == ["", str(newer.pk), str(older.pk)]
    assert listed[2][1].startswith("sucursal_norte.csv · ") and listed[2][1].endswith(f" · #{older.pk}")
    assert formats.date_format(timezone.localtime(older.created_at), "SHORT_DATE_FORMAT") in listed[2][1]


def test_an_upload_older_than_the_list_stays_pickable_when_it_is_the_filter(client_as, oficial, capturista, staged):
    oldest = upload(capturista, "enero.csv", days_ago=90)
    for i in range(RECENT_UPLOADS):
        upload(capturista, f"lote-{i}.csv", days_ago=1)
    record = staged(name="Ana", upload=oldest)
    staged(name="Beto")
    client = client_as(oficial)
    assert str(oldest.pk) not in [value for value, *_ in options(queue(client), "upload")]
    response = client.get(reverse("review:queue"), {"upload": oldest.pk})
    assert [r.pk for r in response.context["rows"]] == [record.pk]
    assert options(response.content.decode(), "upload")[-1][::2] == (str(oldest.pk), True)


def test_an_htmx_swap_of_the_results_reads_no_list(client_as, oficial, staged, capturista):
    staged(upload=upload(capturista, "a.csv"))
    client = client_as(oficial)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("review:queue"), {"status": "in_review"}, headers={"HX-Request": "true"})
    assert response.status_code == 200 and 'name="created_by"' not in response.content.decode()
    # The creators' list is read with EXISTS; the rows' environments at Artu too, but from their own table.
    lists = [q["sql"] for q in ctx.captured_queries if "onboarding_upload" in q["sql"] or "EXISTS" in q["sql"]]
    assert not [sql for sql in lists if "onboarding_arturecord" not in sql]


@pytest.mark.parametrize(("param", "value"), [("created_by", "a\x1bb"), ("upload", "99999999999999999999")])
def test_hostile_picker_values_are_the_filters_message(client_as, oficial, param, value):
    response = client_as(oficial).get(reverse("review:queue"), {param: value})
    assert response.status_code == 422
    assert param in response.context["form"].errors
    assert ClientRecord.objects.count() == 0
