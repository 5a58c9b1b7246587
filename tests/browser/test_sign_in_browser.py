"""Five wrong passwords in the browser: the lockout page, in the site's layout, in Spanish and in English, on a
laptop and on a phone."""

import pytest

from tests.fixtures_browser import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
WORDING = {"es-MX": ("Inicio de sesión bloqueado", "15 minutos"), "en": ("Sign-in locked", "15 minutes")}


@pytest.mark.parametrize("viewport", VIEWPORTS)
@pytest.mark.parametrize("locale", WORDING)
def test_five_wrong_passwords_show_the_lockout_page(browser, live_server, capturista, locale, viewport):
    context = browser.new_context(base_url=live_server.url, locale=locale, viewport=VIEWPORTS[viewport])
    page = context.new_page()
    page.set_default_timeout(10_000)
    for _ in range(5):
        page.goto("/accounts/login/")
        page.fill("#id_username", "capturista")
        page.fill("#id_password", "wrong-Guess-123")
        page.click("button[type=submit]:not(.linklike)")
    title, minutes = WORDING[locale]
    assert page.locator("#locked-out h1").inner_text() == title
    assert minutes in page.locator("#locked-out [role=alert]").inner_text()
    # Nothing spills sideways on a phone.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(page, f"lockout-{locale}-{viewport}")
    page.click("#locked-out a.btn")
    assert "/accounts/login/" in page.url
    context.close()
