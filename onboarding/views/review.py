"""The review workspace: the queue, inline cell edits, one-record decisions and bulk decisions."""

from collections import defaultdict
from html import escape
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect, reswap, retarget, trigger_client_event
from django_htmx.middleware import HtmxDetails

from onboarding.errors import DomainError, StaleRecord
from onboarding.forms_review import EDITABLE_CELLS, BulkForm, CellForm, DecisionForm, QueueFilterForm
from onboarding.models import ClientRecord, ClientType, RecordStatus
from onboarding.permissions import PERM_CHANGE_RECORD, PERM_REVIEW, PERM_VIEW_RECORDS
from onboarding.selectors.review import (
    record_changes_since,
    review_queue_filter,
    review_queue_page,
    review_row_get,
)
from onboarding.services.records import EDITABLE_STATUSES, record_update
from onboarding.services.review import (
    RejectReason,
    ReviewAction,
    bulk_summary,
    record_bulk_review,
    record_review,
    review_availability,
)
from onboarding.validation import FIELD_LABELS, Problem, Severity

# The queue's type column: the short name (the record page and the forms keep the full one).
SHORT_TYPE_LABELS = {
    ClientType.INDIVIDUAL: pgettext_lazy("client type, short", "Individual"),
    ClientType.COMPANY: pgettext_lazy("client type, short", "Company"),
    ClientType.TRUST: pgettext_lazy("client type, short", "Trust"),
}
ROW_COLUMNS = 14  # checkbox + cells + status, problems, people, staged, actions: the colspan of an inline form row
MONO_CELLS = ("rfc", "curp", "external_id", "nationalities")


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


_PK, _FIELD = 987654321, "field-name"  # placeholders reversed once per response, then filled in for each row
# The markup of a queue cell (see RowKit._cell), its link to the inline editor and one of its problems.
CELL = '<td id="cell-{pk}-{field}" class="{css}">{content}</td>'
CELL_LINK = (
    '<a class="cell-link" href="{edit}" hx-get="{url}" hx-target="closest td" hx-swap="outerHTML" data-key="edit" '
    'title="{title}">{display}</a>'
)
CELL_PROBLEM = '<small class="cell-problem problem-{severity}">{message}</small>'


class RowKit:
    """What the rows of one response share, worked out once: permissions, URL patterns, labels. A page of 200 rows
    would otherwise reverse thousands of URLs and translate the same labels again and again."""

    def __init__(self, request: HttpRequest):
        self.user = request.user
        self.can_review = request.user.has_perm(PERM_REVIEW)
        self.can_change = request.user.has_perm(PERM_CHANGE_RECORD)
        self.urls = {name: reverse(f"review:{name}", args=[_PK]) for name in ("row",)}
        self.urls |= {action: reverse("review:action", args=[_PK, action]) for action in ReviewAction.values}
        self.urls |= {"detail": reverse("records:detail", args=[_PK]), "edit": reverse("records:edit", args=[_PK])}
        self.compare_url = reverse("duplicates:compare", args=[_PK, _PK + 1])
        self.cell_url = reverse("review:cell", args=[_PK, _FIELD])
        self.columns = [
            {
                "field": name,
                "title": escape(_("Edit %(label)s") % {"label": FIELD_LABELS.get(name, name)}),
                "url": escape(self.cell_url.replace(_FIELD, name)),
                # The cell's class for each worst problem severity.
                "css": {
                    worst: " ".join(filter(None, ("cell", worst and f"cell-{worst}", name in MONO_CELLS and "mono")))
                    for worst in ("", *Severity)
                },
            }
            for name in EDITABLE_CELLS
        ]
        self.status_labels = {value: str(label) for value, label in RecordStatus.choices}
        self.type_labels = {value: str(label) for value, label in SHORT_TYPE_LABELS.items()}
        self.reject_labels = {value: str(label) for value, label in RejectReason.choices}
        self.next = urlencode({"next": request.get_full_path()})

    def decorate(self, record: ClientRecord, errors=(), stale=None, close_form=False) -> ClientRecord:
        """Attach what a queue row shows: review options, URLs, cells with their problems (no queries)."""
        problems = [Problem.from_dict(p) for p in record.problems]
        by_field = defaultdict(list)
        for problem in problems:
            by_field[problem.field].append(problem)
        pk = str(record.pk)
        record.urls = {name: url.replace(str(_PK), pk) for name, url in self.urls.items()}
        record.problem_list, record.row_errors, record.stale = problems, list(errors), stale
        record.close_form = close_form
        record.review = review_availability(record=record, user=self.user, can_review=self.can_review)
        record.editable = self.can_change and record.status in EDITABLE_STATUSES
        record.status_label = self.status_labels.get(record.status, record.status)
        record.reject_label = self.reject_labels.get(record.reject_reason, record.reject_reason)
        record.duplicate_label = FIELD_LABELS.get(record.duplicate_field, record.duplicate_field)
        record.next = self.next
        cells = "".join(self._cell(record, pk, c, by_field.get(c["field"], ())) for c in self.columns)
        record.cells = mark_safe(cells)  # noqa: S308 - _cell escapes every value it puts in
        if record.duplicate_of_id:
            other = self.compare_url.replace(str(_PK + 1), str(record.duplicate_of_id))
            record.urls["duplicate"] = other.replace(str(_PK), pk)
        return record

    def _cell(self, record: ClientRecord, pk: str, column: dict[str, Any], problems) -> str:
        """One editable cell, as HTML. Drawn here rather than in a template partial: a page has 400 to 800 of them,
        and as template nodes they took about half of the page's server time. Every value is escaped (constants
        once, in __init__)."""
        display = escape(self._display(record, column["field"]) or "—")
        if record.editable:
            url = column["url"].replace(str(_PK), pk)
            edit = escape(record.urls["edit"])
            display = CELL_LINK.format(edit=edit, url=url, title=column["title"], display=display)
        notes = "".join(CELL_PROBLEM.format(severity=p.severity, message=escape(p.message)) for p in problems)
        css = column["css"][_worst(problems)]
        return CELL.format(pk=pk, field=column["field"], css=css, content=display + notes)

    def _display(self, record: ClientRecord, name: str) -> str:
        if name == "client_type":
            return self.type_labels.get(record.client_type, record.client_type)
        if name == "birth_date":
            return record.birth_date.strftime("%d/%m/%Y") if record.birth_date else ""
        return getattr(record, name)


def _worst(problems) -> str:
    if any(p.severity == Severity.ERROR for p in problems):
        return Severity.ERROR
    return Severity.WARNING if problems else ""


def _row(request: HtmxHttpRequest, pk: int, status: int = 200, **extra: Any) -> HttpResponse:
    record = RowKit(request).decorate(review_row_get(pk=pk), **extra)
    context = {"record": record, "columns": ROW_COLUMNS}
    response = render(request, "review/queue.html#row", context, status=status)
    return trigger_client_event(response, "counts-changed") if status == 200 else response


def _record_or_404(pk: int) -> ClientRecord:
    try:
        return review_row_get(pk=pk)
    except ClientRecord.DoesNotExist:
        raise Http404 from None


def _back(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    ok = url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure())
    return target if ok else default


@require_GET
@permission_required(PERM_VIEW_RECORDS, raise_exception=True)
@vary_on_headers("HX-Request")
def queue(request: HtmxHttpRequest) -> HttpResponse:
    form = QueueFilterForm(request.GET)
    result = review_queue_page(
        filters=form.filters(), sort=form.sort_key(), page=request.GET.get("page"), per_page=form.page_size()
    )
    kit = RowKit(request)
    rows = [kit.decorate(record) for record in result.page]
    context = {
        "form": form,
        "result": result,
        "page": result.page,
        "rows": rows,
        "headers": _headers(form.sort_key()),
        "status": form.filters().get("status"),
        "columns": ROW_COLUMNS,
        "filter_params": _filter_params(form, request.GET),
        "bulk_actions": BulkForm.base_fields["bulk_action"].choices,
        "reject_reasons": RejectReason.choices,
    }
    template = "review/queue.html#table" if request.htmx else "review/queue.html"
    return render(request, template, context, status=200 if form.is_valid() else 422)


# The queue's columns after the selection box: (label, sort key or None), in the order the row partial draws them:
# status and problems first, so they stay in view beside the names while the wide table scrolls sideways.
HEADERS = (
    (gettext_lazy("Status"), None),
    (gettext_lazy("Problems"), "problems"),
    (gettext_lazy("Name"), "name"),
    (gettext_lazy("Last names"), "last_name"),
    (gettext_lazy("Type"), None),
    (gettext_lazy("Born / founded"), None),
    ("RFC", "rfc"),
    ("CURP", None),
    (gettext_lazy("External id"), "external_id"),
    (gettext_lazy("Nat."), None),
    (gettext_lazy("Staged by"), None),
    (gettext_lazy("Staged"), "created"),
    (gettext_lazy("Actions"), None),
)


def _headers(sort: str) -> list[dict[str, Any]]:
    """Each column's label, the sort its link asks for (the other direction when it is the current one), aria-sort."""
    current, descending = sort.removeprefix("-"), sort.startswith("-")
    headers = []
    for label, key in HEADERS:
        active = key == current
        aria = ("descending" if descending else "ascending") if active else ""
        headers.append(
            {"label": label, "sort": key, "next": f"-{key}" if active and not descending else key, "aria_sort": aria}
        )
    return headers


def _filter_params(form: QueueFilterForm, data) -> list[tuple[str, str]]:
    return [(name, value) for name in form.fields for value in data.getlist(name) if value]


@require_GET
@permission_required(PERM_VIEW_RECORDS, raise_exception=True)
def row(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    if not request.htmx:
        return redirect("records:detail", pk=pk)
    get_object_or_404(ClientRecord.objects.only("pk"), pk=pk)
    return _row(request, pk)


@require_http_methods(["GET", "POST"])
@permission_required(PERM_CHANGE_RECORD, raise_exception=True)
def cell(request: HtmxHttpRequest, pk: int, field: str) -> HttpResponse:
    if field not in EDITABLE_CELLS:
        raise Http404
    record = _record_or_404(pk)
    if request.method == "GET" and not request.htmx:
        return redirect("records:edit", pk=pk)
    initial = {"value": getattr(record, field), "version": record.version}
    data = request.POST if request.method == "POST" else None
    form = CellForm(data, field_name=field, initial=initial, auto_id=f"cell-{pk}-{field}-%s")
    if request.method == "POST" and form.is_valid():
        try:
            record_update(
                actor=request.user, record_id=pk, version=form.cleaned_data["version"], data=form.record_data()
            )
        except StaleRecord as exc:
            return _cell_stale(request, pk, field, exc)
        except (ValidationError, DomainError) as exc:
            form.add_error(None, exc.message if isinstance(exc, DomainError) else exc)
        else:
            return _row(request, pk) if request.htmx else redirect(_back(request, reverse("review:queue")))
    return _cell_form(request, record, form)


def _cell_form(request: HtmxHttpRequest, record: ClientRecord, form: CellForm, stale=None) -> HttpResponse:
    context = {
        "record": record,
        "form": form,
        "field": form.field_name,
        "stale": stale,
        "label": FIELD_LABELS.get(form.field_name, form.field_name),
    }
    response = render(request, "review/queue.html#cell-edit", context, status=422 if form.errors else 200)
    if form.errors:  # the error shows in the cell being edited, not over the whole row
        response = reswap(retarget(response, f"#cell-{record.pk}-{form.field_name}"), "outerHTML")
    return response


def _cell_stale(request: HtmxHttpRequest, pk: int, field: str, exc: StaleRecord) -> HttpResponse:
    """Keep what the user typed, show what changed meanwhile, and arm the form with the current version."""
    record = review_row_get(pk=pk)
    data = request.POST.copy()
    data["version"] = record.version
    form = CellForm(data, field_name=field, auto_id=f"cell-{pk}-{field}-%s")
    form.is_valid()
    form.add_error(None, exc.message)
    opened = int(request.POST.get("version") or 0)
    changes = exc.params.get("changes") or record_changes_since(record_id=pk, version=opened)
    return _cell_form(request, record, form, stale=changes)


@require_http_methods(["GET", "POST"])
@permission_required(PERM_REVIEW, raise_exception=True)
def action(request: HtmxHttpRequest, pk: int, action: str) -> HttpResponse:
    if action not in ReviewAction.values:
        raise Http404
    record = _record_or_404(pk)
    data = request.POST if request.method == "POST" else None
    form = DecisionForm(data, action=action, initial={"version": record.version})
    stale = None
    if request.method == "POST" and form.is_valid():
        try:
            record_review(actor=request.user, record_id=pk, action=action, **form.service_kwargs())
        except (ValidationError, DomainError) as exc:
            form.add_error(None, exc.message if isinstance(exc, DomainError) else exc)
            stale = exc.params.get("changes") if isinstance(exc, StaleRecord) else None
        else:
            return _action_done(request, pk, action)
    return _action_form(request, record, form, stale)


def _action_done(request: HtmxHttpRequest, pk: int, action: str) -> HttpResponse:
    done = {
        ReviewAction.APPROVE: _("Record approved."),
        ReviewAction.REJECT: _("Record rejected."),
        ReviewAction.SEND_BACK: _("Record sent back to data entry."),
        ReviewAction.ACKNOWLEDGE: _("Warnings acknowledged."),
        ReviewAction.NOT_DUPLICATE: _("Marked as not a duplicate."),
    }[action]
    back = _back(request, reverse("records:detail", args=[pk]))
    if request.htmx and request.POST.get("from") in ("row", "form"):
        return _row(request, pk, close_form=request.POST.get("from") == "form")
    messages.success(request, done)
    return HttpResponseClientRedirect(back) if request.htmx else redirect(back)


def _action_form(request: HtmxHttpRequest, record: ClientRecord, form: DecisionForm, stale) -> HttpResponse:
    status = 422 if form.errors else 200
    origin = request.POST.get("from") if request.method == "POST" else ("form" if request.htmx else "")
    if request.htmx and origin == "row":  # a row button: the row itself says what went wrong
        errors = [e for errs in form.errors.values() for e in errs]
        return retarget(_row(request, record.pk, status=status, errors=errors, stale=stale), f"#record-{record.pk}")
    RowKit(request).decorate(record)
    context = {
        "record": record,
        "form": form,
        "action": form.action,
        "action_label": ReviewAction(form.action).label,
        "stale": stale,
        "in_row": origin == "form",
        "columns": ROW_COLUMNS,
        "next": _back(request, ""),
    }
    if request.htmx and origin == "form":
        response = render(request, "review/action.html#action-row", context, status=status)
        return reswap(retarget(response, f"#action-{record.pk}"), "outerHTML") if form.errors else response
    return render(request, "review/action.html", context, status=status)


@require_POST
@permission_required(PERM_REVIEW, raise_exception=True)
def bulk(request: HttpRequest) -> HttpResponse:
    filter_form = QueueFilterForm(request.POST)
    form = BulkForm(request.POST, filter_form=filter_form)
    params = _filter_params(filter_form, request.POST)
    back = f"{reverse('review:queue')}?{urlencode(params)}" if params else reverse("review:queue")
    if form.is_valid() and not form.needs_confirmation:
        try:
            result = record_bulk_review(actor=request.user, **form.service_kwargs())
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, bulk_summary(result))
            return redirect(back)
    count = _bulk_count(form, filter_form)
    context = {"form": form, "count": count, "filter_params": params, "back": back, "filter_form": filter_form}
    return render(request, "review/confirm.html", context, status=422 if form.errors else 200)


def _bulk_count(form: BulkForm, filter_form: QueueFilterForm) -> int:
    """How many records the confirmation page announces (the filter counted now, or the ticked rows)."""
    if form.cleaned_data.get("scope") == form.SCOPE_FILTER:
        return review_queue_filter(**filter_form.filters()).count() if filter_form.is_valid() else 0
    return len(form.cleaned_data.get("ids") or [])


# Mounted at /review/ by onboarding/urls.py, namespace "review".
patterns = (
    [
        path("", queue, name="queue"),
        path("bulk/", bulk, name="bulk"),
        path("<int:pk>/row/", row, name="row"),
        path("<int:pk>/cell/<str:field>/", cell, name="cell"),
        path("<int:pk>/<str:action>/", action, name="action"),
    ],
    "review",
)
