"""The Artu API key never reaches an audit event, the audit pages, the CSV export or a log line."""

import logging

import pytest
from django.db import connection
from django.urls import reverse

from onboarding.models import AuditAction, AuditEvent
from onboarding.services.audit import audit_chain_verify_and_record
from onboarding.services.records import record_create, record_update
from tests.audit import record_data

pytestmark = pytest.mark.django_db

CANARY = "sk_live_AUDITCANARY_4f9b2c71e0"


def test_the_api_key_is_in_no_event_page_export_or_log_line(
    settings, client, client_as, capturista, oficial, auditor, caplog
):
    settings.ARTU_API_KEY = CANARY
    caplog.set_level(logging.DEBUG)
    client.post(reverse("login"), {"username": "capturista", "password": "wrong"})
    client.post(reverse("login"), {"username": "capturista", "password": "a-long-test-password"})
    record = record_create(actor=capturista, data=record_data())
    record_update(actor=oficial, record_id=record.pk, version=1, data={"name": "Otro"})
    audit_chain_verify_and_record(actor=auditor)
    reader = client_as(auditor)
    export = b"".join(reader.get(reverse("audit:export")).streaming_content).decode()
    pages = [reader.get(reverse("audit:log"), {"per_page": 200}).content.decode(), export]
    pages += [reader.get(reverse("audit:event", args=[e.seq])).content.decode() for e in AuditEvent.objects.all()]
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {AuditAction.LOGIN, AuditAction.LOGIN_FAILED, AuditAction.RECORD_CREATED, AuditAction.EXPORT} <= actions

    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM onboarding_auditevent")
        table = repr(cursor.fetchall())
    assert CANARY not in table
    for html in pages:
        assert CANARY not in html
    assert CANARY not in caplog.text
