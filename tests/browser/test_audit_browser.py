"""An auditor reads the audit log in the browser: filters without a page reload, opens the chain status."""

import pytest
from playwright.sync_api import expect

from onboarding.models import AuditAction
from onboarding.services.records import record_update
from tests.factories import ClientRecordFactory
from tests.fixtures_browser import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_auditor_filters_the_log(page, sign_in, auditor, oficial):
    record = ClientRecordFactory()
    record_update(actor=oficial, record_id=record.pk, version=1, data={"name": "Renombrada"})
    sign_in(auditor)
    page.goto("/audit/")
    assert page.get_by_text("Renombrada").first.is_visible()  # the change, old → new
    page.select_option("select[name=action]", AuditAction.RECORD_UPDATED.value)
    # The table is swapped in by htmx: wait for it through locators (a string predicate would need eval,
    # which the page's Content Security Policy rightly refuses).
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(page.locator("tbody")).not_to_contain_text("auditor")
    screenshot(page, "audit-log")
