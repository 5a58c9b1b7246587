"""Each action writes exactly its event, in the transaction of the change."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.urls import reverse

from onboarding.models import AuditAction, AuditChainHead
from onboarding.permissions import Role
from onboarding.services.audit import audit_chain_verify, audit_event_write
from onboarding.services.records import record_create, record_update
from onboarding.signals import acting_as
from tests.audit import actions_since, events_since, last_seq, record_data
from tests.factories import ClientRecordFactory, UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-test-password"


def test_sign_in_writes_one_login_event_with_where_it_came_from(client, capturista):
    before = last_seq()
    response = client.post(
        reverse("login"), {"username": "capturista", "password": PASSWORD}, HTTP_USER_AGENT="Firefox/140"
    )
    assert response.status_code == 302
    [event] = events_since(before)
    assert event.action == AuditAction.LOGIN
    assert (event.actor, event.actor_username, event.actor_role) == (capturista, "capturista", Role.DATA_ENTRY)
    assert (event.target_type, event.target_id) == ("user", str(capturista.pk))
    assert event.ip_address == "127.0.0.1"
    assert event.user_agent == "Firefox/140"
    assert event.request_id == response["X-Request-ID"]


def test_sign_out_writes_one_logout_event(client, capturista):
    client.force_login(capturista)
    before = last_seq()
    client.post(reverse("logout"))
    [event] = events_since(before)
    assert (event.action, event.actor) == (AuditAction.LOGOUT, capturista)


def test_failed_sign_in_writes_one_event_naming_the_account_but_not_the_password(client, capturista):
    before = last_seq()
    response = client.post(reverse("login"), {"username": "capturista", "password": "wrong-Guess-123"})
    assert response.status_code == 200
    [event] = events_since(before)
    assert event.action == AuditAction.LOGIN_FAILED
    assert event.actor is None and event.actor_role == "system"
    assert event.target_id == str(capturista.pk)
    assert event.changes == {"username": "capturista"}
    assert "wrong-Guess-123" not in str(event.changes)


def test_creating_a_record_writes_one_event_with_its_data(capturista):
    before = last_seq()
    record = record_create(actor=capturista, data=record_data(name="Guadalupe"))
    [event] = events_since(before)
    assert (event.action, event.record, event.actor) == (AuditAction.RECORD_CREATED, record, capturista)
    assert event.changes["data"]["name"] == "Guadalupe"
    assert event.changes["data"]["rfc"] == record.rfc


def test_changing_a_record_writes_one_event_with_old_and_new_values(oficial):
    record = ClientRecordFactory(name="Maria")
    before = last_seq()
    record_update(actor=oficial, record_id=record.pk, version=1, data={"name": "Mariana"}, reason="typo")
    [event] = events_since(before)
    assert (event.action, event.record, event.actor) == (AuditAction.RECORD_UPDATED, record, oficial)
    assert event.changes["name"] == ["Maria", "Mariana"]
    assert event.changes["version"] == [1, 2]
    assert event.reason == "typo"


def test_adding_and_removing_a_role_writes_one_event_each(roles, capturista):
    before = last_seq()
    capturista.groups.add(roles[Role.AUDITOR])
    capturista.groups.remove(roles[Role.DATA_ENTRY])
    added, removed = events_since(before)
    assert added.action == removed.action == AuditAction.USER_CHANGED
    assert (added.target_type, added.target_id) == ("user", str(capturista.pk))
    assert added.changes == {"user": "capturista", "groups": {"added": [Role.AUDITOR]}}
    assert removed.changes == {"user": "capturista", "groups": {"removed": [Role.DATA_ENTRY]}}


def test_role_changes_from_the_group_side_name_each_user(roles, capturista, oficial):
    auditors = roles[Role.AUDITOR]
    before = last_seq()
    auditors.user_set.add(capturista, oficial)
    auditors.user_set.clear()
    changes = [e.changes for e in events_since(before)]
    assert changes == [
        {"user": "capturista", "groups": {"added": [Role.AUDITOR]}},
        {"user": "oficial", "groups": {"added": [Role.AUDITOR]}},
        {"user": "capturista", "groups": {"removed": [Role.AUDITOR]}},
        {"user": "oficial", "groups": {"removed": [Role.AUDITOR]}},
    ]


def test_setting_the_same_roles_again_or_removing_a_missing_one_writes_nothing(roles, capturista):
    before = last_seq()
    capturista.groups.set([roles[Role.DATA_ENTRY]])
    capturista.groups.remove(roles[Role.OFFICER])
    assert actions_since(before) == []


def test_permission_changes_on_a_user_and_on_a_role_are_audited(roles, capturista):
    perm = Permission.objects.get(codename="view_auditevent")
    before = last_seq()
    capturista.user_permissions.add(perm)
    roles[Role.AUDITOR].permissions.remove(perm)
    on_user, on_group = events_since(before)
    assert on_user.changes == {"user": "capturista", "user_permissions": {"added": ["onboarding.view_auditevent"]}}
    assert (on_group.target_type, on_group.target_id) == ("group", str(roles[Role.AUDITOR].pk))
    assert on_group.changes == {"group": Role.AUDITOR, "permissions": {"removed": ["onboarding.view_auditevent"]}}


def test_creating_a_user_and_changing_their_flags_is_audited_but_signing_in_is_not_a_change(roles, admin_user):
    before = last_seq()
    with acting_as(admin_user):
        user = UserFactory(username="nuevo")
        user.is_staff = True
        user.is_active = False
        user.save()
    user.save(update_fields=["last_login"])
    created, flags = events_since(before)
    assert created.changes == {
        "user": "nuevo",
        "created": True,
        "is_active": [None, True],
        "is_staff": [None, False],
        "is_superuser": [None, False],
    }
    assert flags.changes == {"user": "nuevo", "is_active": [True, False], "is_staff": [False, True]}
    assert flags.actor == admin_user and flags.actor_role == "administrator"


def test_creating_renaming_and_deleting_a_role_is_audited(roles, capturista):
    before = last_seq()
    group = Group.objects.create(name="Temporal")
    group.name = "Temporal 2"
    group.save()
    group.user_set.add(capturista)
    group.delete()
    events = events_since(before)
    assert [e.changes for e in events] == [
        {"group": "Temporal", "created": True},
        {"group": "Temporal 2", "name": ["Temporal", "Temporal 2"]},
        {"user": "capturista", "groups": {"added": ["Temporal 2"]}},
        {
            "group": "Temporal 2",
            "deleted": True,
            "members": {"removed": ["capturista"]},
            "permissions": {"removed": []},
        },
    ]


def test_role_changes_made_in_the_admin_name_the_administrator(client_as, roles, admin_user, capturista):
    before = last_seq()
    response = client_as(admin_user).post(
        reverse("admin:auth_user_change", args=[capturista.pk]),
        {
            "username": "capturista",
            "is_active": "on",
            "groups": [roles[Role.DATA_ENTRY].pk, roles[Role.OFFICER].pk],
            "date_joined_0": "2026-01-05",
            "date_joined_1": "09:00:00",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    [event] = [e for e in events_since(before) if e.action == AuditAction.USER_CHANGED]
    assert event.actor == admin_user
    assert event.changes == {"user": "capturista", "groups": {"added": [Role.OFFICER]}}


def test_an_event_written_in_a_transaction_that_rolls_back_disappears_with_it(capturista):
    before, head_before = last_seq(), AuditChainHead.objects.get(pk=1).last_hash
    with pytest.raises(RuntimeError), transaction.atomic():
        audit_event_write(actor=capturista, action=AuditAction.RECORD_UPDATED, reason="lost")
        raise RuntimeError("the change failed")
    assert last_seq() == before
    assert AuditChainHead.objects.get(pk=1).last_hash == head_before
    record = record_create(actor=capturista, data=record_data())
    assert [e.record for e in events_since(before)] == [record]
    assert audit_chain_verify().ok


@pytest.mark.django_db(transaction=True)
def test_an_event_is_refused_outside_a_transaction():
    with pytest.raises(RuntimeError, match="inside the transaction"):
        audit_event_write(actor=None, action=AuditAction.RECORD_UPDATED)
    assert last_seq() == 0
