"""Every response names its request (X-Request-ID, the proxy's when sane); idle sessions end."""

import pytest
from django.urls import reverse

from onboarding import middleware
from onboarding.models import AuditAction, AuditEvent

pytestmark = pytest.mark.django_db


def test_a_sane_request_id_from_the_proxy_is_kept_and_echoed(client):
    response = client.get(reverse("healthz"), headers={"X-Request-ID": "0f8fad5bd9cb469fa16570867728950e"})
    assert response["X-Request-ID"] == "0f8fad5bd9cb469fa16570867728950e"


@pytest.mark.parametrize("given", ["", "abc", "x" * 65, "id with spaces", '"><script>', "-leading-dash", "ñandú-1234"])
def test_an_absent_or_odd_request_id_is_replaced_by_a_fresh_one(client, given):
    response = client.get(reverse("healthz"), headers={"X-Request-ID": given})
    assert response["X-Request-ID"] != given
    assert len(response["X-Request-ID"]) == 32 and response["X-Request-ID"].isalnum()


def test_two_requests_without_an_id_get_different_ones(client):
    assert client.get(reverse("healthz"))["X-Request-ID"] != client.get(reverse("healthz"))["X-Request-ID"]


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def time(self) -> float:
        return self.now

    def advance(self, minutes: float) -> None:
        self.now += minutes * 60


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(middleware, "time", clock)
    return clock


def test_a_session_idle_longer_than_the_setting_ends_and_the_sign_out_is_audited(
    client_as, capturista, settings, clock
):
    settings.SESSION_IDLE_MINUTES = 30
    client = client_as(capturista)
    assert client.get(reverse("home")).status_code == 200
    for _ in range(3):  # in use: every request counts as activity, well past 30 minutes in all
        clock.advance(29)
        assert client.get(reverse("home")).status_code == 200
    clock.advance(31)
    response = client.get(reverse("home"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert AuditEvent.objects.filter(action=AuditAction.LOGOUT, actor=capturista).count() == 1
    assert client.get(reverse("home")).status_code == 302  # signed out for good, not for one request


def test_the_idle_limit_comes_from_the_setting(client_as, capturista, settings, clock):
    settings.SESSION_IDLE_MINUTES = 5
    client = client_as(capturista)
    assert client.get(reverse("home")).status_code == 200
    clock.advance(6)
    assert client.get(reverse("home")).status_code == 302


def test_activity_is_written_to_the_session_at_most_once_a_minute(client_as, capturista, clock):
    client = client_as(capturista)
    client.get(reverse("home"))
    first = client.session[middleware.SESSION_LAST_SEEN_KEY]
    clock.advance(0.5)
    client.get(reverse("home"))
    assert client.session[middleware.SESSION_LAST_SEEN_KEY] == first
    clock.advance(0.6)
    client.get(reverse("home"))
    assert client.session[middleware.SESSION_LAST_SEEN_KEY] == first + 66
