"""Read queries over the audit trail: the filtered log, one event, the last verification."""

import datetime
import json
import uuid
from typing import Any

from django.contrib.auth import get_user_model
from django.core.paginator import Page, Paginator
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from onboarding.models import AuditEvent, AuditVerification, Submission
from onboarding.permissions import Role
from onboarding.selectors.history import change_lines
from onboarding.selectors.review import review_queue_filter
from onboarding.validation import ID_MAX

# What `actor_role` stores besides group names and "system" (see services/audit.py).
RECENT_SUBMISSIONS = 50  # offered by the log's submission filter
SPECIAL_ROLES = {"administrator": lambda: _("Administrator")}
TARGET_LABELS = {
    "user": lambda: _("User"),
    "group": lambda: _("Role"),
    "record": lambda: _("Record"),
    "upload": lambda: _("Upload"),
    "submission": lambda: _("Submission"),
    "batch": lambda: _("Batch"),
    "saved_mapping": lambda: _("Saved mapping"),
    "audit_log": lambda: _("Audit log"),
}


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


def audit_submission_list(*, limit: int = RECENT_SUBMISSIONS, including: int | None = None) -> list[Submission]:
    """The latest submissions, newest first, with who started them, plus submission `including` wherever it falls
    (the one a URL names). One query, two with `including` beyond the latest."""
    latest = Submission.objects.select_related("created_by").only("environment", "created_at", "created_by__username")
    submissions = list(latest.order_by("-created_at", "-pk")[:limit])
    if including is not None and all(s.pk != including for s in submissions):
        submissions += latest.filter(pk=including)
    return submissions


def audit_event_page(*, events: QuerySet[AuditEvent], page: Any, per_page: int) -> Page:
    """One page of `events` in two queries (count, rows); rows get `change_lines`, `role_labels`, `target_label`."""
    result = Paginator(events, per_page).get_page(page)
    events = list(result.object_list)
    usernames = _usernames(events)
    result.object_list = [_decorate(event, usernames) for event in events]
    return result


def audit_event_get(*, seq: int) -> AuditEvent:
    """One event by its sequence number, decorated like a log row; raises AuditEvent.DoesNotExist."""
    event = AuditEvent.objects.select_related("record").get(seq=seq)
    return _decorate(event, _usernames([event]))


def audit_event_json(event: AuditEvent) -> str:
    """Every stored column of the event, pretty-printed, for the detail page."""
    data = {f.attname: getattr(event, f.attname) for f in AuditEvent._meta.concrete_fields}
    data["created_at"] = event.created_at.isoformat()
    return json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2)


def audit_verification_last() -> AuditVerification | None:
    """The most recent chain verification, or None if it never ran."""
    return AuditVerification.objects.order_by("-ran_at", "-pk").first()


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


def _decorate(event: AuditEvent, usernames: dict[str, str] | None = None) -> AuditEvent:
    event.change_lines = change_lines(event.changes)
    event.role_labels = audit_role_labels(event.actor_role)
    label = TARGET_LABELS.get(event.target_type)
    event.target_label = label() if label else event.target_type
    event.target_name = _target_name(event, usernames or {})
    return event


def _target_name(event: AuditEvent, usernames: dict[str, str]) -> str:
    """Who or what the event is about, by name: a user's username and a role's name, not their numbers."""
    changes = event.changes if isinstance(event.changes, dict) else {}
    if event.target_type == "user":
        if event.target_id and event.target_id == str(event.actor_id or ""):
            return event.actor_username
        return changes.get("user") or changes.get("username") or usernames.get(event.target_id) or event.target_id
    if event.target_type == "group":
        value = changes.get("group") or event.target_id
        return str(dict(Role.choices).get(value, value))
    if event.target_type == "saved_mapping" and changes.get("name"):
        return f"“{changes['name']}”"
    return f"#{event.target_id}" if event.target_id.isdigit() else event.target_id


def _usernames(events: list[AuditEvent]) -> dict[str, str]:
    """Usernames of the users the events are about that the events do not name themselves (one query, if any)."""
    wanted = {
        int(e.target_id)
        for e in events
        if e.target_type == "user"
        and e.target_id.isdigit()
        and e.target_id != str(e.actor_id or "")
        and not (isinstance(e.changes, dict) and (e.changes.get("user") or e.changes.get("username")))
    }
    if not wanted:
        return {}
    return {str(pk): name for pk, name in get_user_model().objects.filter(pk__in=wanted).values_list("pk", "username")}


def _start_of_day(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
