"""Filters in Chromium: people and uploads picked from lists, a search without accents, and Back and Forward that
bring back the controls together with their results, on a desk screen and on a phone."""

import pytest
from playwright.sync_api import expect

from onboarding.models import RecordStatus, Upload, UploadStatus
from onboarding.services.records import record_update
from tests.factories import ClientRecordFactory
from tests.fixtures_browser import SCREENSHOTS, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SIZES = {"desk": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


def shows(page, *records) -> None:
    """The results are exactly these records."""
    expect(page.locator("#review-table tr.review-row")).to_have_count(len(records))
    for record in records:
        expect(page.locator(f"#record-{record.pk}")).to_have_count(1)


def open_filters(page):
    """The filters fold into a panel; open it as a user would before changing them."""
    page.locator("#review-filters").evaluate("panel => { panel.open = true; }")


@pytest.mark.parametrize("size", SIZES)
def test_back_and_forward_bring_back_the_filters_with_their_results(
    page, sign_in, oficial, capturista, capturista2, size
):
    page.set_viewport_size(SIZES[size])
    sofia = ClientRecordFactory(created_by=capturista, name="Sofía", last_name="Olvera Íñiguez")
    beto = ClientRecordFactory(created_by=capturista2, name="Beto", status=RecordStatus.APPROVED)
    ana = ClientRecordFactory(created_by=capturista, name="Ana", status=RecordStatus.APPROVED)
    errors = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    sign_in(oficial)
    page.goto("/review/")
    open_filters(page)
    shows(page, sofia, beto, ana)
    status, staged_by, search = page.locator("#id_status"), page.locator("#id_created_by"), page.locator("#id_q")

    page.select_option("#id_status", RecordStatus.APPROVED.value)  # htmx: the table only, the address pushed
    page.wait_for_url("**status=approved**")
    shows(page, beto, ana)
    page.select_option("#id_created_by", "capturista2")
    page.wait_for_url("**created_by=capturista2**")
    shows(page, beto)

    page.go_back()
    page.wait_for_url("**created_by=&**")
    expect(staged_by).to_have_value("")
    expect(status).to_have_value(RecordStatus.APPROVED.value)
    shows(page, beto, ana)
    page.go_back()
    page.wait_for_url("**/review/")
    expect(status).to_have_value("")
    expect(staged_by).to_have_value("")
    shows(page, sofia, beto, ana)

    page.go_forward()
    page.wait_for_url("**status=approved**")
    expect(status).to_have_value(RecordStatus.APPROVED.value)
    expect(staged_by).to_have_value("")
    shows(page, beto, ana)
    page.go_forward()
    page.wait_for_url("**created_by=capturista2**")
    expect(staged_by).to_have_value("capturista2")
    expect(status).to_have_value(RecordStatus.APPROVED.value)
    shows(page, beto)

    # After a filter was undone with Back, the next change starts from what the controls show.
    page.go_back()
    open_filters(page)
    page.wait_for_url("**created_by=&**")
    search.fill("sofia olvera")  # no accents, as people type on a phone
    page.select_option("#id_status", "")
    page.wait_for_url("**q=sofia%20olvera**")
    shows(page, sofia)
    expect(status).to_have_value("")
    assert not [e for e in errors if "Content Security Policy" in e or "Refused" in e]


def test_the_filters_and_the_audit_log_fit_both_sizes_in_both_languages(page, sign_in, auditor, capturista, oficial):
    upload = Upload.objects.create(
        file="uploads/sucursal_norte.csv",
        original_name="sucursal_norte_noviembre.csv",
        sha256="0" * 64,
        format="csv",
        created_by=capturista,
        status=UploadStatus.STAGED,
    )
    sofia = ClientRecordFactory(created_by=capturista, name="Sofía", last_name="Olvera Íñiguez", upload=upload)
    record_update(actor=oficial, record_id=sofia.pk, version=1, data={"middle_name": "Guadalupe"}, reason="INE")
    ClientRecordFactory(created_by=capturista, name="Óscar", last_name="Núñez")
    sign_in(auditor)
    for language in ("es", "en"):
        page.goto("/review/")
        open_filters(page)
        page.click(f".langswitch button[value^={language}]")
        page.wait_for_load_state()
        for size, viewport in SIZES.items():
            page.set_viewport_size(viewport)
            page.goto(f"/review/?upload={upload.pk}")
            open_filters(page)
            filters = page.locator("#review-filters form")
            expect(page.locator("#id_upload")).to_have_value(str(upload.pk))
            assert "sucursal_norte_noviembre.csv" in page.locator("#id_upload option:checked").inner_text()
            box = filters.bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"]
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            filters.screenshot(path=str(SCREENSHOTS / f"filters-{language}-{size}.png"))
            page.goto("/audit/?record=sofia+iniguez")
            expect(page.locator("#id_record")).to_have_value("sofia iniguez")
            expect(page.locator("#audit-table tbody tr")).to_have_count(1)  # her change, not Óscar's record
            expect(page.locator("#audit-table tbody")).to_contain_text("Guadalupe")
            box = page.locator("form[role=search]").bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"]
            screenshot(page, f"audit-log-{language}-{size}")


def test_back_past_what_htmx_kept_loads_the_whole_page_with_its_filters(page, sign_in, oficial, capturista):
    sofia = ClientRecordFactory(created_by=capturista, name="Sofía")
    beto = ClientRecordFactory(created_by=capturista, name="Beto", status=RecordStatus.APPROVED)
    sign_in(oficial)
    page.goto("/review/")
    open_filters(page)
    page.select_option("#id_status", RecordStatus.APPROVED.value)
    page.wait_for_url("**status=approved**")
    page.select_option("#id_status", RecordStatus.IN_REVIEW.value)
    page.wait_for_url("**status=in_review**")
    shows(page, sofia)
    page.evaluate("() => sessionStorage.removeItem('htmx-history-cache')")  # as after many steps, or a crash
    page.go_back()
    page.wait_for_url("**status=approved**")
    open_filters(page)
    shows(page, beto)
    expect(page.locator("#id_status")).to_have_value(RecordStatus.APPROVED.value)
    expect(page.locator("header.topbar")).to_have_count(1)  # the whole page, not the results alone
    expect(page.locator("#review-filters form")).to_have_count(1)


def test_a_filter_changed_after_sorting_by_a_column_keeps_that_sort(page, sign_in, oficial, capturista):
    beto = ClientRecordFactory(created_by=capturista, name="Beto")
    ana = ClientRecordFactory(created_by=capturista, name="Ana")
    ClientRecordFactory(created_by=capturista, name="Carla", status=RecordStatus.APPROVED)
    sign_in(oficial)
    page.goto("/review/")
    open_filters(page)
    page.click("#review-table th a[href*='sort=name']")  # htmx: the table only, the address pushed
    page.wait_for_url("**sort=name**")
    page.select_option("#id_status", RecordStatus.IN_REVIEW.value)
    page.wait_for_url("**status=in_review**")
    assert "sort=name" in page.url
    rows = page.locator("#review-table tr.review-row")
    expect(rows).to_have_count(2)
    assert [rows.nth(i).get_attribute("id") for i in range(2)] == [f"record-{ana.pk}", f"record-{beto.pk}"]
