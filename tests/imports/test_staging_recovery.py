"""Stagings that stop half way (a dead worker, a lost database): started again from the beginning, failed after too
many starts, tried again by the user, and never staged twice."""

import datetime

import pytest
from django.db import connection
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

import onboarding.services.uploads as uploads
from onboarding.errors import InvalidTransition
from onboarding.imports.pipeline import RowPreparer
from onboarding.models import AuditAction, AuditEvent, ClientRecord, Upload, UploadStatus
from onboarding.services.audit import audit_chain_verify
from onboarding.services.uploads import (
    StagingInterrupted,
    upload_map_columns,
    upload_receive,
    upload_requeue_stalled,
    upload_stage,
    upload_stage_retry,
)
from onboarding.tasks import upload_stage_task
from tests.imports import csv_bytes, person, uploaded

ROWS = 6


def actions(upload: Upload) -> list[str]:
    events = AuditEvent.objects.filter(upload_id=upload.pk).exclude(action=AuditAction.RECORD_CREATED)
    return list(events.order_by("seq").values_list("action", flat=True))


def received(user) -> Upload:
    return upload_receive(actor=user, file=uploaded(csv_bytes([person(i) for i in range(ROWS)])))


def queued(user) -> Upload:
    upload = received(user)
    return upload_map_columns(actor=user, upload_id=upload.pk, mapping=upload.mapping, background=True)


def left_by_a_dead_worker(upload: Upload, *, attempts: int = 1, seconds_ago: int = 600) -> None:
    """What a worker killed half way leaves: staging, some rows checked, nothing stored, no sign of life since."""
    Upload.objects.filter(pk=upload.pk).update(
        status=UploadStatus.STAGING,
        rows_done=ROWS // 2,
        staging_attempts=attempts,
        heartbeat_at=timezone.now() - datetime.timedelta(seconds=seconds_ago),
    )


def assert_staged_once(upload: Upload) -> None:
    upload.refresh_from_db()
    assert upload.status == UploadStatus.STAGED and upload.row_count == ROWS
    assert ClientRecord.objects.filter(upload=upload).count() == ROWS
    assert AuditEvent.objects.filter(upload_id=upload.pk, action=AuditAction.RECORD_CREATED).count() == ROWS
    assert actions(upload).count(AuditAction.UPLOAD_STAGED) == 1
    assert audit_chain_verify().ok


# -- the lease ---------------------------------------------------------------------------------------------------


def test_a_staging_whose_worker_stopped_is_started_again_from_the_beginning(
    capturista, django_capture_on_commit_callbacks
):
    upload = queued(capturista)
    left_by_a_dead_worker(upload)
    with django_capture_on_commit_callbacks(execute=True):
        assert upload_requeue_stalled() == [upload.pk]
    upload.refresh_from_db()
    assert upload.status == UploadStatus.QUEUED and upload.rows_done == 0
    event = AuditEvent.objects.get(upload_id=upload.pk, action=AuditAction.UPLOAD_RESTARTED)
    assert event.actor is None and event.changes["status"] == ["staging", "queued"] and event.changes["attempts"] == 1
    assert DBTaskResult.objects.filter(task_path=upload_stage_task.module_path, status="READY").count() == 1

    upload_stage(upload_id=upload.pk)
    assert_staged_once(upload)
    assert upload.staging_attempts == 2
    assert actions(upload) == [
        AuditAction.UPLOAD_RECEIVED,
        AuditAction.UPLOAD_MAPPED,
        AuditAction.UPLOAD_RESTARTED,
        AuditAction.UPLOAD_STAGED,
    ]


def test_a_staging_with_a_recent_sign_of_life_is_left_alone(capturista, settings):
    upload = queued(capturista)
    left_by_a_dead_worker(upload, seconds_ago=settings.UPLOAD_LEASE_SECONDS - 30)
    assert upload_requeue_stalled() == []
    assert Upload.objects.get(pk=upload.pk).status == UploadStatus.STAGING


def test_a_queued_upload_no_task_waits_for_gets_one_and_only_one(capturista, django_capture_on_commit_callbacks):
    upload = queued(capturista)  # its task was never queued: the process died right after the commit
    with django_capture_on_commit_callbacks(execute=True):
        assert upload_requeue_stalled() == [upload.pk]
    with django_capture_on_commit_callbacks(execute=True):
        assert upload_requeue_stalled() == []
    assert DBTaskResult.objects.filter(task_path=upload_stage_task.module_path).count() == 1
    assert actions(upload) == [AuditAction.UPLOAD_RECEIVED, AuditAction.UPLOAD_MAPPED]  # no state changed


def test_a_staging_stopped_too_many_times_fails_with_a_message_and_can_be_tried_again(capturista, settings):
    upload = queued(capturista)
    left_by_a_dead_worker(upload, attempts=settings.UPLOAD_MAX_ATTEMPTS)
    assert upload_requeue_stalled() == []
    upload.refresh_from_db()
    assert upload.status == UploadStatus.FAILED and upload.error_code == "stalled"
    assert str(settings.UPLOAD_MAX_ATTEMPTS) in upload.error_message and not ClientRecord.objects.exists()
    failed = AuditEvent.objects.get(upload_id=upload.pk, action=AuditAction.UPLOAD_FAILED)
    assert failed.changes["code"] == "stalled" and failed.changes["attempts"] == settings.UPLOAD_MAX_ATTEMPTS

    upload = upload_stage_retry(actor=capturista, upload_id=upload.pk)  # a small file: staged in the call
    assert_staged_once(upload)
    retried = AuditEvent.objects.get(upload_id=upload.pk, action=AuditAction.UPLOAD_RESTARTED)
    assert retried.actor == capturista and retried.changes["retried"] is True
    assert retried.changes["status"] == ["failed", "queued"]
    assert upload.staging_attempts == 1


def test_a_large_file_tried_again_goes_to_the_background_task(capturista, settings, django_capture_on_commit_callbacks):
    upload = queued(capturista)
    left_by_a_dead_worker(upload)
    settings.UPLOAD_SYNC_MAX_ROWS = 2
    with django_capture_on_commit_callbacks(execute=True):
        upload = upload_stage_retry(actor=capturista, upload_id=upload.pk)
    assert upload.status == UploadStatus.QUEUED
    assert DBTaskResult.objects.filter(task_path=upload_stage_task.module_path, status="READY").count() == 1


@pytest.mark.parametrize("status, code", [(UploadStatus.STAGED, ""), (UploadStatus.FAILED, "no_rows")])
def test_what_did_not_stop_half_way_cannot_be_tried_again(capturista, status, code):
    upload = received(capturista)
    Upload.objects.filter(pk=upload.pk).update(status=status, error_code=code)
    with pytest.raises(InvalidTransition):
        upload_stage_retry(actor=capturista, upload_id=upload.pk)


def test_a_live_staging_cannot_be_tried_again(capturista):
    upload = queued(capturista)
    left_by_a_dead_worker(upload, seconds_ago=1)
    with pytest.raises(InvalidTransition):
        upload_stage_retry(actor=capturista, upload_id=upload.pk)


def test_trying_again_needs_the_upload_permission(capturista, auditor):
    upload = queued(capturista)
    left_by_a_dead_worker(upload)
    with pytest.raises(uploads.PermissionDenied):
        upload_stage_retry(actor=auditor, upload_id=upload.pk)
    assert Upload.objects.get(pk=upload.pk).status == UploadStatus.STAGING


def test_a_worker_whose_lease_ran_out_stops_without_staging_over_the_next_one(
    capturista, monkeypatch, settings, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(uploads, "CHUNK_ROWS", 2)
    monkeypatch.setattr(uploads, "PROGRESS_EVERY_SECONDS", 0)
    upload = queued(capturista)
    real_prepare, seen = RowPreparer.prepare, []

    def paused_past_its_lease(self, cells):
        seen.append(1)
        if len(seen) == 3:  # this worker stalls here; the sweep hands its staging to another
            settings.UPLOAD_LEASE_SECONDS = 0
            with django_capture_on_commit_callbacks(execute=True):
                assert upload_requeue_stalled() == [upload.pk]
        return real_prepare(self, cells)

    monkeypatch.setattr(RowPreparer, "prepare", paused_past_its_lease)
    stopped = upload_stage(upload_id=upload.pk)
    assert stopped.status == UploadStatus.QUEUED and not ClientRecord.objects.exists()
    monkeypatch.setattr(RowPreparer, "prepare", real_prepare)

    upload_stage(upload_id=upload.pk)
    assert_staged_once(upload)


# -- a lost database ---------------------------------------------------------------------------------------------


def _outage_while(monkeypatch, outage, phase: str) -> None:
    """The database goes away as the staging is claimed, while rows are checked (a progress write fails), or while
    they are stored."""
    if phase == "claiming":
        real_stage = uploads.upload_stage

        def failing_stage(**kwargs):
            outage.begin(including_this_test=True)
            return real_stage(**kwargs)

        monkeypatch.setattr(uploads, "upload_stage", failing_stage)
        return
    if phase == "storing":
        if connection.vendor == "sqlite":
            pytest.skip("SQLite: the storing transaction holds the only write lock; nobody can take it then")
        real = uploads.mark_duplicates

        def failing(*args, **kwargs):
            outage.begin(including_this_test=True)
            return real(*args, **kwargs)

        monkeypatch.setattr(uploads, "mark_duplicates", failing)
        return
    monkeypatch.setattr(uploads, "PROGRESS_EVERY_SECONDS", 0)
    monkeypatch.setattr(uploads, "CHUNK_ROWS", 2)
    real_prepare, seen = RowPreparer.prepare, []

    def failing_prepare(self, cells):
        seen.append(1)
        if len(seen) == 3:
            outage.begin(including_this_test=True)
        return real_prepare(self, cells)

    monkeypatch.setattr(RowPreparer, "prepare", failing_prepare)


def _started_again_after_the_lease(upload: Upload, settings) -> None:
    upload.refresh_from_db()
    # Not failed: the database was at fault, not the file. Staging, or still queued if the claim itself failed.
    assert upload.status in (UploadStatus.STAGING, UploadStatus.QUEUED)
    assert not ClientRecord.objects.filter(upload=upload).exists()
    assert AuditAction.UPLOAD_FAILED not in actions(upload)
    settings.UPLOAD_LEASE_SECONDS = 0
    assert upload_requeue_stalled() == [upload.pk]
    upload_stage(upload_id=upload.pk)
    assert_staged_once(upload)


@pytest.mark.parametrize("phase", ["claiming", "checking", "storing"])
@pytest.mark.django_db(transaction=True)
def test_a_database_outage_in_the_background_leaves_the_staging_to_be_started_again(
    capturista, monkeypatch, settings, database_outage, phase
):
    upload = queued(capturista)
    DBTaskResult.objects.get().claim("this-test")  # a worker took the task; it runs here
    _outage_while(monkeypatch, database_outage, phase)
    with pytest.raises(StagingInterrupted):
        upload_stage_task.call(upload_id=upload.pk)
    database_outage.end()
    monkeypatch.undo()
    _started_again_after_the_lease(upload, settings)


@pytest.mark.parametrize("phase", ["claiming", "checking", "storing"])
@pytest.mark.django_db(transaction=True)
def test_a_database_outage_while_staging_in_the_page_shows_a_message_not_a_server_error(
    client_as, capturista, monkeypatch, settings, database_outage, phase
):
    upload = received(capturista)
    client = client_as(capturista)
    form = {f"col_{i}": upload.mapping.get(h, "") for i, h in enumerate(upload.headers)}
    _outage_while(monkeypatch, database_outage, phase)
    response = client.post(f"/uploads/{upload.pk}/mapping/", form, HTTP_ACCEPT_LANGUAGE="en")
    database_outage.end()  # the page above was answered while the database was still away
    monkeypatch.undo()
    assert response.status_code == 503
    assert b'id="upload-interrupted"' in response.content
    assert b"staged again from the beginning, automatically" in response.content
    _started_again_after_the_lease(upload, settings)
