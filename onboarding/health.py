"""What `/healthz` and `manage.py health` report: the database answers, every migration is applied, and a task
worker is taking tasks. Counts and ages only: nothing about clients, users or settings.

A `db_worker` that waits for work leaves no trace in the database, so each report queues a no-op heartbeat task
when none is waiting. A live worker runs it within its polling interval; a dead one leaves it (and everything
else) queued, and once the oldest task due has waited `HEALTH_WORKER_SECONDS` the worker check fails.
"""

import datetime
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.db.models import Max, Min
from django.tasks import TaskResultStatus
from django.utils import timezone

HEARTBEAT_TASK = "onboarding.tasks.worker_heartbeat_task"
# Finished heartbeats are evidence for this long, then deleted (one per report would pile up otherwise).
HEARTBEAT_KEEP = datetime.timedelta(hours=1)


def _seconds(since: datetime.datetime | None, now: datetime.datetime) -> float | None:
    return None if since is None else round(max((now - since).total_seconds(), 0.0), 1)


def _database() -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return {"ok": True}


def _migrations() -> dict[str, Any]:
    executor = MigrationExecutor(connection)
    unapplied = len(executor.migration_plan(executor.loader.graph.leaf_nodes()))
    return {"ok": unapplied == 0, "unapplied": unapplied}


def _worker() -> dict[str, Any]:
    from django_tasks_db.models import DBTaskResult, get_date_max

    from onboarding.tasks import worker_heartbeat_task

    tasks = DBTaskResult.objects.all()
    waiting = tasks.filter(status__in=[TaskResultStatus.READY, TaskResultStatus.RUNNING], task_path=HEARTBEAT_TASK)
    if not waiting.exists():
        worker_heartbeat_task.enqueue()
    now = timezone.now()
    due = DBTaskResult.objects.ready()
    # A task is due from its enqueueing, or from its run_after when it was scheduled for later (a retry).
    due_since = [
        due.filter(run_after=get_date_max()).aggregate(at=Min("enqueued_at"))["at"],
        due.exclude(run_after=get_date_max()).aggregate(at=Min("run_after"))["at"],
    ]
    oldest = min((at for at in due_since if at is not None), default=None)
    seen = tasks.aggregate(started=Max("started_at"), finished=Max("finished_at"))
    last_seen = max((at for at in seen.values() if at is not None), default=None)
    oldest_age = _seconds(oldest, now)
    return {
        "ok": oldest_age is None or oldest_age <= settings.HEALTH_WORKER_SECONDS,
        "last_seen_seconds_ago": _seconds(last_seen, now),
        "oldest_queued_seconds": oldest_age,
        "queued": due.count(),
        "limit_seconds": settings.HEALTH_WORKER_SECONDS,
    }


def health_report() -> dict[str, Any]:
    """Runs each check; a check that cannot run (the database is down) fails with the error's type only."""
    checks: dict[str, dict[str, Any]] = {}
    for name, check in (("database", _database), ("migrations", _migrations), ("worker", _worker)):
        if checks and not checks["database"]["ok"]:
            checks[name] = {"ok": False, "error": "database unavailable"}
            continue
        try:
            checks[name] = check()
        except DatabaseError as exc:
            checks[name] = {"ok": False, "error": type(exc).__name__}
    healthy = all(check["ok"] for check in checks.values())
    return {"status": "ok" if healthy else "unhealthy", "checks": checks}


def heartbeats_prune() -> int:
    """Deletes the heartbeat tasks that finished more than HEARTBEAT_KEEP ago; returns how many."""
    from django_tasks_db.models import DBTaskResult

    old = timezone.now() - HEARTBEAT_KEEP
    deleted, _ = DBTaskResult.objects.filter(task_path=HEARTBEAT_TASK, finished_at__lt=old).delete()
    return deleted
