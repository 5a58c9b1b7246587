"""The review queue fits the screen an officer works on all day: every column at 1280×800 without scrolling
sideways, the problems spelled out in the row, cards on a phone, one Tab stop for the whole table."""

import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect

from onboarding.models import ClientRecord, ReviewQueueColumns
from tests.fixtures_browser import screenshot
from tests.review.queue_data import realistic_records

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
DOCS_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "queue.png"
DESKTOP, PHONE = {"width": 1280, "height": 800}, {"width": 390, "height": 844}
# The columns the new user could not see at 1280 px, by their header's class.
LISTED_COLUMNS = ("name", "client_type", "rfc", "curp", "external_id", "birth_date", "status", "problems", "actions")


@pytest.fixture
def open_queue(browser, live_server, oficial, capturista):
    """`open_queue(viewport, locale)`: an officer's tab on /review/ over 50 realistic records staged by data entry."""
    realistic_records(50, created_by=capturista)
    contexts = []

    def do(viewport=DESKTOP, locale="es-MX", path="/review/"):
        context = browser.new_context(base_url=live_server.url, locale=locale, viewport=viewport)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.goto("/accounts/login/")
        page.fill("#id_username", oficial.username)
        page.fill("#id_password", "a-long-test-password")
        page.click("button[type=submit]:not(.linklike)")
        page.wait_for_url(lambda url: "/login/" not in url)
        page.goto(path)
        return page

    yield do
    for context in contexts:
        context.close()


def horizontal_overflow(page) -> int:
    return page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth")


def box_inside_viewport(page, locator) -> bool:
    box = locator.bounding_box()
    width = page.viewport_size["width"]
    return box is not None and box["width"] > 0 and box["x"] >= 0 and box["x"] + box["width"] <= width


@pytest.mark.parametrize("locale", ["es-MX", "en-US"])
def test_every_column_fits_1280_without_scrolling_sideways(open_queue, locale):
    page = open_queue(DESKTOP, locale)
    assert page.locator("tr.review-row").count() == 50
    assert horizontal_overflow(page) <= 0
    first = page.locator("tr.review-row").first
    for column in LISTED_COLUMNS:
        assert box_inside_viewport(page, page.locator(f"thead th.col-{column}")), column
        assert box_inside_viewport(page, first.locator(f".col-{column}")), column
    # Every part of a long name is shown, wrapped inside its column.
    long_name = ClientRecord.objects.filter(last_name="Hernández de la Garza Villaseñor").first()
    name_cell = page.locator(f"#record-{long_name.pk} .col-name")
    expect(name_cell).to_contain_text("María Guadalupe Fernanda Hernández de la Garza Villaseñor")
    assert box_inside_viewport(page, name_cell)
    # The header row stays in view while the officer scrolls down the page.
    page.mouse.wheel(0, 1500)
    expect(page.locator("thead th.col-problems")).to_be_in_viewport()
    assert abs(page.locator("thead th.col-problems").bounding_box()["y"]) < 1
    page.evaluate("window.scrollTo(0, 0)")
    name = "queue" if locale == "en-US" else "queue-es"
    screenshot(page, f"{name}-1280", full_page=False)
    if locale == "en-US":
        DOCS_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(screenshot(page, "queue-1280-viewport", full_page=False), DOCS_SCREENSHOT)


def test_the_problems_are_spelled_out_in_the_row(open_queue):
    page = open_queue(DESKTOP, "en-US")
    records = ClientRecord.objects.order_by("-pk")
    wrong_digit = next(r for r in records if any(p["code"] == "rfc_checksum" for p in r.problems))
    row = page.locator(f"#record-{wrong_digit.pk}")
    problems = row.locator(".col-problems .problem-list")
    expect(problems).to_be_visible()
    expect(problems).to_contain_text("RFC")
    expect(problems).to_contain_text("has a wrong check digit")
    assert box_inside_viewport(page, problems)
    # Two lines at most while the row is not the current one.
    line = float(problems.evaluate("el => parseFloat(getComputedStyle(el).lineHeight)"))
    assert problems.bounding_box()["height"] <= 2 * line + 1


def test_a_hidden_column_stays_hidden_after_reload(open_queue, oficial):
    page = open_queue(DESKTOP, "en-US")
    assert page.locator("thead th.col-curp").is_visible()
    page.click("#review-columns summary")
    with page.expect_response(lambda r: r.url.endswith("/review/columns/") and r.status == 204):
        page.uncheck("#columns-form [data-column=curp]")
    assert not page.locator("thead th.col-curp").is_visible()
    page.keyboard.press("Escape")  # the chooser floats over the table: Esc (or a click elsewhere) folds it
    expect(page.locator("#columns-form")).to_be_hidden()
    page.reload()
    assert not page.locator("thead th.col-curp").is_visible()
    assert not page.locator("tr.review-row .col-curp").first.is_visible()
    assert page.locator("thead th.col-rfc").is_visible()
    assert "curp" in ReviewQueueColumns.objects.get(user=oficial).hidden


@pytest.mark.parametrize("locale", ["es-MX", "en-US"])
def test_on_a_phone_each_record_is_a_card_and_the_first_is_on_the_first_screen(open_queue, locale):
    page = open_queue(PHONE, locale)
    screenshot(page, f"queue-phone-{locale}", full_page=False)
    assert horizontal_overflow(page) <= 0
    card = page.locator("tr.review-row").first
    name = card.locator(".col-name")
    expect(name).to_be_visible()
    box = name.bounding_box()
    assert box["y"] + box["height"] <= PHONE["height"]
    for part in (".col-rfc", ".col-problems", "[data-key=approve], .row-menu summary"):
        assert box_inside_viewport(page, card.locator(part).first), part


def test_tab_reaches_the_first_row_and_arrows_move_between_rows(open_queue):
    page = open_queue(DESKTOP, "en-US")
    presses = 0
    while presses < 40 and not page.evaluate("document.activeElement.matches('tr.review-row')"):
        page.keyboard.press("Tab")
        presses += 1
    first, second = page.locator("tr.review-row").nth(0), page.locator("tr.review-row").nth(1)
    expect(first).to_be_focused()
    assert presses <= 28, presses  # 40 before: the other rows and their 14 controls each are out of the Tab order
    # From the row, Tab walks its own controls, never into the next row.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('tr.review-row').id") == first.get_attribute("id")
    page.keyboard.press("Shift+Tab")
    expect(first).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(second).to_be_focused()
    assert second.get_attribute("tabindex") == "0" and first.get_attribute("tabindex") == "-1"
    record = second.get_attribute("data-record")
    page.keyboard.press("Enter")  # the record beside the queue (tests/browser/test_record_panel_browser.py)
    expect(page.locator(f"#record-panel[data-record='{record}']")).to_be_visible()
    page.keyboard.press("o")  # the record's own page
    page.wait_for_url(f"**/records/{record}/")


def test_skip_link_puts_the_focus_on_the_first_row(open_queue):
    page = open_queue(DESKTOP, "es-MX")
    page.keyboard.press("Tab")
    expect(page.locator("[data-skip-records]")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("tr.review-row").first).to_be_focused()
    page.keyboard.press("j")
    expect(page.locator("tr.review-row").nth(1)).to_be_focused()
