"""A staged record's page says where it came from (upload and row) and who decided on it, and why."""

from django.urls import reverse

from onboarding.models import ClientRecord
from onboarding.services.review import RejectReason, record_reject
from tests.factories import ClientRecordFactory
from tests.imports import csv_bytes, person


def test_record_page_names_its_upload_row_and_reviewer(stage, client_as, oficial, auditor, settings):
    settings.LANGUAGE_CODE = "en"
    upload = stage(csv_bytes([person(1), person(2)]), name="sucursal-centro.csv")
    record = ClientRecord.objects.get(upload=upload, source_row=3)  # the header is row 1
    record_reject(actor=oficial, record_id=record.pk, reason=RejectReason.TEST_DATA, comment="Cliente de prueba")

    html = " ".join(client_as(auditor).get(reverse("records:detail", args=[record.pk])).content.decode().split())
    assert f'href="{reverse("uploads:detail", args=[upload.pk])}"' in html
    assert f"#{upload.pk} sucursal-centro.csv</a> · row 3" in html
    assert "Reviewed by" in html and oficial.username in html
    assert "Test or dummy data" in html and "Cliente de prueba" in html
    client = client_as(auditor)
    client.cookies["django_language"] = "es-mx"
    html = " ".join(client.get(reverse("records:detail", args=[record.pk])).content.decode().split())
    assert "sucursal-centro.csv</a> · fila 3" in html and "Revisado por" in html


def test_a_typed_record_shows_no_upload_and_no_reviewer(client_as, capturista, auditor):
    record = ClientRecordFactory(created_by=capturista)
    html = client_as(auditor).get(reverse("records:detail", args=[record.pk])).content.decode()
    assert 'id="record-upload"' not in html and 'id="record-reviewed"' not in html
