"""Saved column mappings: each belongs to the user who saved it; a shared one is offered to everyone.

A mapping decides which column becomes which field of every record staged with it, so a user is offered their own
mappings first and other users' only once their owner shares them. Only the owner changes, shares or deletes a
mapping, and each of those is audited (`mapping.saved`, `mapping.deleted`).
"""

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Case, Q, QuerySet, Value, When

from onboarding.imports.mapping import headers_signature
from onboarding.models import AuditAction, SavedMapping
from onboarding.permissions import PERM_STAGE_UPLOAD
from onboarding.services.audit import audit_event_write


def saved_mappings_offered(*, user, headers: list[str] | None = None) -> QuerySet[SavedMapping]:
    """The user's own mappings, then those others share, newest first in each; only those made for `headers`
    (in any order or spelling) when given."""
    mappings = SavedMapping.objects.filter(Q(owner=user) | Q(shared=True)).select_related("owner")
    if headers is not None:
        mappings = mappings.filter(headers_signature=headers_signature(headers))
    mine_first = Case(When(owner=user, then=Value(0)), default=Value(1))
    return mappings.order_by(mine_first, "-updated_at", "-pk")


def _event(saved: SavedMapping, *, actor, action: str, changes: dict[str, Any], upload_id: int | None = None) -> None:
    audit_event_write(
        actor=actor,
        action=action,
        target_type="saved_mapping",
        target_id=str(saved.pk),
        upload_id=upload_id,
        changes=changes,
    )


def _diff(before: dict[str, str], after: dict[str, str]) -> dict[str, list]:
    return {
        h: [before.get(h), after.get(h)] for h in (*before, *after.keys() - before) if before.get(h) != after.get(h)
    }


def saved_mapping_write(
    *, actor, name: str, headers: list[str], mapping: dict[str, str], shared: bool, upload_id: int | None = None
) -> SavedMapping:
    """Create or change `actor`'s own mapping called `name` (in the caller's transaction; another user's mapping of
    the same name is never touched). Writes `mapping.saved` with what changed."""
    saved = SavedMapping.objects.select_for_update().filter(owner=actor, name=name).first()
    if saved is None:
        saved = SavedMapping.objects.create(
            owner=actor,
            name=name,
            shared=shared,
            headers=headers,
            headers_signature=headers_signature(headers),
            mapping=mapping,
        )
        changes: dict[str, Any] = {"name": name, "shared": shared, "headers": headers, "mapping": mapping}
    else:
        changes = {"name": name, "mapping": _diff(saved.mapping, mapping)}
        if saved.shared != shared:
            changes["shared"] = [saved.shared, shared]
        if saved.headers != headers:
            changes["headers"] = [saved.headers, headers]
        saved.shared, saved.headers, saved.mapping = shared, headers, mapping
        saved.headers_signature = headers_signature(headers)
        saved.save()
    _event(saved, actor=actor, action=AuditAction.MAPPING_SAVED, changes=changes, upload_id=upload_id)
    return saved


def _lock_own(actor, mapping_id: int) -> SavedMapping:
    """The actor's mapping, locked; PermissionDenied for anyone else's, SavedMapping.DoesNotExist when gone."""
    saved = SavedMapping.objects.select_for_update().get(pk=mapping_id)
    if saved.owner_id != actor.pk or not actor.has_perm(PERM_STAGE_UPLOAD):
        raise PermissionDenied
    return saved


def saved_mapping_share(*, actor, mapping_id: int, shared: bool) -> SavedMapping:
    """Offer the owner's mapping to everyone, or stop offering it. Writes `mapping.saved` when that changes.
    Raises PermissionDenied unless `actor` owns it."""
    with transaction.atomic(durable=True):
        saved = _lock_own(actor, mapping_id)
        if saved.shared != shared:
            changes = {"name": saved.name, "shared": [saved.shared, shared]}
            saved.shared = shared
            saved.save(update_fields=["shared", "updated_at"])
            _event(saved, actor=actor, action=AuditAction.MAPPING_SAVED, changes=changes)
    return saved


def saved_mapping_delete(*, actor, mapping_id: int) -> None:
    """Delete the owner's mapping (uploads staged with it keep their own copy of the mapping). Writes
    `mapping.deleted` with what it was. Raises PermissionDenied unless `actor` owns it."""
    with transaction.atomic(durable=True):
        saved = _lock_own(actor, mapping_id)
        _event(
            saved,
            actor=actor,
            action=AuditAction.MAPPING_DELETED,
            changes={"name": saved.name, "shared": saved.shared, "headers": saved.headers, "mapping": saved.mapping},
        )
        saved.delete()
