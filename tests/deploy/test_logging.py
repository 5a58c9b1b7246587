"""Logs: one JSON object per line with request and user ids, and never a client's name, RFC, CURP or the key."""

import copy
import io
import json
import logging
import logging.config
import sys

import pytest
from django.conf import settings
from django.core.management import call_command
from django.urls import reverse
from django.utils import translation

from onboarding.logs import JsonFormatter, RequestContextFilter
from onboarding.models import ClientRecord, RecordStatus, Submission, Upload
from tests.imports import PEOPLE, csv_bytes, person, uploaded


@pytest.fixture
def log_file(tmp_path):
    """The project's LOGGING with everything at DEBUG, written to a file instead of stderr."""
    path = tmp_path / "app.log"
    config = copy.deepcopy(settings.LOGGING)
    config["handlers"]["console"] = {
        "class": "logging.FileHandler",
        "filename": str(path),
        "formatter": "json",
        "filters": ["request"],
    }
    config["root"]["level"] = "DEBUG"
    for name in ("django", "httpx", "httpcore"):
        config["loggers"][name]["level"] = "DEBUG"
    logging.config.dictConfig(config)
    yield path
    logging.config.dictConfig(settings.LOGGING)


def lines(path) -> list[dict]:
    for handler in logging.getLogger().handlers:
        handler.flush()
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(autouse=True)
def english(settings):
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.mark.django_db(transaction=True)  # the worker runs as in production: its own connection, real commits
def test_a_whole_journey_logs_no_client_data_and_no_key(artu, log_file, client, capturista, oficial, auditor):
    rows = [person(i) for i in range(4)]
    # Data entry uploads a CSV and maps its columns.
    client.force_login(capturista)
    response = client.post(reverse("uploads:list"), {"file": uploaded(csv_bytes(rows)), "encoding": ""})
    upload = Upload.objects.get()
    mapping = {f"col_{i}": upload.mapping.get(h, "") for i, h in enumerate(upload.headers)}
    response = client.post(response["Location"], mapping)
    assert response.status_code == 302
    client.get(response["Location"])
    # An officer searches, approves them all and submits to the sandbox; a worker sends the batch.
    client.force_login(oficial)
    records = list(ClientRecord.objects.all())
    client.get(reverse("review:queue"), {"q": records[0].rfc})
    client.get(reverse("review:queue"), {"q": records[1].name})
    response = client.post(
        reverse("review:bulk"), {"bulk_action": "approve", "scope": "selected", "ids": [r.pk for r in records]}
    )
    assert ClientRecord.objects.filter(status=RecordStatus.APPROVED).count() == 4
    form = {"what": "all", "environment": "test", "atomic": "on", "token": "journey", "ids": ""}
    response = client.post(reverse("submissions:create"), form)
    assert response.status_code == 302
    call_command("db_worker", batch=True, reload=False, startup_delay=False, verbosity=2)
    assert Submission.objects.get().created_count == 4 and len(artu.clients("test")) == 4
    # Everyone reads the pages; one asks for a record that does not exist.
    for page in (reverse("home"), reverse("records:list"), reverse("records:detail", args=[records[0].pk])):
        assert client.get(page).status_code == 200
    client.get(reverse("submissions:detail", args=[Submission.objects.get().pk]))
    missing = client.get(reverse("records:detail", args=[999_999]), {"q": records[2].curp})
    assert missing.status_code == 404
    client.force_login(auditor)
    assert client.get(reverse("audit:log"), {"q": records[3].rfc}).status_code == 200

    logged = lines(log_file)
    text = log_file.read_text(encoding="utf-8")
    assert {"time", "level", "logger", "message", "request_id", "user_id"} <= set(logged[0])
    assert any(entry["logger"] == "onboarding.artu.client" for entry in logged)  # the batch was logged, by id
    not_found = next(e for e in logged if e["logger"] == "django.request" and e.get("status") == 404)
    assert not_found["request_id"] == missing["X-Request-ID"] and not_found["user_id"] == oficial.pk
    secrets = {artu.token}
    for record in ClientRecord.objects.all():
        secrets |= {record.rfc, record.curp, record.name, record.last_name, record.rfc.lower()}
    for given, paterno, materno, *_ in PEOPLE[:4]:
        secrets |= {given, paterno, materno}
    for secret in secrets:
        assert secret not in text, f"{secret!r} is in the log"
        assert json.dumps(secret)[1:-1] not in text, f"{secret!r} is in the log (escaped)"


def record_of(message: str, exc_info=None) -> logging.LogRecord:
    record = logging.LogRecord("onboarding.test", logging.ERROR, __file__, 1, message, None, exc_info)
    RequestContextFilter().filter(record)
    return record


def test_an_exception_is_logged_by_type_and_stack_not_by_its_text():
    rfc = "GODE561231GR8"
    try:
        int(rfc)
    except ValueError:
        entry = json.loads(JsonFormatter().format(record_of("parsing failed", sys.exc_info())))
    assert entry["exception"] == "builtins.ValueError" and "int(" in entry["stack"]
    assert rfc not in json.dumps(entry)


def test_outside_a_request_the_ids_are_empty_and_each_record_is_one_line():
    out = JsonFormatter().format(record_of("line one\nline two"))
    assert "\n" not in out
    entry = json.loads(out)
    assert (entry["request_id"], entry["user_id"], entry["level"]) == (None, None, "ERROR")
    assert entry["message"] == "line one\nline two"


def test_sql_is_never_logged_even_at_debug(settings, db):
    from django.db import connection

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logging.getLogger().addHandler(handler)
    logging.getLogger().setLevel(logging.DEBUG)
    try:
        connection.force_debug_cursor = True
        ClientRecord.objects.filter(rfc="GODE561231GR8").exists()
    finally:
        connection.force_debug_cursor = False
        logging.getLogger().removeHandler(handler)
        logging.config.dictConfig(settings.LOGGING)
    assert "GODE561231GR8" not in stream.getvalue()
