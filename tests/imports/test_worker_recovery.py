"""A worker process killed while it stages a file: the next worker stages the file, from the beginning, once."""

import pytest
from django_tasks_db.models import DBTaskResult

from onboarding.models import AuditAction, AuditEvent, ClientRecord, Upload, UploadStatus
from onboarding.services.audit import audit_chain_verify
from onboarding.services.uploads import upload_map_columns, upload_receive
from tests.fixtures_worker import wait_for
from tests.imports import csv_bytes, person, uploaded

ROWS = 15_000  # about two seconds of staging: long enough to be killed in the middle of it


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_staging_is_replaced_and_the_file_is_staged_once(capturista, worker_process, settings):
    settings.UPLOAD_SYNC_MAX_ROWS = 10
    upload = upload_receive(actor=capturista, file=uploaded(csv_bytes([person(i) for i in range(ROWS)])))
    first = worker_process()
    upload_map_columns(actor=capturista, upload_id=upload.pk, mapping=upload.mapping)

    def staging_begun():
        upload.refresh_from_db()
        return upload.status == UploadStatus.STAGING and upload.rows_done > 0

    wait_for(staging_begun, timeout=30, what="the first worker checks rows", worker=first)
    first.kill()
    upload.refresh_from_db()
    assert upload.status == UploadStatus.STAGING, "staged before the kill: make the file larger"
    assert not ClientRecord.objects.filter(upload=upload).exists()  # all or nothing: nothing yet

    second = worker_process()
    wait_for(
        lambda: Upload.objects.get(pk=upload.pk).status == UploadStatus.STAGED,
        timeout=60,
        what="the second worker stages the file",
        worker=second,
    )
    upload.refresh_from_db()
    assert upload.row_count == ROWS and upload.staging_attempts == 2
    records = ClientRecord.objects.filter(upload=upload)
    assert records.count() == ROWS
    assert records.values("source_row").distinct().count() == ROWS
    events = AuditEvent.objects.filter(upload_id=upload.pk)
    assert events.filter(action=AuditAction.RECORD_CREATED).count() == ROWS
    assert list(events.exclude(action=AuditAction.RECORD_CREATED).order_by("seq").values_list("action", flat=True)) == [
        AuditAction.UPLOAD_RECEIVED,
        AuditAction.UPLOAD_MAPPED,
        AuditAction.UPLOAD_RESTARTED,
        AuditAction.UPLOAD_STAGED,
    ]
    # The killed worker's run of the task is no longer shown as running; the second worker's run succeeded.
    runs = DBTaskResult.objects.order_by("enqueued_at")
    wait_for(lambda: runs.last().status == "SUCCESSFUL", timeout=10, what="the second run is recorded", worker=second)
    assert list(runs.values_list("status", "exception_class_path")) == [
        ("FAILED", "onboarding.tasks.WorkerLost"),
        ("SUCCESSFUL", ""),
    ]
    assert audit_chain_verify().ok
