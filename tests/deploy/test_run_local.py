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


def effective_artu_url(environ: dict[str, str]) -> str:
    """The Artu URL Django's settings resolve to in a process with this environment (the same settings code)."""
    code = "from django.conf import settings; print(settings.ARTU_API_URL)"
    out = subprocess.run(
        [".venv/bin/python", "manage.py", "shell", "-c", code],
        cwd=BASE_DIR,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return out.stdout.strip().splitlines()[-1]


def app_processes(pgid: int) -> dict[str, int] | None:
    """The web server's and the worker's pids (by the command that tells them apart), once both run."""
    found = {
        name: pid
        for pid, cmd in processes_in_group(pgid).items()
        for name in ("runserver", "manage.py worker")
        if name in cmd
    }
    return found if len(found) == 2 else None


def process_environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode().split("=", 1) for item in raw if b"=" in item)


def test_the_app_calls_the_sandbox_run_local_starts_on_the_port_it_is_given(tmp_path):
    port, sandbox_port = free_port(), free_port()
    # A .env as a first `make run` writes it (from .env.example): the sandbox's usual port, which must not win.
    env_file = tmp_path / ".env"
    env_file.write_text("DEBUG=True\nARTU_API_URL=http://127.0.0.1:8001\n")
    env = clean_environ() | {
        "ENV_FILE": str(env_file),
        "DATABASE_URL": database_url(),
        "PORT": str(port),
        "ARTU_SANDBOX_PORT": str(sandbox_port),
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("ARTU_API_URL", None)
    with (tmp_path / "run-local.log").open("w") as out:
        run = subprocess.Popen(
            ["scripts/run-local"], cwd=BASE_DIR, env=env, stdout=out, stderr=out, start_new_session=True
        )
    try:
        assert wait_for_http(f"http://127.0.0.1:{sandbox_port}/_sandbox/stats", timeout=60).status_code in (200, 401)
        assert wait_for_http(f"http://127.0.0.1:{port}/healthz", timeout=60).status_code in (200, 503)
        found = wait_until(lambda: app_processes(run.pid))
        for name in ("runserver", "manage.py worker"):  # the web pages and the worker that sends to Artu
            assert effective_artu_url(process_environ(found[name])) == f"http://127.0.0.1:{sandbox_port}", name
    finally:
        os.killpg(run.pid, signal.SIGINT)
        try:
            run.wait(timeout=30)
        finally:
            if processes_in_group(run.pid):
                os.killpg(run.pid, signal.SIGKILL)


def test_without_run_local_the_default_url_follows_artu_sandbox_port():
    env = clean_environ() | {"ENV_FILE": os.devnull, "ARTU_SANDBOX_PORT": "8121"}
    env.pop("ARTU_API_URL", None)
    assert effective_artu_url(env) == "http://127.0.0.1:8121"
