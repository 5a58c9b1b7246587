"""`manage.py artu_sandbox`: loopback only, and usable with curl-like calls as a new user would."""

import os
import re
import subprocess
import sys

import httpx
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.0.0.5", "my-laptop.local"])
def test_the_command_refuses_a_non_loopback_host(host):
    with pytest.raises(CommandError, match="loopback only"):
        call_command("artu_sandbox", host=host, port=0)


def test_the_command_refuses_a_bad_fault_rate():
    with pytest.raises(CommandError, match="between 0 and 1"):
        call_command("artu_sandbox", port=0, rate_500=1.5)


@pytest.fixture
def sandbox_process():
    env = os.environ | {"ARTU_SANDBOX_TOKEN": "sk_test_cli", "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "manage.py", "artu_sandbox", "--port", "0", "--latency-ms", "1-5", "--seed", "3"],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline()
        match = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
        assert match, f"unexpected first line: {line!r}"
        yield match.group(1)
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_the_command_serves_a_batch_of_three_and_needs_the_environment_header(sandbox_process):
    items = [{"type": "individual", "name": f"Cliente {n}", "externalId": f"CLI-{n}"} for n in range(3)]
    headers = {"Authorization": "Bearer sk_test_cli"}

    created = httpx.post(
        f"{sandbox_process}/clients/batch", json={"items": items}, headers=headers | {"X-Environment": "test"}
    )
    refused = httpx.post(f"{sandbox_process}/clients/batch", json={"items": items}, headers=headers)

    assert created.status_code == 200
    assert len({client["id"] for client in created.json()["data"]}) == 3
    assert refused.status_code == 400
