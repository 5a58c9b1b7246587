"""A data-entry user signs in, fills the record form in the browser and sees errors without losing input."""

import datetime

import pytest

from onboarding.models import ClientRecord
from tests.factories import person_identifiers
from tests.fixtures_browser import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_login_page_in_spanish_then_english(page, roles):
    page.goto("/")
    assert "/accounts/login/" in page.url
    assert page.locator("h1").inner_text() == "Iniciar sesión"
    screenshot(page, "login-es")
    page.click("button[value=en]")
    assert page.locator("h1").inner_text() == "Sign in"


def test_data_entry_stages_a_record_and_fixes_an_error(page, sign_in, capturista):
    sign_in(capturista)
    page.goto("/records/new/")
    assert not page.locator("#field-avi_username").is_visible()  # shown only when AVI is ticked
    page.check("input[name=av_avi]")
    assert page.locator("#field-avi_username").is_visible()
    birth = datetime.date(1990, 7, 1)
    rfc, curp = person_identifiers("ANA", "PEREZ", "LOPEZ", birth, sex="M")
    page.check("input[name=client_type][value=individual]")
    page.fill("#id_name", "Ana Sofía")
    page.fill("#id_apellido_paterno", "Pérez")
    page.fill("#id_apellido_materno", "López")
    page.fill("#id_birth_date", "1990-07-01")
    page.fill("#id_nationalities", "mx")
    page.fill("#id_rfc", rfc[:-1] + ("1" if rfc[-1] != "1" else "2"))  # wrong check digit
    page.fill("#id_curp", curp)
    page.fill("#id_avi_username", "ana.crypto")
    page.click(".sticky-actions button[type=submit]")
    assert page.locator("#field-rfc .error").is_visible()
    assert page.input_value("#id_name") == "Ana Sofía"  # nothing typed was lost
    screenshot(page, "record-form-error")
    page.fill("#id_rfc", rfc)
    page.click(".sticky-actions button[type=submit]")
    page.wait_for_url("**/records/*/")
    record = ClientRecord.objects.get()
    assert record.rfc == rfc and record.av_avi and record.avi_username == "ana.crypto"
    screenshot(page, "record-detail")
