"""The record beside the review queue: the record page's body in a panel next to the rows (`/review/?open=<pk>`)."""

from typing import Any
from urllib.parse import parse_qsl, urlsplit

from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import reswap, retarget
from django_htmx.middleware import HtmxDetails

from onboarding.forms import ParamIdField
from onboarding.forms_review import DecisionForm
from onboarding.models import ClientRecord
from onboarding.permissions import PERM_VIEW_RECORDS
from onboarding.services.review import ReviewAction
from onboarding.views.records import record_page_context

OPEN = "open"  # the queue's parameter naming the record shown beside it
PANEL_HISTORY = 10  # the latest events; the whole history is on the record's page


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def queue_params(request: HtmxHttpRequest) -> list[tuple[str, str]]:
    """The queue's own parameters (filters, sort, page), without the open record: from the URL of the queue page, or
    for an htmx request made from it (a row, the panel), from the page's address that htmx sends along."""
    queue = reverse("review:queue")
    if request.path == queue:
        pairs = list(request.GET.lists())
        return [(k, v) for k, values in pairs for v in values if k != OPEN]
    current = urlsplit(request.htmx.current_url or "") if request.htmx else None
    if current is None or current.path != queue:
        return []
    return [(k, v) for k, v in parse_qsl(current.query) if k != OPEN]


def queue_url(request: HtmxHttpRequest, *, open: int | None = None) -> str:
    """The queue as the user sees it, with `open` shown beside it (or none)."""
    params = queue_params(request) + ([(OPEN, str(open))] if open else [])
    return f"{reverse('review:queue')}?{urlencode(params)}" if params else reverse("review:queue")


def open_param(request: HttpRequest) -> int | None:
    """The record named by `?open=`, when the value is a record number at all (a bad one is ignored, like no value)."""
    field = ParamIdField(required=False)
    try:
        return field.clean(request.GET.get(OPEN))
    except Exception:  # noqa: BLE001 - a hand-made value only means no panel
        return None


def panel_context(request: HtmxHttpRequest, pk: int, **extra: Any) -> dict[str, Any]:
    """The record page's context for the panel; 404 if there is no such record."""
    context = record_page_context(request, pk, history_per_page=PANEL_HISTORY)
    back = queue_url(request, open=pk)
    return context | {"in_panel": True, "back": back, "close_url": queue_url(request)} | extra


def panel_response(request: HtmxHttpRequest, pk: int, status: int = 200, **extra: Any) -> HttpResponse:
    return render(request, "review/queue.html#panel", panel_context(request, pk, **extra), status=status)


@require_GET
@permission_required(PERM_VIEW_RECORDS, raise_exception=True)
@vary_on_headers("HX-Request")
def panel(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    if not request.htmx:  # a plain visit: the queue with the record beside it
        get_object_or_404(ClientRecord.objects.only("pk"), pk=pk)
        return redirect(queue_url(request, open=pk))
    return panel_response(request, pk)


def action_context(record: ClientRecord, form: DecisionForm, stale, **extra: Any) -> dict[str, Any]:
    label = ReviewAction(form.action).label
    return {"record": record, "form": form, "action": form.action, "action_label": label, "stale": stale} | extra


def action_in_panel(request: HtmxHttpRequest, record: ClientRecord, form: DecisionForm, stale, status: int):
    """Beside the queue: a reason form opens inside the panel and keeps its errors there; a refused one-click action
    (approve, acknowledge) shows why at the top of the panel."""
    if form.action not in (ReviewAction.REJECT, ReviewAction.SEND_BACK):
        errors = [e for errs in form.errors.values() for e in errs]
        return panel_response(request, record.pk, status=status, panel_errors=errors, stale=stale)
    context = action_context(record, form, stale, in_panel=True, next=queue_url(request, open=record.pk))
    response = render(request, "review/action.html#action-form", context, status=status)
    return reswap(retarget(response, f"#action-form-{record.pk}"), "outerHTML") if form.errors else response
