"""Histories in words: field labels, status names and usernames, never stored codes or ∅."""

import datetime
import re

import pytest
from django.db import transaction
from django.urls import reverse

from onboarding.models import AuditAction, AuditEvent, RecordStatus
from onboarding.services.audit import audit_event_write
from onboarding.services.records import record_update
from onboarding.services.review import record_send_back
from tests.factories import ClientRecordFactory

pytestmark = pytest.mark.django_db


def english(client):
    client.cookies["django_language"] = "en"
    return client


def text_of(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split()).replace(" :", ":")


@pytest.fixture
def changed_record(capturista, oficial):
    """A record whose middle name was filled in, birth date corrected, then sent back and submitted."""
    record = ClientRecordFactory(created_by=capturista, middle_name="", birth_date=datetime.date(1988, 3, 15))
    record_update(
        actor=oficial,
        record_id=record.pk,
        version=1,
        data={"middle_name": "Guadalupe", "birth_date": datetime.date(1988, 3, 14)},
    )
    record_send_back(actor=oficial, record_id=record.pk, comment="Falta la CURP del cónyuge")
    with transaction.atomic():
        audit_event_write(
            actor=None,
            action=AuditAction.RECORD_SUBMITTED,
            record_id=record.pk,
            changes={"status": [RecordStatus.SUBMITTING, RecordStatus.SUBMITTED], "environment": "test"},
        )
    return record


def test_record_timeline_names_fields_statuses_and_people(client_as, auditor, changed_record):
    html = english(client_as(auditor)).get(reverse("records:detail", args=[changed_record.pk])).text
    timeline = text_of(html[html.index('class="timeline"') :])
    assert "Middle name: — → Guadalupe" in timeline
    assert "Birth or incorporation date: 15/03/1988 → 14/03/1988" in timeline
    assert "Status: In review → Draft" in timeline
    # Recorded before test and live were kept apart (then "submitted"), it reads as it would be written today.
    assert "Status: Submitting → Sent to test" in timeline
    assert "Environment: Test" in timeline
    for code in ("middle_name", "birth_date", "submitting", "in_review", "∅", "Version"):
        assert code not in timeline
    assert "oficial" in timeline and "Falta la CURP del cónyuge" in timeline


def test_record_timeline_in_spanish_uses_the_spanish_labels(client_as, auditor, changed_record):
    html = client_as(auditor).get(reverse("records:detail", args=[changed_record.pk])).text
    timeline = text_of(html[html.index('class="timeline"') :])
    assert "Estado: En revisión → Borrador" in timeline
    assert "Enviando → Enviado a pruebas" in timeline


def test_audit_log_names_fields_and_statuses(client_as, auditor, changed_record):
    html = english(client_as(auditor)).get(reverse("audit:log")).text
    table = text_of(html[html.index('id="audit-table"') :])
    assert "Middle name: — → Guadalupe" in table
    assert "Status: Submitting → Sent to test" in table
    assert "status:" not in table and "middle_name" not in table and "∅" not in table


def test_audit_log_names_the_user_an_event_is_about(client, client_as, capturista, auditor, admin_user):
    client.post(reverse("login"), {"username": "capturista", "password": "a-long-test-password"})
    client.post(reverse("login"), {"username": "capturista", "password": "wrong"})
    capturista.is_active = False
    capturista.save()
    html = english(client_as(auditor)).get(reverse("audit:log"), {"per_page": 200}).text
    for event in AuditEvent.objects.filter(target_type="user", target_id=str(capturista.pk)):
        row = text_of(html[html.index(f'id="event-{event.seq}"') :].split("</tr>")[0])
        assert "User capturista" in row, row
        assert f"User {capturista.pk}" not in row


def test_audit_event_page_names_the_target_user(client_as, client, capturista, auditor):
    client.post(reverse("login"), {"username": "capturista", "password": "a-long-test-password"})
    event = AuditEvent.objects.get(action=AuditAction.LOGIN)
    html = english(client_as(auditor)).get(reverse("audit:event", args=[event.seq])).text
    target = text_of(html[html.index("Target") :].split("</dd>")[0])
    assert "User capturista" in target and str(capturista.pk) not in target
