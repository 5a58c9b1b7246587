"""Real worker processes (`manage.py worker`) on the test database, and database outages, as fixtures, for the
tests that kill a worker or take its database away. Tests with a worker need `django_db(transaction=True)`: the
worker reads what the test has committed.
"""

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

# Seconds, so that a lease expires and a sweep runs within a test: the worker's own settings, from its environment.
FAST = {
    "ARTU_LEASE_SECONDS": "2",
    "UPLOAD_LEASE_SECONDS": "2",
    "WORKER_SWEEP_SECONDS": "0.3",
    "ARTU_BACKOFF_BASE": "0.05",
    "ARTU_BACKOFF_CAP": "0.2",
    "ARTU_TIMEOUT": "5",
}


def database_url() -> str:
    """The test database, as the DATABASE_URL of another process."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    user, password = quote(db["USER"] or ""), quote(db["PASSWORD"] or "")
    return f"postgres://{user}:{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def wait_for(condition: Callable[[], object], *, timeout: float, what: str, worker=None) -> None:
    """Poll `condition` until it holds; fail with `what` (and the worker's log) after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            log = f"\n--- worker log ---\n{worker.log()[-4000:]}" if worker else ""
            pytest.fail(f"not within {timeout} s: {what}{log}")
        time.sleep(0.05)


class WorkerProcess:
    """`manage.py worker` in a process of its own, logging to a file."""

    def __init__(self, log_path: Path, env: dict[str, str]) -> None:
        self.log_path = log_path
        with log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "worker", "--queue-name", "*", "--interval", "0.1", "--no-startup-delay"],
                cwd=settings.BASE_DIR,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stopped with every child it may have spawned
            )

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL: the process ends at once, whatever it was doing, as when a machine or a container dies."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.alive:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)


@pytest.fixture
def worker_process(tmp_path, settings):
    """`worker_process(**env)` starts a worker on the test database with the test's Artu, media folder and fast
    leases (`FAST`), plus `env`; every worker started is stopped at the end of the test."""
    started: list[WorkerProcess] = []

    def start(**env: str) -> WorkerProcess:
        environment = os.environ | {
            "DJANGO_SETTINGS_MODULE": "onboarding.settings",
            "DATABASE_URL": database_url(),
            "ARTU_API_URL": settings.ARTU_API_URL,
            "ARTU_API_KEY": settings.ARTU_API_KEY,
            "MEDIA_ROOT": str(settings.MEDIA_ROOT),
            "DEBUG": "False",
            "PYTHONUNBUFFERED": "1",
            **FAST,
            **env,
        }
        worker = WorkerProcess(tmp_path / f"worker-{len(started) + 1}.log", environment)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


class Outage:
    """The test database stops answering. PostgreSQL refuses new connections and ends the open ones (all but this
    test's own, unless `including_this_test`); SQLite's write lock is held by another connection, so that every
    write waits until its busy timeout and fails ("database is locked"), this test's own after 0.2 s if included.
    When the outage ends, this test's connection is closed if it was included: the next query opens a new one."""

    def __init__(self) -> None:
        self._end: Callable[[], None] | None = None

    def begin(self, *, including_this_test: bool = False) -> None:
        connection.ensure_connection()
        name = connection.settings_dict["NAME"]
        if connection.vendor == "sqlite":
            if including_this_test:
                connection.cursor().execute("PRAGMA busy_timeout = 200")
            holder = sqlite3.connect(name, timeout=10, isolation_level=None)
            holder.execute("BEGIN EXCLUSIVE")

            def release() -> None:
                holder.execute("ROLLBACK")
                holder.close()

            self._end = self._closing_this_test(release) if including_this_test else release
            return
        import psycopg

        db = connection.settings_dict
        admin = psycopg.connect(
            dbname="postgres", user=db["USER"], password=db["PASSWORD"], host=db["HOST"], port=db["PORT"]
        )
        admin.autocommit = True
        own = None if including_this_test else connection.connection.info.backend_pid
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid IS DISTINCT FROM %s",
            [name, own],
        )

        def end() -> None:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
            admin.close()

        self._end = self._closing_this_test(end) if including_this_test else end

    @staticmethod
    def _closing_this_test(end: Callable[[], None]) -> Callable[[], None]:
        def both() -> None:
            end()
            connection.close()

        return both

    def end(self) -> None:
        if self._end is not None:
            end, self._end = self._end, None
            end()


@pytest.fixture
def database_outage():
    """An `Outage`, ended at the end of the test if the test has not ended it."""
    outage = Outage()
    yield outage
    outage.end()
