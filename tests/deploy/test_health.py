"""/healthz and `manage.py health`: database, migrations and a worker taking tasks, as JSON without personal data."""

import datetime
import json
import subprocess

import pytest
from django.core.management import CommandError, call_command
from django.db.migrations.recorder import MigrationRecorder
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from onboarding.health import HEARTBEAT_TASK, health_report
from onboarding.tasks import upload_stage_task
from tests.deploy import BASE_DIR, PYTHON, production_env
from tests.factories import ClientRecordFactory

pytestmark = pytest.mark.django_db


def heartbeats():
    return DBTaskResult.objects.filter(task_path=HEARTBEAT_TASK)


def run_worker():
    """`db_worker --batch`, as the tests of tasks run it: every task due, then it exits."""
    call_command("db_worker", batch=True, reload=False, startup_delay=False, verbosity=0)


def test_healthz_needs_no_sign_in_and_answers_json_that_is_never_cached(client):
    record = ClientRecordFactory()
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    report = response.json()
    assert report["status"] == "ok"
    assert set(report["checks"]) == {"database", "migrations", "worker"}
    assert report["checks"]["migrations"] == {"ok": True, "unapplied": 0}
    assert "no-store" in response["Cache-Control"]
    assert not response.cookies
    for private in (record.rfc, record.curp, record.name, record.last_name):
        assert private not in response.text


def test_healthz_refuses_posts(client):
    assert client.post(reverse("healthz")).status_code == 405


@pytest.mark.django_db(transaction=True)  # the worker closes and reopens its connection
def test_each_report_queues_one_heartbeat_that_a_worker_answers():
    health_report()
    health_report()
    assert heartbeats().filter(status="READY").count() == 1
    run_worker()
    report = health_report()["checks"]["worker"]
    assert report["ok"] and report["last_seen_seconds_ago"] < 60
    assert heartbeats().filter(status="SUCCESSFUL").count() == 1
    assert heartbeats().filter(status="READY").count() == 1  # the next report's


def test_a_task_waiting_longer_than_the_limit_fails_the_worker_check_with_503(client, settings):
    settings.HEALTH_WORKER_SECONDS = 120
    upload_stage_task.enqueue(upload_id=1)
    DBTaskResult.objects.update(enqueued_at=timezone.now() - datetime.timedelta(seconds=200))
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    worker = response.json()["checks"]["worker"]
    assert worker["ok"] is False and worker["oldest_queued_seconds"] >= 200 and worker["queued"] == 2
    assert response.json()["status"] == "unhealthy"


def test_a_task_scheduled_for_later_counts_from_its_time_not_from_its_enqueueing(client):
    upload_stage_task.using(run_after=timezone.now() + datetime.timedelta(minutes=5)).enqueue(upload_id=1)
    DBTaskResult.objects.update(enqueued_at=timezone.now() - datetime.timedelta(hours=1))
    assert client.get(reverse("healthz")).status_code == 200


def test_an_unapplied_migration_fails_the_report(client):
    MigrationRecorder.Migration.objects.filter(app="onboarding").order_by("-name").first().delete()
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert response.json()["checks"]["migrations"] == {"ok": False, "unapplied": 1}


@pytest.mark.django_db(transaction=True)  # the worker closes and reopens its connection
def test_heartbeats_an_hour_old_are_deleted_by_the_next_heartbeat():
    health_report()
    run_worker()
    heartbeats().update(finished_at=timezone.now() - datetime.timedelta(hours=2))
    health_report()
    run_worker()
    assert heartbeats().count() == 1


def test_health_command_prints_the_report_and_exits_non_zero_when_unhealthy(capsys):
    call_command("health")
    assert json.loads(capsys.readouterr().out)["status"] == "ok"
    DBTaskResult.objects.update(enqueued_at=timezone.now() - datetime.timedelta(hours=1))
    with pytest.raises(CommandError) as failure:
        call_command("health")
    assert failure.value.returncode == 1
    assert json.loads(capsys.readouterr().out)["checks"]["worker"]["ok"] is False


def test_health_command_names_an_unreachable_database_without_its_address(tmp_path):
    result = subprocess.run(
        [PYTHON, "manage.py", "health"],
        cwd=BASE_DIR,
        env=production_env(DATABASE_URL=f"sqlite:///{tmp_path}/missing/dir/db.sqlite3"),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["checks"]["database"] == {"ok": False, "error": "OperationalError"}
    assert report["checks"]["worker"]["ok"] is False
    assert str(tmp_path) not in result.stdout
