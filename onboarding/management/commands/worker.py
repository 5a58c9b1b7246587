"""The background worker: django-tasks-db's `db_worker` loop, made to outlive database outages and dead workers.

- It never runs under the autoreloader. (`db_worker` does when DEBUG is on, and there an error in its loop ends
  the reloader's worker thread and leaves a process that is up but runs nothing.)
- A lost database in the loop (the server restarting or failing over, a dropped connection, SQLite's write lock
  held past its timeout) closes the connections and starts the loop again after a backoff. Other database errors
  (a missing table, a bug) still end the process, so that they are seen.
- When it starts, and then every WORKER_SWEEP_SECONDS from a thread of its own, it queues again the work whose
  lease has expired (`services/recovery.py`): what a killed worker left half done is finished by the next one.
  The same sweep resumes the batches paused after repeated errors from Artu once their cool-off is over.
"""

import contextlib
import logging
import random
import threading
import time

from django.conf import settings
from django.core.management.base import CommandError
from django.db import DatabaseError, InterfaceError, OperationalError, connections
from django_tasks_db.management.commands import db_worker

from onboarding.services.recovery import work_requeue_stalled

logger = logging.getLogger("onboarding.worker")

RECONNECT_FIRST_SECONDS = 0.5
RECONNECT_MAX_SECONDS = 30.0


def sweep() -> None:
    """Queue again the work whose lease has expired; an error is logged, and the next sweep tries again."""
    try:
        requeued = work_requeue_stalled()
    except (OperationalError, InterfaceError) as exc:
        logger.warning("the sweep for stalled work found no database (%s); the next one tries again", exc)
        return
    except Exception:
        logger.exception("the sweep for stalled work failed; the next one tries again")
        return
    if requeued.submissions or requeued.uploads:
        logger.warning("queued again: submissions %s, uploads %s", requeued.submissions, requeued.uploads)
    if requeued.resumed:
        logger.info("paused batches resumed after their cool-off: submissions %s", requeued.resumed)


def _sweep_forever() -> None:
    while True:
        time.sleep(settings.WORKER_SWEEP_SECONDS)
        sweep()
        with contextlib.suppress(DatabaseError):
            connections.close_all()  # this thread's own: the next sweep opens fresh ones


class Worker(db_worker.Worker):
    def run(self) -> None:
        sweep()
        if not self.batch:
            threading.Thread(target=_sweep_forever, name="sweep", daemon=True).start()
        failures = 0
        while True:
            started = time.monotonic()
            try:
                return super().run()
            except (OperationalError, InterfaceError) as exc:
                # A loop that ran a good while before failing starts its backoff afresh.
                failures = 1 if time.monotonic() - started > RECONNECT_MAX_SECONDS else failures + 1
                delay = min(RECONNECT_MAX_SECONDS, RECONNECT_FIRST_SECONDS * 2 ** (failures - 1))
                delay *= random.uniform(0.75, 1.0)  # workers that lost the database together come back apart
                logger.warning("database error in the worker loop (%s); trying again in %.1f s", exc, delay)
                with contextlib.suppress(DatabaseError):
                    connections.close_all()
                time.sleep(delay)


class Command(db_worker.Command):
    help = (
        "Run the background worker (the options of db_worker). It survives database outages, never reloads, and "
        "queues again the work of workers that stopped."
    )

    def add_arguments(self, parser) -> None:
        super().add_arguments(parser)
        parser.set_defaults(reload=False)  # db_worker reloads when DEBUG is on

    def handle(
        self,
        *,
        verbosity: int,
        queue_name: str,
        exclude_queues: str,
        reload: bool,
        **options,
    ) -> None:
        if reload:
            raise CommandError("The worker never reloads: restart it after changing the code.")
        self.configure_logging(verbosity)
        queue_names = queue_name.split(",")
        excluded = exclude_queues.split(",") if exclude_queues else []
        if excluded and "*" not in queue_names:
            raise CommandError("--exclude-queues can only be used with --queue-name=*")
        worker = Worker(
            queue_names=queue_names,
            excluded_queue_names=excluded,
            interval=options["interval"],
            batch=options["batch"],
            backend_name=options["backend_name"],
            startup_delay=options["startup_delay"],
            max_tasks=options["max_tasks"],
            worker_id=options["worker_id"],
        )
        worker.configure_signals()
        worker.run()
