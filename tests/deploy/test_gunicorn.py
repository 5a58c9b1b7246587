"""The web process as a system administrator starts it: collectstatic, then gunicorn with deploy/gunicorn.conf.py."""

import json
import re
import subprocess
import time

import httpx
import pytest

from tests.deploy import BASE_DIR, PYTHON, free_port, production_env, wait_for_http

pytestmark = pytest.mark.django_db(transaction=True)  # gunicorn reads and writes the test database itself
GUNICORN = [PYTHON, "-m", "gunicorn", "--config", "deploy/gunicorn.conf.py"]


@pytest.fixture(scope="module")
def static_root(tmp_path_factory):
    """collectstatic run as `make run` runs it, with DEBUG=True."""
    root = tmp_path_factory.mktemp("static")
    env = production_env(DEBUG="True", STATIC_ROOT=str(root))
    subprocess.run([PYTHON, "manage.py", "collectstatic", "--no-input", "-v", "0"], cwd=BASE_DIR, env=env, check=True)
    return root


@pytest.fixture
def gunicorn(static_root, tmp_path):
    port = free_port()
    env = production_env(STATIC_ROOT=str(static_root), GUNICORN_BIND=f"127.0.0.1:{port}", GUNICORN_WORKERS="2")
    log = tmp_path / "gunicorn.log"
    with log.open("w") as out:
        process = subprocess.Popen(GUNICORN, cwd=BASE_DIR, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/healthz")
        yield f"http://127.0.0.1:{port}", log
    finally:
        process.terminate()
        process.wait(timeout=30)


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
