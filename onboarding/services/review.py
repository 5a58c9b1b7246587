"""Review decisions on staged records: approve, reject, send back, acknowledge warnings; one record or many.

Maker-checker (the four-eyes rule the supervisors expect of an onboarding file): whoever approves a record, or
acknowledges its warnings, is never the person who created it, mapped the columns of the file it was staged from
(that choice decided its data), or last changed its data. It is enforced here, under the row lock, so no view,
command or race can get around it.
"""

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from onboarding.errors import InvalidTransition, StaleRecord
from onboarding.models import AuditAction, ClientRecord, DuplicateDismissal, RecordStatus, ReviewQueueColumns
from onboarding.permissions import PERM_REVIEW
from onboarding.selectors.duplicates import (
    DUPLICATE_FIELDS,
    duplicate_dismissals,
    duplicate_keys,
    record_duplicate_keys,
)
from onboarding.selectors.review import record_changes_since, review_queue_filter
from onboarding.services.audit import EventSpec, audit_event_write, audit_events_write
from onboarding.services.duplicates import (
    FLAG_FIELDS,
    FlagState,
    duplicate_flags_set,
    duplicate_flags_still_true,
    duplicates_lock,
    duplicates_refresh,
)

BULK_CHUNK = 500


class ReviewAction(models.TextChoices):
    APPROVE = "approve", _("Approve")
    REJECT = "reject", _("Reject")
    SEND_BACK = "send_back", _("Send back")
    ACKNOWLEDGE = "acknowledge", _("Acknowledge warnings")
    NOT_DUPLICATE = "not_duplicate", _("Not a duplicate")


class RejectReason(models.TextChoices):
    """Why a record is refused; stored in `ClientRecord.reject_reason`."""

    DUPLICATE = "duplicate", _("Duplicate of another client")
    IDENTITY_MISMATCH = "identity_mismatch", _("Identity documents do not match the data")
    IDENTIFIERS_UNVERIFIABLE = "identifiers_unverifiable", _("RFC or CURP cannot be verified")
    INCOMPLETE = "incomplete", _("Information the client must provide is missing")
    NOT_A_CLIENT = "not_a_client", _("Not a client of a reported activity")
    TEST_DATA = "test_data", _("Test or dummy data")
    OTHER = "other", _("Other (explained in the comment)")


REVIEWABLE = (RecordStatus.IN_REVIEW, RecordStatus.APPROVED, RecordStatus.FAILED)
ALLOWED_FROM: dict[str, tuple[str, ...]] = {
    ReviewAction.APPROVE: (RecordStatus.IN_REVIEW,),
    ReviewAction.REJECT: REVIEWABLE,
    ReviewAction.SEND_BACK: REVIEWABLE,
    ReviewAction.ACKNOWLEDGE: (RecordStatus.IN_REVIEW,),
    ReviewAction.NOT_DUPLICATE: (RecordStatus.DRAFT, RecordStatus.IN_REVIEW, RecordStatus.FAILED),
}
NEW_STATUS = {
    ReviewAction.APPROVE: RecordStatus.APPROVED,
    ReviewAction.REJECT: RecordStatus.REJECTED,
    ReviewAction.SEND_BACK: RecordStatus.DRAFT,
}
AUDIT_ACTION = {
    ReviewAction.APPROVE: AuditAction.RECORD_APPROVED,
    ReviewAction.REJECT: AuditAction.RECORD_REJECTED,
    ReviewAction.SEND_BACK: AuditAction.RECORD_SENT_BACK,
}
# Why a record was skipped by a bulk action, for people reading the summary.
SKIP_LABELS: dict[str, Promise] = {
    "permission": _("you may not review records"),
    "status": _("not in a status that allows it"),
    "maker_checker": _("created, mapped or last changed by you"),
    "has_errors": _("has errors"),
    "duplicate": _("possible duplicate not resolved"),
    "warnings": _("warnings not acknowledged"),
    "no_warnings": _("no warnings to acknowledge"),
    "not_duplicate": _("not marked as a duplicate"),
    "gone": _("no longer matches the filter"),
}


@dataclass(frozen=True, slots=True)
class Blocker:
    code: str
    message: str


@dataclass
class BulkResult:
    """What a bulk action did: how many records changed, and how many were skipped for which reason."""

    done: int = 0
    skipped: Counter = field(default_factory=Counter)

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())

    def skipped_lines(self) -> list[str]:
        return [f"{SKIP_LABELS.get(code, code)}: {n}" for code, n in self.skipped.most_common()]


def is_duplicate(record: ClientRecord) -> bool:
    return bool(record.duplicate_of_id or record.duplicate_field) or any(
        p.get("code") == "duplicate" for p in record.problems
    )


def _blockers(record: ClientRecord, user, action: str, can_review: bool | None = None) -> list[Blocker]:
    """Every reason `user` may not take `action` on `record` now, the most fundamental first."""
    if not (user.has_perm(PERM_REVIEW) if can_review is None else can_review):
        return [Blocker("permission", str(_("You do not have permission to review records.")))]
    if record.status not in ALLOWED_FROM[action]:
        message = _("The record is %(status)s; this action is not possible in that status.")
        return [Blocker("status", message % {"status": record.get_status_display().lower()})]
    blockers = []
    if action in (ReviewAction.APPROVE, ReviewAction.ACKNOWLEDGE):
        if record.created_by_id == user.pk:
            blockers.append(Blocker("maker_checker", str(_("You created this record; another officer must check it."))))
        elif record.mapped_by_id == user.pk:
            message = _(
                "You mapped the columns of the file this record was staged from; another officer must check it."
            )
            blockers.append(Blocker("maker_checker", str(message)))
        elif record.updated_by_id == user.pk:
            message = _("You made the last change to this record's data; another officer must check it.")
            blockers.append(Blocker("maker_checker", str(message)))
    if action == ReviewAction.APPROVE:
        if record.error_count:
            message = ngettext(
                "The record has %(n)s error; fix it first.",
                "The record has %(n)s errors; fix them first.",
                record.error_count,
            )
            blockers.append(Blocker("has_errors", message % {"n": record.error_count}))
        if is_duplicate(record):
            message = _(
                "The record may duplicate another one; resolve that first (reject it or mark it as not a duplicate)."
            )
            blockers.append(Blocker("duplicate", str(message)))
        if record.warning_count and not record.warnings_acknowledged:
            blockers.append(Blocker("warnings", str(_("The record's warnings must be acknowledged first."))))
    if action == ReviewAction.ACKNOWLEDGE and not (record.warning_count and not record.warnings_acknowledged):
        blockers.append(Blocker("no_warnings", str(_("There are no unacknowledged warnings."))))
    if action == ReviewAction.NOT_DUPLICATE and not is_duplicate(record):
        blockers.append(Blocker("not_duplicate", str(_("The record is not marked as a possible duplicate."))))
    return blockers


def review_blockers(record: ClientRecord, user, action: str = ReviewAction.APPROVE) -> list[str]:
    """Translated reasons why `user` cannot take `action` (approve by default) on `record`; empty when allowed."""
    return [b.message for b in _blockers(record, user, action)]


# Blockers that mean "this action does not apply here" (hide the button) rather than "not yet" (explain why).
HIDING_CODES = {"permission", "status", "no_warnings", "not_duplicate"}


@dataclass(frozen=True, slots=True)
class ActionOption:
    """Whether a page shows `action`'s button, and if shown, why it is unavailable (empty when it may be taken)."""

    action: str
    shown: bool
    blockers: list[str]

    @property
    def allowed(self) -> bool:
        return self.shown and not self.blockers


def review_availability(*, record: ClientRecord, user, can_review: bool | None = None) -> dict[str, ActionOption]:
    """{action: option} for every review action, for pages that show the buttons (no queries). A page drawing many
    rows passes `can_review` (the user's review permission) once instead of asking for every row."""
    can_review = user.has_perm(PERM_REVIEW) if can_review is None else can_review
    options = {}
    for action in ReviewAction.values:
        blockers = _blockers(record, user, action, can_review)
        shown = not any(b.code in HIDING_CODES for b in blockers)
        options[action] = ActionOption(action, shown, [b.message for b in blockers] if shown else [])
    return options


def _raise_blockers(blockers: Sequence[Blocker]) -> None:
    if not blockers:
        return
    first = blockers[0]
    if first.code == "permission":
        raise PermissionDenied(first.message)
    if first.code == "status":
        raise InvalidTransition(first.message)
    raise ValidationError([ValidationError(b.message, code=b.code) for b in blockers])


def _lock(record_id: int, version: int | None) -> ClientRecord:
    record = ClientRecord.objects.select_for_update().get(pk=record_id)
    if version is not None and record.version != version:
        changes = record_changes_since(record_id=record_id, version=version)
        raise StaleRecord(current_version=record.version, changes=changes)
    return record


def _decide(record: ClientRecord, actor, action: str, reason: str = "", comment: str = "", now=None) -> EventSpec:
    """Set the decision on the locked record (not saved) and return its audit event."""
    previous = record.status
    record.status = NEW_STATUS[action]
    record.reviewed_by, record.reviewed_at = actor, now or timezone.now()
    record.reject_reason, record.review_comment = reason, comment
    changes: dict[str, Any] = {"status": [previous, record.status]}
    if reason:
        changes["reject_reason"] = reason
    return EventSpec(action=AUDIT_ACTION[action], record_id=record.pk, changes=changes, reason=comment)


DECISION_FIELDS = ["status", "reviewed_by", "reviewed_at", "reject_reason", "review_comment"]


def _identifier_keys(record_ids: Iterable[int]) -> set:
    """The identifier values the records hold now, read before they are locked (the duplicate lock comes first)."""
    rows = ClientRecord.objects.filter(pk__in=list(record_ids)).values(*DUPLICATE_FIELDS)
    return set().union(*(duplicate_keys(row) for row in rows))


def _decide_one(*, actor, record_id: int, version: int | None, action: str, reason: str = "", comment: str = ""):
    if not actor.has_perm(PERM_REVIEW):
        raise PermissionDenied
    # A rejected record stops counting as a holder of its identifiers: the records flagged with it are settled.
    keys = _identifier_keys([record_id]) if action == ReviewAction.REJECT else set()
    with transaction.atomic(durable=True):
        duplicates_lock(keys)
        record = _lock(record_id, version)
        _raise_blockers(_blockers(record, actor, action))
        event = _decide(record, actor, action, reason, comment)
        record.save(update_fields=DECISION_FIELDS)
        audit_events_write(actor=actor, events=[event, *duplicates_refresh(keys=keys).events])
    return record


def record_approve(*, actor, record_id: int, version: int | None = None) -> ClientRecord:
    """Approve a record in review. Raises PermissionDenied, InvalidTransition, StaleRecord, or ValidationError
    (codes maker_checker, has_errors, duplicate, warnings). Writes `record.approved`."""
    return _decide_one(actor=actor, record_id=record_id, version=version, action=ReviewAction.APPROVE)


def _clean_reject(reason: str, comment: str) -> tuple[str, str]:
    errors = {}
    if reason not in RejectReason.values:
        errors["reason"] = ValidationError(_("Choose the reason for rejecting."), code="reason_required")
    if not comment.strip():
        errors["comment"] = ValidationError(_("Explain the rejection in a comment."), code="comment_required")
    if errors:
        raise ValidationError(errors)
    return reason, comment.strip()


def record_reject(*, actor, record_id: int, reason: str, comment: str, version: int | None = None) -> ClientRecord:
    """Reject a record with a catalogue reason and a comment (both required). Writes `record.rejected`."""
    reason, comment = _clean_reject(reason, comment)
    return _decide_one(
        actor=actor, record_id=record_id, version=version, action=ReviewAction.REJECT, reason=reason, comment=comment
    )


def _clean_send_back(comment: str) -> str:
    if not comment.strip():
        raise ValidationError(
            {"comment": ValidationError(_("Tell data entry what to change."), code="comment_required")}
        )
    return comment.strip()


def record_send_back(*, actor, record_id: int, comment: str, version: int | None = None) -> ClientRecord:
    """Return a record to data entry (draft) with a comment saying what to change. Writes `record.sent_back`."""
    comment = _clean_send_back(comment)
    return _decide_one(
        actor=actor, record_id=record_id, version=version, action=ReviewAction.SEND_BACK, comment=comment
    )


def record_acknowledge_warnings(*, actor, record_id: int, version: int | None = None) -> ClientRecord:
    """Mark the record's warnings as checked (maker-checker applies). Writes `record.warnings_acknowledged`."""
    if not actor.has_perm(PERM_REVIEW):
        raise PermissionDenied
    with transaction.atomic(durable=True):
        record = _lock(record_id, version)
        _raise_blockers(_blockers(record, actor, ReviewAction.ACKNOWLEDGE))
        record.warnings_acknowledged = True
        record.save(update_fields=["warnings_acknowledged"])
        warnings = [p["code"] for p in record.problems if p.get("severity") == "warning"]
        audit_event_write(
            actor=actor,
            action=AuditAction.RECORD_WARNINGS_ACKNOWLEDGED,
            record_id=record.pk,
            changes={"warnings": warnings},
        )
    return record


def _pairs_to_dismiss(record: ClientRecord, other: ClientRecord | None) -> set[tuple[int, int, str, str]]:
    """(older, newer, field, value) to declare different clients: with `other`, every value the two share and
    have not settled yet; alone, each flag the record carries."""
    if other is None:
        flags = [p for p in duplicate_flags_still_true(record) if p["params"].get("other")]
        found = {(record.pk, p["params"]["other"], p["field"], p["params"]["value"]) for p in flags}
    else:
        shared = record_duplicate_keys(record) & record_duplicate_keys(other)
        found = {(record.pk, other.pk, field, value) for field, value in shared}
    pairs = {(min(a, b), max(a, b), field, value) for a, b, field, value in found}
    return pairs - duplicate_dismissals(p[0] for p in pairs)


def duplicate_pair_open(record: ClientRecord, other: ClientRecord) -> bool:
    """Whether the pair may still be declared different clients: neither rejected, one of them still in review."""
    open_statuses = ALLOWED_FROM[ReviewAction.NOT_DUPLICATE]
    statuses = (record.status, other.status)
    return RecordStatus.REJECTED not in statuses and any(s in open_statuses for s in statuses)


def _check_pair(record: ClientRecord, other: ClientRecord, pairs) -> None:
    if not duplicate_pair_open(record, other):
        message = _("One of the records is rejected, or both are past review; there is nothing to settle.")
        raise InvalidTransition(message)
    if not pairs:
        message = _("These records share no external id, RFC or CURP that is not already settled.")
        raise ValidationError(message, code="not_duplicate")


def record_duplicate_dismiss(
    *, actor, record_id: int, other_id: int | None = None, comment: str = "", version: int | None = None
) -> ClientRecord:
    """Declare a record a different client from those it is flagged against (or from `other_id` only, for every
    value they share): those pairs stop being flagged for those values, on both sides. Writes `record.updated` on
    every record of each pair. Raises PermissionDenied, InvalidTransition, StaleRecord, ValidationError."""
    if not actor.has_perm(PERM_REVIEW):
        raise PermissionDenied
    comment = comment.strip() or str(_("Checked: not a duplicate."))
    with transaction.atomic(durable=True):
        duplicates_lock(keys := _identifier_keys([record_id, other_id or record_id]))
        record = _lock(record_id, version)
        other = ClientRecord.objects.select_for_update().get(pk=other_id) if other_id else None
        pairs = _pairs_to_dismiss(record, other)
        if other is None:
            _raise_blockers(_blockers(record, actor, ReviewAction.NOT_DUPLICATE))
        else:
            _check_pair(record, other, pairs)
        DuplicateDismissal.objects.bulk_create(
            [DuplicateDismissal(first_id=a, second_id=b, field=f, value=v, created_by=actor) for a, b, f, v in pairs]
        )
        partners: dict[int, set[int]] = {record.pk: set()}
        for a, b, _f, _v in pairs:
            partners.setdefault(a, set()).add(b)
            partners.setdefault(b, set()).add(a)
        before = {r.pk: FlagState.of(r) for r in ClientRecord.objects.filter(pk__in=partners).only(*FLAG_FIELDS)}
        # Flags left from before the rule (no value, or a value the record no longer holds) go too.
        duplicate_flags_set(record, duplicate_flags_still_true(record))
        record.save(update_fields=FLAG_FIELDS)
        events = duplicates_refresh(keys=keys, reason=comment, silent=partners).events
        for row in ClientRecord.objects.filter(pk__in=partners).only(*FLAG_FIELDS).order_by("pk"):
            after = FlagState.of(row)
            changes = before[row.pk].changes_to(after)
            changes.setdefault("duplicate_of", [before[row.pk].link[0], after.link[0]])
            changes.setdefault("duplicate_field", [before[row.pk].link[1], after.link[1]])
            changes["not_duplicate_of"] = [None, sorted(partners[row.pk])]
            events.append(
                EventSpec(action=AuditAction.RECORD_UPDATED, record_id=row.pk, changes=changes, reason=comment)
            )
        audit_events_write(actor=actor, events=events)
    record.refresh_from_db()
    return record


def record_duplicate_keep(
    *, actor, record_id: int, other_id: int, comment: str = "", version: int | None = None
) -> ClientRecord:
    """Keep `record_id` and reject `other_id` (at `version`) as its duplicate, with the catalogue's reason; the
    kept record's flag for it clears. Raises what `record_reject` raises; ValidationError when they share nothing,
    InvalidTransition when the record to keep is rejected itself."""
    if not actor.has_perm(PERM_REVIEW):
        raise PermissionDenied
    rows = ClientRecord.objects.filter(pk__in=[record_id, other_id]).values("pk", "status", *DUPLICATE_FIELDS)
    found = {row["pk"]: row for row in rows}
    if len(found) != 2 or not (duplicate_keys(found[record_id]) & duplicate_keys(found[other_id])):
        message = _("These records share no external id, RFC or CURP; neither is a duplicate of the other.")
        raise ValidationError(message, code="not_duplicate")
    if found[record_id]["status"] == RecordStatus.REJECTED:
        raise InvalidTransition(_("Record #%(kept)s is rejected; it cannot be the one kept.") % {"kept": record_id})
    note = _("Duplicate of record #%(kept)s, which was kept.") % {"kept": record_id}
    comment = f"{note} {comment.strip()}".strip()
    return record_reject(
        actor=actor, record_id=other_id, reason=RejectReason.DUPLICATE, comment=comment, version=version
    )


# -- many records ------------------------------------------------------------------------------------------------


def _target_ids(record_ids: Iterable[int] | None, filters: dict[str, Any] | None, expected_count: int | None):
    if (record_ids is None) == (filters is None):
        raise ValueError("give either record_ids or filters")
    if filters is None:
        return sorted({int(pk) for pk in record_ids}), None
    ids = list(review_queue_filter(**filters).order_by("pk").values_list("pk", flat=True))
    if expected_count is not None and len(ids) != expected_count:
        message = _(
            "The filter now matches %(now)s records, not the %(expected)s you confirmed. Check and confirm again."
        )
        raise ValidationError(message, code="count_changed", params={"now": len(ids), "expected": expected_count})
    return ids, filters


def _bulk(
    actor, action: str, ids: list[int], filters: dict[str, Any] | None, reason: str = "", comment: str = ""
) -> BulkResult:
    """Run `action` over `ids` in short transactions; each record re-checked under its row lock like a single one."""
    if not actor.has_perm(PERM_REVIEW):
        raise PermissionDenied
    result = BulkResult()
    for start in range(0, len(ids), BULK_CHUNK):
        chunk = ids[start : start + BULK_CHUNK]
        source = review_queue_filter(**filters) if filters is not None else ClientRecord.objects.all()
        with transaction.atomic(durable=True):
            if action == ReviewAction.REJECT:
                duplicates_lock(every=True)  # rejecting changes who holds the records' identifiers
            # Locked in primary-key order, so two bulk actions over overlapping sets cannot deadlock.
            records = list(source.select_for_update(of=("self",)).filter(pk__in=chunk).order_by("pk"))
            result.skipped["gone"] += len(chunk) - len(records)
            ready = []
            for record in records:
                blockers = _blockers(record, actor, action, can_review=True)
                if blockers:
                    result.skipped[blockers[0].code] += 1
                else:
                    ready.append(record)
            if not ready:
                continue
            now = timezone.now()
            events = [_decide(record, actor, action, reason, comment, now) for record in ready]
            changed = ClientRecord.objects.filter(pk__in=[r.pk for r in ready], status__in=ALLOWED_FROM[action]).update(
                status=NEW_STATUS[action],
                reviewed_by=actor,
                reviewed_at=now,
                reject_reason=reason,
                review_comment=comment,
            )
            if changed != len(ready):  # impossible under the lock; refuse rather than audit what did not happen
                raise InvalidTransition()
            keys = set().union(*map(record_duplicate_keys, ready)) if action == ReviewAction.REJECT else ()
            audit_events_write(actor=actor, events=[*events, *duplicates_refresh(keys=keys).events])
            result.done += len(ready)
    result.skipped = +result.skipped
    return result


def record_bulk_approve(
    *,
    actor,
    record_ids: Iterable[int] | None = None,
    filters: dict[str, Any] | None = None,
    expected_count: int | None = None,
) -> BulkResult:
    """Approve the given records, or every record of a queue filter (refused with code count_changed when it no
    longer matches `expected_count`). Blocked records are skipped and counted by reason."""
    ids, filters = _target_ids(record_ids, filters, expected_count)
    return _bulk(actor, ReviewAction.APPROVE, ids, filters)


def record_bulk_reject(
    *,
    actor,
    reason: str,
    comment: str,
    record_ids: Iterable[int] | None = None,
    filters: dict[str, Any] | None = None,
    expected_count: int | None = None,
) -> BulkResult:
    """Reject many records with one reason and comment (both required); like `record_bulk_approve`."""
    reason, comment = _clean_reject(reason, comment)
    ids, filters = _target_ids(record_ids, filters, expected_count)
    return _bulk(actor, ReviewAction.REJECT, ids, filters, reason, comment)


def record_bulk_send_back(
    *,
    actor,
    comment: str,
    record_ids: Iterable[int] | None = None,
    filters: dict[str, Any] | None = None,
    expected_count: int | None = None,
) -> BulkResult:
    """Send many records back to data entry with one comment (required); like `record_bulk_approve`."""
    comment = _clean_send_back(comment)
    ids, filters = _target_ids(record_ids, filters, expected_count)
    return _bulk(actor, ReviewAction.SEND_BACK, ids, filters, comment=comment)


def bulk_summary(result: BulkResult) -> str:
    """One translated sentence for the flash message."""
    text = ngettext("%(n)s record done.", "%(n)s records done.", result.done) % {"n": result.done}
    if result.skipped_total:
        skipped = ngettext("%(n)s skipped", "%(n)s skipped", result.skipped_total) % {"n": result.skipped_total}
        text += f" {skipped} ({'; '.join(result.skipped_lines())})."
    return text


def record_review(
    *, actor, record_id: int, action: str, version: int | None = None, reason: str = "", comment: str = ""
) -> ClientRecord:
    """Take one review `action` on one record (the entry point of views and commands); see each action."""
    if action == ReviewAction.APPROVE:
        return record_approve(actor=actor, record_id=record_id, version=version)
    if action == ReviewAction.REJECT:
        return record_reject(actor=actor, record_id=record_id, reason=reason, comment=comment, version=version)
    if action == ReviewAction.SEND_BACK:
        return record_send_back(actor=actor, record_id=record_id, comment=comment, version=version)
    if action == ReviewAction.ACKNOWLEDGE:
        return record_acknowledge_warnings(actor=actor, record_id=record_id, version=version)
    if action == ReviewAction.NOT_DUPLICATE:
        return record_duplicate_dismiss(actor=actor, record_id=record_id, comment=comment, version=version)
    raise ValueError(f"unknown review action {action!r}")


def record_bulk_review(*, actor, action: str, reason: str = "", comment: str = "", **target: Any) -> BulkResult:
    """Take a bulk `action` (approve, reject, send back) over `record_ids` or `filters` (+ `expected_count`)."""
    if action == ReviewAction.APPROVE:
        return record_bulk_approve(actor=actor, **target)
    if action == ReviewAction.REJECT:
        return record_bulk_reject(actor=actor, reason=reason, comment=comment, **target)
    if action == ReviewAction.SEND_BACK:
        return record_bulk_send_back(actor=actor, comment=comment, **target)
    raise ValueError(f"unknown bulk action {action!r}")


def review_columns_set(*, user, hidden: Sequence[str]) -> ReviewQueueColumns:
    """Keep the queue columns `user` hides. A screen preference, not a change to any record: no audit event."""
    with transaction.atomic(durable=True):
        columns, _created = ReviewQueueColumns.objects.update_or_create(user=user, defaults={"hidden": list(hidden)})
    return columns
