"""The forms an officer fills in to submit approved records to Artu: the submission page's, and a finished
submission's "send these again" buttons."""

import uuid

from django import forms
from django.utils.http import urlencode
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from onboarding.forms_review import IdListField, QueueFilterForm
from onboarding.models import ArtuEnvironment, RecordOutcome
from onboarding.permissions import holds_live_role
from onboarding.services.submissions import LIVE_CONFIRMATION, RESUBMITTABLE, Scope
from onboarding.validation import check_ids

QUEUE_FILTER_PREFIX = "f"  # the review queue's filter rides along as f-status, f-upload...: `upload` is taken here


class SubmissionForm(forms.Form):
    WHAT_ALL, WHAT_UPLOAD, WHAT_SELECTION, WHAT_FILTER = "all", "upload", "selection", "filter"

    what = forms.ChoiceField(
        label=_("What to submit"),
        choices=[
            (WHAT_ALL, _("Every approved record")),
            (WHAT_UPLOAD, _("The approved records of one upload")),
            (WHAT_SELECTION, _("The records selected in the review queue")),
            (WHAT_FILTER, _("The records matching the review queue's filter")),
        ],
        initial=WHAT_ALL,
        widget=forms.RadioSelect,
    )
    upload = forms.TypedChoiceField(label=_("Upload"), required=False, coerce=int, empty_value=None)
    ids = forms.CharField(required=False, widget=forms.HiddenInput)
    environment = forms.ChoiceField(
        label=_("Artu environment"),
        choices=ArtuEnvironment.choices,
        initial=ArtuEnvironment.TEST,
        widget=forms.RadioSelect,
    )
    atomic = forms.BooleanField(
        label=_("All or nothing per batch"),
        required=False,
        initial=True,
        help_text=_("When ticked, Artu creates a batch's records only if every one of them is valid."),
    )
    confirmation = forms.CharField(
        label=format_lazy(_("Type {word} to confirm sending to live"), word=LIVE_CONFIRMATION),
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs={"autocomplete": "off", "class": "mono"}),
    )
    token = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, user, uploads, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["upload"].choices = [("", "—")] + [
            (u.pk, _("%(name)s · %(count)s ready to send") % {"name": u.original_name, "count": n}) for u, n in uploads
        ]
        if not holds_live_role(user):
            self.fields["environment"].choices = [(ArtuEnvironment.TEST, ArtuEnvironment.TEST.label)]
            del self.fields["confirmation"]
        self.fields["token"].initial = uuid.uuid4().hex
        self.queue_filter = QueueFilterForm(self.data or self.initial, prefix=QUEUE_FILTER_PREFIX)

    def clean_ids(self) -> tuple[int, ...]:
        raw = self.cleaned_data.get("ids") or ""
        return tuple(check_ids(v for v in raw.replace(" ", "").split(",") if v))

    def clean(self):
        data = super().clean()
        if data.get("what") == self.WHAT_UPLOAD and not data.get("upload"):
            self.add_error("upload", _("Choose the upload."))
        if data.get("what") == self.WHAT_SELECTION and not data.get("ids"):
            self.add_error("what", _("No records are selected; select them in the review queue."))
        if data.get("what") == self.WHAT_FILTER and not self.queue_filter.is_valid():
            self.add_error("what", _("The review queue's filter is not valid; correct it in the queue."))
        return data

    def queue_filter_params(self) -> list[tuple[str, str]]:
        """The queue's filter as it came (prefixed names), for hidden inputs and the link back to the queue."""
        prefix = f"{QUEUE_FILTER_PREFIX}-"
        source = self.data if self.is_bound else self.initial
        return [(k, v) for k, v in source.items() if k.startswith(prefix) and v and isinstance(v, str)]

    def queue_query(self) -> str:
        """The review queue's own query string for the filter that came along (the link back to the queue)."""
        return urlencode([(k.split("-", 1)[1], v) for k, v in self.queue_filter_params()])

    def scope(self) -> Scope:
        data = self.cleaned_data
        what = data.get("what")
        filters = self.queue_filter.filters() if what == self.WHAT_FILTER else {}
        return Scope(
            upload_id=data.get("upload") if what == self.WHAT_UPLOAD else None,
            record_ids=data.get("ids", ()) if what == self.WHAT_SELECTION else (),
            token=data.get("token") or "",
            queue_filter=tuple((k, v) for k, v in filters.items() if v not in (None, "")),
        )


class AgainForm(forms.Form):
    """A finished submission's button: its records not sent, or those not created with a refused one, again."""

    outcome = forms.ChoiceField(choices=[(o.value, o.label) for o in RESUBMITTABLE])
    token = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)
    confirmation = forms.CharField(
        label=format_lazy(_("Type {word} to confirm sending to live"), word=LIVE_CONFIRMATION),
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs={"autocomplete": "off", "class": "mono"}),
    )

    def __init__(self, *args, environment: str, **kwargs):
        super().__init__(*args, **kwargs)
        if environment != ArtuEnvironment.LIVE:
            del self.fields["confirmation"]
        self.fields["token"].initial = uuid.uuid4().hex

    def scope(self, submission_id: int) -> Scope:
        return Scope(
            from_submission=submission_id,
            outcome=RecordOutcome(self.cleaned_data["outcome"]),
            token=self.cleaned_data.get("token") or "",
        )


class QueueSelectionForm(forms.Form):
    """The review queue's bulk bar, sent to the submission page: its ticked rows, or every record of its filter."""

    scope = forms.ChoiceField(choices=[("selected", "selected"), ("filter", "filter")], required=False)
    ids = IdListField(required=False)

    def __init__(self, data, **kwargs):
        super().__init__(data, **kwargs)
        queue_filter = QueueFilterForm(data)
        skip = ("sort", "per_page")  # how the queue shows its records, not which
        self.filter_params = [
            (n, v) for n in queue_filter.fields if n not in skip for v in data.getlist(n) if v and isinstance(v, str)
        ]

    def submission_query(self) -> str:
        """The submission page's query string for this choice; "" when no row is ticked (or the ticks are bad)."""
        if self.is_valid() and self.cleaned_data["scope"] == "filter":
            prefixed = [(f"{QUEUE_FILTER_PREFIX}-{n}", v) for n, v in self.filter_params]
            return urlencode([("what", SubmissionForm.WHAT_FILTER), *prefixed])
        ids = self.cleaned_data.get("ids") if self.is_valid() else None
        return urlencode({"ids": ",".join(map(str, ids))}) if ids else ""

    def queue_query(self) -> str:
        return urlencode(self.filter_params)
