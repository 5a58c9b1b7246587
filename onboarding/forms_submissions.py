"""The form an officer fills in to submit approved records to Artu."""

import uuid

from django import forms
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from onboarding.models import ArtuEnvironment
from onboarding.permissions import holds_live_role
from onboarding.services.submissions import LIVE_CONFIRMATION, Scope
from onboarding.validation import check_ids


class SubmissionForm(forms.Form):
    WHAT_ALL, WHAT_UPLOAD, WHAT_SELECTION = "all", "upload", "selection"

    what = forms.ChoiceField(
        label=_("What to submit"),
        choices=[
            (WHAT_ALL, _("Every approved record")),
            (WHAT_UPLOAD, _("The approved records of one upload")),
            (WHAT_SELECTION, _("The records selected in the review queue")),
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

    def clean_ids(self) -> tuple[int, ...]:
        raw = self.cleaned_data.get("ids") or ""
        return tuple(check_ids(v for v in raw.replace(" ", "").split(",") if v))

    def clean(self):
        data = super().clean()
        if data.get("what") == self.WHAT_UPLOAD and not data.get("upload"):
            self.add_error("upload", _("Choose the upload."))
        if data.get("what") == self.WHAT_SELECTION and not data.get("ids"):
            self.add_error("what", _("No records are selected; select them in the review queue."))
        return data

    def scope(self) -> Scope:
        data = self.cleaned_data
        what = data.get("what")
        return Scope(
            upload_id=data.get("upload") if what == self.WHAT_UPLOAD else None,
            record_ids=data.get("ids", ()) if what == self.WHAT_SELECTION else (),
            token=data.get("token") or "",
        )
