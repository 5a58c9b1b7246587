"""The files a system administrator installs from deploy/, used as README's "Deploying" uses them: the example
environment file, deploy/manage for the set-up steps, and nginx in front of gunicorn."""

import json
import os
import re
import secrets
import shutil
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.deploy import BASE_DIR, PYTHON, clean_environ, database_url, free_port

pytestmark = pytest.mark.django_db(transaction=True)  # the processes read and write the test database
DEPLOY = Path(BASE_DIR) / "deploy"


def environment_file(path: Path, **values: str) -> Path:
    """deploy/onboarding.env.example with what step 4 has the administrator fill in, and `values` replaced."""
    filled = {
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ARTU_API_KEY": f"sk_live_{secrets.token_hex(12)}",
        "DATABASE_URL": database_url(),
        **values,
    }
    text = (DEPLOY / "onboarding.env.example").read_text()
    for name, value in filled.items():
        text, found = re.subn(rf"^{name}=.*$", f"{name}={value}", text, flags=re.M)
        assert found == 1, name
    path.write_text(text)
    return path


def only_the_file(path: Path, **extra: str) -> dict[str, str]:
    """This process's environment without any setting the file sets: the file alone decides, as under systemd."""
    names = set(re.findall(r"^([A-Z_]+)=", path.read_text(), flags=re.M))
    return {k: v for k, v in clean_environ().items() if k not in names} | extra


def test_the_example_environment_file_passes_check_deploy(tmp_path):
    env_file = environment_file(tmp_path / "onboarding.env")
    result = subprocess.run(
        [PYTHON, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=only_the_file(env_file, ENV_FILE=str(env_file)),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("runuser"), reason="deploy/manage switches user: root only")
def test_deploy_manage_runs_the_set_up_steps_as_the_service_user(tmp_path, django_user_model):
    static = tmp_path / "static"
    env_file = environment_file(tmp_path / "onboarding.env", STATIC_ROOT=str(static), MEDIA_ROOT=str(tmp_path / "m"))
    env = only_the_file(
        env_file,
        ONBOARDING_ENV_FILE=str(env_file),
        ONBOARDING_USER="root",  # the only user sure to exist here; the script is the same for `onboarding`
        ONBOARDING_VENV=str(Path(PYTHON).parent.parent),
        DJANGO_SUPERUSER_PASSWORD=secrets.token_urlsafe(20),
    )

    def manage(*args: str) -> subprocess.CompletedProcess:
        result = subprocess.run(
            ["deploy/manage", *args], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 0, f"deploy/manage {' '.join(args)}: {result.stdout}{result.stderr}"
        return result

    assert "No migrations to apply" in manage("migrate").stdout
    manage("setup_roles")
    manage("createsuperuser", "--no-input", "--username", "admin", "--email", "admin@desk.example.mx")
    assert django_user_model.objects.get(username="admin").is_superuser
    manage("collectstatic", "--no-input")
    assert (static / "staticfiles.json").is_file()
    assert "no issues" in manage("check", "--deploy", "--fail-level", "WARNING").stdout
    assert json.loads(manage("health").stdout)["status"] == "ok"


@pytest.fixture
def certificate(tmp_path):
    key, cert = tmp_path / "privkey.pem", tmp_path / "fullchain.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=desk.example.mx"]
        + ["-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture
def nginx(web_process, certificate, static_root, tmp_path):
    """deploy/nginx-onboarding.conf on loopback ports, in front of gunicorn set up as the example file says."""
    web = web_process(HTTPS="True", BEHIND_PROXY="True", TRUSTED_PROXY_COUNT="1")
    http_port, https_port, gunicorn_port = free_port(), free_port(), web.url.rsplit(":", 1)[1]
    cert, key = certificate
    site = (DEPLOY / "nginx-onboarding.conf").read_text()
    for old, new in {
        "127.0.0.1:8000": f"127.0.0.1:{gunicorn_port}",
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "listen 443 ssl;": f"listen 127.0.0.1:{https_port} ssl;",
        "/etc/letsencrypt/live/desk.example.mx/fullchain.pem": str(cert),
        "/etc/letsencrypt/live/desk.example.mx/privkey.pem": str(key),
        "/var/log/nginx/onboarding.access.log": str(tmp_path / "access.log"),
        "/srv/onboarding/static/": f"{static_root}/",
    }.items():
        assert old in site, old
        site = site.replace(old, new)
    site = re.sub(r"^\s*listen \[::\].*$", "", site, flags=re.M)  # loopback only, IPv4
    (tmp_path / "site.conf").write_text(site)
    temp = " ".join(
        f"{kind}_temp_path {tmp_path}/{kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (tmp_path / "nginx.conf").write_text(
        f"daemon off; worker_processes 1; pid {tmp_path}/nginx.pid; error_log {tmp_path}/error.log;\n"
        + ("user root;\n" if os.geteuid() == 0 else "")
        + "events {}\n"
        + f"http {{ include /etc/nginx/mime.types; access_log off; {temp} include {tmp_path}/site.conf; }}\n"
    )
    command = ["nginx", "-p", str(tmp_path), "-e", str(tmp_path / "error.log"), "-c", str(tmp_path / "nginx.conf")]
    check = subprocess.run([*command, "-t"], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield f"http://127.0.0.1:{http_port}", f"https://127.0.0.1:{https_port}", tmp_path / "access.log"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.skipif(not shutil.which("nginx") or not shutil.which("openssl"), reason="needs nginx and openssl")
def test_nginx_in_front_of_gunicorn_serves_tls_and_passes_the_request_id(nginx):
    http_url, https_url, access_log = nginx
    host = {"Host": "desk.example.mx"}
    with httpx.Client(verify=False, headers=host, timeout=10) as client:  # a self-signed certificate
        deadline = time.monotonic() + 20
        while True:
            try:
                health = client.get(f"{https_url}/healthz")
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        assert health.status_code == 200 and health.json()["status"] == "ok"
        assert client.get(f"{http_url}/review/").headers["Location"] == "https://desk.example.mx/review/"
        page = client.get(f"{https_url}/accounts/login/", params={"next": "/review/?q=GODE561231GR8"})
        assert page.status_code == 200 and "Strict-Transport-Security" in page.headers
    request_id = page.headers["X-Request-ID"]
    deadline = time.monotonic() + 5
    while request_id not in access_log.read_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    line = next(line for line in access_log.read_text().splitlines() if request_id in line)
    assert '"GET /accounts/login/ HTTP/1.1" 200' in line
    assert "GODE561231GR8" not in access_log.read_text()
