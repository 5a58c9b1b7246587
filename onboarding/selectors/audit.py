"""Read queries over the audit trail: the filtered log, one event, the last verification."""

import datetime
import json
import uuid
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.core.paginator import Page, Paginator
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from onboarding.models import AuditEvent, AuditVerification
from onboarding.permissions import Role
from onboarding.selectors.review import review_queue_filter
from onboarding.validation import ID_MAX

# What `actor_role` stores besides group names and "system" (see services/audit.py).
SPECIAL_ROLES = {"administrator": lambda: _("Administrator")}
TARGET_LABELS = {
    "user": lambda: _("User"),
    "group": lambda: _("Role"),
    "record": lambda: _("Record"),
    "upload": lambda: _("Upload"),
    "submission": lambda: _("Submission"),
    "batch": lambda: _("Batch"),
    "audit_log": lambda: _("Audit log"),
}
EMPTY = "∅"


def audit_event_list(
    *,
    actor: str = "",
    action: str = "",
    record: str = "",
    upload_id: int | None = None,
    submission_id: int | None = None,
    date_from: datetime.date | None = None,
    date_to: datetime.date | None = None,
) -> QuerySet[AuditEvent]:
    """Events newest first, narrowed by any of the filters; dates are whole days in the current time zone. `record`
    names records as `audit_record_filter` reads it."""
    qs = AuditEvent.objects.select_related("record").order_by("-seq")
    if actor:
        qs = qs.filter(actor_username__iexact=actor)
    if action:
        qs = qs.filter(action=action)
    if record:
        qs = qs.filter(audit_record_filter(record))
    if upload_id is not None:
        qs = qs.filter(upload_id=upload_id)
    if submission_id is not None:
        qs = qs.filter(submission_id=submission_id)
    if date_from:
        qs = qs.filter(created_at__gte=_start_of_day(date_from))
    if date_to:
        qs = qs.filter(created_at__lt=_start_of_day(date_to + datetime.timedelta(days=1)))
    return qs


def audit_record_filter(ref: str) -> Q:
    """The events of the records `ref` names. A number is a record's number or its whole external id; a local id
    (uuid) is that record; anything else is what the review queue's search finds for it (external id, RFC or CURP
    from their start, words of the name without accents or case)."""
    if ref.isdecimal():
        found = Q(record__external_id=ref)
        return found | Q(record_id=int(ref)) if len(ref) <= len(str(ID_MAX)) and int(ref) <= ID_MAX else found
    try:
        return Q(record__uuid=uuid.UUID(ref))
    except ValueError:
        return Q(record__in=review_queue_filter(q=ref).values("pk"))


def audit_actor_list() -> QuerySet:
    """The users who appear in the log, by user name (one probe of the actor index per user)."""
    users = get_user_model().objects.filter(Exists(AuditEvent.objects.filter(actor=OuterRef("pk"))))
    return users.only("username", "first_name", "last_name").order_by("username")


def audit_event_page(*, events: QuerySet[AuditEvent], page: Any, per_page: int) -> Page:
    """One page of `events` in two queries (count, rows); rows get `change_lines`, `role_labels`, `target_label`."""
    result = Paginator(events, per_page).get_page(page)
    result.object_list = [_decorate(event) for event in result.object_list]
    return result


def audit_event_get(*, seq: int) -> AuditEvent:
    """One event by its sequence number, decorated like a log row; raises AuditEvent.DoesNotExist."""
    return _decorate(AuditEvent.objects.select_related("record").get(seq=seq))


def audit_event_json(event: AuditEvent) -> str:
    """Every stored column of the event, pretty-printed, for the detail page."""
    data = {f.attname: getattr(event, f.attname) for f in AuditEvent._meta.concrete_fields}
    data["created_at"] = event.created_at.isoformat()
    return json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2)


def audit_verification_last() -> AuditVerification | None:
    """The most recent chain verification, or None if it never ran."""
    return AuditVerification.objects.order_by("-ran_at", "-pk").first()


@dataclass(frozen=True, slots=True)
class ChangeLine:
    """One readable line of an event's `changes`: `field: old → new`, or `field: value`."""

    field: str
    old: str = ""
    new: str = ""
    value: str = ""
    is_change: bool = False


def audit_change_lines(changes: dict[str, Any]) -> list[ChangeLine]:
    """Turn the stored `changes` JSON into lines a person can read; the full JSON stays on the detail page."""
    lines = []
    for key, value in (changes or {}).items():
        if isinstance(value, list) and len(value) == 2:
            lines.append(ChangeLine(key, old=_text(value[0]), new=_text(value[1]), is_change=True))
        elif isinstance(value, dict) and set(value) <= {"added", "removed"}:
            parts = [f"+ {_text(value['added'])}"] if value.get("added") else []
            parts += [f"− {_text(value['removed'])}"] if value.get("removed") else []
            lines.append(ChangeLine(key, value="; ".join(parts) or EMPTY))
        elif isinstance(value, dict) and key == "data":
            # A created record: list the values it was staged with, leaving out the empty ones.
            lines += [ChangeLine(f, value=_text(v)) for f, v in value.items() if v not in (None, "", False, [], {})]
        else:
            lines.append(ChangeLine(key, value=_text(value)))
    return lines


def audit_role_labels(stored: str) -> list[str]:
    """The actor's roles at the time of the event, as translated labels."""
    if stored == "system":
        return []  # no person acted; the page already says "system"
    labels = []
    for name in filter(None, stored.split(",")):
        if name in SPECIAL_ROLES:
            labels.append(SPECIAL_ROLES[name]())
        else:
            labels.append(str(Role(name).label) if name in Role.values else name)
    return labels


def _decorate(event: AuditEvent) -> AuditEvent:
    event.change_lines = audit_change_lines(event.changes)
    event.role_labels = audit_role_labels(event.actor_role)
    label = TARGET_LABELS.get(event.target_type)
    event.target_label = label() if label else event.target_type
    return event


def _text(value: Any) -> str:
    if value is None or value == "":
        return EMPTY
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list):
        return ", ".join(_text(v) for v in value) or EMPTY
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, cls=DjangoJSONEncoder)
    return str(value)


def _start_of_day(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
