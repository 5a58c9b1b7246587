"""The record beside the review queue: opened from a row without leaving the queue, walked with j/k, closed with Esc;
the address says which record is open (reload, Back, Forward); side by side at 1280×800, a full-screen sheet on a
phone. And the keyboard details an officer relies on all day: focus lands in the form that appears, a refused key
says why, the current row survives leaving the page, typed text is not thrown away by a stray Esc."""

import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect

from onboarding.models import ClientRecord, RecordStatus
from onboarding.services.records import record_update
from tests.browser import test_review_queue_browser as queue_page
from tests.fixtures_browser import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
DESKTOP, PHONE, horizontal_overflow = queue_page.DESKTOP, queue_page.PHONE, queue_page.horizontal_overflow
open_queue = queue_page.open_queue  # the officer's tab on /review/ over 50 realistic records
DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def newest(status=RecordStatus.IN_REVIEW, errors=None):
    """The newest record in `status` with errors (True) or without any problem (False): the first rows of the queue."""
    for record in ClientRecord.objects.filter(status=status).order_by("-pk"):
        has = any(p["severity"] == "error" for p in record.problems)
        if errors is None or (has if errors else not record.problems):
            return record
    raise AssertionError("no such record in the queue data")


def panel_of(page, record):
    panel = page.locator(f"#record-panel[data-record='{record.pk}']")
    expect(panel).to_be_visible()
    return panel


def inside_viewport(page, locator) -> bool:
    box, size = locator.bounding_box(), page.viewport_size
    return box is not None and box["x"] >= 0 and box["x"] + box["width"] <= size["width"] + 0.5


@pytest.mark.parametrize("locale", ["en-US", "es-MX"])
def test_a_record_opens_beside_the_queue_and_the_address_follows(open_queue, locale):
    page = open_queue(DESKTOP, locale)
    record = newest(errors=True)
    row = page.locator(f"#record-{record.pk}")
    row.locator("[data-key=view]").click()
    panel = panel_of(page, record)
    assert page.url.endswith(f"/review/?open={record.pk}")
    # The record: its problems, fields, history and the decisions, beside rows that still show name and problems.
    expect(panel.locator("#panel-title")).to_have_text(record.display_name)
    expect(panel.locator(".problems")).to_contain_text(record.curp or record.rfc)
    expect(panel.locator("#history .timeline li").first).to_be_visible()
    expect(panel.locator("#review-actions button.btn-primary")).to_be_disabled()  # it has an error
    expect(panel.locator("#review-why-approve")).to_be_visible()
    assert horizontal_overflow(page) <= 0
    assert inside_viewport(page, panel)
    for column in ("name", "rfc", "status", "problems", "actions"):
        assert inside_viewport(page, row.locator(f".col-{column}")), column
        expect(row.locator(f".col-{column}")).to_be_visible()
    expect(row).to_have_attribute("aria-current", "true")
    name = "record-beside-queue" if locale == "en-US" else "record-beside-queue-es"
    shot = screenshot(page, f"{name}-1280", full_page=False)
    if locale == "en-US":
        DOCS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, DOCS / "record-beside-queue.png")
    # Reload draws the same page; Back closes the record, Forward opens it again, the queue never leaves.
    page.reload()
    panel_of(page, record)
    page.go_back()
    expect(page.locator("#record-panel")).to_be_hidden()
    assert "open=" not in page.url
    page.go_forward()
    panel_of(page, record)
    assert page.url.endswith(f"open={record.pk}")
    # Filtering and sorting keep the record open, and say so once in the address.
    page.click("#review-filters summary")
    with page.expect_response(lambda r: "/review/?" in r.url and "status=in_review" in r.url):
        page.select_option("#id_status", "in_review")
    page.wait_for_url(lambda url: "status=in_review" in url)
    assert page.url.count("open=") == 1 and f"open={record.pk}" in page.url
    page.locator("thead th.col-rfc a").first.click()
    page.wait_for_url(lambda url: "sort=" in url)
    assert page.url.count("open=") == 1 and f"open={record.pk}" in page.url
    panel_of(page, record)


def test_enter_opens_j_and_k_walk_the_rows_and_the_record_and_esc_closes(open_queue):
    page = open_queue(DESKTOP, "en-US")
    rows = page.locator("tr.review-row")
    first, second = rows.nth(0), rows.nth(1)
    page.locator("[data-skip-records]").focus()
    page.keyboard.press("Enter")
    expect(first).to_be_focused()
    page.keyboard.press("Enter")
    one = ClientRecord.objects.get(pk=first.get_attribute("data-record"))
    two = ClientRecord.objects.get(pk=second.get_attribute("data-record"))
    panel_of(page, one)
    expect(first).to_be_focused()  # the keys keep working on the rows
    page.keyboard.press("j")
    expect(second).to_be_focused()
    panel_of(page, two)
    page.wait_for_url(f"**/review/?open={two.pk}")
    page.keyboard.press("k")
    panel_of(page, one)
    page.wait_for_url(f"**/review/?open={one.pk}")
    # The walk is one history entry: Back leaves the panel closed, not on the previous row.
    page.keyboard.press("Escape")
    expect(page.locator("#record-panel")).to_be_hidden()
    expect(first).to_be_focused()
    assert "open=" not in page.url
    expect(page.locator("#review-live")).to_contain_text("Record closed")
    # A click on the row (away from its links) opens it too; the close button closes it.
    second.locator(".col-status").click()
    panel_of(page, two)
    page.locator("[data-panel-close]").click()
    expect(page.locator("#record-panel")).to_be_hidden()


def test_keys_on_the_open_row_act_beside_the_queue_too(open_queue):
    page = open_queue(DESKTOP, "en-US")
    clean, blocked = newest(errors=False), newest(errors=True)
    page.goto(f"/review/?open={clean.pk}")
    panel = panel_of(page, clean)
    expect(page.locator(f"#record-{clean.pk}")).to_be_focused()  # the open row is the current one
    page.keyboard.press("a")
    expect(page.locator(f"#record-{clean.pk} .col-status .badge")).to_have_text("Approved")
    expect(panel.locator(".panel-title .badge")).to_have_text("Approved")  # the panel follows the row
    # r on the open row: the reason form opens in the panel, not under the row.
    page.locator(f"#record-{blocked.pk} .col-status").click()
    panel = panel_of(page, blocked)
    page.keyboard.press("r")
    expect(panel.locator("#panel-action select[name=reason]")).to_be_focused()
    expect(page.locator(f"#action-{blocked.pk}")).to_have_count(0)
    page.keyboard.press("Escape")
    expect(panel.locator("#panel-action .action-form")).to_have_count(0)
    expect(panel).to_be_visible()  # Esc cancelled the form; a second Esc closes the record
    page.keyboard.press("Escape")
    expect(page.locator("#record-panel")).to_be_hidden()


@pytest.mark.parametrize("locale", ["es-MX", "en-US"])
def test_on_a_phone_the_record_is_a_full_screen_sheet_with_a_way_back(open_queue, locale):
    page = open_queue(PHONE, locale)
    record = newest(errors=True)
    card = page.locator(f"#record-{record.pk}")
    card.locator("[data-key=view]").click()
    panel = panel_of(page, record)
    box = panel.bounding_box()
    assert box["x"] == 0 and box["y"] == 0 and box["width"] == PHONE["width"] and box["height"] >= PHONE["height"] - 1
    assert horizontal_overflow(page) <= 0
    back = panel.locator("[data-panel-close]")
    expect(back).to_be_visible()
    expect(back.locator(".panel-close-narrow")).to_be_visible()
    expect(back.locator(".panel-close-wide")).to_be_hidden()
    way_back = "Volver a la cola" if locale == "es-MX" else "Back to the queue"
    expect(back.locator(".panel-close-narrow")).to_contain_text(way_back)
    expect(panel.locator("#review-actions")).to_be_visible()
    screenshot(page, f"record-sheet-{locale}-390", full_page=False)
    panel.locator(".problems").scroll_into_view_if_needed()
    expect(back).to_be_in_viewport()  # the way back stays at the top while the record scrolls
    back.click()
    expect(page.locator("#record-panel")).to_be_hidden()
    expect(card).to_be_in_viewport()


def test_rejecting_beside_the_queue_puts_the_focus_in_the_reason_and_updates_the_row(open_queue):
    page = open_queue(DESKTOP, "en-US")
    record = newest(errors=True)
    page.goto(f"/review/?open={record.pk}")
    panel = panel_of(page, record)
    panel.locator("[data-panel-key=reject]").click()
    reason = panel.locator("#panel-action select[name=reason]")
    expect(reason).to_be_focused()
    panel.locator("#panel-action button[type=submit]").click()  # no reason, no comment: refused in place
    expect(panel.locator("#panel-action .action-form")).to_be_visible()
    expect(reason).to_be_focused()
    reason.select_option(index=1)
    panel.locator("#panel-action textarea").fill("Wrong CURP on the file; ask the branch again.")
    panel.locator("#panel-action button[type=submit]").click()
    expect(panel_of(page, record).locator(".panel-done")).to_have_text("Record rejected.")
    expect(page.locator(f"#record-{record.pk} .col-status .badge")).to_have_text("Rejected")
    assert ClientRecord.objects.get(pk=record.pk).status == RecordStatus.REJECTED


def test_a_stale_approval_beside_the_queue_focuses_the_error_summary(open_queue, oficial2):
    page = open_queue(DESKTOP, "en-US")
    record = newest(errors=False)
    page.goto(f"/review/?open={record.pk}")
    panel = panel_of(page, record)
    record_update(actor=oficial2, record_id=record.pk, version=record.version, data={"external_id": "SUC99-1"})
    panel.locator("#review-actions button.btn-primary").click()
    summary = page.locator("#record-panel .panel-errors")
    expect(summary).to_be_visible()
    expect(summary).to_be_focused()
    assert ClientRecord.objects.get(pk=record.pk).status == RecordStatus.IN_REVIEW


def test_the_reason_form_of_a_row_takes_the_focus_and_esc_asks_before_discarding(open_queue):
    page = open_queue(DESKTOP, "en-US")
    record = newest(errors=True)
    row = page.locator(f"#record-{record.pk}")
    row.locator(".col-status").click()
    page.locator("[data-panel-close]").click()
    expect(row).to_be_focused()
    page.keyboard.press("s")
    comment = page.locator(f"#action-{record.pk} textarea")
    expect(comment).to_be_focused()
    comment.type("Call the client")
    asked = []
    page.once("dialog", lambda d: (asked.append(d.message), d.dismiss()))
    page.keyboard.press("Escape")
    assert asked == ["Discard what you typed?"]
    expect(comment).to_have_value("Call the client")  # kept: the officer said no
    page.once("dialog", lambda d: (asked.append(d.message), d.accept()))
    page.keyboard.press("Escape")
    expect(page.locator(f"#action-{record.pk}")).to_have_count(0)
    assert len(asked) == 2
    # Nothing typed: Esc closes at once.
    page.keyboard.press("r")
    expect(page.locator(f"#action-{record.pk} select[name=reason]")).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.locator(f"#action-{record.pk}")).to_have_count(0)


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_a_refused_key_says_why_next_to_the_row_and_to_screen_readers(open_queue, size):
    page = open_queue(DESKTOP if size == "desktop" else PHONE, "en-US")
    blocked, approved = newest(errors=True), newest(status=RecordStatus.APPROVED)
    live, toast = page.locator("#review-live"), page.locator("#review-toast")
    page.locator(f"#record-{blocked.pk}").focus()
    page.keyboard.press("a")
    expect(toast).to_be_visible()
    expect(toast).to_contain_text("The record has 1 error")
    expect(live).to_contain_text("The record has 1 error")
    assert inside_viewport(page, toast)
    expect(page.locator(f"#record-{blocked.pk} .col-problems .error")).to_have_count(0)  # nothing was sent
    row_box = page.locator(f"#record-{blocked.pk}").bounding_box()
    toast_box = toast.bounding_box()
    assert abs(toast_box["y"] - (row_box["y"] + row_box["height"])) < 80 or toast_box["y"] < row_box["y"]
    # The same refusal again: the region is emptied and filled again, so it is read again.
    page.evaluate(
        "window.liveTexts = []; const live = document.getElementById('review-live');"
        "new MutationObserver(() => window.liveTexts.push(live.textContent))"
        ".observe(live, {childList: true, characterData: true, subtree: true})"
    )
    page.keyboard.press("a")
    expect(live).to_contain_text("The record has 1 error")
    texts = page.evaluate("window.liveTexts")
    assert texts[0] == "" and "1 error" in texts[-1], texts
    # Another record, another reason: never the old words.
    page.locator(f"#record-{approved.pk}").focus()
    page.keyboard.press("a")
    expect(live).to_contain_text("This record cannot be approved (Approved).")
    expect(toast).to_contain_text("This record cannot be approved (Approved).")
    screenshot(page, f"refused-key-{size}", full_page=False)


def test_the_current_row_survives_opening_the_full_page_and_coming_back(open_queue):
    page = open_queue(DESKTOP, "en-US")
    rows = page.locator("tr.review-row")
    rows.nth(0).focus()
    for _ in range(4):
        page.keyboard.press("j")
    fifth = rows.nth(4)
    expect(fifth).to_be_focused()
    pk = fifth.get_attribute("data-record")
    page.keyboard.press("o")
    page.wait_for_url(f"**/records/{pk}/")
    page.go_back()
    page.wait_for_url("**/review/")
    expect(page.locator(f"#record-{pk}")).to_be_focused()
    assert "current" in page.locator(f"#record-{pk}").get_attribute("class")
    page.keyboard.press("j")
    expect(rows.nth(5)).to_be_focused()


@pytest.mark.parametrize("locale", ["es-MX", "en-US"])
def test_cell_links_and_the_language_switch_say_what_they_do(open_queue, locale):
    page = open_queue(DESKTOP, locale)
    record = newest(errors=False)
    row = page.locator(f"#record-{record.pk}")
    edit = "Editar" if locale == "es-MX" else "Edit"
    expect(row.get_by_role("link", name=f"{edit} RFC: {record.rfc}")).to_be_visible()
    expect(row.get_by_role("link", name=f"{edit} CURP: {record.curp}")).to_be_visible()
    view = "Ver" if locale == "es-MX" else "Show"
    expect(row.get_by_role("link", name=view, exact=False).first).to_be_visible()
    expect(page.get_by_role("button", name="English (EN)")).to_be_visible()
    expect(page.get_by_role("button", name="Español (ES)")).to_be_visible()
