"""Read queries used by views and services; no writes."""

import datetime
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Count, Exists, OuterRef, QuerySet

from onboarding.models import DATA_FIELDS, AuditEvent, ClientRecord, RecordStatus, Upload, UploadStatus
from onboarding.selectors.artu import with_environments
from onboarding.selectors.history import value_text
from onboarding.selectors.review import record_changes_since
from onboarding.services.audit import json_safe
from onboarding.validation import FIELD_LABELS

RECENT_UPLOADS = 50


def record_list(*, status: str | None = None) -> QuerySet[ClientRecord]:
    """Records newest first, with the people who staged and last changed them and the environments of Artu holding
    them (`in_test`, `in_live`)."""
    qs = with_environments(ClientRecord.objects.select_related("created_by", "updated_by", "reviewed_by"))
    if status in RecordStatus.values:
        qs = qs.filter(status=status)
    return qs


def record_get(*, pk: int) -> ClientRecord:
    """One record with its people; raises ClientRecord.DoesNotExist."""
    return ClientRecord.objects.select_related("created_by", "updated_by").get(pk=pk)


def record_status_counts() -> dict[str, int]:
    """{status: count} for every status, zeros included, in one query."""
    counts = dict(ClientRecord.objects.values_list("status").annotate(n=Count("id")).order_by())
    return {s: counts.get(s, 0) for s in RecordStatus.values}


def record_history(*, record_id: int) -> QuerySet[AuditEvent]:
    """The record's audit events, newest first."""
    return AuditEvent.objects.filter(record_id=record_id).select_related("actor").order_by("-seq")


@dataclass(frozen=True, slots=True)
class StaleField:
    """One data field of a save made from an older version: its value then (`base`), now (`theirs`, changed by
    `by` at `at` when they changed it) and in the user's form (`mine`), all as stored JSON."""

    field: str
    base: Any
    theirs: Any
    mine: Any
    by: str = ""
    at: datetime.datetime | None = None

    @property
    def label(self) -> str:
        return str(FIELD_LABELS.get(self.field, self.field))

    @property
    def theirs_changed(self) -> bool:
        return self.theirs != self.base

    @property
    def mine_changed(self) -> bool:
        return self.mine != self.base

    @property
    def conflict(self) -> bool:
        """Both changed it, to different values: the user must choose (the other person's value by default)."""
        return self.theirs_changed and self.mine_changed and self.mine != self.theirs

    @property
    def theirs_text(self) -> str:
        return value_text(self.field, self.theirs)

    @property
    def mine_text(self) -> str:
        return value_text(self.field, self.mine)

    @property
    def base_text(self) -> str:
        return value_text(self.field, self.base)


def record_stale_fields(*, record: ClientRecord, base_version: int, data: dict[str, Any]) -> list[StaleField]:
    """The data fields that the user (`data`, typed over `base_version`) or someone since then changed, in form
    order; the record as it is now gives the other values. Reads the record's change events (one query)."""
    changes = {c["field"]: c for c in record_changes_since(record_id=record.pk, version=base_version)}
    now = json_safe({f: getattr(record, f) for f in DATA_FIELDS})
    mine = json_safe({f: data[f] for f in DATA_FIELDS if f in data})
    fields = []
    for name in DATA_FIELDS:
        change = changes.get(name, {})
        base = change.get("old", now[name]) if change else now[name]
        row = StaleField(name, base, now[name], mine.get(name, base), change.get("by", ""), change.get("at"))
        if row.theirs_changed or row.mine_changed:
            fields.append(row)
    return fields


def record_creator_list() -> QuerySet:
    """The users who staged at least one record, by user name: one probe of the created_by index per user, never a
    pass over the records."""
    staged = ClientRecord.objects.filter(created_by=OuterRef("pk"))
    users = get_user_model().objects.filter(Exists(staged))
    return users.only("username", "first_name", "last_name").order_by("username")


def record_upload_list(
    *, limit: int = RECENT_UPLOADS, including: int | None = None, staged_only: bool = True
) -> list[Upload]:
    """The latest uploads (`staged_only`: those that staged records), newest first, plus upload `including`
    wherever it falls."""
    fields = ("original_name", "created_at")
    latest = Upload.objects.only(*fields).order_by("-created_at", "-pk")
    if staged_only:
        latest = latest.filter(status__in=(UploadStatus.STAGING, UploadStatus.STAGED))
    uploads = list(latest[:limit])
    if including is not None and all(u.pk != including for u in uploads):
        uploads += Upload.objects.filter(pk=including).only(*fields)
    return uploads
