"""Record services: staging by form, changes with old/new values, version checks, audit in the same transaction."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied
from django.db import transaction

from onboarding.errors import InvalidTransition, StaleRecord
from onboarding.models import AuditAction, AuditEvent, ClientRecord, ClientType, RecordStatus
from onboarding.services.records import record_create, record_update
from tests.factories import ClientRecordFactory, person_identifiers

pytestmark = pytest.mark.django_db


def person_data(**overrides):
    birth = datetime.date(1979, 11, 2)
    rfc, curp = person_identifiers("JUAN", "RAMIREZ", "SANCHEZ", birth)
    data = {
        "client_type": ClientType.INDIVIDUAL,
        "name": "Juan",
        "apellido_paterno": "Ramírez",
        "apellido_materno": "Sánchez",
        "birth_date": birth,
        "nationalities": "MX",
        "rfc": rfc,
        "curp": curp,
        "external_id": "C-1",
        "metadata": {},
        "scopes": [],
    }
    data.update(overrides)
    return data


def test_record_create_stores_problems_and_writes_its_event(capturista):
    record = record_create(actor=capturista, data=person_data(birth_date=datetime.date(1979, 11, 3)))
    assert record.status == RecordStatus.IN_REVIEW
    assert record.error_count >= 1
    assert any(p["code"] == "rfc_birth_date_mismatch" for p in record.problems)
    assert AuditEvent.objects.filter(action=AuditAction.RECORD_CREATED, record=record, actor=capturista).count() == 1


def test_record_create_refuses_a_user_without_the_permission(auditor):
    with pytest.raises(PermissionDenied):
        record_create(actor=auditor, data=person_data())
    assert ClientRecord.objects.count() == 0


def test_record_update_refuses_a_stale_version_and_changes_nothing(oficial):
    record = ClientRecordFactory()
    record_update(actor=oficial, record_id=record.pk, version=1, data={"name": "Uno"})
    with pytest.raises(StaleRecord):
        record_update(actor=oficial, record_id=record.pk, version=1, data={"name": "Dos"})
    record.refresh_from_db()
    assert record.name == "Uno" and record.version == 2
    assert AuditEvent.objects.filter(action=AuditAction.RECORD_UPDATED).count() == 1


def test_record_update_without_changes_writes_nothing(oficial):
    record = ClientRecordFactory()
    record_update(actor=oficial, record_id=record.pk, version=1, data={"name": record.name})
    record.refresh_from_db()
    assert record.version == 1
    assert not AuditEvent.objects.filter(record=record).exists()


@pytest.mark.parametrize("status", [RecordStatus.SUBMITTING, RecordStatus.SUBMITTED, RecordStatus.REJECTED])
def test_records_past_review_cannot_be_changed(oficial, status):
    record = ClientRecordFactory(status=status)
    with pytest.raises(InvalidTransition):
        record_update(actor=oficial, record_id=record.pk, version=1, data={"name": "X"})


def test_changing_the_data_clears_acknowledged_warnings_when_they_change(oficial):
    record = ClientRecordFactory(warnings_acknowledged=True)
    record_update(actor=oficial, record_id=record.pk, version=1, data={"avi_username": "maria85"})
    record.refresh_from_db()
    assert record.warning_count >= 1
    assert not record.warnings_acknowledged


def test_a_service_refuses_to_run_inside_someone_elses_transaction(oficial):
    record = ClientRecordFactory()
    with pytest.raises(RuntimeError, match="durable"), transaction.atomic():
        record_update(actor=oficial, record_id=record.pk, version=1, data={"name": "Nested"})
    record.refresh_from_db()
    assert record.name != "Nested"
    assert not AuditEvent.objects.filter(record=record).exists()
