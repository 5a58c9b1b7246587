"""An officer compares two possible duplicates in Chromium, on a laptop and on a phone, in Spanish and English, and
keeps one."""

import pytest
from playwright.sync_api import expect

from onboarding.models import ClientRecord, RecordStatus
from onboarding.services.records import record_create
from tests.fixtures_browser import screenshot
from tests.review.test_duplicates import person_data

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZES = {"laptop": (1280, 800), "phone": (390, 844)}
WIDER_THAN_THE_SCREEN = """[...document.querySelectorAll('main *')]
    .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
    .map(e => e.tagName + '.' + e.className).slice(0, 5)"""
WORDS = {"es": ("Distinto", "Compartido", "Conservar"), "en": ("Different", "Shared", "Keep")}


@pytest.mark.parametrize("size", SIZES)
def test_officer_compares_a_pair_in_both_languages_and_keeps_one(page, sign_in, live_server, oficial, capturista, size):
    width, height = SIZES[size]
    page.set_viewport_size({"width": width, "height": height})
    errors = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    first = record_create(actor=capturista, data=person_data(external_id="SUC-0001"))
    second = record_create(
        actor=capturista, data=person_data(external_id="SUC-0417", name="Jorge Alberto", nationalities="MX,US")
    )
    sign_in(oficial)

    # Reached from the record page's badge.
    page.goto(f"/records/{first.pk}/")
    screenshot(page, f"duplicates-{size}-record-badge")
    page.click("#record-duplicates a")
    page.wait_for_url(f"**/review/duplicates/{first.pk}/{second.pk}/")

    for language in ("es", "en"):
        page.context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
        page.reload()
        different, shared, keep = WORDS[language]
        # Every difference is said in words in its row (what a screen reader reads), not only by its colour.
        for field in ("external_id", "name", "nationalities"):
            expect(page.locator(f"#dup-row-{field}").get_by_role("cell", name=different, exact=True)).to_be_visible()
        for field in ("rfc", "curp"):
            expect(page.locator(f"#dup-row-{field}").get_by_role("cell", name=shared, exact=True)).to_be_visible()
        expect(page.locator("#dup-row-birth_date.dup-same")).to_have_count(1)
        screenshot(page, f"duplicates-{size}-{language}")
        wide = page.evaluate(WIDER_THAN_THE_SCREEN)
        assert not wide, f"the page scrolls sideways: {wide}"
        expect(page.get_by_role("button", name=f"{keep} #{first.pk}")).to_be_visible()

    page.fill("#id_comment", "Misma persona, capturada dos veces.")
    page.get_by_role("button", name=f"Keep #{first.pk}").click()
    expect(page.locator(".flash-success")).to_contain_text(f"#{second.pk}")
    assert ClientRecord.objects.get(pk=second.pk).status == RecordStatus.REJECTED
    kept = ClientRecord.objects.get(pk=first.pk)
    assert kept.duplicate_of_id is None and kept.error_count == 0
    screenshot(page, f"duplicates-{size}-settled")
    assert not [e for e in errors if "Content Security Policy" in e or "Refused" in e]
