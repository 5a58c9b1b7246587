"""Staging by form: list, create, view and edit client records."""

import json

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from onboarding.errors import DomainError, StaleRecord
from onboarding.forms import ClientRecordForm
from onboarding.models import ClientRecord, RecordStatus
from onboarding.permissions import PERM_ADD_RECORD, PERM_CHANGE_RECORD, PERM_VIEW_RECORDS
from onboarding.selectors import record_get, record_history, record_list
from onboarding.services.records import EDITABLE_STATUSES, record_create, record_update
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
    record = get_object_or_404(record_list().select_related("upload", "reviewed_by"), pk=pk)
    problems = [Problem.from_dict(p) for p in record.problems]
    history = Paginator(record_history(record_id=record.pk), 25).get_page(request.GET.get("page"))
    return render(
        request,
        "records/detail.html",
        {
            "record": record,
            "problems": problems,
            "duplicates": [p for p in problems if p.code == "duplicate" and p.params.get("other")],
            "history": history,
            "editable": record.status in EDITABLE_STATUSES,
            "review": review_availability(record=record, user=request.user),
            "reject_label": dict(RejectReason.choices).get(record.reject_reason, record.reject_reason),
            "artu_answer": json.dumps(record.artu_response, indent=2, ensure_ascii=False)
            if record.artu_response
            else "",
        },
    )


@require_http_methods(["GET", "POST"])
@permission_required(PERM_CHANGE_RECORD, raise_exception=True)
def record_edit(request: HttpRequest, pk: int) -> HttpResponse:
    record = get_object_or_404(ClientRecord, pk=pk)
    form = ClientRecordForm(request.POST or None, instance=record)
    if request.method == "POST" and form.is_valid():
        try:
            record_update(
                actor=request.user,
                record_id=pk,
                version=form.cleaned_data.get("version") or 0,
                data=form.record_data(),
            )
        except (ValidationError, DomainError) as exc:
            form.add_error(None, exc.message if isinstance(exc, DomainError) else exc)
            if isinstance(exc, StaleRecord):
                record = record_get(pk=pk)
        else:
            messages.success(request, _("Changes saved."))
            return redirect("records:detail", pk=pk)
    status = 422 if form.errors else 200
    return render(request, "records/form.html", {"form": form, "record": record}, status=status)
