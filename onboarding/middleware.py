"""Carries who/where of the current request to the audit trail without threading it through calls, and keeps
every response of the app out of browser and proxy caches."""

import contextvars
import ipaddress
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers


@dataclass(frozen=True, slots=True)
class RequestContext:
    ip_address: str | None = None
    user_agent: str = ""
    request_id: str = ""


_current: contextvars.ContextVar[RequestContext] = contextvars.ContextVar("request_context", default=RequestContext())  # noqa: B039 (a frozen dataclass)


def current_request_context() -> RequestContext:
    return _current.get()


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
    return RequestContext(
        ip_address=client_ip(request),
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:300],
        request_id=request.META.get("HTTP_X_REQUEST_ID", "")[:64] or uuid.uuid4().hex,
    )


class RequestContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        ctx = context_from_request(request)
        request.request_id = ctx.request_id
        token = set_request_context(ctx)
        try:
            response = self.get_response(request)
        finally:
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
