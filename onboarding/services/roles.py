"""Creating the role groups and the demo accounts."""

import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import transaction

from onboarding.permissions import ROLE_PERMISSIONS, Role

DEMO_ACCOUNTS: tuple[tuple[str, tuple[str, ...], bool], ...] = (
    # username, roles, is_superuser
    ("capturista", (Role.DATA_ENTRY,), False),
    ("oficial", (Role.OFFICER,), False),
    ("oficial2", (Role.OFFICER,), False),
    ("oficial_live", (Role.OFFICER, Role.LIVE_SUBMITTER), False),
    ("auditor", (Role.AUDITOR,), False),
    ("admin", (), True),
)


def roles_setup() -> dict[str, int]:
    """Create or update one group per role with exactly its permissions; returns permissions per role."""
    result = {}
    with transaction.atomic():
        for role, codenames in ROLE_PERMISSIONS.items():
            group, _ = Group.objects.get_or_create(name=role)
            perms = list(Permission.objects.filter(content_type__app_label="onboarding", codename__in=codenames))
            missing = set(codenames) - {p.codename for p in perms}
            if missing:
                raise RuntimeError(f"permissions missing (run migrate first): {', '.join(sorted(missing))}")
            group.permissions.set(perms)
            result[role] = len(perms)
    return result


def demo_accounts_create() -> list[tuple[str, str, str]]:
    """Create the demo accounts that do not exist yet; returns (username, password, roles) of those created."""
    User = get_user_model()
    created = []
    with transaction.atomic():
        for username, roles, superuser in DEMO_ACCOUNTS:
            if User.objects.filter(username=username).exists():
                continue
            password = secrets.token_urlsafe(12)
            user = User.objects.create_user(
                username=username, password=password, is_staff=superuser, is_superuser=superuser
            )
            user.groups.set(Group.objects.filter(name__in=roles))
            created.append((username, password, ", ".join(str(r.label) for r in roles) or "Administrator"))
    return created
