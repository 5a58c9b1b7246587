"""`make run`'s three processes: one that dies is started again, the others go on; Ctrl-C stops them all."""

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.deploy import BASE_DIR, clean_environ, database_url, free_port, wait_for_http

pytestmark = pytest.mark.django_db(transaction=True)


def processes_in_group(pgid: int) -> dict[int, str]:
    """pid -> command line of every live process in the process group."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            found[int(stat.parent.name)] = cmdline
    return found


def workers(pgid: int) -> set[int]:
    return {pid for pid, cmd in processes_in_group(pgid).items() if "manage.py worker" in cmd}


def wait_until(condition, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)
    return result


def test_a_dead_worker_is_started_again_and_ctrl_c_stops_everything(tmp_path):
    port, sandbox_port = free_port(), free_port()
    env = clean_environ() | {
        "ENV_FILE": os.devnull,
        "DEBUG": "True",
        "DATABASE_URL": database_url(),
        "PORT": str(port),
        "ARTU_SANDBOX_PORT": str(sandbox_port),
        "PYTHONUNBUFFERED": "1",
    }
    log = tmp_path / "run-local.log"
    with log.open("w") as out:
        # Its own process group, like a shell job: Ctrl-C reaches the whole group.
        run = subprocess.Popen(
            ["scripts/run-local"], cwd=BASE_DIR, env=env, stdout=out, stderr=out, start_new_session=True
        )
    try:
        assert wait_for_http(f"http://127.0.0.1:{port}/healthz", timeout=60).status_code in (200, 503)
        (first,) = wait_until(lambda: workers(run.pid))
        os.kill(first, signal.SIGKILL)
        (second,) = wait_until(lambda: workers(run.pid) - {first})
        assert "run-local: task worker exited with status 137; starting it again in 1s" in log.read_text()
        assert wait_for_http(f"http://127.0.0.1:{port}/healthz").status_code in (200, 503)  # the web server went on
        assert wait_for_http(f"http://127.0.0.1:{sandbox_port}/_sandbox/stats").status_code in (200, 401)

        os.killpg(run.pid, signal.SIGINT)
        assert run.wait(timeout=30) is not None
        time.sleep(1)
        assert processes_in_group(run.pid) == {}
    finally:
        if processes_in_group(run.pid):
            os.killpg(run.pid, signal.SIGKILL)
    assert log.read_text().count("starting it again") == 1  # Ctrl-C stopped them: nothing was started again
