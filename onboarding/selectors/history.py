"""What an audit event's stored `changes` say, in words: field labels, status names, dates in the reader's order.

The stored JSON keeps codes (`status: ["submitting", "submitted"]`, `birth_date: "1988-03-14"`); the record's
timeline, the audit log and the stale-save panel show them through here, so nobody reads a code or a `∅`.
"""

import datetime
import json
from dataclasses import dataclass
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from onboarding.models import ArtuEnvironment, ClientType, RecordStatus, SendCause, SubmissionStatus, UploadStatus
from onboarding.permissions import Role
from onboarding.selectors.submissions import artu_message_text
from onboarding.validation import FIELD_LABELS

EMPTY = "—"

# Keys of `changes` other than the record's data fields, as people call them.
CHANGE_LABELS: dict[str, Promise] = {
    "status": gettext_lazy("Status"),
    "version": gettext_lazy("Version"),
    "reapplied_from": gettext_lazy("Re-applied over the changes since version"),
    "reject_reason": gettext_lazy("Rejection reason"),
    "duplicate_of": gettext_lazy("Possible duplicate of"),
    "duplicate_field": gettext_lazy("Duplicated field"),
    "source": gettext_lazy("Origin"),
    "row": gettext_lazy("Row in file"),
    "messages": gettext_lazy("Artu's messages"),
    "cause": gettext_lazy("Cause"),
    "warnings": gettext_lazy("Warnings"),
    "artu_id": gettext_lazy("Artu id"),
    "artu_created_at": gettext_lazy("Created at Artu"),
    "environment": gettext_lazy("Environment"),
    "user": gettext_lazy("User"),
    "username": gettext_lazy("User name"),
    "group": gettext_lazy("Role"),
    "groups": gettext_lazy("Roles"),
    "members": gettext_lazy("Members"),
    "permissions": gettext_lazy("Permissions"),
    "user_permissions": gettext_lazy("Permissions"),
    "is_active": gettext_lazy("Active"),
    "is_staff": gettext_lazy("Staff (administration)"),
    "is_superuser": gettext_lazy("Superuser"),
    "created": pgettext_lazy("a user or role, in an audit event", "Created"),
    "deleted": pgettext_lazy("a user or role, in an audit event", "Deleted"),
    "records": gettext_lazy("Records"),
    "batches": gettext_lazy("Batches"),
    "rows": gettext_lazy("Rows"),
    "ready": gettext_lazy("Ready"),
    "errors": gettext_lazy("Errors"),
    "duplicates": gettext_lazy("Duplicates"),
    "failed": gettext_lazy("Failed"),
    "waiting": gettext_lazy("Waiting"),
    "returned": gettext_lazy("Returned to approved"),
    "atomic": gettext_lazy("All or nothing per batch"),
    "format": gettext_lazy("Format"),
    "size": gettext_lazy("Size in bytes"),
    "encoding": gettext_lazy("Encoding"),
    "delimiter": gettext_lazy("Delimiter"),
    "header_row": gettext_lazy("Header row"),
    "headers": gettext_lazy("Columns"),
    "mapping": gettext_lazy("Column mapping"),
    "saved_mapping": gettext_lazy("Saved mapping"),
    "saved_as": gettext_lazy("Saved as"),
    "same_file_as": gettext_lazy("Same file as upload"),
    "previous_upload": gettext_lazy("Corrected from the record of upload"),
    "updated": gettext_lazy("Corrected in place"),
    "unchanged": gettext_lazy("Already up to date"),
    "background": gettext_lazy("In the background"),
    "filters": gettext_lazy("Filters"),
    "events": gettext_lazy("Events"),
    "head_seq": gettext_lazy("Last event"),
    "head_hash": gettext_lazy("Hash of the last event"),
    "anchors": gettext_lazy("Anchors checked"),
}
# Keys whose text is one of these choices' values; the statuses of records, uploads and submissions do not overlap.
CHOICE_LABELS: dict[str, dict[str, Any]] = {
    "status": {**dict(RecordStatus.choices), **dict(SubmissionStatus.choices), **dict(UploadStatus.choices)},
    "client_type": dict(ClientType.choices),
    "environment": dict(ArtuEnvironment.choices),
    "cause": dict(SendCause.choices),
    "groups": dict(Role.choices),
    "group": dict(Role.choices),
    "members": {},
}
SOURCE_LABELS = {"form": gettext_lazy("form"), "upload": gettext_lazy("file upload")}
DATE_KEYS = ("birth_date",)
DATETIME_KEYS = ("artu_created_at",)
# Stored with every data change, but nothing a reader of a record's history needs.
TIMELINE_HIDDEN = ("version", "reapplied_from", "data", "sha256", "head_hash")


@dataclass(frozen=True, slots=True)
class ChangeLine:
    """One readable line of an event's `changes`: `label: old → new`, or `label: value`. `field` is the stored key."""

    field: str
    label: str
    old: str = ""
    new: str = ""
    value: str = ""
    is_change: bool = False
    initial: bool = False  # a value a created record was staged with

    @property
    def in_timeline(self) -> bool:
        return not self.initial and self.field not in TIMELINE_HIDDEN


def change_label(key: str) -> str:
    label = FIELD_LABELS.get(key) or CHANGE_LABELS.get(key)
    return str(label) if label is not None else key.replace("_", " ").capitalize()


def change_lines(changes: dict[str, Any] | None) -> list[ChangeLine]:
    """Turn the stored `changes` JSON into lines a person can read; the full JSON stays on the event's page."""
    lines = []
    changes = _sent_to_test_before_issue_14(changes)
    for key, value in (changes or {}).items():
        label = change_label(key)
        if isinstance(value, list) and len(value) == 2 and key not in ("scopes", "headers", "anchors", "same_file_as"):
            old, new = value_text(key, value[0]), value_text(key, value[1])
            lines.append(ChangeLine(key, label, old=old, new=new, is_change=True))
        elif isinstance(value, dict) and value and set(value) <= {"added", "removed"}:
            parts = [f"+ {value_text(key, value['added'])}"] if value.get("added") else []
            parts += [f"− {value_text(key, value['removed'])}"] if value.get("removed") else []
            lines.append(ChangeLine(key, label, value="; ".join(parts) or EMPTY))
        elif isinstance(value, dict) and key == "data":
            # A created record: the values it was staged with, leaving out the empty ones.
            lines += [
                ChangeLine(f, change_label(f), value=value_text(f, v), initial=True)
                for f, v in value.items()
                if v not in (None, "", False, [], {})
            ]
        else:
            lines.append(ChangeLine(key, label, value=value_text(key, value)))
    return lines


def _sent_to_test_before_issue_14(changes: dict[str, Any] | None) -> dict[str, Any] | None:
    """Until migration 0017, a record Artu created in test became "submitted", the status that now means live: such
    an event reads "sent to test", as it would be written today (the stored event is left as it is)."""
    if not changes:
        return changes
    status = changes.get("status")
    if changes.get("environment") != ArtuEnvironment.TEST or not isinstance(status, list) or len(status) != 2:
        return changes
    if status[1] != RecordStatus.SUBMITTED:
        return changes
    return {**changes, "status": [status[0], RecordStatus.SENT_TO_TEST]}


def value_text(key: str, value: Any) -> str:
    """One stored value as shown: a choice's label, a date in the reader's order, yes/no, "—" for nothing."""
    if value is None or value == "" or value == [] or value == {}:
        return EMPTY
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list):
        if value and all(isinstance(v, dict) and "message" in v for v in value):  # Artu's messages
            return "; ".join(artu_message_text(v) for v in value)
        return ", ".join(value_text(key, v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, cls=DjangoJSONEncoder)
    if key in CHOICE_LABELS and isinstance(value, str):
        return str(CHOICE_LABELS[key].get(value, value))
    if key == "reject_reason":
        from onboarding.services.review import RejectReason  # the review service reads the selectors

        return str(dict(RejectReason.choices).get(value, value))
    if key == "source":
        return str(SOURCE_LABELS.get(value, value))
    if key == "duplicate_field":
        return change_label(value)
    if key == "duplicate_of":
        return f"#{value}"
    if key in DATE_KEYS:
        return _date_text(value, "SHORT_DATE_FORMAT")
    if key in DATETIME_KEYS:
        return _date_text(value, "SHORT_DATETIME_FORMAT")
    return str(value)


def _date_text(value: Any, fmt: str) -> str:
    try:
        parsed = (datetime.datetime if "DATETIME" in fmt else datetime.date).fromisoformat(str(value))
    except ValueError:
        return str(value)
    if isinstance(parsed, datetime.datetime) and parsed.tzinfo is not None:
        parsed = timezone.localtime(parsed)
    return date_format(parsed, fmt)
