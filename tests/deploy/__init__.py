"""Running in production: processes started as a system administrator starts them, against the test database."""

import os
import secrets
import socket
import sys
import time
from urllib.parse import quote

import httpx
from django.conf import settings
from django.db import connection

PYTHON = sys.executable
GUNICORN = [PYTHON, "-m", "gunicorn", "--config", "deploy/gunicorn.conf.py"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def database_url() -> str:
    """The test database (already migrated by pytest-django) as a DATABASE_URL for a child process."""
    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{db['NAME']}"
    auth = quote(db["USER"]) + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def clean_environ() -> dict[str, str]:
    """This process's environment without what the test session set for itself (settings module, async flag)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_") and k != "ENV_FILE"}


def production_env(**extra: str) -> dict[str, str]:
    """What deploy/onboarding.env.example asks for: DEBUG off, a real secret, https Artu and a non-sandbox key."""
    return clean_environ() | {
        "ENV_FILE": os.devnull,  # a developer's .env must not leak into these runs
        "DEBUG": "False",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1,desk.example.mx",
        "ARTU_API_URL": "https://api.artu.example",
        "ARTU_API_KEY": f"sk_live_{secrets.token_hex(12)}",
        "DATABASE_URL": database_url(),
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


def wait_for_http(url: str, timeout: float = 30.0, **kwargs) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return httpx.get(url, timeout=5, **kwargs)
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


BASE_DIR = str(settings.BASE_DIR)
