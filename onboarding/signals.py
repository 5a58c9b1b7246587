"""Sign-ins (made, failed, locked out), sign-outs and any change to users, roles or permissions: into the audit trail.

Role changes happen in Django's admin, in `setup_roles` and in the shell, not in our services, so signals are
the one place that sees them all. The admin names the person acting with `acting_as` (see admin.py); anything
else is recorded as the system.
"""

import contextlib
import contextvars
from collections.abc import Iterator

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db import transaction
from django.db.models.signals import m2m_changed, post_save, pre_delete, pre_save
from django.dispatch import receiver

from onboarding.models import AuditAction
from onboarding.services.audit import EventSpec, audit_event_write, audit_events_write

User = get_user_model()
USER_FLAGS = ("is_active", "is_staff", "is_superuser")

_actor: contextvars.ContextVar = contextvars.ContextVar("audit_actor", default=None)


@contextlib.contextmanager
def acting_as(user) -> Iterator[None]:
    """Attribute the user, group and permission changes made inside the block to `user`."""
    token = _actor.set(user)
    try:
        yield
    finally:
        _actor.reset(token)


@receiver(user_logged_in)
def audit_login(sender, request, user, **kwargs) -> None:
    with transaction.atomic():
        audit_event_write(actor=user, action=AuditAction.LOGIN, target_type="user", target_id=str(user.pk))


@receiver(user_logged_out)
def audit_logout(sender, request, user, **kwargs) -> None:
    if user is None:
        return
    with transaction.atomic():
        audit_event_write(actor=user, action=AuditAction.LOGOUT, target_type="user", target_id=str(user.pk))


@receiver(user_login_failed)
def audit_login_failed(sender, credentials, request=None, **kwargs) -> None:
    username = str(credentials.get("username", ""))[:150]
    user = get_user_model().objects.filter(username=username).first()
    changes = {"username": username}
    if _refused_by_lockout(request):
        changes["locked_out"] = True  # the password was not even checked
    with transaction.atomic():
        audit_event_write(
            actor=None,
            action=AuditAction.LOGIN_FAILED,
            target_type="user",
            target_id=str(user.pk) if user else "",
            changes=changes,
        )


def _refused_by_lockout(request) -> bool:
    """Refused by a lockout already in force; such an attempt is not counted, so axes gives it no failure count."""
    return getattr(request, "axes_locked_out", False) and getattr(request, "axes_failures_since_start", None) is None


# Imported here, after the user_login_failed receiver above: importing axes.signals connects axes' own receiver,
# and receivers run in the order they were connected, so a failure's event comes before the lockout it causes.
from axes.signals import user_locked_out  # noqa: E402


@receiver(user_locked_out)
def audit_lockout(sender, request, username, ip_address, **kwargs) -> None:
    """The failure that reached a limit, once per lockout: axes sends the signal again for each attempt refused
    while the lockout lasts (audit_login_failed marks those `locked_out`)."""
    if _refused_by_lockout(request):
        return
    username = str(username or "")[:150]
    user = get_user_model().objects.filter(username=username).first()
    # Inside the transaction that counted the failure (onboarding.signin.SignInThrottle).
    audit_event_write(
        actor=None,
        action=AuditAction.LOGIN_FAILED,
        target_type="user",
        target_id=str(user.pk) if user else "",
        changes={"username": username, "locked_out_minutes": settings.LOGIN_COOLOFF_MINUTES},
    )


# --- Users, groups and permissions -------------------------------------------------------------

# m2m through model -> (owner model, field name on the owner)
WATCHED_M2M = {
    User.groups.through: (User, "groups"),
    User.user_permissions.through: (User, "user_permissions"),
    Group.permissions.through: (Group, "permissions"),
}


def _label(obj) -> str:
    if isinstance(obj, Permission):
        return f"{obj.content_type.app_label}.{obj.codename}"
    if isinstance(obj, Group):
        return obj.name
    return obj.get_username()


def _owner_spec(owner, changes: dict) -> EventSpec:
    kind = "group" if isinstance(owner, Group) else "user"
    return EventSpec(
        action=AuditAction.USER_CHANGED,
        target_type=kind,
        target_id=str(owner.pk),
        changes={kind: _label(owner), **changes},
    )


def _existing_pairs(sender, owner_model, field_name: str, instance, reverse: bool, pk_set) -> set[int]:
    """The pks on the other side of `instance` that are linked now (restricted to `pk_set` if given)."""
    field = owner_model._meta.get_field(field_name)
    mine, other = field.m2m_field_name(), field.m2m_reverse_field_name()
    if reverse:
        mine, other = other, mine
    qs = sender.objects.filter(**{mine: instance.pk})
    if pk_set is not None:
        qs = qs.filter(**{f"{other}__in": pk_set})
    return set(qs.values_list(f"{other}_id", flat=True))


@receiver(m2m_changed)
def audit_membership_changed(sender, instance, action, reverse, model, pk_set, **kwargs) -> None:
    if sender not in WATCHED_M2M:
        return
    owner_model, field_name = WATCHED_M2M[sender]
    if action in ("pre_remove", "pre_clear"):
        # Django reports removals as asked, not as done: remember which links really exist.
        instance._audit_removing = _existing_pairs(sender, owner_model, field_name, instance, reverse, pk_set)
        return
    if action == "post_add":
        verb, pks = "added", pk_set
    elif action in ("post_remove", "post_clear"):
        verb, pks = "removed", instance.__dict__.pop("_audit_removing", set())
    else:
        return
    if not pks:
        return
    qs = model.objects.filter(pk__in=pks).order_by("pk")
    others = list(qs.select_related("content_type") if model is Permission else qs)
    if reverse:  # e.g. group.user_set.add(user): one event per user (or group) whose rights changed
        specs = [_owner_spec(owner, {field_name: {verb: [_label(instance)]}}) for owner in others]
    else:
        specs = [_owner_spec(instance, {field_name: {verb: sorted(_label(o) for o in others)}})]
    with transaction.atomic():
        audit_events_write(actor=_actor.get(), events=specs)


@receiver(pre_save, sender=User)
def remember_user_flags(sender, instance, raw=False, update_fields=None, **kwargs) -> None:
    if raw or instance._state.adding:
        return
    if update_fields is not None and not set(update_fields) & set(USER_FLAGS):
        return  # e.g. last_login on every sign-in: no flag can change, spare the query
    instance._audit_flags = User.objects.filter(pk=instance.pk).values(*USER_FLAGS).first()


@receiver(post_save, sender=User)
def audit_user_saved(sender, instance, created, raw=False, **kwargs) -> None:
    if raw:
        return
    if created:
        changes = {"created": True, **{f: [None, getattr(instance, f)] for f in USER_FLAGS}}
    else:
        before = instance.__dict__.pop("_audit_flags", None) or {}
        changes = {f: [before[f], getattr(instance, f)] for f in before if before[f] != getattr(instance, f)}
    if changes:
        with transaction.atomic():
            audit_events_write(actor=_actor.get(), events=[_owner_spec(instance, changes)])


@receiver(pre_delete, sender=User)
def audit_user_deleted(sender, instance, **kwargs) -> None:
    groups = sorted(instance.groups.values_list("name", flat=True))
    with transaction.atomic():
        changes = {"deleted": True, "groups": {"removed": groups}}
        audit_events_write(actor=_actor.get(), events=[_owner_spec(instance, changes)])


@receiver(pre_save, sender=Group)
def remember_group_name(sender, instance, raw=False, **kwargs) -> None:
    if not raw and not instance._state.adding:
        instance._audit_name = Group.objects.filter(pk=instance.pk).values_list("name", flat=True).first()


@receiver(post_save, sender=Group)
def audit_group_saved(sender, instance, created, raw=False, **kwargs) -> None:
    if raw:
        return
    before = instance.__dict__.pop("_audit_name", None)
    if created:
        changes = {"created": True}
    elif before is not None and before != instance.name:
        changes = {"name": [before, instance.name]}
    else:
        return
    with transaction.atomic():
        audit_events_write(actor=_actor.get(), events=[_owner_spec(instance, changes)])


@receiver(pre_delete, sender=Group)
def audit_group_deleted(sender, instance, **kwargs) -> None:
    # Deleting a group drops its memberships without m2m signals: name who lost the role here.
    members = sorted(instance.user_set.values_list("username", flat=True))
    perms = sorted(f"{a}.{c}" for a, c in instance.permissions.values_list("content_type__app_label", "codename"))
    changes = {"deleted": True, "members": {"removed": members}, "permissions": {"removed": perms}}
    with transaction.atomic():
        audit_events_write(actor=_actor.get(), events=[_owner_spec(instance, changes)])
