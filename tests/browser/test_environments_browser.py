"""Test, then live, as an officer sees it: the environment badges in the queue and Artu's answer on the record page,
on a desktop screen and a phone, without horizontal scrolling (issue 14)."""

import pytest

from onboarding.models import RecordStatus
from onboarding.services.submissions import submission_run, submission_start
from tests.factories import ClientRecordFactory
from tests.fixtures_browser import screenshot

pytestmark = pytest.mark.django_db(transaction=True)

SCREENS = {"desktop": (1280, 800), "phone": (390, 844)}


@pytest.fixture
def sent(artu, oficial_live):
    """Three records sent to test, one of them then to live, through the sandbox."""
    records = [
        ClientRecordFactory(status=RecordStatus.APPROVED, av_veh=True, nationalities="MX,US"),
        ClientRecordFactory(status=RecordStatus.APPROVED),
        ClientRecordFactory(status=RecordStatus.APPROVED),
    ]
    submission_run(submission_start(actor=oficial_live, environment="test", enqueue=False).pk, concurrency=1)
    for record in records[1:]:
        record.refresh_from_db()
    live = submission_start(
        actor=oficial_live, environment="live", confirmation="LIVE", enqueue=False, scope=_only(records[0])
    )
    submission_run(live.pk, concurrency=1)
    return records


def _only(record):
    from onboarding.services.submissions import Scope

    return Scope(record_ids=(record.pk,))


def no_horizontal_scroll(page):
    return page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")


@pytest.mark.parametrize("screen", SCREENS)
def test_queue_and_record_page_show_where_artu_holds_each_record(page, sign_in, oficial, sent, screen):
    page.set_viewport_size(dict(zip(("width", "height"), SCREENS[screen], strict=True)))
    sign_in(oficial)
    page.goto("/review/")
    both = page.locator(f"#record-{sent[0].pk}")
    assert both.locator(".env-test").inner_text() == "Artu: pruebas"
    assert both.locator(".env-live").inner_text() == "Artu: producción"
    assert page.locator(f"#record-{sent[1].pk} .env-badge").all_inner_texts() == ["Artu: pruebas"]
    screenshot(page, f"environments-queue-{screen}", full_page=False)

    page.goto(f"/records/{sent[0].pk}/")
    assert page.locator("#artu-test h3").inner_text() == "Ambiente: Pruebas"
    assert page.locator("#artu-live h3").inner_text() == "Ambiente: Producción"
    assert page.locator("#artu-live .artu-tags").inner_text().count("Actividad vulnerable") == 1
    assert no_horizontal_scroll(page)
    assert page.locator("#record-environments .env-badge").all_inner_texts() == ["Artu: pruebas", "Artu: producción"]
    screenshot(page, f"environments-record-head-{screen}", full_page=False)
    page.locator("#artu").scroll_into_view_if_needed()
    screenshot(page, f"environments-record-{screen}", full_page=False)
    screenshot(page, f"environments-record-{screen}-full")


def test_record_page_in_english(page, sign_in, oficial, sent):
    page.set_viewport_size({"width": 1280, "height": 800})
    sign_in(oficial)
    page.context.add_cookies([{"name": "django_language", "value": "en", "url": page.url}])
    page.goto(f"/records/{sent[0].pk}/")
    assert page.locator("#artu-test h3").inner_text() == "Test environment"
    assert "Waiting for the file" in page.locator("#artu-test .artu-documents").inner_text()
    page.locator("#artu").scroll_into_view_if_needed()
    screenshot(page, "environments-record-desktop-en", full_page=False)
