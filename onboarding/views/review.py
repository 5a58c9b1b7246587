"""The review workspace: the queue, inline cell edits, one-record decisions and bulk decisions."""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect, reswap, retarget, trigger_client_event
from django_htmx.middleware import HtmxDetails

from onboarding.errors import DomainError, StaleRecord
from onboarding.forms_review import (
    DEFAULT_HIDDEN_COLUMNS,
    EDITABLE_CELLS,
    QUEUE_COLUMNS,
    BulkForm,
    CellForm,
    DecisionForm,
    QueueColumnsForm,
    QueueFilterForm,
)
from onboarding.models import ClientRecord, ClientType, RecordStatus
from onboarding.permissions import PERM_CHANGE_RECORD, PERM_REVIEW, PERM_VIEW_RECORDS
from onboarding.selectors.review import (
    record_changes_since,
    review_columns_hidden,
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
    review_columns_set,
)
from onboarding.validation import FIELD_LABELS, Problem, Severity
from onboarding.views import review_panel
from onboarding.views.review_panel import (
    OPEN,
    action_context,
    action_in_panel,
    open_param,
    panel_context,
    panel_response,
    queue_url,
)

# The queue's type column: the short name (the record page and the forms keep the full one).
SHORT_TYPE_LABELS = {
    ClientType.INDIVIDUAL: pgettext_lazy("client type, short", "Individual"),
    ClientType.COMPANY: pgettext_lazy("client type, short", "Company"),
    ClientType.TRUST: pgettext_lazy("client type, short", "Trust"),
}
# The colspan of a row-wide form: the selection box, every column (hidden ones included) and the actions.
ROW_COLUMNS = len(QUEUE_COLUMNS) + 2
NAME_PARTS = ("name", "middle_name", "apellido_paterno", "apellido_materno")
APELLIDOS = ("apellido_paterno", "apellido_materno")
# The data columns after the name, each one editable cell (their keys are the field names).
DATA_COLUMNS = tuple(c.key for c in QUEUE_COLUMNS if c.key in EDITABLE_CELLS and c.key not in NAME_PARTS)
MONO_CELLS = ("rfc", "curp", "external_id", "nationalities")


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


_PK, _FIELD = 987654321, "field-name"  # placeholders reversed once per response, then filled in for each row


class RowKit:
    """What the rows of one response share, worked out once: permissions, URL patterns, labels. A page of 200 rows
    would otherwise reverse thousands of URLs and translate the same labels again and again. `decorate` gives each
    row plain values; the markup is the row partial's (templates/review/queue.html#row)."""

    def __init__(self, request: HttpRequest):
        self.user = request.user
        self.can_review = request.user.has_perm(PERM_REVIEW)
        self.can_change = request.user.has_perm(PERM_CHANGE_RECORD)
        self.urls = {name: reverse(f"review:{name}", args=[_PK]) for name in ("row",)}
        self.urls |= {action: reverse("review:action", args=[_PK, action]) for action in ReviewAction.values}
        self.urls |= {"detail": reverse("records:detail", args=[_PK]), "edit": reverse("records:edit", args=[_PK])}
        self.compare_url = reverse("duplicates:compare", args=[_PK, _PK + 1])
        self.cell_url = reverse("review:cell", args=[_PK, _FIELD])
        self.labels = {name: str(label) for name, label in FIELD_LABELS.items()}
        self.cells = {
            name: {
                "field": name,
                "title": _("Edit %(label)s") % {"label": self.labels.get(name, name)},
                # The cell's class for each worst problem severity.
                "css": {
                    worst: " ".join(filter(None, ("cell", worst and f"cell-{worst}", name in MONO_CELLS and "mono")))
                    for worst in ("", *Severity)
                },
            }
            for name in (*NAME_PARTS, *DATA_COLUMNS)
        }
        self.status_labels = {value: str(label) for value, label in RecordStatus.choices}
        self.type_labels = {value: str(label) for value, label in SHORT_TYPE_LABELS.items()}
        self.reject_labels = {value: str(label) for value, label in RejectReason.choices}
        self.next = urlencode({"next": request.get_full_path()})
        self.urls["panel"] = reverse("review:panel", args=[_PK])
        self.view_url = queue_url(request, open=_PK)

    def decorate(self, record: ClientRecord, errors=(), stale=None, close_form=False) -> ClientRecord:
        """Attach what a queue row shows: review options, URLs, cells, problems with their labels (no queries)."""
        problems = sorted((Problem.from_dict(p) for p in record.problems), key=lambda p: p.severity != Severity.ERROR)
        worst: dict[str, str] = {}
        for problem in problems:
            worst.setdefault(problem.field, problem.severity)  # errors come first
        pk = str(record.pk)
        record.urls = {name: url.replace(str(_PK), pk) for name, url in self.urls.items()}
        cell_url = self.cell_url.replace(str(_PK), pk)
        record.editable = self.can_change and record.status in EDITABLE_STATUSES
        person = record.client_type == ClientType.INDIVIDUAL
        # A person's apellidos get a cell each even when empty, so a missing one can be typed in place.
        parts = [f for f in NAME_PARTS if getattr(record, f) or (f in APELLIDOS and person) or f == "name"]
        record.name_cells = [self._cell(record, f, cell_url, worst) for f in parts]
        record.data_cells = [self._cell(record, f, cell_url, worst) for f in DATA_COLUMNS]
        acknowledged = record.warnings_acknowledged
        record.problem_items = [
            {
                "severity": p.severity,
                "label": self.labels.get(p.field, p.field),
                "message": _without_label(p.message, self.labels.get(p.field, p.field)),
                "acknowledged": acknowledged and p.severity == Severity.WARNING,
            }
            for p in problems
        ]
        record.row_errors, record.stale, record.close_form = list(errors), stale, close_form
        record.review = review_availability(record=record, user=self.user, can_review=self.can_review)
        record.status_label = self.status_labels.get(record.status, record.status)
        record.reject_label = self.reject_labels.get(record.reject_reason, record.reject_reason)
        record.duplicate_label = self.labels.get(record.duplicate_field, record.duplicate_field)
        record.next = self.next
        record.urls["view"] = self.view_url.replace(f"{OPEN}={_PK}", f"{OPEN}={pk}")
        if record.duplicate_of_id:
            other = self.compare_url.replace(str(_PK + 1), str(record.duplicate_of_id))
            record.urls["duplicate"] = other.replace(str(_PK), pk)
        return record

    def _cell(self, record: ClientRecord, name: str, cell_url: str, worst: dict[str, str]) -> dict[str, Any]:
        cell = self.cells[name]
        return {
            "field": name,
            "id": f"cell-{record.pk}-{name}",
            "title": cell["title"],
            "css": cell["css"][worst.get(name, "")],
            "url": cell_url.replace(_FIELD, name),
            "display": self._display(record, name) or "—",
        }

    def _display(self, record: ClientRecord, name: str) -> str:
        if name == "client_type":
            return self.type_labels.get(record.client_type, record.client_type)
        if name == "birth_date":
            return record.birth_date.strftime("%d/%m/%Y") if record.birth_date else ""
        return getattr(record, name)


def _without_label(message: str, label: str) -> str:
    """A problem's sentence after its field label, when it starts with it: the row shows the label just before."""
    if label and message.startswith(label) and message[len(label) : len(label) + 1] in (" ", ":"):
        return message[len(label) :].lstrip(" :")
    return message


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
    open_pk = open_param(request)
    # The table's own links (sort, pages, tabs) leave the open record out: panel.js adds the one open at the time.
    request.GET = request.GET.copy()
    request.GET.pop(OPEN, None)
    result = review_queue_page(
        filters=form.filters(), sort=form.sort_key(), page=request.GET.get("page"), per_page=form.page_size()
    )
    kit = RowKit(request)
    rows = [kit.decorate(record) for record in result.page]
    hidden = review_columns_hidden(user=request.user)
    column_choices = _column_choices(DEFAULT_HIDDEN_COLUMNS if hidden is None else hidden)
    context = {
        "form": form,
        "result": result,
        "page": result.page,
        "rows": rows,
        "headers": _headers(form.sort_key()),
        "column_choices": column_choices,
        "active_filters": form.active_filters(),
        "status": form.filters().get("status"),
        "columns": ROW_COLUMNS - sum(not c["shown"] for c in column_choices),
        "filter_params": _filter_params(form, request.GET),
        "bulk_actions": BulkForm.base_fields["bulk_action"].choices,
        "reject_reasons": RejectReason.choices,
        "panel": _panel_or_none(request, open_pk) if open_pk and not request.htmx else None,
        "open_pk": open_pk or "",
    }
    template = "review/queue.html#table" if request.htmx else "review/queue.html"
    return render(request, template, context, status=200 if form.is_valid() else 422)


def _panel_or_none(request: HtmxHttpRequest, pk: int) -> dict[str, Any] | None:
    """The record named by `?open=` beside the queue, when it exists (a record since deleted shows no panel)."""
    try:
        return panel_context(request, pk)
    except Http404:
        return None


def _headers(sort: str) -> list[dict[str, Any]]:
    """Each column's header: its sort links (the other direction for the current sort), and aria-sort."""
    current, descending = sort.removeprefix("-"), sort.startswith("-")
    headers = []
    for column in QUEUE_COLUMNS:
        links, aria = [], ""
        for label, key in column.sorts:
            active = key == current
            aria = aria or (("descending" if descending else "ascending") if active else "")
            arrow = (" ▼" if descending else " ▲") if active else ""
            links.append({"label": label, "next": f"-{key}" if active and not descending else key, "arrow": arrow})
        headers.append({"key": column.key, "label": column.label, "links": links, "aria_sort": aria})
    return headers


def _column_choices(hidden) -> list[dict[str, Any]]:
    return [
        {"key": c.key, "label": c.chooser_label or c.label, "shown": c.key not in hidden}
        for c in QUEUE_COLUMNS
        if c.hideable
    ]


@require_POST
@permission_required(PERM_VIEW_RECORDS, raise_exception=True)
def columns(request: HtmxHttpRequest) -> HttpResponse:
    form = QueueColumnsForm(request.POST)
    if not form.is_valid():
        return HttpResponse(status=422)
    review_columns_set(user=request.user, hidden=form.hidden())
    if request.htmx:
        return HttpResponse(status=204)
    return redirect(_back(request, reverse("review:queue")))


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
    if request.htmx and request.POST.get("from") == "panel":  # the panel shows the outcome; its row follows
        response = trigger_client_event(panel_response(request, pk, done=done), "counts-changed")
        return trigger_client_event(response, "record-changed", {"pk": pk})
    messages.success(request, done)
    return HttpResponseClientRedirect(back) if request.htmx else redirect(back)


def _action_form(request: HtmxHttpRequest, record: ClientRecord, form: DecisionForm, stale) -> HttpResponse:
    status = 422 if form.errors else 200
    origin = request.POST.get("from") if request.method == "POST" else ("form" if request.htmx else "")
    if request.htmx and (request.POST if request.method == "POST" else request.GET).get("from") == "panel":
        return action_in_panel(request, record, form, stale, status)
    if request.htmx and origin == "row":  # a row button: the row itself says what went wrong
        errors = [e for errs in form.errors.values() for e in errs]
        return retarget(_row(request, record.pk, status=status, errors=errors, stale=stale), f"#record-{record.pk}")
    RowKit(request).decorate(record)
    in_row, back = origin == "form", _back(request, "")
    context = action_context(record, form, stale, in_row=in_row, columns=ROW_COLUMNS, next=back)
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
        path("columns/", columns, name="columns"),
        path("<int:pk>/row/", row, name="row"),
        path("<int:pk>/panel/", review_panel.panel, name="panel"),
        path("<int:pk>/cell/<str:field>/", cell, name="cell"),
        path("<int:pk>/<str:action>/", action, name="action"),
    ],
    "review",
)
