"""The audit log for auditors: filter and page through events, export them to CSV, open one, verify the chain."""

import csv
import itertools

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.middleware import HtmxDetails

from onboarding.forms import (
    ParamDateField,
    ParamIdField,
    ParamTextField,
    submission_select,
    upload_select,
    user_select,
)
from onboarding.models import AuditAction, AuditEvent
from onboarding.permissions import PERM_VIEW_AUDIT
from onboarding.selectors.audit import (
    audit_actor_list,
    audit_event_get,
    audit_event_json,
    audit_event_list,
    audit_event_page,
    audit_verification_last,
)
from onboarding.services.audit import audit_chain_verify_and_record, audit_export_csv

PAGE_SIZES = (25, 50, 100, 200)
DEFAULT_PAGE_SIZE = 50


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


class AuditFilterForm(forms.Form):
    """The log's filters; every one optional. `filters()` gives the selector's keyword arguments."""

    actor = ParamTextField(label=gettext_lazy("User"), required=False, max_length=150)  # a user name, picked
    action = forms.ChoiceField(
        label=gettext_lazy("Action"), required=False, choices=[("", gettext_lazy("Any")), *AuditAction.choices]
    )
    record = ParamTextField(
        label=gettext_lazy("Record"),
        required=False,
        max_length=100,
        help_text=gettext_lazy("Its number, local id, external id, RFC, CURP or name."),
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )
    upload = ParamIdField(label=gettext_lazy("Upload"), required=False)  # picked from a list
    submission = ParamIdField(label=gettext_lazy("Submission"), required=False)  # picked from a list
    date_from = ParamDateField(label=gettext_lazy("From"), required=False)
    date_to = ParamDateField(label=gettext_lazy("To"), required=False)
    per_page = forms.TypedChoiceField(
        label=gettext_lazy("Per page"),
        required=False,
        choices=[(n, n) for n in PAGE_SIZES],
        coerce=int,
        empty_value=DEFAULT_PAGE_SIZE,
    )

    def __init__(self, data=None, **kwargs):
        if data is not None and not data.get("per_page"):
            data = data.copy()
            data["per_page"] = DEFAULT_PAGE_SIZE  # so the select shows the size actually used
        super().__init__(data, **kwargs)
        self.fields["actor"].widget = user_select(audit_actor_list)
        self.fields["upload"].widget = upload_select(self.fields["upload"], staged_only=False)
        self.fields["submission"].widget = submission_select(self.fields["submission"])

    def clean(self) -> dict:
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_to"] < data["date_from"]:
            self.add_error("date_to", ValidationError(_("The end date is before the start date."), code="date_order"))
        return data

    def filters(self) -> dict:
        data = self.cleaned_data if self.is_valid() else {}
        names = {"upload": "upload_id", "submission": "submission_id"}
        return {names.get(k, k): v for k, v in data.items() if k != "per_page" and v not in (None, "")}

    def page_size(self) -> int:
        return (self.cleaned_data.get("per_page") if self.is_valid() else None) or DEFAULT_PAGE_SIZE


@require_GET
@permission_required(PERM_VIEW_AUDIT, raise_exception=True)
@vary_on_headers("HX-Request")
def log(request: HtmxHttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET)
    events = audit_event_list(**form.filters())
    if not form.is_valid():
        events = events.none()
    page = audit_event_page(events=events, page=request.GET.get("page"), per_page=form.page_size())
    context = {"form": form, "page": page, "verification": audit_verification_last()}
    template = "audit/log.html#table" if request.htmx else "audit/log.html"
    return render(request, template, context, status=200 if form.is_valid() else 422)


class _Echo:
    def write(self, value: str) -> str:
        return value


@require_GET
@permission_required(PERM_VIEW_AUDIT, raise_exception=True)
def export(request: HttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET)
    if not form.is_valid():
        return redirect(f"{reverse('audit:log')}?{request.GET.urlencode()}")
    rows = audit_export_csv(actor=request.user, events=audit_event_list(**form.filters()), filters=form.filters())
    writer = csv.writer(_Echo())
    # The byte-order mark makes Excel read the file as UTF-8 (names with accents and ñ).
    chunks = itertools.chain(["\ufeff"], (writer.writerow(row) for row in rows))
    response = StreamingHttpResponse(chunks, content_type="text/csv; charset=utf-8")
    filename = f"audit-{timezone.localtime():%Y%m%d-%H%M%S}.csv"
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=filename)
    return response


@require_GET
@permission_required(PERM_VIEW_AUDIT, raise_exception=True)
def event_detail(request: HttpRequest, seq: int) -> HttpResponse:
    try:
        event = audit_event_get(seq=seq)
    except AuditEvent.DoesNotExist:
        raise Http404 from None
    return render(request, "audit/event.html", {"event": event, "event_json": audit_event_json(event)})


@require_POST
@permission_required(PERM_VIEW_AUDIT, raise_exception=True)
def verify(request: HtmxHttpRequest) -> HttpResponse:
    report = audit_chain_verify_and_record(actor=request.user)
    if request.htmx:
        return render(request, "audit/log.html#integrity", {"verification": audit_verification_last()})
    if report.ok:
        messages.success(request, _("The audit chain is intact."))
    else:
        messages.error(request, _("The audit chain is broken: %(detail)s") % {"detail": report.detail})
    return redirect("audit:log")


# Mounted at /audit/ by onboarding/urls.py, namespace "audit".
patterns = (
    [
        path("", log, name="log"),
        path("export.csv", export, name="export"),
        path("verify/", verify, name="verify"),
        path("<int:seq>/", event_detail, name="event"),
    ],
    "audit",
)
