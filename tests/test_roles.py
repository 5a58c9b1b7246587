"""Roles are groups with real permissions; demo accounts are created once."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command

from onboarding.permissions import (
    PERM_ADD_RECORD,
    PERM_REVIEW,
    PERM_SUBMIT,
    PERM_SUBMIT_LIVE,
    PERM_VIEW_AUDIT,
    PERM_VIEW_RECORDS,
    Role,
)

pytestmark = pytest.mark.django_db


def test_setup_roles_creates_each_group_with_its_permissions(roles):
    assert set(Group.objects.values_list("name", flat=True)) >= set(Role.values)


@pytest.mark.parametrize(
    ("fixture", "allowed", "refused"),
    [
        (
            "capturista",
            [PERM_VIEW_RECORDS, PERM_ADD_RECORD],
            [PERM_REVIEW, PERM_SUBMIT, PERM_SUBMIT_LIVE, PERM_VIEW_AUDIT],
        ),
        ("oficial", [PERM_VIEW_RECORDS, PERM_REVIEW, PERM_SUBMIT], [PERM_SUBMIT_LIVE, PERM_VIEW_AUDIT]),
        ("oficial_live", [PERM_REVIEW, PERM_SUBMIT, PERM_SUBMIT_LIVE], [PERM_VIEW_AUDIT]),
        ("auditor", [PERM_VIEW_RECORDS, PERM_VIEW_AUDIT], [PERM_ADD_RECORD, PERM_REVIEW, PERM_SUBMIT]),
    ],
)
def test_each_role_has_exactly_its_powers(request, fixture, allowed, refused):
    user = request.getfixturevalue(fixture)
    assert all(user.has_perm(p) for p in allowed)
    assert not any(user.has_perm(p) for p in refused)


def test_auditor_has_no_add_change_or_delete_permission(auditor):
    perms = auditor.get_all_permissions()
    assert perms, "the auditor must be able to read"
    assert not [p for p in perms if not p.split(".")[1].startswith("view_")]


def test_setup_roles_is_idempotent_and_repairs_a_group(roles):
    officer = Group.objects.get(name=Role.OFFICER)
    officer.permissions.clear()
    call_command("setup_roles")
    call_command("setup_roles")
    assert officer.permissions.filter(codename="review_clientrecord").exists()


def test_demo_accounts_are_created_once_and_passwords_printed_once(roles, capsys):
    call_command("create_demo_accounts")
    first = capsys.readouterr().out
    User = get_user_model()
    user = User.objects.get(username="oficial")
    password = next(line.split()[1] for line in first.splitlines() if line.strip().startswith("oficial "))
    assert user.check_password(password)
    assert user.groups.filter(name=Role.OFFICER).exists()
    assert User.objects.get(username="admin").is_superuser
    call_command("create_demo_accounts")
    second = capsys.readouterr().out
    assert password not in second
    assert "already exist" in second
