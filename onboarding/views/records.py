"""Staging by form: list, create, view and edit client records."""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from onboarding.errors import DomainError, StaleRecord
from onboarding.forms import ClientRecordForm
from onboarding.models import ClientRecord, RecordStatus
from onboarding.permissions import PERM_ADD_RECORD, PERM_CHANGE_RECORD, PERM_VIEW_RECORDS
from onboarding.selectors import record_get, record_history, record_list
from onboarding.selectors.artu import record_artu_copies
from onboarding.selectors.audit import audit_event_page
from onboarding.selectors.records import record_stale_fields
from onboarding.selectors.submissions import artu_messages_shown
from onboarding.services.records import EDITABLE_STATUSES, record_create, record_resubmit, record_update
from onboarding.services.review import RejectReason, review_availability
from onboarding.validation import Problem

PAGE_SIZE = 50


@require_GET
@permission_required(PERM_VIEW_RECORDS, raise_exception=True)
def record_index(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status") or None
    page = Paginator(record_list(status=status), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "records/list.html", {"page": page, "status": status, "statuses": RecordStatus.choices})


@require_http_methods(["GET", "POST"])
@permission_required(PERM_ADD_RECORD, raise_exception=True)
def record_new(request: HttpRequest) -> HttpResponse:
    form = ClientRecordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            record = record_create(actor=request.user, data=form.record_data())
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Record staged and sent to review."))
            return redirect("records:detail", pk=record.pk)
    status = 422 if form.errors else 200
    return render(request, "records/form.html", {"form": form, "record": None}, status=status)


@require_GET
@permission_required(PERM_VIEW_RECORDS, raise_exception=True)
def record_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "records/detail.html", record_page_context(request, pk))


def record_page_context(request: HttpRequest, pk: int, *, history_per_page: int = 25) -> dict[str, Any]:
    """What the record's page shows (also the review queue's panel beside the rows); 404 if there is no record."""
    record = get_object_or_404(record_list().select_related("upload", "reviewed_by", "mapped_by"), pk=pk)
    problems = [Problem.from_dict(p) for p in record.problems]
    page = request.GET.get("page") if history_per_page == 25 else 1
    history = audit_event_page(events=record_history(record_id=record.pk), page=page, per_page=history_per_page)
    return {
        "record": record,
        "problems": problems,
        "artu_messages": artu_messages_shown(record.artu_messages),
        "duplicates": [p for p in problems if p.code == "duplicate" and p.params.get("other")],
        "history": history,
        "editable": record.status in EDITABLE_STATUSES,
        "review": review_availability(record=record, user=request.user),
        "reject_label": dict(RejectReason.choices).get(record.reject_reason, record.reject_reason),
        "artu_copies": record_artu_copies(record_id=record.pk),
    }


@require_http_methods(["GET", "POST"])
@permission_required(PERM_CHANGE_RECORD, raise_exception=True)
def record_edit(request: HttpRequest, pk: int) -> HttpResponse:
    record = get_object_or_404(ClientRecord, pk=pk)
    form = ClientRecordForm(request.POST or None, instance=record)
    stale = None
    if request.method == "POST" and form.is_valid():
        opened = form.cleaned_data.get("version") or 0
        try:
            saved = record_update(actor=request.user, record_id=pk, data=form.record_data(), **form.reapply_kwargs())
        except StaleRecord:
            form, record, stale = _stale_form(request, pk, opened)
        except (ValidationError, DomainError) as exc:
            form.add_error(None, exc.message if isinstance(exc, DomainError) else exc)
        else:
            messages.success(request, _saved_message(saved, opened, form.cleaned_data.get("onto_version")))
            return redirect("records:detail", pk=pk)
    status = 422 if form.errors or stale is not None else 200
    return render(request, "records/form.html", {"form": form, "record": record, "stale": stale}, status=status)


def _stale_form(request: HttpRequest, pk: int, opened: int):
    """Keep what the user typed, say what was saved since they opened the record, and arm the form to re-apply their
    changes onto the version they now see (`onto_version`)."""
    record = record_get(pk=pk)
    data = request.POST.copy()
    data["onto_version"] = record.version
    form = ClientRecordForm(data, instance=record_get(pk=pk))  # its own copy: validating writes into the instance
    form.is_valid()
    return form, record, record_stale_fields(record=record, base_version=opened, data=form.record_data())


def _saved_message(record: ClientRecord, opened: int, onto: int | None) -> str:
    if record.version == (onto or opened):
        return _("Nothing was changed: the values are the ones the record already had.")
    if record.status == RecordStatus.IN_REVIEW:
        return _("Changes saved. The record is in review.")
    return _("Changes saved.")


@require_POST
@permission_required(PERM_CHANGE_RECORD, raise_exception=True)
def record_send_to_review(request: HttpRequest, pk: int) -> HttpResponse:
    get_object_or_404(ClientRecord.objects.only("pk"), pk=pk)
    try:
        record_resubmit(actor=request.user, record_id=pk, comment=request.POST.get("comment", "")[:2000])
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The record is back in review."))
    return redirect(_back(request, reverse("records:detail", args=[pk])))


def _back(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or ""
    ok = url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure())
    return target if ok else default
