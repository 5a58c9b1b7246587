"""An officer works the queue with the keyboard in Chromium: move, edit a cell in place, approve, reject."""

import pytest
from playwright.sync_api import expect

from onboarding.models import AuditAction, AuditEvent, ClientRecord, RecordStatus
from tests.factories import ClientRecordFactory
from tests.fixtures_browser import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_officer_edits_approves_and_rejects_from_the_keyboard(page, sign_in, oficial, capturista):
    older = ClientRecordFactory(created_by=capturista, name="Beatriz", external_id="KB-2")
    newer = ClientRecordFactory(created_by=capturista, name="Alma", external_id="KB-1")
    errors = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    sign_in(oficial)
    page.goto("/review/")
    assert page.locator("#review-keys").is_visible()
    in_review = page.locator("#review-counts .tab-in_review .count")
    assert in_review.inner_text() == "2"

    page.keyboard.press("j")  # first row: the newest record
    assert page.locator(f"#record-{newer.pk}.current").count() == 1
    page.keyboard.press("e")  # edits the first editable cell: the name
    field = page.locator(f"#cell-{newer.pk}-name input[name=value]")
    field.fill("Alma Delia")
    field.press("Enter")
    page.wait_for_selector(f"#cell-{newer.pk}-name a:has-text('Alma Delia')")
    newer.refresh_from_db()
    assert newer.name == "Alma Delia" and newer.version == 2 and newer.updated_by == oficial

    # Now the officer is the last editor: approving is refused in the row, with the reason.
    page.keyboard.press("a")
    assert page.locator(f"#why-{newer.pk}").is_visible()
    newer.refresh_from_db()
    assert newer.status == RecordStatus.IN_REVIEW

    page.keyboard.press("j")
    assert page.locator(f"#record-{older.pk}.current").count() == 1
    page.keyboard.press("a")
    page.wait_for_selector(f"#record-{older.pk} .status-approved")
    expect(page.locator("#review-counts .tab-in_review .count")).to_have_text("1")  # the counts refreshed

    page.keyboard.press("k")
    page.keyboard.press("r")
    page.select_option(f"#action-{newer.pk} select[name=reason]", "test_data")
    page.fill(f"#action-{newer.pk} textarea[name=comment]", "Registro de prueba")
    page.click(f"#action-{newer.pk} button[type=submit]")
    page.wait_for_selector(f"#record-{newer.pk} .status-rejected")
    assert page.locator(f"#action-{newer.pk}").count() == 0
    screenshot(page, "review-queue")

    assert ClientRecord.objects.get(pk=older.pk).status == RecordStatus.APPROVED
    assert ClientRecord.objects.get(pk=newer.pk).status == RecordStatus.REJECTED
    assert AuditEvent.objects.filter(action=AuditAction.RECORD_APPROVED, record=older, actor=oficial).count() == 1
    assert not [e for e in errors if "Content Security Policy" in e or "Refused" in e]


def test_select_all_matching_the_filter_then_confirm_the_count(page, sign_in, oficial, capturista):
    for i in range(3):
        ClientRecordFactory(created_by=capturista, external_id=f"LOTE-{i}")
    ClientRecordFactory(created_by=capturista, external_id="OTRO-1")
    sign_in(oficial)
    page.goto("/review/?q=LOTE-&per_page=25")
    page.check("[data-select-page]")
    assert page.locator("[data-selected-count]").inner_text() == "3"
    page.check("[data-scope-filter]")
    page.select_option("#bulk-action", "send_back")
    page.fill("#bulk-comment", "Falta comprobante de domicilio")
    page.click("#bulk-form button[type=submit]")
    assert "3" in page.locator("#confirm-count").inner_text()
    page.click(".confirm-form button[type=submit]")
    page.wait_for_url("**/review/?*")
    assert ClientRecord.objects.filter(status=RecordStatus.DRAFT).count() == 3
