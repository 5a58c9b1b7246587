"""The bulk writer of the hot paths: values of every type arrive intact, conditions hold, errors are Django's."""

import datetime
import uuid
import zoneinfo
from types import SimpleNamespace

import pytest
from django.db import DataError, IntegrityError, connection, transaction

from onboarding.models import ClientRecord, RecordStatus
from onboarding.services.bulk import objects_update
from tests.factories import ClientRecordFactory

pytestmark = pytest.mark.django_db
OUTCOME = ("status", "uuid", "reviewed_at", "source_data", "artu_messages")


def outcome(record, **values):
    return SimpleNamespace(pk=record.pk, status=RecordStatus.SUBMITTED, artu_messages=[], **values)


def test_values_of_every_type_arrive_as_given_and_only_where_the_condition_holds():
    records = ClientRecordFactory.create_batch(4, status=RecordStatus.SUBMITTING)
    settled = ClientRecordFactory(status=RecordStatus.SUBMITTED)
    mexico = zoneinfo.ZoneInfo("America/Mexico_City")
    given = [
        {"uuid": uuid.uuid4(), "reviewed_at": datetime.datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=mexico)},
        {"uuid": str(uuid.uuid4()), "reviewed_at": datetime.datetime(2026, 1, 2, tzinfo=datetime.UTC)},
        {"uuid": uuid.uuid4(), "reviewed_at": None},
        {"uuid": uuid.uuid4(), "reviewed_at": None},
    ]
    responses = [{"a": [1, None, "ü"], "b": {"c": 1.5}}, "just text", None, []]
    objects = [
        outcome(r, source_data=resp, **values) for r, values, resp in zip(records, given, responses, strict=True)
    ]
    objects.append(outcome(settled, uuid=uuid.uuid4(), reviewed_at=None, source_data={"late": True}))

    with transaction.atomic():
        changed = objects_update(ClientRecord, objects, OUTCOME).run(where={"status": RecordStatus.SUBMITTING})

    assert changed == {r.pk for r in records}
    for obj in objects[:-1]:
        stored = ClientRecord.objects.get(pk=obj.pk)
        assert stored.status == RecordStatus.SUBMITTED
        assert str(stored.uuid) == str(obj.uuid)
        assert stored.reviewed_at == obj.reviewed_at
        assert stored.source_data == obj.source_data
    assert ClientRecord.objects.get(pk=settled.pk).source_data != {"late": True}


def test_rows_beyond_one_statement_are_all_written():
    records = ClientRecordFactory.create_batch(1203, status=RecordStatus.SUBMITTING)
    objects = [
        SimpleNamespace(pk=r.pk, status=RecordStatus.FAILED, artu_messages=[{"i": i}]) for i, r in enumerate(records)
    ]
    with transaction.atomic():
        changed = objects_update(ClientRecord, objects, ("status", "artu_messages")).run()
    assert len(changed) == 1203
    assert ClientRecord.objects.filter(status=RecordStatus.FAILED).count() == 1203


def test_a_duplicate_is_django_s_integrity_error_and_rolls_back():
    records = ClientRecordFactory.create_batch(2, status=RecordStatus.SUBMITTING)
    same = uuid.uuid4()
    objects = [outcome(r, uuid=same, reviewed_at=None, source_data=None) for r in records]
    with pytest.raises(IntegrityError), transaction.atomic():
        objects_update(ClientRecord, objects, OUTCOME).run()
    assert set(ClientRecord.objects.values_list("status", flat=True)) == {RecordStatus.SUBMITTING}


def test_text_too_long_for_its_column_is_refused_not_cut():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite does not enforce text lengths")
    record = ClientRecordFactory(status=RecordStatus.SUBMITTING)
    too_long = SimpleNamespace(pk=record.pk, status="x" * 40, artu_messages=[])
    with pytest.raises(DataError), transaction.atomic():
        objects_update(ClientRecord, [too_long], ("status", "artu_messages")).run()
