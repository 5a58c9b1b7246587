"""Creating and changing client records (staging by form)."""

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction

from onboarding.errors import InvalidTransition, StaleRecord
from onboarding.models import DATA_FIELDS, AuditAction, ClientRecord, RecordStatus, record_search_text
from onboarding.permissions import PERM_ADD_RECORD, PERM_CHANGE_RECORD
from onboarding.services.audit import audit_event_write, json_safe
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
    errors, warnings = split_problems(problems)
    old_warnings = [p for p in record.problems if p.get("severity") == "warning"]
    record.problems = [p.as_dict() for p in problems]
    record.error_count, record.warning_count = len(errors), len(warnings)
    if [p.as_dict() for p in warnings] != old_warnings:
        record.warnings_acknowledged = False


def record_data_diff(before: dict[str, Any], record: ClientRecord) -> dict[str, list]:
    """{field: [old, new]} for the data fields whose value changed."""
    after = json_safe({f: getattr(record, f) for f in DATA_FIELDS})
    before = json_safe(before)
    return {f: [before[f], after[f]] for f in DATA_FIELDS if before[f] != after[f]}


def record_create(*, actor, data: dict[str, Any]) -> ClientRecord:
    """Stage one record typed into the form; it goes to review. Writes `record.created`."""
    if not actor.has_perm(PERM_ADD_RECORD):
        raise PermissionDenied
    record = ClientRecord(created_by=actor, updated_by=actor, status=RecordStatus.IN_REVIEW)
    record_apply_data(record, data)
    with transaction.atomic(durable=True):
        record.save()
        audit_event_write(
            actor=actor,
            action=AuditAction.RECORD_CREATED,
            record_id=record.pk,
            changes={"data": json_safe({f: getattr(record, f) for f in DATA_FIELDS}), "source": "form"},
        )
    return record


def record_update(*, actor, record_id: int, version: int, data: dict[str, Any], reason: str = "") -> ClientRecord:
    """Change a record's data from `version`; refuses a stale version. Writes `record.updated` with old/new values."""
    if not actor.has_perm(PERM_CHANGE_RECORD):
        raise PermissionDenied
    with transaction.atomic(durable=True):
        record = ClientRecord.objects.select_for_update().get(pk=record_id)
        if record.status not in EDITABLE_STATUSES:
            raise InvalidTransition(status=record.status)
        before = {f: getattr(record, f) for f in DATA_FIELDS}
        if record.version != version:
            raise StaleRecord(current_version=record.version)
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
        audit_event_write(
            actor=actor, action=AuditAction.RECORD_UPDATED, record_id=record.pk, changes=changes, reason=reason
        )
    return record
