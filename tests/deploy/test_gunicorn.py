"""The web process as a system administrator starts it: collectstatic, then gunicorn with deploy/gunicorn.conf.py."""

import json
import re
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.deploy import BASE_DIR, GUNICORN, free_port, production_env

pytestmark = pytest.mark.django_db(transaction=True)  # gunicorn reads and writes the test database itself


@pytest.fixture
def gunicorn(web_process):
    web = web_process()
    return web.url, web.log


def test_gunicorn_serves_healthz_and_hashed_static_files_after_a_debug_collectstatic(gunicorn):
    url, log = gunicorn
    health = httpx.get(f"{url}/healthz")
    assert health.status_code == 200 and health.json()["checks"]["database"]["ok"]
    login = httpx.get(f"{url}/accounts/login/")
    assert login.status_code == 200
    css = re.search(r'href="/static/(css/app\.[0-9a-f]{12}\.css)"', login.text)
    assert css, "the page links the stylesheet by its hashed name"
    static = httpx.get(f"{url}/static/{css.group(1)}")
    assert static.status_code == 200 and "max-age=315360000" in static.headers["Cache-Control"]


def test_the_access_log_is_json_without_query_strings(gunicorn):
    url, log = gunicorn
    response = httpx.get(f"{url}/accounts/login/", params={"next": "/review/?q=GODE561231GR8"})
    assert response.status_code == 200
    deadline = time.monotonic() + 10
    while response.headers["X-Request-ID"] not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.1)  # the access line is written once the response has gone out
    entries = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    line = next(e for e in entries if response.headers["X-Request-ID"] in e["message"])
    assert line["logger"] == "gunicorn.access" and '"GET /accounts/login/ HTTP/1.1" 200' in line["message"]
    assert "GODE561231GR8" not in log.read_text()


def test_gunicorn_refuses_to_start_with_the_sandbox_key(tmp_path):
    env = production_env(ARTU_API_KEY="sk_test_sandbox", GUNICORN_BIND=f"127.0.0.1:{free_port()}")
    result = subprocess.run(GUNICORN, cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "onboarding.E001" in result.stdout + result.stderr


def gunicorn_workers(master: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == master and fields[0] != "Z":
            found.add(int(stat.parent.name))
    return found


def test_a_reload_replaces_the_workers_without_refusing_a_request(web_process):
    """`systemctl reload onboarding-web` after an upgrade: SIGHUP starts new workers, then retires the old ones."""
    web = web_process()
    old = gunicorn_workers(web.process.pid)
    assert len(old) == 2
    web.process.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 60
    while (new := gunicorn_workers(web.process.pid)) & old or len(new) != 2:
        assert httpx.get(f"{web.url}/accounts/login/", timeout=30).status_code == 200
        assert time.monotonic() < deadline, "the old workers were not replaced"
    assert httpx.get(f"{web.url}/accounts/login/").status_code == 200
    assert web.process.poll() is None
