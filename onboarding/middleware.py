"""Carries who/where of the current request to the audit trail and the logs without threading it through calls,
keeps every response of the app out of browser and proxy caches, and ends sessions left idle."""

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
from django.utils.cache import add_never_cache_headers


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


def client_ip(request: HttpRequest) -> str | None:
    """The client's address: REMOTE_ADDR, or behind TRUSTED_PROXY_COUNT reverse proxies the X-Forwarded-For entry
    the outermost one added. Each proxy appends the address it was called from, so only the last COUNT entries are
    trustworthy; those before them are whatever the client sent. The audit trail and sign-in throttling use it."""
    count = settings.TRUSTED_PROXY_COUNT
    if count > 0:
        forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        if len(forwarded) >= count:
            try:
                return str(ipaddress.ip_address(forwarded[-count]))
            except ValueError:
                pass  # not an address: a proxy set up otherwise; the peer's address at least is true
    return request.META.get("REMOTE_ADDR") or None


def context_from_request(request: HttpRequest) -> RequestContext:
    given = request.META.get("HTTP_X_REQUEST_ID", "")
    return RequestContext(
        ip_address=client_ip(request),
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


class NoStoreMiddleware:
    """`Cache-Control: no-store` (Django's `never_cache` headers) on every response of the app.

    Pages, htmx partials and exports all show client data (RFC, CURP, names), so none may stay in a shared
    computer's browser cache or a proxy. A middleware rather than a decorator: a new view is covered without anyone
    remembering it, and so are the responses no view makes (403, 404, login redirects). It sits just below
    WhiteNoise, which answers static files before it, so those stay cacheable."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        add_never_cache_headers(response)
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
