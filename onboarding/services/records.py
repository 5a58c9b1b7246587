"""Creating and changing client records (staging by form)."""

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction

from onboarding.errors import InvalidTransition, StaleRecord
from onboarding.models import DATA_FIELDS, AuditAction, ClientRecord, RecordStatus, record_search_text
from onboarding.permissions import PERM_ADD_RECORD, PERM_CHANGE_RECORD
from onboarding.selectors.duplicates import DUPLICATE_FIELDS, Key, duplicate_keys
from onboarding.selectors.records import record_stale_fields
from onboarding.services.audit import EventSpec, audit_event_write, audit_events_write, json_safe
from onboarding.services.duplicates import (
    FLAG_FIELDS,
    duplicate_flags_set,
    duplicate_flags_still_true,
    duplicates_lock,
    duplicates_refresh,
)
from onboarding.validation import derive_scopes, split_problems, validate_record

# Data may be changed only before submission; a change sends the record (back) to review.
EDITABLE_STATUSES = (RecordStatus.DRAFT, RecordStatus.IN_REVIEW, RecordStatus.APPROVED, RecordStatus.FAILED)


def record_apply_data(record: ClientRecord, data: dict[str, Any]) -> None:
    """Set the data fields, derive scopes unless overridden, and store the validation outcome and search text."""
    for field in DATA_FIELDS:
        if field in data:
            setattr(record, field, data[field])
    values = {f: getattr(record, f) for f in DATA_FIELDS}
    record.search_text = record_search_text(values)
    if not record.scopes_override:
        record.scopes = values["scopes"] = derive_scopes(values)
    problems = validate_record(values)
    _errors, warnings = split_problems(problems)
    old_warnings = [p for p in record.problems if p.get("severity") == "warning"]
    # Duplicate flags are not validation: they stay while the record holds the value (services.duplicates).
    flags = duplicate_flags_still_true(record)
    record.problems = [p.as_dict() for p in problems]
    duplicate_flags_set(record, flags)
    if [p.as_dict() for p in warnings] != old_warnings:
        record.warnings_acknowledged = False


def record_data_diff(before: dict[str, Any], record: ClientRecord) -> dict[str, list]:
    """{field: [old, new]} for the data fields whose value changed."""
    after = json_safe({f: getattr(record, f) for f in DATA_FIELDS})
    before = json_safe(before)
    return {f: [before[f], after[f]] for f in DATA_FIELDS if before[f] != after[f]}


def _identifier_keys(record_id: int, data: dict[str, Any]) -> set[Key]:
    """The identifier values an update would take from or give to the record (none when they stay), read before
    locking it: the duplicate lock on a value is taken before any row lock (services.duplicates)."""
    old = ClientRecord.objects.filter(pk=record_id).values(*DUPLICATE_FIELDS).first()
    if old is None or all(data.get(f, old[f]) == old[f] for f in DUPLICATE_FIELDS):
        return set()
    return duplicate_keys(old) | duplicate_keys({f: data.get(f, old[f]) for f in DUPLICATE_FIELDS})


def record_create(*, actor, data: dict[str, Any]) -> ClientRecord:
    """Stage one record typed into the form; it goes to review, flagged with any record holding one of its
    identifiers (and that record with it). Writes `record.created`, then `record.updated` for each flag set."""
    if not actor.has_perm(PERM_ADD_RECORD):
        raise PermissionDenied
    record = ClientRecord(created_by=actor, updated_by=actor, status=RecordStatus.IN_REVIEW)
    record_apply_data(record, data)
    keys = duplicate_keys({f: getattr(record, f) for f in DUPLICATE_FIELDS})
    with transaction.atomic(durable=True):
        duplicates_lock(keys)
        record.save()
        created = EventSpec(
            action=AuditAction.RECORD_CREATED,
            record_id=record.pk,
            changes={"data": json_safe({f: getattr(record, f) for f in DATA_FIELDS}), "source": "form"},
        )
        flagged = duplicates_refresh(keys=keys)
        audit_events_write(actor=actor, events=[created, *flagged.events])
        if record.pk in flagged.changes:
            record.refresh_from_db(fields=FLAG_FIELDS)
    return record


def record_update(
    *,
    actor,
    record_id: int,
    version: int,
    data: dict[str, Any],
    reason: str = "",
    base_version: int | None = None,
    keep_mine: Iterable[str] = (),
) -> ClientRecord:
    """Change a record's data from `version`; refuses a stale version. Writes `record.updated` with old/new values.

    With `base_version` (the version the user's form was opened at; `version` is the one shown to them since), only
    the fields they changed from it are applied: the others keep what was saved meanwhile, and a field both changed
    keeps the other person's value unless it is named in `keep_mine`."""
    if not actor.has_perm(PERM_CHANGE_RECORD):
        raise PermissionDenied
    keys = _identifier_keys(record_id, data)
    with transaction.atomic(durable=True):
        duplicates_lock(keys)
        record = ClientRecord.objects.select_for_update().get(pk=record_id)
        if record.status not in EDITABLE_STATUSES:
            raise InvalidTransition(status=record.status)
        before = {f: getattr(record, f) for f in DATA_FIELDS}
        if record.version != version:
            raise StaleRecord(current_version=record.version)
        if base_version is not None and base_version != version:
            data = _reapplied(record, base_version, data, set(keep_mine))
        record_apply_data(record, data)
        changes = record_data_diff(before, record)
        if not changes:
            return record
        previous_status = record.status
        # Changed data needs a fresh review, whoever approved it before.
        record.status = RecordStatus.IN_REVIEW
        record.version += 1
        record.updated_by = actor
        record.save()
        if previous_status != record.status:
            changes["status"] = [previous_status, record.status]
        changes["version"] = [version, record.version]
        if base_version is not None and base_version != version:
            changes["reapplied_from"] = base_version
        event = EventSpec(action=AuditAction.RECORD_UPDATED, record_id=record.pk, changes=changes, reason=reason)
        flagged = duplicates_refresh(keys=keys)
        audit_events_write(actor=actor, events=[event, *flagged.events])
        if record.pk in flagged.changes:
            record.refresh_from_db(fields=FLAG_FIELDS)
    return record


def _reapplied(record: ClientRecord, base_version: int, data: dict[str, Any], keep_mine: set[str]) -> dict[str, Any]:
    """The user's changes from `base_version` laid over the record as it is now (see `record_update`)."""
    fields = record_stale_fields(record=record, base_version=base_version, data=data)
    return {
        f.field: data[f.field]
        for f in fields
        if f.mine_changed and (not f.conflict or f.field in keep_mine) and f.field in data
    }


def record_resubmit(*, actor, record_id: int, comment: str = "") -> ClientRecord:
    """Send a draft (a record sent back to data entry) to review again as it is; `comment` answers the reviewer.
    Raises PermissionDenied, InvalidTransition. Writes `record.sent_to_review`. The data and the people who made
    it are unchanged, so who may approve it (maker-checker) is too."""
    if not actor.has_perm(PERM_CHANGE_RECORD):
        raise PermissionDenied
    with transaction.atomic(durable=True):
        record = ClientRecord.objects.select_for_update().get(pk=record_id)
        if record.status != RecordStatus.DRAFT:
            raise InvalidTransition(status=record.status)
        record.status = RecordStatus.IN_REVIEW
        record.save(update_fields=["status"])
        audit_event_write(
            actor=actor,
            action=AuditAction.RECORD_SENT_TO_REVIEW,
            record_id=record.pk,
            changes={"status": [RecordStatus.DRAFT, RecordStatus.IN_REVIEW]},
            reason=comment.strip(),
        )
    return record
