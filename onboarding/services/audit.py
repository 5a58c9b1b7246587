"""Writing to and checking the audit trail."""

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from onboarding.imports.export import csv_safe
from onboarding.middleware import current_request_context
from onboarding.models import AuditAction, AuditChainHead, AuditEvent, AuditVerification
from onboarding.permissions import PERM_VIEW_AUDIT
from onboarding.services.bulk import rows_insert

GENESIS_HASH = "0" * 64
# Fields covered by each event's hash, in a fixed order; changing this list breaks old chains.
HASHED_FIELDS = (
    "seq",
    "created_at",
    "actor_id",
    "actor_username",
    "actor_role",
    "action",
    "target_type",
    "target_id",
    "record_id",
    "upload_id",
    "submission_id",
    "changes",
    "reason",
    "ip_address",
    "user_agent",
    "request_id",
    "prev_hash",
)


# One encoder each, made once: json.dumps with options builds a new encoder on every call.
_SAFE_JSON = DjangoJSONEncoder(ensure_ascii=False)
_CANONICAL_JSON = DjangoJSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


_JSON_SCALARS = frozenset({str, int, bool, type(None)})


def _plain(value: Any) -> bool:
    return type(value) in _JSON_SCALARS or type(value) is list and all(type(v) in _JSON_SCALARS for v in value)


def json_safe(value: Any) -> Any:
    """Round-trip through JSON so what is hashed equals what the database gives back."""
    if type(value) is dict and all(type(k) is str and _plain(v) for k, v in value.items()):
        # Text keys, plain values or lists of them (most events): already what the round trip would give.
        return {k: list(v) if type(v) is list else v for k, v in value.items()}
    return json.loads(_SAFE_JSON.encode(value))


def event_hash(event: AuditEvent) -> str:
    return _row_hash({f: getattr(event, f) for f in HASHED_FIELDS})


def _utc_text(moment) -> str:
    return moment.astimezone(timezone.UTC).isoformat(timespec="microseconds")


def _row_hash(row: dict[str, Any]) -> str:
    """SHA-256 over the canonical JSON of the hashed fields (sorted keys, UTC time to the microsecond)."""
    data = {f: row[f] for f in HASHED_FIELDS}
    data["created_at"] = _utc_text(row["created_at"])
    return _digest(data)


def _digest(data: dict[str, Any]) -> str:
    """`data` holds exactly the hashed fields, the time already as `_utc_text`."""
    return hashlib.sha256(_CANONICAL_JSON.encode(data).encode("utf-8")).hexdigest()


def actor_role(user) -> str:
    if user is None:
        return "system"
    if user.is_superuser:
        return "administrator"
    names = getattr(user, "_audit_role_cache", None)
    if names is None:
        names = ",".join(sorted(user.groups.values_list("name", flat=True)))
        user._audit_role_cache = names
    return names


@dataclass(frozen=True, slots=True)
class EventSpec:
    """What one event says; `audit_events_write` stamps the who/where/when and the chain."""

    action: AuditAction
    record_id: int | None = None
    upload_id: int | None = None
    submission_id: int | None = None
    target_type: str = ""
    target_id: str = ""
    changes: dict | None = None
    reason: str = ""


def audit_events_write(*, actor, events: Iterable[EventSpec]) -> list[int]:
    """Append events to the chain inside the caller's transaction (required); they roll back with it.

    Returns the new events' sequence numbers. Rows are inserted in bulk (multi-row INSERTs, `COPY` on PostgreSQL),
    not as model instances: a file of 100,000 rows writes 100,000 events, and building models for them would cost
    more than the rest. Each event's hash is one canonical JSON encoding and one SHA-256.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("audit events must be written inside the transaction of the change they record")
    ctx = current_request_context()
    head = AuditChainHead.objects.select_for_update().filter(pk=1).first()
    if head is None:
        head = AuditChainHead.objects.create(pk=1, last_seq=0, last_hash=GENESIS_HASH)
        head = AuditChainHead.objects.select_for_update().get(pk=1)
    now = timezone.now()
    common = {
        "created_at": now,
        "actor_id": actor.pk if actor else None,
        "actor_username": getattr(actor, "username", "") if actor else "",
        "actor_role": actor_role(actor),
        "ip_address": ctx.ip_address,
        "user_agent": ctx.user_agent,
        "request_id": ctx.request_id,
    }
    hashed_common = {**common, "created_at": _utc_text(now)}
    rows = []
    seq, prev = head.last_seq, head.last_hash
    for spec in events:
        seq += 1
        row = {
            "seq": seq,
            "action": str(spec.action),
            "target_type": spec.target_type or ("record" if spec.record_id else ""),
            "target_id": spec.target_id or (str(spec.record_id) if spec.record_id else ""),
            "record_id": spec.record_id,
            "upload_id": spec.upload_id,
            "submission_id": spec.submission_id,
            "changes": json_safe(spec.changes or {}),
            "reason": spec.reason,
            "prev_hash": prev,
        }
        row["hash"] = prev = _digest({**hashed_common, **row})
        rows.append(row)
    if not rows:
        return []
    rows_insert(AuditEvent, rows, same=common)
    AuditChainHead.objects.filter(pk=1).update(last_seq=seq, last_hash=prev)
    return [row["seq"] for row in rows]


def audit_event_write(*, actor, action: AuditAction, **fields: Any) -> AuditEvent:
    """Append one event inside the caller's transaction."""
    seq = audit_events_write(actor=actor, events=[EventSpec(action=action, **fields)])[0]
    return AuditEvent.objects.get(seq=seq)


class ChainProblem(models.TextChoices):
    GAP = "gap", _("event missing")
    BROKEN_LINK = "broken_link", _("broken link")
    HASH_MISMATCH = "hash_mismatch", _("hash mismatch")
    UNREGISTERED = "unregistered", _("event added outside the audit writer")
    ANCHOR_MISMATCH = "anchor_mismatch", _("history rewritten since the anchor was taken")
    SHORTENED = "shortened", _("chain shortened")
    HEAD_MISSING = "head_missing", _("chain head missing")


@dataclass(frozen=True, slots=True)
class ChainReport:
    ok: bool
    events_checked: int
    first_bad_seq: int | None = None
    detail: str = ""
    problem: str = ""
    head_seq: int | None = None
    head_hash: str = ""


def audit_chain_verify(*, chunk_size: int = 5000, anchors: Mapping[int, str] | None = None) -> ChainReport:
    """Walk the chain in order; report the first event whose hash, link or sequence does not match.

    `anchors` ({seq: hash}, taken from earlier verifications and kept outside the database) catch what the chain
    alone cannot: someone with write access who edits an event and then recomputes every hash after it.
    """
    anchors = anchors or {}
    prev, expected_seq, checked = GENESIS_HASH, 1, 0
    qs = AuditEvent.objects.order_by("seq")
    for event in qs.iterator(chunk_size=chunk_size):
        checked += 1
        if event.seq != expected_seq:
            detail = f"event #{expected_seq} is missing (found #{event.seq})"
            return ChainReport(False, checked, expected_seq, detail, ChainProblem.GAP)
        if event.prev_hash != prev:
            detail = f"event #{event.seq} does not link to the event before it"
            return ChainReport(False, checked, event.seq, detail, ChainProblem.BROKEN_LINK)
        if event_hash(event) != event.hash:
            detail = f"event #{event.seq} was changed after it was written"
            return ChainReport(False, checked, event.seq, detail, ChainProblem.HASH_MISMATCH)
        if event.seq in anchors and anchors[event.seq] != event.hash:
            detail = (
                f"event #{event.seq} no longer has the hash of the anchor ({anchors[event.seq][:12]}…): "
                "events up to it were changed and the chain recomputed"
            )
            return ChainReport(False, checked, event.seq, detail, ChainProblem.ANCHOR_MISMATCH)
        prev, expected_seq = event.hash, expected_seq + 1
    last = expected_seq - 1
    # Events cut from the end leave no gap and no broken link: what says they existed is an anchor kept outside
    # the database, and the chain head (which, on PostgreSQL, only moves forward and cannot be deleted).
    if anchors and (anchored := max(anchors)) > last:
        detail = f"the anchor says event #{anchored} existed, but the chain ends at #{last}"
        return ChainReport(False, checked, last + 1, detail, ChainProblem.SHORTENED)
    head = AuditChainHead.objects.filter(pk=1).first()
    if head is None and last:
        detail = f"the chain head, which records the last event written, is gone: events after #{last} may be too"
        return ChainReport(False, checked, last + 1, detail, ChainProblem.HEAD_MISSING)
    if head and head.last_seq > last:
        detail = f"the chain head says event #{head.last_seq} was written, but the chain ends at #{last}"
        return ChainReport(False, checked, last + 1, detail, ChainProblem.SHORTENED)
    if head and head.last_seq < last:
        # A well-formed event appended by hand: only the head, updated by the writer under its lock, tells.
        detail = f"event #{head.last_seq + 1} was not written by the audit writer (the head ends at #{head.last_seq})"
        return ChainReport(False, checked, head.last_seq + 1, detail, ChainProblem.UNREGISTERED)
    if head and head.last_hash != prev:
        detail = f"event #{last} does not match the chain head"
        return ChainReport(False, checked, last, detail, ChainProblem.HASH_MISMATCH)
    return ChainReport(True, checked, head_seq=last or None, head_hash=prev if last else "")


def audit_chain_verify_and_record(*, actor=None, anchors: Mapping[int, str] | None = None) -> ChainReport:
    """Verify the chain and store the outcome (itself an audited event)."""
    report = audit_chain_verify(anchors=anchors)
    with transaction.atomic(durable=True):
        AuditVerification.objects.create(
            ok=report.ok,
            events_checked=report.events_checked,
            first_bad_seq=report.first_bad_seq,
            detail=report.detail,
            head_seq=report.head_seq,
            head_hash=report.head_hash,
        )
        if report.ok:
            changes = {"events": report.events_checked, "head_seq": report.head_seq, "head_hash": report.head_hash}
            if anchors:
                changes["anchors"] = sorted(anchors)
            audit_event_write(actor=actor, action=AuditAction.AUDIT_VERIFIED, changes=changes)
    return report


def audit_export_csv(*, actor, events: QuerySet[AuditEvent], filters: dict[str, Any]) -> Iterator[list[str]]:
    """Write the `data.export` event (filters, row count) and return the CSV rows of `events` as of that moment.

    Raises PermissionDenied for a user who may not read the audit log. The rows are read lazily, after the
    transaction, and stop at the last event before the export's own, so the count in the event is the file's.
    """
    if not actor.has_perm(PERM_VIEW_AUDIT):
        raise PermissionDenied
    with transaction.atomic(durable=True):
        head = AuditChainHead.objects.select_for_update().filter(pk=1).first()
        up_to = head.last_seq if head else 0
        # Events are never updated or deleted, so this snapshot by sequence number stays exact while streaming.
        snapshot = events.filter(seq__lte=up_to)
        rows = snapshot.count()
        audit_event_write(
            actor=actor,
            action=AuditAction.EXPORT,
            target_type="audit_log",
            changes={"filters": filters, "rows": rows, "up_to_seq": up_to, "format": "csv"},
        )
    return _audit_csv_rows(snapshot)


def _audit_csv_rows(events: QuerySet[AuditEvent]) -> Iterator[list[str]]:
    # Labels are resolved now, in the request's language; the generator runs after the view has returned.
    header = [
        _("Sequence"),
        _("Time"),
        _("User"),
        _("Role"),
        _("Action"),
        _("Action code"),
        _("Target type"),
        _("Target id"),
        _("Record id"),
        _("Upload id"),
        _("Submission id"),
        _("Changes"),
        _("Reason"),
        _("IP address"),
        _("User agent"),
        _("Request id"),
        _("Previous hash"),
        _("Hash"),
    ]
    labels = {value: str(label) for value, label in AuditAction.choices}
    tz = timezone.get_current_timezone()
    return _csv_lines(header, labels, tz, events)


def _csv_lines(header, labels, tz, events) -> Iterator[list[str]]:
    yield [csv_safe(h) for h in header]
    for e in events.order_by("seq").iterator(chunk_size=2000):
        changes = json.dumps(e.changes, ensure_ascii=False, sort_keys=True, cls=DjangoJSONEncoder)
        row = [
            e.seq,
            e.created_at.astimezone(tz).isoformat(timespec="seconds"),
            e.actor_username,
            e.actor_role,
            labels.get(e.action, e.action),
            e.action,
            e.target_type,
            e.target_id,
            e.record_id,
            e.upload_id,
            e.submission_id,
            changes,
            e.reason,
            e.ip_address,
            e.user_agent,
            e.request_id,
            e.prev_hash,
            e.hash,
        ]
        yield [csv_safe(v) for v in row]
