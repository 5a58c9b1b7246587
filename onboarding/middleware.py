"""Carries who/where of the current request to the audit trail and the logs without threading it through calls;
ends sessions left idle."""

import contextvars
import ipaddress
import re
import time
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse


@dataclass(frozen=True, slots=True)
class RequestContext:
    ip_address: str | None = None
    user_agent: str = ""
    request_id: str = ""


_current: contextvars.ContextVar[RequestContext] = contextvars.ContextVar("request_context", default=RequestContext())  # noqa: B039 (a frozen dataclass)
_current_request: contextvars.ContextVar[HttpRequest | None] = contextvars.ContextVar("current_request", default=None)

# What nginx's $request_id, a UUID or another proxy's id looks like; anything else (spaces, quotes, very long
# values, text a client chose to smuggle into the logs and the audit trail) is replaced by an id of our own.
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{7,63}")


def current_request_context() -> RequestContext:
    return _current.get()


def current_request() -> HttpRequest | None:
    """The request this thread is serving, if any (for log records)."""
    return _current_request.get()


def set_request_context(ctx: RequestContext) -> contextvars.Token:
    return _current.set(ctx)


def reset_request_context(token: contextvars.Token) -> None:
    _current.reset(token)


def _client_ip(request: HttpRequest) -> str | None:
    # Behind the reverse proxy every connection comes from the proxy; it puts the client's address in X-Real-IP
    # (overwriting whatever the client sent). Without a proxy that header is the client's own word: ignored.
    if settings.BEHIND_PROXY:
        forwarded = request.META.get("HTTP_X_REAL_IP", "").strip()
        try:
            return str(ipaddress.ip_address(forwarded))
        except ValueError:
            pass
    return request.META.get("REMOTE_ADDR") or None


def context_from_request(request: HttpRequest) -> RequestContext:
    given = request.META.get("HTTP_X_REQUEST_ID", "")
    return RequestContext(
        ip_address=_client_ip(request),
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:300],
        request_id=given if SANE_REQUEST_ID.fullmatch(given) else uuid.uuid4().hex,
    )


class RequestContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        ctx = context_from_request(request)
        request.request_id = ctx.request_id
        token = set_request_context(ctx)
        request_token = _current_request.set(request)
        try:
            response = self.get_response(request)
        finally:
            _current_request.reset(request_token)
            reset_request_context(token)
        response["X-Request-ID"] = ctx.request_id
        return response


SESSION_LAST_SEEN_KEY = "_last_seen"


@receiver(user_logged_in)
def session_start_idle_clock(sender, request, user, **kwargs) -> None:
    # Set with the sign-in, so the first pages after it do not write the session again.
    if request is not None and hasattr(request, "session"):
        request.session[SESSION_LAST_SEEN_KEY] = int(time.time())


class SessionIdleTimeoutMiddleware:
    """Signs out a user whose last request is more than `SESSION_IDLE_MINUTES` old (SESSION_COOKIE_AGE stays the
    absolute limit). The time of the last request is written at most once a minute, not on every request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            idle = settings.SESSION_IDLE_MINUTES * 60
            now = int(time.time())
            last_seen = request.session.get(SESSION_LAST_SEEN_KEY)
            if last_seen is not None and now - last_seen > idle:
                logout(request)  # flushes the session; the sign-out goes into the audit trail
            elif last_seen is None or now - last_seen >= min(60, idle // 4):
                request.session[SESSION_LAST_SEEN_KEY] = now
        return self.get_response(request)
