"""In the Django admin, audit events and client records can be looked at, never added, changed or deleted."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from onboarding.models import AuditEvent, ClientRecord, RecordStatus
from tests.audit import write
from tests.factories import ClientRecordFactory

pytestmark = pytest.mark.django_db


def test_events_have_only_a_view_permission_so_no_role_can_be_given_more():
    codenames = set(Permission.objects.filter(content_type__model="auditevent").values_list("codename", flat=True))
    assert codenames == {"view_auditevent"}


def test_the_admin_lists_and_shows_events_read_only(client_as, admin_user):
    event = write(admin_user, reason="looked at")
    client = client_as(admin_user)
    assert client.get(reverse("admin:onboarding_auditevent_changelist")).status_code == 200
    page = client.get(reverse("admin:onboarding_auditevent_change", args=[event.pk]))
    assert page.status_code == 200
    assert b'name="_save"' not in page.content and b"looked at" in page.content


def test_the_admin_refuses_to_add_change_or_delete_an_event(client_as, admin_user):
    event = write(admin_user, reason="original")
    client = client_as(admin_user)
    change = reverse("admin:onboarding_auditevent_change", args=[event.pk])
    assert client.post(change, {"reason": "rewritten"}).status_code == 403
    assert client.get(reverse("admin:onboarding_auditevent_add")).status_code == 403
    delete = reverse("admin:onboarding_auditevent_delete", args=[event.pk])
    assert client.get(delete).status_code == 403
    assert client.post(delete, {"post": "yes"}).status_code == 403
    bulk = client.post(
        reverse("admin:onboarding_auditevent_changelist"),
        {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"},
    )
    assert bulk.status_code in (200, 302)
    event.refresh_from_db()
    assert event.reason == "original"
    assert AuditEvent.objects.filter(pk=event.pk).exists()


@pytest.mark.parametrize("role", ["capturista", "oficial", "auditor", "nobody"])
def test_roles_without_staff_access_do_not_reach_the_admin(request, client_as, role):
    event = write(None)
    response = client_as(request.getfixturevalue(role)).get(
        reverse("admin:onboarding_auditevent_change", args=[event.pk])
    )
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


@pytest.mark.parametrize("status", [RecordStatus.SUBMITTED, RecordStatus.SUBMITTING, RecordStatus.IN_REVIEW])
def test_the_admin_refuses_to_delete_a_client_record(client_as, admin_user, status):
    record = ClientRecordFactory(status=status)
    client = client_as(admin_user)
    delete = reverse("admin:onboarding_clientrecord_delete", args=[record.pk])
    assert client.get(delete).status_code == 403
    assert client.post(delete, {"post": "yes"}).status_code == 403
    client.post(
        reverse("admin:onboarding_clientrecord_changelist"),
        {"action": "delete_selected", "_selected_action": [record.pk], "post": "yes"},
    )
    assert ClientRecord.objects.filter(pk=record.pk).exists()


def test_the_admin_shows_client_records_but_does_not_change_them(client_as, admin_user):
    record = ClientRecordFactory(status=RecordStatus.SUBMITTED, name="Maria")
    client = client_as(admin_user)
    assert client.get(reverse("admin:onboarding_clientrecord_changelist")).status_code == 200
    change = reverse("admin:onboarding_clientrecord_change", args=[record.pk])
    assert client.get(change).status_code == 200
    assert client.post(change, {"name": "Otra"}).status_code == 403
    record.refresh_from_db()
    assert record.name == "Maria"


def test_users_and_roles_are_still_managed_in_the_admin(client_as, admin_user, capturista):
    client = client_as(admin_user)
    assert client.get(reverse("admin:auth_user_change", args=[capturista.pk])).status_code == 200
    assert client.get(reverse("admin:auth_group_changelist")).status_code == 200
