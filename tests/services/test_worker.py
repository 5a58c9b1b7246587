"""`manage.py worker`: outlives a database outage, never runs under the autoreloader, and sweeps for stalled work."""

import time

import pytest
from django.core.management import CommandError, call_command

from onboarding.models import Upload, UploadStatus
from onboarding.services.uploads import upload_map_columns, upload_receive
from tests.fixtures_worker import wait_for
from tests.imports import csv_bytes, person, uploaded


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.mark.django_db(transaction=True)
def test_the_worker_outlives_a_database_outage_and_then_runs_a_new_task(
    capturista, worker_process, database_outage, settings
):
    # DEBUG on, as `make run` writes it; SQLite's lock timeout short enough for the outage to outlast it.
    worker = worker_process(DEBUG="True", DJANGO_SETTINGS_MODULE="tests.services.worker_settings")
    wait_for(lambda: "Starting worker" in worker.log(), timeout=30, what="the worker starts", worker=worker)

    database_outage.begin()
    time.sleep(3)
    database_outage.end()
    assert worker.alive

    settings.UPLOAD_SYNC_MAX_ROWS = 1
    upload = upload_receive(actor=capturista, file=uploaded(csv_bytes([person(0), person(1)])))
    upload_map_columns(actor=capturista, upload_id=upload.pk, mapping=upload.mapping)  # queued for the worker
    wait_for(
        lambda: Upload.objects.get(pk=upload.pk).status == UploadStatus.STAGED,
        timeout=30,
        what="the worker stages a file queued after the outage",
        worker=worker,
    )
    assert worker.alive
    assert "database error in the worker loop" in worker.log()  # the outage did reach it
    assert "Watching for file changes" not in worker.log()  # no autoreloader, though DEBUG is on


def test_the_worker_refuses_to_reload():
    with pytest.raises(CommandError, match="never reloads"):
        call_command("worker", reload=True)
