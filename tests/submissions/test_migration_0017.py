"""Migration 0017: the records Artu created before (one `artu_id` and `artu_environment` each) are carried over to
one ArtuRecord per environment, and back. Run on SQLite and on PostgreSQL (DATABASE_URL)."""

import datetime
import uuid

import pytest
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

BEFORE = ("onboarding", "0016_record_search_text")
AFTER = ("onboarding", "0017_record_per_environment")
pytestmark = pytest.mark.django_db(transaction=True)


def migrate(target):
    """Migrate the test database to `target`; the models as they were there."""
    executor = MigrationExecutor(connection)
    executor.migrate([target])
    executor.loader.build_graph()
    return executor.loader.project_state([target]).apps


@pytest.fixture
def old_apps():
    apps = migrate(BEFORE)
    yield apps
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes("onboarding")
    migrate(latest[0])


def test_existing_ids_are_carried_over_per_environment_and_back(old_apps):
    User = old_apps.get_model(settings.AUTH_USER_MODEL)
    ClientRecord = old_apps.get_model("onboarding", "ClientRecord")
    Submission = old_apps.get_model("onboarding", "Submission")
    SubmissionBatch = old_apps.get_model("onboarding", "SubmissionBatch")
    user = User.objects.create(username="migrador")
    live_submission = Submission.objects.create(environment="live", created_by=user)
    batch = SubmissionBatch.objects.create(submission=live_submission, index=0)
    when = datetime.datetime(2026, 11, 3, 17, 5, tzinfo=datetime.UTC)

    def record(name, **fields):
        return ClientRecord.objects.create(
            client_type="individual", name=name, created_by=user, updated_by=user, **fields
        )

    test_id, live_id, unnamed_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    in_test = record(
        "ANA",
        status="submitted",
        artu_id=test_id,
        artu_environment="test",
        artu_created_at=when,
        artu_response={"id": str(test_id), "tags": [{"name": "VIP"}]},
    )
    in_live = record("BETO", status="submitted", artu_id=live_id, artu_environment="live", batch=batch)
    # Stored without its environment: its batch's submission says which.
    unnamed = record("CARLA", status="submitted", artu_id=unnamed_id, artu_environment="", batch=batch)
    waiting = record("DORA", status="approved")

    new_apps = migrate(AFTER)

    ArtuRecord = new_apps.get_model("onboarding", "ArtuRecord")
    NewRecord = new_apps.get_model("onboarding", "ClientRecord")
    rows = {row.record_id: row for row in ArtuRecord.objects.all()}
    assert set(rows) == {in_test.pk, in_live.pk, unnamed.pk}
    assert (rows[in_test.pk].environment, rows[in_test.pk].artu_id) == ("test", test_id)
    assert rows[in_test.pk].artu_created_at == when and rows[in_test.pk].recorded_at == when
    assert rows[in_test.pk].response == {"id": str(test_id), "tags": [{"name": "VIP"}]}
    assert (rows[in_live.pk].environment, rows[in_live.pk].submission_id) == ("live", live_submission.pk)
    assert rows[unnamed.pk].environment == "live"
    statuses = dict(NewRecord.objects.values_list("pk", "status"))
    assert statuses == {
        in_test.pk: "sent_to_test",  # still eligible for live
        in_live.pk: "submitted",
        unnamed.pk: "submitted",
        waiting.pk: "approved",
    }
    # One row per record and environment; one record per Artu id in an environment.
    with pytest.raises(IntegrityError), transaction.atomic():
        ArtuRecord.objects.create(record_id=in_test.pk, environment="test", artu_id=uuid.uuid4(), recorded_at=when)
    with pytest.raises(IntegrityError), transaction.atomic():
        ArtuRecord.objects.create(record_id=waiting.pk, environment="live", artu_id=live_id, recorded_at=when)
    ArtuRecord.objects.create(record_id=in_test.pk, environment="live", artu_id=test_id, recorded_at=when)

    back = migrate(BEFORE).get_model("onboarding", "ClientRecord")

    restored = {r.pk: r for r in back.objects.all()}
    # Held in both, the record keeps live; its test status becomes "submitted" as before.
    assert (restored[in_test.pk].artu_environment, restored[in_test.pk].status) == ("live", "submitted")
    assert (restored[in_live.pk].artu_id, restored[in_live.pk].artu_environment) == (live_id, "live")
    assert restored[waiting.pk].artu_id is None
