"""The upload page of a staging that stopped: what it shows, and its "try again" button (POST /uploads/<pk>/retry/)."""

import datetime

import pytest
from django.utils import timezone

from onboarding.models import AuditAction, AuditEvent, ClientRecord, Upload, UploadStatus
from onboarding.services.uploads import upload_map_columns, upload_receive
from tests.imports import csv_bytes, person, uploaded


@pytest.fixture(autouse=True)
def english(client):
    client.cookies["django_language"] = "en"


@pytest.fixture
def stopped(capturista):
    """A 3-row upload whose worker died while staging it, ten minutes ago."""
    upload = upload_receive(actor=capturista, file=uploaded(csv_bytes([person(i) for i in range(3)])))
    upload_map_columns(actor=capturista, upload_id=upload.pk, mapping=upload.mapping, background=True)
    Upload.objects.filter(pk=upload.pk).update(
        status=UploadStatus.STAGING,
        staging_attempts=1,
        heartbeat_at=timezone.now() - datetime.timedelta(minutes=10),
    )
    return upload


def test_a_stopped_staging_says_so_and_offers_to_start_again(client_as, capturista, stopped):
    response = client_as(capturista).get(f"/uploads/{stopped.pk}/")
    content = response.content.decode()
    assert 'id="upload-stalled"' in content and "has shown no sign of life since" in content
    assert 'id="upload-retry"' in content and f'action="/uploads/{stopped.pk}/retry/"' in content
    assert 'hx-trigger="every 1s"' in content  # it keeps polling: the sweep may start it again meanwhile


def test_a_staging_alive_shows_its_progress_and_its_attempt(client_as, capturista, stopped):
    Upload.objects.filter(pk=stopped.pk).update(staging_attempts=2, heartbeat_at=timezone.now())
    content = client_as(capturista).get(f"/uploads/{stopped.pk}/").content.decode()
    assert 'id="upload-progress"' in content and 'id="upload-retry"' not in content
    assert "Attempt 2 of 3: the previous one stopped before it finished" in content


def test_a_failed_staging_can_be_tried_again_and_is_staged(client_as, capturista, stopped):
    Upload.objects.filter(pk=stopped.pk).update(
        status=UploadStatus.FAILED, error_code="stalled", error_message="Staging was started 3 times…"
    )
    client = client_as(capturista)
    page = client.get(f"/uploads/{stopped.pk}/").content.decode()
    assert "Staging stopped before it finished; nothing was staged." in page and 'id="upload-retry"' in page

    response = client.post(f"/uploads/{stopped.pk}/retry/", follow=True)
    assert response.redirect_chain == [(f"/uploads/{stopped.pk}/", 302)]
    assert "File staged: 3 records sent to review." in response.content.decode()
    assert ClientRecord.objects.filter(upload=stopped).count() == 3
    event = AuditEvent.objects.get(upload_id=stopped.pk, action=AuditAction.UPLOAD_RESTARTED)
    assert event.actor == capturista


def test_a_refused_file_offers_a_corrected_upload_not_a_retry(client_as, capturista, stopped):
    Upload.objects.filter(pk=stopped.pk).update(status=UploadStatus.FAILED, error_code="no_rows")
    content = client_as(capturista).get(f"/uploads/{stopped.pk}/").content.decode()
    assert "The file was refused" in content and 'id="upload-retry"' not in content
    response = client_as(capturista).post(f"/uploads/{stopped.pk}/retry/", follow=True)
    assert "there is nothing to try again" in response.content.decode()
    assert Upload.objects.get(pk=stopped.pk).status == UploadStatus.FAILED


def test_the_auditor_sees_the_state_but_no_button_and_may_not_retry(client_as, auditor, stopped):
    client = client_as(auditor)
    content = client.get(f"/uploads/{stopped.pk}/").content.decode()
    assert 'id="upload-stalled"' in content and 'id="upload-retry"' not in content
    assert client.post(f"/uploads/{stopped.pk}/retry/").status_code == 403
    assert Upload.objects.get(pk=stopped.pk).status == UploadStatus.STAGING


def test_retry_is_post_only_and_404_for_an_unknown_upload(client_as, capturista, stopped):
    client = client_as(capturista)
    assert client.get(f"/uploads/{stopped.pk}/retry/").status_code == 405
    assert client.post("/uploads/999999/retry/").status_code == 404
