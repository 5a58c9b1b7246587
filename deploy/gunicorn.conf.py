"""Gunicorn settings for the web processes (`gunicorn -c deploy/gunicorn.conf.py`, see onboarding-web.service).

Tuned from the environment file: GUNICORN_BIND, GUNICORN_WORKERS, GUNICORN_THREADS, GUNICORN_TIMEOUT.
Logs go to stderr (the journal), one JSON object per line like the application's own.
"""

import multiprocessing
import os

wsgi_app = "onboarding.wsgi:application"
# nginx on the same machine is the only client; never bind a public address.
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
# An upload of up to UPLOAD_SYNC_MAX_ROWS rows is staged inside its request; larger files go to the worker.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))
graceful_timeout = 30
keepalive = 5
# Recycle each process now and then, so a slow leak never grows without bound.
max_requests = 2000
max_requests_jitter = 200
# Only the proxy on this machine may say a request came over HTTPS.
forwarded_allow_ips = "127.0.0.1,::1"
# Reload with `systemctl reload` (SIGHUP); no control socket in the service user's home.
control_socket_disable = True

accesslog = "-"
errorlog = "-"
# The path without its query string (searches carry names, RFCs and CURPs), no Referer (it has query strings),
# the client's address as nginx saw it, the time in ms and the request id the app echoes.
access_log_format = '%({x-real-ip}i)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms rid=%({x-request-id}o)s'
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "onboarding.logs.JsonFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
    "root": {"level": "INFO", "handlers": ["console"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["console"], "propagate": False},
        "gunicorn.access": {"level": "INFO", "handlers": ["console"], "propagate": False},
    },
}


def on_starting(server) -> None:
    """Refuses to start when `check --deploy` finds an error (the sandbox's key, Artu over plain HTTP)."""
    import io

    import django
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "onboarding.settings")
    django.setup()
    warnings = io.StringIO()
    try:
        call_command("check", deploy=True, fail_level="ERROR", stdout=io.StringIO(), stderr=warnings)
    except SystemCheckError as exc:
        server.log.error("refusing to start: %s", exc)
        raise SystemExit(1) from None
    if warnings.getvalue():
        server.log.warning("manage.py check --deploy: %s", warnings.getvalue().strip())
