"""Sign-in throttling: too many wrong passwords lock the account from that address, and too many from one address
lock the address; the lockout is a page in the user's language, is audited, ends after the cool-off, and an
administrator can lift it."""

import datetime

import pytest
from axes.models import AccessAttempt
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from onboarding.models import AuditAction
from onboarding.services.audit import audit_chain_verify
from tests.audit import events_since, last_seq
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-test-password"
WRONG = "wrong-Guess-123"


def sign_in(client, username, password, ip="127.0.0.1", **extra):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip, **extra)


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def fail(client, username, times, ip="127.0.0.1", **extra):
    return [sign_in(client, username, WRONG, ip, **extra) for _ in range(times)]


def test_forty_wrong_passwords_then_the_right_one_is_refused(client, capturista):
    fail(client, "capturista", 40)
    response = sign_in(client, "capturista", PASSWORD)
    assert response.status_code == 429
    assert not signed_in(client)


def test_the_fifth_failure_locks_and_the_fourth_does_not(client, capturista):
    responses = fail(client, "capturista", 5)
    assert [r.status_code for r in responses] == [200, 200, 200, 200, 429]
    assert sign_in(client, "capturista", PASSWORD).status_code == 429


def test_four_failures_then_the_right_password_signs_in(client, capturista):
    fail(client, "capturista", 4)
    assert sign_in(client, "capturista", PASSWORD).status_code == 302
    assert signed_in(client)


def test_the_lockout_page_explains_in_spanish_and_in_english(client, capturista):
    [*_, spanish] = fail(client, "capturista", 5)
    page = spanish.content.decode()
    assert 'id="locked-out"' in page and 'class="topbar"' in page  # the site's layout, not a bare error page
    assert "Demasiados intentos fallidos" in page and "15 minutos" in page
    english = sign_in(client, "capturista", PASSWORD, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Too many failed sign-ins" in english and "15 minutes" in english


def test_a_locked_account_still_signs_in_from_another_address(client, capturista):
    fail(client, "capturista", 5, ip="203.0.113.5")
    assert sign_in(client, "capturista", PASSWORD, ip="198.51.100.7").status_code == 302


def test_an_address_trying_many_accounts_is_locked_at_its_own_limit(client, capturista, settings):
    for n in range(settings.LOGIN_ADDRESS_FAILURE_LIMIT - 1):
        assert sign_in(client, f"guess{n}", WRONG, ip="203.0.113.5").status_code == 200
    assert sign_in(client, "someone", WRONG, ip="203.0.113.5").status_code == 429
    assert sign_in(client, "capturista", PASSWORD, ip="203.0.113.5").status_code == 429
    assert sign_in(client, "capturista", PASSWORD, ip="198.51.100.7").status_code == 302


def test_the_lockout_ends_after_the_cool_off(client, capturista, settings):
    fail(client, "capturista", 5)
    earlier = timezone.now() - datetime.timedelta(minutes=settings.LOGIN_COOLOFF_MINUTES, seconds=1)
    AccessAttempt.objects.update(attempt_time=earlier)
    assert sign_in(client, "capturista", PASSWORD).status_code == 302


def test_trying_during_the_lockout_does_not_prolong_it(client, capturista, settings):
    fail(client, "capturista", 5)
    started = AccessAttempt.objects.get().attempt_time
    fail(client, "capturista", 10)
    attempt = AccessAttempt.objects.get()
    assert (attempt.attempt_time, attempt.failures_since_start) == (started, 5)


def test_the_lockout_is_audited_once_in_the_chain(client, capturista):
    before = last_seq()
    fail(client, "capturista", 5)
    sign_in(client, "capturista", PASSWORD)
    events = events_since(before)
    assert [e.action for e in events] == [AuditAction.LOGIN_FAILED] * 7
    attempts, lockout, refused = events[:5], events[5], events[6]
    assert all(e.changes == {"username": "capturista"} for e in attempts)
    assert lockout.changes == {"username": "capturista", "locked_out_minutes": 15}
    assert (lockout.target_type, lockout.target_id, lockout.ip_address) == ("user", str(capturista.pk), "127.0.0.1")
    assert refused.changes == {"username": "capturista", "locked_out": True}
    assert audit_chain_verify().ok


def test_the_reset_command_unlocks_an_account(client, capturista):
    fail(client, "capturista", 5)
    call_command("axes_reset_username", "capturista")
    assert sign_in(client, "capturista", PASSWORD).status_code == 302


def test_an_administrator_unlocks_from_the_admin(client, capturista):
    fail(client, "capturista", 5)
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    admin_client = type(client)()
    admin_client.force_login(admin)
    listing = admin_client.get(reverse("admin:axes_accessattempt_changelist"))
    assert "capturista" in listing.content.decode()
    attempt = AccessAttempt.objects.get()
    admin_client.post(
        reverse("admin:axes_accessattempt_changelist"),
        {"action": "delete_selected", "_selected_action": [attempt.pk], "post": "yes"},
    )
    assert sign_in(client, "capturista", PASSWORD).status_code == 302


def test_the_admin_sign_in_is_throttled_too(client, admin_user):
    for _ in range(5):
        client.post(reverse("admin:login"), {"username": "admin", "password": WRONG}, REMOTE_ADDR="127.0.0.1")
    response = client.post(reverse("admin:login"), {"username": "admin", "password": PASSWORD})
    assert response.status_code == 429 and not signed_in(client)


class TestBehindAProxy:
    @pytest.fixture(autouse=True)
    def one_proxy(self, settings):
        settings.TRUSTED_PROXY_COUNT = 1

    def test_the_lockout_follows_the_forwarded_address_not_the_proxys(self, client, capturista):
        fail(client, "capturista", 5, ip="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.5")
        other = sign_in(client, "capturista", PASSWORD, ip="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.7")
        assert other.status_code == 302

    def test_a_forged_entry_before_the_proxys_does_not_escape_the_lockout(self, client, capturista):
        fail(client, "capturista", 5, ip="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.5")
        forged = sign_in(client, "capturista", PASSWORD, ip="10.0.0.2", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.5")
        assert forged.status_code == 429

    def test_the_audit_trail_records_the_forwarded_address(self, client, capturista):
        before = last_seq()
        sign_in(client, "capturista", PASSWORD, ip="10.0.0.2", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.5")
        [event] = events_since(before)
        assert event.ip_address == "203.0.113.5"

    def test_a_forwarded_value_that_is_no_address_falls_back_to_the_peer(self, client, capturista):
        response = fail(client, "capturista", 1, ip="10.0.0.2", HTTP_X_FORWARDED_FOR="not-an-address")[0]
        assert response.status_code == 200
        assert AccessAttempt.objects.get().ip_address == "10.0.0.2"
