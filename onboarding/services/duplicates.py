"""Possible duplicates: records sharing an external id, RFC or CURP are flagged on both sides until an officer settles
the pair (keeps one and rejects the other, or declares them different clients).

One rule for every path (form, full edit, queue cell, upload, reject, "not a duplicate"): the records holding one
identifier value, rejected ones aside, form a group, and each member carries a blocking `duplicate` problem naming
the oldest other member it has not been declared different from (`DuplicateDismissal`). A path that changes who
holds a value takes `duplicates_lock` on it before reading, writes, then calls `duplicates_refresh` in the same
transaction.

- Rejected records never count: they will never reach Artu, and a client rejected as incomplete is expected to be
  typed or uploaded again without the old record blocking the new one.
- Submitted (and submitting) records count, since the client is at Artu already, but are never written: the
  newcomer is flagged against them, and their own review is over.
- An approved record that gets a flag goes back to review: what was approved did not know of the duplicate, and
  an approved record must never carry a blocking problem (the submission would send it anyway).

Concurrency: a unique constraint cannot be used, since duplicates must be stageable. On PostgreSQL every transaction
that changes the holders of a value holds an advisory lock on that value (`duplicates_lock`) from before it looks
for holders until it commits, so a second save of the same value waits and then sees the first one's record. An
upload locks every value at once, just before its final check. SQLite needs nothing: its write transactions begin
IMMEDIATE, one at a time.
"""

import hashlib
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from django.db import connection

from onboarding.models import AuditAction, ClientRecord, RecordStatus
from onboarding.selectors.duplicates import (
    DUPLICATE_FIELDS,
    Holder,
    Key,
    duplicate_dismissals,
    duplicate_groups,
)
from onboarding.services.audit import EventSpec
from onboarding.services.bulk import objects_update

# Records whose flags are written here: not yet at Artu, not rejected.
FLAGGABLE = (RecordStatus.DRAFT, RecordStatus.IN_REVIEW, RecordStatus.APPROVED, RecordStatus.FAILED)
FLAG_FIELDS = ["problems", "error_count", "warning_count", "duplicate_of", "duplicate_field", "status"]
_EVERY_VALUE = 0x6475_706C_6963_6174  # the bigint advisory lock over every value; keys use the (int, int) space
_KEY_SPACE = 0x6475_7073


# -- locks -------------------------------------------------------------------------------------------------------


def _lock_id(key: Key) -> int:
    digest = hashlib.blake2b(f"{key[0]}\x1f{key[1]}".encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big", signed=True)


def duplicates_lock(keys: Iterable[Key] = (), *, every: bool = False) -> None:
    """Inside the caller's transaction, before it looks for the holders of `keys` (or of any value: `every`): make
    any other transaction changing the holders of one of them wait for this one's commit, and this one for theirs.

    PostgreSQL: transaction-scoped advisory locks, taken in one order by everyone (no deadlock between two savers);
    a single save takes the every-value lock shared, an upload takes it alone. SQLite: nothing (IMMEDIATE)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        if every:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_EVERY_VALUE])
            return
        ids = sorted({_lock_id(key) for key in keys})
        if not ids:
            return
        cursor.execute("SELECT pg_advisory_xact_lock_shared(%s)", [_EVERY_VALUE])
        for lock_id in ids:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_KEY_SPACE, lock_id])


# -- the flag on one record --------------------------------------------------------------------------------------


def duplicate_problem(field: str, value: str, other: Holder, *, upload_id: int | None) -> dict[str, Any]:
    """The blocking problem saying that `other` holds `value` too (naming its row when it is in the same file)."""
    params: dict[str, Any] = {"value": value, "other": other.pk}
    params["in_file"] = upload_id is not None and other.upload_id == upload_id
    if params["in_file"]:
        params["row"] = other.source_row
    return {"field": field, "code": "duplicate", "severity": "error", "params": params}


def duplicate_flags(record: ClientRecord) -> list[dict[str, Any]]:
    return [p for p in record.problems if p.get("code") == "duplicate"]


def _flag_key(problem: dict[str, Any]) -> Key:
    return problem["field"], (problem.get("params") or {}).get("value") or ""


def _flag_order(problem: dict[str, Any]) -> tuple[int, str]:
    return DUPLICATE_FIELDS.index(problem["field"]), _flag_key(problem)[1]


def duplicate_flags_still_true(record: ClientRecord) -> list[dict[str, Any]]:
    """The record's flags for values it still holds (an edit that changed the value drops that flag)."""
    return [p for p in duplicate_flags(record) if getattr(record, p["field"], None) == _flag_key(p)[1]]


def duplicate_flags_set(record: ClientRecord, flags: list[dict[str, Any]]) -> None:
    """Replace the record's `duplicate` problems with `flags` (not saved): problem counts and the link follow."""
    ordered = sorted(flags, key=_flag_order)
    record.problems = [p for p in record.problems if p.get("code") != "duplicate"] + ordered
    record.error_count = sum(1 for p in record.problems if p.get("severity") == "error")
    record.warning_count = sum(1 for p in record.problems if p.get("severity") == "warning")
    record.duplicate_of_id = ordered[0]["params"]["other"] if ordered else None
    record.duplicate_field = ordered[0]["field"] if ordered else ""


# -- the rule over a group ---------------------------------------------------------------------------------------


def _partners(keys: set[Key]) -> dict[int, dict[Key, Holder | None]]:
    """{record: {key: the holder it is flagged against, or None}} for every holder of `keys`."""
    groups = duplicate_groups(keys)
    dismissed = duplicate_dismissals(h.pk for holders in groups.values() for h in holders)
    wanted: dict[int, dict[Key, Holder | None]] = defaultdict(dict)
    for (field, value), holders in groups.items():
        for holder in holders:
            wanted[holder.pk][field, value] = next(
                (
                    other
                    for other in holders
                    if other.pk != holder.pk
                    and (min(other.pk, holder.pk), max(other.pk, holder.pk), field, value) not in dismissed
                ),
                None,
            )
    return wanted


def _label(flags: list[dict[str, Any]]) -> str:
    """The flags as one line of the audit trail: `rfc=HELJ850412AA3 #12, curp=... #12`."""
    return ", ".join(f"{p['field']}={_flag_key(p)[1]} #{p['params'].get('other')}" for p in flags)


@dataclass(frozen=True, slots=True)
class FlagChange:
    """How one record's flags changed in a refresh; `changes` is its audit event's."""

    pk: int
    upload_id: int | None
    flagged: tuple[bool, bool]
    errors: tuple[int, int]
    changes: dict[str, list]


@dataclass(frozen=True, slots=True)
class FlagState:
    """What a record's flags look like at one moment, for its audit event."""

    flags: str
    link: tuple[int | None, str]
    status: str

    @classmethod
    def of(cls, record: ClientRecord) -> "FlagState":
        return cls(_label(duplicate_flags(record)), (record.duplicate_of_id, record.duplicate_field), record.status)

    def changes_to(self, after: "FlagState") -> dict[str, list]:
        """{what: [before, after]} for the audit event (empty when nothing changed)."""
        changes: dict[str, list] = {}
        if after.flags != self.flags:
            changes["duplicates"] = [self.flags, after.flags]
        if after.link != self.link:
            changes["duplicate_of"] = [self.link[0], after.link[0]]
            changes["duplicate_field"] = [self.link[1], after.link[1]]
        if after.status != self.status:
            changes["status"] = [self.status, after.status]
        return changes


@dataclass(slots=True)
class _Row:
    """The columns of one record a refresh reads and writes (plain rows: a large upload flags thousands)."""

    pk: int
    status: str
    upload_id: int | None
    problems: list[dict[str, Any]]
    error_count: int
    warning_count: int
    duplicate_of_id: int | None
    duplicate_field: str
    external_id: str
    rfc: str
    curp: str

    COLUMNS = ("pk", "status", "upload_id", "problems", "error_count", "warning_count", "duplicate_of_id",
               "duplicate_field", *DUPLICATE_FIELDS)  # fmt: skip


def _reflag(record: _Row, wanted: dict[Key, Holder | None], keys: set[Key]) -> FlagChange | None:
    """Set the record's flags for `keys` to `wanted` (its other flags stay while still true); None when nothing
    changed."""
    before = duplicate_flags(record)
    fresh = [
        duplicate_problem(field, value, other, upload_id=record.upload_id)
        for (field, value), other in wanted.items()
        if other is not None
    ]
    kept = [p for p in duplicate_flags_still_true(record) if _flag_key(p) not in keys]
    target = sorted(kept + fresh, key=_flag_order)
    if target == before:  # most holders: checked without rebuilding anything
        return None
    errors_before, state = record.error_count, FlagState.of(record)
    duplicate_flags_set(record, target)
    after = duplicate_flags(record)
    if after and record.status == RecordStatus.APPROVED:
        record.status = RecordStatus.IN_REVIEW
    changes = state.changes_to(FlagState.of(record))
    if not changes:
        return None
    flagged = (bool(before), bool(after))
    return FlagChange(record.pk, record.upload_id, flagged, (errors_before, record.error_count), changes)


@dataclass(frozen=True, slots=True)
class FlagRefresh:
    """What `duplicates_refresh` changed: {record: change}, and the audit events the caller writes."""

    changes: dict[int, FlagChange]
    events: list[EventSpec]


def duplicates_refresh(
    *, keys: Iterable[Key], reason: str = "", silent: Collection[int] = (), silent_upload: int | None = None
) -> FlagRefresh:
    """Recompute the flags of every holder of `keys` and save those that changed (an approved one goes back to
    review). Runs inside the caller's transaction, after its write, under `duplicates_lock` on the keys.

    Returns a `record.updated` event for each changed record except those in `silent` or of upload
    `silent_upload` (records being created: their creation event tells), for the caller to write after its own
    (the audit chain's head is locked after every row, as everywhere)."""
    keys = set(keys)
    wanted = _partners(keys) if keys else {}
    changed, result = [], {}
    pks = sorted(wanted)
    for start in range(0, len(pks), 1000):
        # Read and written under the row locks, taken in primary-key order like every bulk lock here.
        rows = (
            ClientRecord.objects.select_for_update()
            .filter(pk__in=pks[start : start + 1000], status__in=FLAGGABLE)
            .order_by("pk")
            .values_list(*_Row.COLUMNS)
        )
        for record in (_Row(*row) for row in rows):
            if change := _reflag(record, wanted[record.pk], keys):
                changed.append(record)
                result[record.pk] = change
    objects_update(ClientRecord, changed, FLAG_FIELDS).run()
    events = [
        EventSpec(action=AuditAction.RECORD_UPDATED, record_id=r.pk, changes=result[r.pk].changes, reason=reason)
        for r in changed
        if r.pk not in silent and (silent_upload is None or r.upload_id != silent_upload)
    ]
    return FlagRefresh(result, events)
