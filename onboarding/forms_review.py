"""Forms of the review workspace: the queue's filters, the decision forms, the bulk bar and the inline cell editor."""

import copy
import datetime
from dataclasses import dataclass
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.formats import date_format
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from onboarding.forms import ClientRecordForm, ParamDateField, ParamIdField, ParamTextField, upload_select, user_select
from onboarding.models import ActividadVulnerable, ClientType, RecordStatus
from onboarding.selectors.records import record_creator_list
from onboarding.selectors.review import DEFAULT_SORT, SORT_FIELDS, WarningsFilter
from onboarding.services.review import RejectReason, ReviewAction
from onboarding.validation import (
    FIELD_LABELS,
    ID_MAX,
    check_ids,
    normalize_curp,
    normalize_nationalities,
    normalize_rfc,
    normalize_text,
)

PAGE_SIZES = (25, 50, 100)
DEFAULT_PAGE_SIZE = 50
YES_NO = [("", _("Any")), ("yes", _("Yes")), ("no", _("No"))]
BULK_ACTIONS = (ReviewAction.APPROVE, ReviewAction.REJECT, ReviewAction.SEND_BACK)


def _yes_no(value: str) -> bool | None:
    return {"yes": True, "no": False}.get(value)


class QueueFilterForm(forms.Form):
    """The queue's filters, read from the URL; every one optional. `filters()` gives the selector's arguments."""

    q = ParamTextField(
        label=_("Search"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("Name, RFC, CURP or external id")}),
    )
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[("", _("Any")), *RecordStatus.choices])
    upload = ParamIdField(label=_("Upload"), required=False)  # a list to pick from: see __init__
    has_errors = forms.ChoiceField(label=_("Has errors"), required=False, choices=YES_NO)
    warnings = forms.ChoiceField(
        label=_("Warnings"),
        required=False,
        choices=[
            (WarningsFilter.ANY, _("Any")),
            (WarningsFilter.WITH, _("With warnings")),
            (WarningsFilter.UNACKNOWLEDGED, _("Not acknowledged")),
            (WarningsFilter.WITHOUT, _("Without warnings")),
        ],
    )
    duplicate = forms.ChoiceField(label=_("Possible duplicate"), required=False, choices=YES_NO)
    type = forms.ChoiceField(label=_("Type"), required=False, choices=[("", _("Any")), *ClientType.choices])
    actividad = forms.ChoiceField(
        label=_("Actividad vulnerable"), required=False, choices=[("", _("Any")), *ActividadVulnerable.choices]
    )
    created_by = ParamTextField(label=_("Staged by"), required=False, max_length=150)  # a user name, picked
    date_from = ParamDateField(label=_("Staged from"), required=False)
    date_to = ParamDateField(label=_("Staged to"), required=False)
    sort = forms.ChoiceField(
        required=False,
        widget=forms.HiddenInput,
        choices=[(f"{d}{k}", f"{d}{k}") for k in SORT_FIELDS for d in ("", "-")],
    )
    per_page = forms.TypedChoiceField(
        label=_("Per page"),
        required=False,
        # The default first: a URL without per_page shows it selected.
        choices=[(n, n) for n in sorted(PAGE_SIZES, key=lambda n: n != DEFAULT_PAGE_SIZE)],
        coerce=int,
        empty_value=DEFAULT_PAGE_SIZE,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["created_by"].widget = user_select(record_creator_list)
        self.fields["upload"].widget = upload_select(self.fields["upload"], staged_only=True)

    def clean(self) -> dict:
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_to"] < data["date_from"]:
            self.add_error("date_to", ValidationError(_("The end date is before the start date."), code="date_order"))
        return data

    def filters(self) -> dict[str, Any]:
        """Keyword arguments for `review_queue_filter`; empty when the form is invalid."""
        if not self.is_valid():
            return {}
        d = self.cleaned_data
        return {
            "status": d["status"] or None,
            "upload_id": d["upload"],
            "has_errors": _yes_no(d["has_errors"]),
            "warnings": d["warnings"],
            "duplicate": _yes_no(d["duplicate"]),
            "client_type": d["type"],
            "actividad": d["actividad"],
            "created_by": d["created_by"].strip(),
            "date_from": d["date_from"],
            "date_to": d["date_to"],
            "q": d["q"].strip(),
        }

    def active_filters(self) -> list[tuple[str, str]]:
        """(label, value shown) of every filter in use, for the folded panel's one-line summary."""
        if not self.is_valid():
            return []
        active = []
        for name, value in self.cleaned_data.items():
            field = self.fields[name]
            if name == "sort" or value in (None, "") or (name == "per_page" and value == DEFAULT_PAGE_SIZE):
                continue
            if isinstance(field, forms.ChoiceField):
                shown = str(dict(field.choices).get(value, value))
            elif isinstance(value, datetime.date):
                shown = date_format(value, "SHORT_DATE_FORMAT")
            else:
                shown = f"“{value}”" if name == "q" else str(value)
            active.append((str(field.label), shown))
        return active

    def sort_key(self) -> str:
        return (self.cleaned_data.get("sort") if self.is_valid() else "") or DEFAULT_SORT

    def page_size(self) -> int:
        return (self.cleaned_data.get("per_page") if self.is_valid() else None) or DEFAULT_PAGE_SIZE


class DecisionForm(forms.Form):
    """One review action on one record; reject needs a reason and a comment, send back a comment."""

    version = ParamIdField(widget=forms.HiddenInput, required=False)
    reason = forms.ChoiceField(label=_("Reason"), required=False, choices=[("", "—"), *RejectReason.choices])
    comment = forms.CharField(
        label=_("Comment"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, action: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.action = action
        if action == ReviewAction.REJECT:
            self.fields["reason"].required = self.fields["comment"].required = True
        elif action == ReviewAction.SEND_BACK:
            self.fields["comment"].required = True
            self.fields["comment"].label = _("What must data entry change?")
            del self.fields["reason"]
        else:
            del self.fields["reason"]
            if action != ReviewAction.NOT_DUPLICATE:
                del self.fields["comment"]

    def service_kwargs(self) -> dict[str, Any]:
        return {k: v for k, v in self.cleaned_data.items() if k != "version"} | {
            "version": self.cleaned_data.get("version")
        }


class IdListField(forms.Field):
    widget = forms.MultipleHiddenInput

    def to_python(self, value) -> list[int]:
        return check_ids(value) if value else []


class BulkForm(forms.Form):
    """The bulk bar: an action on the ticked rows, or on every record of the filter (count confirmed first)."""

    SCOPE_SELECTED, SCOPE_FILTER = "selected", "filter"

    bulk_action = forms.ChoiceField(label=_("Action"), choices=[(a.value, a.label) for a in BULK_ACTIONS])
    scope = forms.ChoiceField(
        choices=[(SCOPE_SELECTED, _("Selected rows")), (SCOPE_FILTER, _("Every record matching the filter"))],
        initial=SCOPE_SELECTED,
        widget=forms.RadioSelect,
    )
    ids = IdListField(required=False)
    expected_count = forms.IntegerField(required=False, min_value=0, max_value=ID_MAX, widget=forms.HiddenInput)
    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)
    reason = forms.ChoiceField(label=_("Reason"), required=False, choices=[("", "—"), *RejectReason.choices])
    comment = forms.CharField(label=_("Comment"), required=False, max_length=2000)

    def __init__(self, *args, filter_form: QueueFilterForm, **kwargs):
        super().__init__(*args, **kwargs)
        self.filter_form = filter_form

    def clean(self) -> dict:
        data = super().clean()
        if data.get("scope") == self.SCOPE_SELECTED and not data.get("ids"):
            raise ValidationError(
                _("Tick at least one record, or choose every record matching the filter."), code="nothing_selected"
            )
        if data.get("scope") == self.SCOPE_FILTER and not self.filter_form.is_valid():
            raise ValidationError(_("Correct the filters first."), code="filters_invalid")
        return data

    @property
    def needs_confirmation(self) -> bool:
        return self.cleaned_data["scope"] == self.SCOPE_FILTER and not self.cleaned_data.get("confirmed")

    def service_kwargs(self) -> dict[str, Any]:
        d = self.cleaned_data
        kwargs: dict[str, Any] = {"action": d["bulk_action"], "reason": d["reason"], "comment": d["comment"]}
        if d["scope"] == self.SCOPE_FILTER:
            kwargs |= {"filters": self.filter_form.filters(), "expected_count": d["expected_count"]}
        else:
            kwargs["record_ids"] = d["ids"]
        return kwargs


# Cells the queue edits in place; the rest of the data is one click away in the full form.
EDITABLE_CELLS = (
    "name",
    "middle_name",
    "apellido_paterno",
    "apellido_materno",
    "client_type",
    "birth_date",
    "rfc",
    "curp",
    "external_id",
    "nationalities",
)
_NORMALISERS = {"rfc": normalize_rfc, "curp": normalize_curp, "nationalities": normalize_nationalities}


class CellForm(forms.Form):
    """One data field of one record, with the version the editor started from."""

    version = ParamIdField(widget=forms.HiddenInput)

    def __init__(self, *args, field_name: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.field_name = field_name
        field = copy.deepcopy(ClientRecordForm.base_fields[field_name])
        field.label = FIELD_LABELS.get(field_name, field.label)
        field.help_text = ""
        if field_name == "client_type":
            field.choices = ClientType.choices
            field.widget = forms.Select(choices=ClientType.choices)
        field.widget.attrs.update({"autofocus": True, "data-cell-input": ""})
        self.fields["value"] = field

    def clean_value(self):
        value = self.cleaned_data.get("value")
        if self.field_name in _NORMALISERS:
            return _NORMALISERS[self.field_name](value)
        return normalize_text(value) if isinstance(value, str) else value

    def record_data(self) -> dict[str, Any]:
        return {self.field_name: self.cleaned_data["value"]}


@dataclass(frozen=True)
class QueueColumn:
    """A column of the review queue: its header, the sorts its header offers (label, sort key), whether a user may
    hide it and whether it starts hidden."""

    key: str
    label: Promise | str
    sorts: tuple[tuple[Promise | str, str], ...] = ()
    hideable: bool = True
    hidden_by_default: bool = False
    chooser_label: Promise | str = ""


# In the order the row partial draws them (after the selection box; the actions column always ends the row). The
# name and the problems are what a reviewer decides on: they cannot be hidden.
QUEUE_COLUMNS = (
    QueueColumn(
        "name",
        _("Name"),
        sorts=((_("Name"), "name"), (_("Last names"), "last_name")),
        hideable=False,
    ),
    QueueColumn("client_type", _("Type")),
    QueueColumn("rfc", "RFC", sorts=(("RFC", "rfc"),)),
    QueueColumn("curp", "CURP"),
    QueueColumn("birth_date", _("Born / founded")),
    QueueColumn("external_id", _("External id"), sorts=((_("External id"), "external_id"),)),
    QueueColumn("nationalities", _("Nat."), hidden_by_default=True, chooser_label=_("Nationalities")),
    QueueColumn("status", _("Status")),
    QueueColumn("problems", _("Problems"), sorts=((_("Problems"), "problems"),), hideable=False),
    QueueColumn(
        "staged",
        _("Staged"),
        sorts=((_("Staged"), "created"),),
        hidden_by_default=True,
        chooser_label=pgettext_lazy("queue column", "Staged by and when"),
    ),
)
HIDEABLE_COLUMNS = tuple(c.key for c in QUEUE_COLUMNS if c.hideable)
DEFAULT_HIDDEN_COLUMNS = tuple(c.key for c in QUEUE_COLUMNS if c.hidden_by_default)


class QueueColumnsForm(forms.Form):
    """The columns a user shows in the queue (ticked), from the hideable ones; the others are hidden."""

    shown = forms.MultipleChoiceField(
        label=_("Columns"),
        required=False,
        choices=[(c.key, c.chooser_label or c.label) for c in QUEUE_COLUMNS if c.hideable],
        widget=forms.CheckboxSelectMultiple,
    )

    def hidden(self) -> list[str]:
        shown = set(self.cleaned_data["shown"])
        return [key for key in HIDEABLE_COLUMNS if key not in shown]


class DuplicateDecisionForm(forms.Form):
    """Settling two possible duplicates side by side: the versions the officer was shown, and a comment."""

    left_version = ParamIdField(widget=forms.HiddenInput, required=False)
    right_version = ParamIdField(widget=forms.HiddenInput, required=False)
    comment = forms.CharField(
        label=_("Comment (optional)"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
