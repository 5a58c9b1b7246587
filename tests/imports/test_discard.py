"""A pending upload can be discarded by its uploader or an officer (audited, file removed, after a confirmation),
and the same file uploaded again is caught before the mapping step."""

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from onboarding.errors import InvalidTransition
from onboarding.models import AuditAction, AuditEvent, ClientRecord, Upload, UploadStatus
from onboarding.services.upload_discard import upload_discard
from onboarding.services.uploads import upload_map_columns, upload_receive, upload_stage
from tests.imports import csv_bytes, person, uploaded

pytestmark = pytest.mark.django_db


@pytest.fixture
def pending(capturista):
    return upload_receive(actor=capturista, file=uploaded(csv_bytes([person(0)])))


def _stored(upload: Upload) -> bool:
    return upload.file.storage.exists(upload.file.name)


@pytest.mark.parametrize("who", ["capturista", "oficial"])
def test_the_uploader_or_an_officer_discards_a_pending_upload(
    request, pending, who, django_capture_on_commit_callbacks
):
    actor, stored = request.getfixturevalue(who), pending.file.name
    assert pending.file.storage.exists(stored)
    with django_capture_on_commit_callbacks(execute=True):
        upload = upload_discard(actor=actor, upload_id=pending.pk)
    assert upload.status == UploadStatus.DISCARDED and not Upload.objects.get(pk=pending.pk).file
    assert not pending.file.storage.exists(stored)
    event = AuditEvent.objects.get(action=AuditAction.UPLOAD_DISCARDED)
    assert (event.actor, event.upload_id) == (actor, pending.pk)
    assert event.changes["status"] == [UploadStatus.MAPPING, UploadStatus.DISCARDED]


@pytest.mark.parametrize("who", ["capturista2", "auditor"])
def test_another_data_entry_user_or_an_auditor_may_not(request, pending, who):
    with pytest.raises(PermissionDenied):
        upload_discard(actor=request.getfixturevalue(who), upload_id=pending.pk)
    assert Upload.objects.get(pk=pending.pk).status == UploadStatus.MAPPING and _stored(pending)


def test_a_staged_upload_cannot_be_discarded(stage, capturista):
    upload = stage(csv_bytes([person(0)]))
    with pytest.raises(InvalidTransition):
        upload_discard(actor=capturista, upload_id=upload.pk)
    assert not AuditEvent.objects.filter(action=AuditAction.UPLOAD_DISCARDED).exists()


def test_a_queued_upload_discarded_is_never_staged(pending, capturista):
    upload_map_columns(actor=capturista, upload_id=pending.pk, mapping=pending.mapping, background=True)
    upload_discard(actor=capturista, upload_id=pending.pk)
    assert upload_stage(upload_id=pending.pk).status == UploadStatus.DISCARDED
    assert not ClientRecord.objects.exists()


def test_discarding_asks_first_then_goes_back_to_the_list(client_as, capturista, pending):
    client = client_as(capturista)
    mapping_page = client.get(reverse("uploads:mapping", args=[pending.pk])).text
    assert reverse("uploads:discard", args=[pending.pk]) in mapping_page
    confirm = client.get(reverse("uploads:discard", args=[pending.pk]))
    assert confirm.status_code == 200 and 'id="discard-confirm"' in confirm.text
    assert Upload.objects.get(pk=pending.pk).status == UploadStatus.MAPPING  # asking changes nothing
    done = client.post(reverse("uploads:discard", args=[pending.pk]))
    assert done.status_code == 302 and done["Location"] == reverse("uploads:list")
    assert Upload.objects.get(pk=pending.pk).status == UploadStatus.DISCARDED
    detail = client.get(reverse("uploads:detail", args=[pending.pk])).text
    assert 'id="upload-discarded"' in detail and 'id="upload-discard"' not in detail


def test_the_discard_button_is_not_offered_to_who_may_not_use_it(client_as, capturista2, pending):
    client = client_as(capturista2)
    assert 'id="upload-discard"' not in client.get(reverse("uploads:detail", args=[pending.pk])).text
    assert client.get(reverse("uploads:discard", args=[pending.pk])).status_code == 403


def test_the_same_file_is_caught_before_the_mapping_step(client_as, capturista, stage):
    data = csv_bytes([person(0)])
    first = stage(data)
    client = client_as(capturista)
    received = client.post(reverse("uploads:list"), {"file": uploaded(data), "encoding": ""})
    again = Upload.objects.exclude(pk=first.pk).get()
    assert received["Location"] == reverse("uploads:mapping", args=[again.pk])
    step = client.get(received["Location"]).text
    assert 'id="same-file-first"' in step and f"#{first.pk}" in step
    assert 'id="mapping-form"' not in step  # no mapping until the user decides
    assert reverse("uploads:discard", args=[again.pk]) in step
    mapping = client.get(reverse("uploads:mapping", args=[again.pk]), {"same_file": "again"}).text
    assert 'id="mapping-form"' in mapping
    assert 'name="allow_same_file"' in mapping and "checked" in mapping.split('name="allow_same_file"')[1][:80]


def test_a_different_file_goes_straight_to_the_mapping(client_as, capturista, stage):
    stage(csv_bytes([person(0)]))
    client = client_as(capturista)
    client.post(reverse("uploads:list"), {"file": uploaded(csv_bytes([person(1)])), "encoding": ""})
    later = Upload.objects.latest("pk")
    page = client.get(reverse("uploads:mapping", args=[later.pk])).text
    assert 'id="mapping-form"' in page and 'id="same-file-first"' not in page
