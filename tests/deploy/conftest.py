"""The web process as a system administrator starts it: collectstatic once, then gunicorn with deploy/gunicorn.conf.py
on a free loopback port."""

import subprocess
from pathlib import Path

import pytest

from tests.deploy import BASE_DIR, GUNICORN, PYTHON, free_port, production_env, wait_for_http


@pytest.fixture(scope="session")
def static_root(tmp_path_factory):
    """collectstatic run as `make run` runs it, with DEBUG=True."""
    root = tmp_path_factory.mktemp("static")
    env = production_env(DEBUG="True", STATIC_ROOT=str(root))
    subprocess.run([PYTHON, "manage.py", "collectstatic", "--no-input", "-v", "0"], cwd=BASE_DIR, env=env, check=True)
    return root


class WebProcess:
    def __init__(self, url: str, log: Path, process: subprocess.Popen) -> None:
        self.url, self.log, self.process = url, log, process

    def wait_ready(self) -> "WebProcess":
        wait_for_http(f"{self.url}/healthz", timeout=60)
        return self

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


@pytest.fixture
def web_process(static_root, tmp_path):
    """`web_process(**env)` starts gunicorn (production settings, `GUNICORN_WORKERS` 2 unless given) on the test
    database and waits for /healthz (with `wait=False`, call `.wait_ready()`); each is stopped after the test."""
    started: list[WebProcess] = []

    def start(*, wait: bool = True, **env: str) -> WebProcess:
        port = free_port()
        environment = production_env(
            STATIC_ROOT=str(static_root), GUNICORN_BIND=f"127.0.0.1:{port}", GUNICORN_WORKERS="2", **env
        )
        log = tmp_path / f"gunicorn-{len(started) + 1}.log"
        with log.open("w") as out:
            process = subprocess.Popen(GUNICORN, cwd=BASE_DIR, env=environment, stdout=out, stderr=subprocess.STDOUT)
        web = WebProcess(f"http://127.0.0.1:{port}", log, process)
        started.append(web)
        return web.wait_ready() if wait else web

    yield start
    for web in started:
        web.stop()
