"""Which environment of Artu holds a record: a badge per environment in the review queue, the records list and the
record page (translated, never a raw code), and Artu's answer per environment on the record page (issue 14)."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from onboarding.artu.payload import record_to_item
from onboarding.artu.sandbox import build_client
from onboarding.models import ArtuRecord, RecordStatus
from onboarding.services.submissions import submission_run, submission_start
from tests.factories import ClientRecordFactory

pytestmark = pytest.mark.django_db


def english(client):
    client.cookies["django_language"] = "en"
    return client


def hold(record, environment, **item):
    """Artu holds `record` in `environment`: the client object the sandbox would return for it."""
    now = datetime.datetime(2026, 12, 1, 16, 30, tzinfo=datetime.UTC)
    client = build_client({**record_to_item(record), **item}, now)
    return ArtuRecord.objects.create(
        record=record,
        environment=environment,
        artu_id=client["id"],
        artu_created_at=now,
        response=client,
        recorded_at=timezone.now(),
    )


@pytest.fixture
def three(capturista):
    """One record in test only, one in test and live, one Artu does not hold."""
    in_test = ClientRecordFactory(name="TESTA", created_by=capturista, status=RecordStatus.SENT_TO_TEST)
    in_both = ClientRecordFactory(name="AMBOS", created_by=capturista, status=RecordStatus.SUBMITTED)
    nowhere = ClientRecordFactory(name="NINGUNO", created_by=capturista, status=RecordStatus.APPROVED)
    hold(in_test, "test")
    hold(in_both, "test")
    hold(in_both, "live")
    return in_test, in_both, nowhere


def row(html, record):
    match = re.search(rf'<tr id="record-{record.pk}"[^>]*>(.*?)</tr>', html, re.S)
    assert match, f"no row for record {record.pk}"
    return match.group(1)


def badges(fragment):
    return re.findall(r'class="badge env-badge env-(\w+)"[^>]*>([^<]+)<', fragment)


@pytest.mark.parametrize("page", ["review:queue", "records:list"])
def test_each_row_shows_the_environments_holding_the_record(client_as, oficial, three, page):
    in_test, in_both, nowhere = three
    html = client_as(oficial).get(reverse(page)).content.decode()

    assert badges(row(html, in_test)) == [("test", "Artu: pruebas")]
    assert badges(row(html, in_both)) == [("test", "Artu: pruebas"), ("live", "Artu: producción")]
    assert badges(row(html, nowhere)) == []
    assert "Enviado a pruebas" in row(html, in_test) and "Enviado a producción" in row(html, in_both)
    assert "(test)" not in html and ">test<" not in html and ">live<" not in html


def test_the_queue_counts_and_filters_records_sent_to_test(client_as, oficial, three):
    in_test, *_ = three
    response = client_as(oficial).get(reverse("review:queue"), {"status": RecordStatus.SENT_TO_TEST})
    html = response.content.decode()
    assert [r.pk for r in response.context["rows"]] == [in_test.pk]
    tab = re.search(r'class="tab-sent_to_test"[^>]*>([^<]+)<span class="count">(\d+)<', html)
    assert tab and tab.group(1).strip() == "Enviado a pruebas" and tab.group(2) == "1"


def test_an_htmx_row_keeps_its_badges(client_as, oficial, three):
    _, in_both, _ = three
    response = client_as(oficial).get(reverse("review:row", args=[in_both.pk]), headers={"HX-Request": "true"})
    html = response.content.decode()
    assert "<html" not in html and f'id="record-{in_both.pk}"' in html
    assert [env for env, _ in badges(html)] == ["test", "live"]


def test_record_page_shows_artu_s_answer_per_environment(client_as, auditor, three):
    _, in_both, _ = three
    copies = {row.environment: row for row in ArtuRecord.objects.filter(record=in_both)}
    html = client_as(auditor).get(reverse("records:detail", args=[in_both.pk])).content.decode()

    assert [env for env, _ in badges(html[: html.index('id="artu"')])] == ["test", "live"]
    section = html[html.index('id="artu"') : html.index('id="history"')]
    test_card = section[section.index('id="artu-test"') : section.index('id="artu-live"')]
    live_card = section[section.index('id="artu-live"') :]
    assert "Ambiente: Pruebas" in test_card and "Ambiente: Producción" in live_card
    for card, environment in ((test_card, "test"), (live_card, "live")):
        client = copies[environment].response
        assert str(copies[environment].artu_id) in card
        assert '<time datetime="2026-12-01T10:30:00-06:00">01/12/2026 10:30</time>' in card  # Mexico City time
        risk = client["riskAssessments"]["MX"]
        level = {"low": "Bajo", "medium": "Medio", "high": "Alto"}[risk["level"]]
        assert "Evaluaciones de riesgo" in card  # the risk assessment, its parts named and its values
        assert re.search(rf">Nivel</dt><dd>{level}<", card)
        assert re.search(rf">Puntuación</dt><dd>{risk['score']}<", card)
        assert "Identificación</strong> · <span" in card  # the requested document, its type and status in words
        assert "En espera del archivo" in card
        assert "Respuesta de Artu tal como llegó (JSON)" in card
    assert "pending_upload<" not in section


def test_record_page_shows_tags_and_risk_in_english(client_as, auditor, capturista):
    record = ClientRecordFactory(created_by=capturista, status=RecordStatus.SENT_TO_TEST, av_veh=True)
    hold(record, "test", nationalities=["MX", "US"])
    html = english(client_as(auditor)).get(reverse("records:detail", args=[record.pk])).content.decode()
    card = html[html.index('id="artu-test"') : html.index('id="history"')]
    assert "Test environment" in card and "Artu: test" in html
    assert "Actividad vulnerable" in card and "Nacionalidad extranjera" in card  # Artu's tags, by name
    assert "actividad_vulnerable:VEH" in card and "Waiting for the file" in card
    assert re.search(r">Level</dt><dd>(Low|Medium|High)<", card) and ">Factors</dt>" in card


def test_record_page_of_a_record_artu_does_not_hold(client_as, auditor, three):
    *_, nowhere = three
    html = client_as(auditor).get(reverse("records:detail", args=[nowhere.pk])).content.decode()
    assert 'id="artu-none"' in html and 'id="artu-test"' not in html and "env-badge" not in html


def test_a_record_sent_over_http_shows_what_artu_returned(artu, client_as, oficial, auditor):
    record = ClientRecordFactory(status=RecordStatus.APPROVED, av_inm=True)
    submission = submission_start(actor=oficial, environment="test", enqueue=False)
    submission_run(submission.pk, concurrency=1)
    (client,) = artu.clients("test")

    html = english(client_as(auditor)).get(reverse("records:detail", args=[record.pk])).content.decode()

    card = html[html.index('id="artu-test"') : html.index('id="history"')]
    assert client["id"] in card and client["documents"][0]["id"] in html
    assert [tag["name"] for tag in client["tags"]] == ["Actividad vulnerable"] and "Actividad vulnerable" in card
    assert f"submission #{submission.pk}" in card
    assert "Sent to test" in html
