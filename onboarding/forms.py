"""Forms: field declarations and widgets; rules live in validation.py."""

from collections.abc import Callable, Iterable
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import ProhibitNullCharactersValidator
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from onboarding import validation
from onboarding.models import AV_FIELDS, DATA_FIELDS, ClientRecord
from onboarding.selectors.audit import audit_submission_list
from onboarding.selectors.records import record_upload_list
from onboarding.validation import (
    FIELD_LABELS,
    ID_MAX,
    KNOWN_SCOPES,
    Severity,
    check_param_date,
    check_param_text,
    normalize_curp,
    normalize_nationalities,
    normalize_rfc,
    normalize_text,
    validate_record,
)

DATE_PLACEHOLDER = pgettext_lazy("how to type a date", "DD/MM/YYYY")
# Free text, tidied here; the identifiers and nationalities have cleaners of their own.
TEXT_FIELDS = tuple(f for f in validation.TEXT_FIELDS if f not in ("rfc", "curp", "nationalities"))


class DateTextInput(forms.DateInput):
    """A text box for a date, typed DD/MM/YYYY (or YYYY-MM-DD) and read with the language's DATE_INPUT_FORMATS
    (onboarding/formats/). Not a native date input: that one shows and takes the browser's order, month first in a
    Chromium set to es-MX, whatever the page's language says."""

    input_type = "text"

    def __init__(self, attrs=None):
        defaults = {"placeholder": DATE_PLACEHOLDER, "autocomplete": "off", "class": "date-input", "maxlength": 10}
        super().__init__({**defaults, **(attrs or {})})


# -- fields for request parameters: filters in a URL, ids and versions in a form ---------------------------------
# Each one bounds what the database and the selectors' arithmetic can take, so a hand-made URL gets the form's
# message and never reaches a query it would break.


class ParamDateField(forms.DateField):
    """A filter date, from PARAM_DATE_MIN to PARAM_DATE_MAX (the end of that day still fits a datetime)."""

    default_validators = [check_param_date]

    def __init__(self, **kwargs):
        kwargs.setdefault("widget", DateTextInput)
        super().__init__(**kwargs)


class ParamTextField(forms.CharField):
    """One line of typed text: control characters, surrogates and bytes that were not UTF-8 are refused."""

    default_validators = [check_param_text]

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        # check_param_text refuses NUL too: one message, not two.
        self.validators = [v for v in self.validators if not isinstance(v, ProhibitNullCharactersValidator)]


class ParamIdField(forms.IntegerField):
    """A record, upload or submission number, or a version: 1 to ID_MAX (a 64-bit database integer)."""

    def __init__(self, **kwargs):
        super().__init__(min_value=1, max_value=ID_MAX, **kwargs)


class ParamSelect(forms.Select):
    """A filter picked from a list that is read when the control is drawn, never when the form only validates (an
    htmx swap of the results). The field keeps validating the parameter: a value from the URL that is not in the
    list still filters, and is shown as an option of its own so the control says what the page filters on."""

    def __init__(self, options: Callable[[str], Iterable[tuple[Any, str]]], *, empty_label: str, attrs=None):
        super().__init__(attrs)
        self.read_options, self.empty_label = options, empty_label

    def optgroups(self, name, value, attrs=None):
        current = value[0] if value and value[0] is not None else ""
        choices = [("", self.empty_label), *self.read_options(current)]
        if current and current not in {str(v) for v, _label in choices}:
            choices.append((current, current))
        self.choices = choices
        return super().optgroups(name, value, attrs)


def user_label(user) -> str:
    """A user as a filter lists them: the user name the pages show, and the full name when there is one."""
    full = user.get_full_name()
    return f"{user.username} ({full})" if full else user.username


def user_select(users: Callable[[], Iterable]) -> ParamSelect:
    """A user-name filter picked from `users()`."""
    return ParamSelect(lambda current: [(u.username, user_label(u)) for u in users()], empty_label=_("Anyone"))


def upload_label(upload) -> str:
    """An upload as a filter lists it: file name (first: a narrow control shows the start), when it arrived, and its
    number (the pages show it)."""
    when = formats.date_format(timezone.localtime(upload.created_at), "SHORT_DATETIME_FORMAT")
    return f"{upload.original_name} · {when} · #{upload.pk}"


def _latest_select(field: forms.Field, latest: Callable[[int | None], Iterable], label: Callable) -> ParamSelect:
    """A filter by number (`field`, a ParamIdField) picked from `latest(including)`: the latest objects plus the
    one the URL names (`including`, None when the URL names none or a bad one), each shown by `label`."""

    def options(current: str) -> list[tuple[int, str]]:
        try:
            including = field.clean(current)
        except ValidationError:
            including = None
        return [(o.pk, label(o)) for o in latest(including)]

    return ParamSelect(options, empty_label=_("Any"))


def upload_select(field: forms.Field, *, staged_only: bool) -> ParamSelect:
    """An upload filter (`field`, a ParamIdField) picked from the latest uploads and the one the URL names."""
    return _latest_select(
        field, lambda including: record_upload_list(including=including, staged_only=staged_only), upload_label
    )


def submission_label(submission) -> str:
    """A submission as a filter lists it: its number (first, as the pages show it), Artu environment, when it was
    started and by whom."""
    when = formats.date_format(timezone.localtime(submission.created_at), "SHORT_DATETIME_FORMAT")
    return f"#{submission.pk} · {submission.get_environment_display()} · {when} · {submission.created_by.username}"


def submission_select(field: forms.Field) -> ParamSelect:
    """A submission filter (`field`, a ParamIdField) picked from the latest submissions and the one the URL names."""
    return _latest_select(field, lambda including: audit_submission_list(including=including), submission_label)


class OptionalJSONField(forms.JSONField):
    """A JSON text area that shows nothing, rather than `null` or `{}`, when there is no value."""

    def prepare_value(self, value):
        if value in (None, "", {}, []):
            return ""
        return super().prepare_value(value)

    def bound_data(self, data, initial):
        return "" if data in (None, "") else super().bound_data(data, initial)


class ClientRecordForm(forms.ModelForm):
    """Every field of an Artu `/clients/batch` item, grouped as compliance staff think of them."""

    birth_date = forms.DateField(
        label=_("Birth date (persons) or incorporation date (companies)"),
        required=False,
        widget=DateTextInput,
        help_text=_("Day first: 04/03/1988 is 4 March 1988."),
    )
    scopes = forms.MultipleChoiceField(
        label=_("Scopes"),
        required=False,
        choices=[(s, s) for s in KNOWN_SCOPES],
        widget=forms.CheckboxSelectMultiple,
    )
    metadata = OptionalJSONField(
        label=_("Metadata (JSON object)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "class": "mono"}),
    )
    us_scope_data = OptionalJSONField(
        label=_("US scope data (JSON)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "class": "mono"}),
    )
    # Wider than the stored value: spaces and dashes typed by the user are removed before the length check.
    rfc = forms.CharField(
        label="RFC",
        required=False,
        max_length=30,
        help_text=_("13 characters for a person, 12 for a company. Spaces and dashes are removed."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "class": "mono", "maxlength": 30}),
    )
    curp = forms.CharField(
        label="CURP",
        required=False,
        max_length=40,
        help_text=_("18 characters, persons only."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "class": "mono", "maxlength": 40}),
    )
    version = ParamIdField(widget=forms.HiddenInput, required=False)
    # Set after a stale save: the version the user has now been shown, onto which their changes are re-applied.
    onto_version = ParamIdField(widget=forms.HiddenInput, required=False)

    groups = (
        (
            _("Identity"),
            (
                "client_type",
                "name",
                "middle_name",
                "apellido_paterno",
                "apellido_materno",
                "birth_date",
                "nationalities",
                "external_id",
            ),
        ),
        (_("Mexico: RFC and CURP"), ("rfc", "curp")),
        (_("Actividades vulnerables (LFPIORPI art. 17)"), (*AV_FIELDS.values(), "avi_username")),
        (_("CNBV: money transmitter"), ("cnbv_numero_cuenta", "cnbv_clave_sujeto_obligado")),
        (_("Scopes and other data"), ("scopes_override", "scopes", "metadata", "us_scope_data")),
    )

    class Meta:
        model = ClientRecord
        fields = DATA_FIELDS  # drawn in groups by `grouped_fields`, not in this order
        widgets = {
            "client_type": forms.RadioSelect,
            "nationalities": forms.TextInput(attrs={"placeholder": "MX", "class": "mono"}),
        }
        help_texts = {
            "name": _("Given name(s) of a person; legal name (razón social) of a company or trust."),
            "apellido_paterno": _("Persons: the father's surname, as on the CURP. Particles stay: “de la Garza”."),
            "apellido_materno": _("Persons: the mother's surname; empty when there is only one."),
            "nationalities": _("Country codes or names separated by commas: MX, US or Mexicana, Estadounidense."),
            "avi_username": _("The client's username on the virtual-asset platform."),
            "scopes_override": _("Leave unticked to derive the scopes from the data above."),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.warnings = []
        for name, field in self.fields.items():
            if name in FIELD_LABELS and name not in ("birth_date",):
                field.label = FIELD_LABELS[name]
        self.fields["client_type"].choices = self.fields["client_type"].choices[1:]
        if self.instance.pk:
            self.fields["version"].initial = self.instance.version

    def grouped_fields(self):
        return [(title, [self[name] for name in names]) for title, names in self.groups]

    def clean_rfc(self):
        return normalize_rfc(self.cleaned_data.get("rfc"))

    def clean_curp(self):
        return normalize_curp(self.cleaned_data.get("curp"))

    def clean_nationalities(self):
        return normalize_nationalities(self.cleaned_data.get("nationalities"))

    def clean_metadata(self):
        return self.cleaned_data.get("metadata") or {}

    def clean(self):
        data = super().clean()
        for name in TEXT_FIELDS:
            if name in data:
                data[name] = normalize_text(data[name])
        data["scopes"] = list(data.get("scopes") or [])
        for problem in validate_record(data):
            target = problem.field if problem.field in self.fields else None
            if problem.severity == Severity.ERROR:
                if target is None or target in self.errors:
                    self.add_error(None, problem.message)
                else:
                    self.add_error(target, problem.message)
            else:
                self.warnings.append(problem)
        return data

    def record_data(self) -> dict:
        return {k: v for k, v in self.cleaned_data.items() if k not in ("version", "onto_version")}

    def reapply_kwargs(self) -> dict:
        """`record_update`'s version arguments: a plain save from the version opened, or, after a stale save, a
        re-apply from it onto the version shown since, with the fields where the user chose their own value."""
        opened = self.cleaned_data.get("version") or 0
        onto = self.cleaned_data.get("onto_version")
        if not onto:
            return {"version": opened}
        keep_mine = [f for f in DATA_FIELDS if self.data.get(f"choice_{f}") == "mine"]
        return {"version": onto, "base_version": opened, "keep_mine": keep_mine}
