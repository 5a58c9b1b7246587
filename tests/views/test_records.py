"""Staging by form: create, edit, errors at their fields, stale saves refused."""

import datetime
import re

import pytest
from django.urls import reverse

from onboarding.models import AuditAction, AuditEvent, ClientRecord, RecordStatus
from tests.factories import ClientRecordFactory, person_identifiers

pytestmark = pytest.mark.django_db


def valid_post(**overrides):
    birth = datetime.date(1988, 3, 14)
    rfc, curp = person_identifiers("MARIA", "LOPEZ", "GARCIA", birth, sex="M")
    data = {
        "client_type": "individual",
        "name": "María José",
        "middle_name": "",
        "apellido_paterno": "López",
        "apellido_materno": "García",
        "birth_date": "14/03/1988",
        "nationalities": "mx",
        "external_id": "SUC-001-778",
        "rfc": f" {rfc[:4].lower()} {rfc[4:]} ",
        "curp": curp.lower(),
        "av_inm": "on",
        "metadata": '{"sucursal": "Monterrey"}',
        "us_scope_data": "",
        "cnbv_numero_cuenta": "",
        "cnbv_clave_sujeto_obligado": "",
    }
    data.update(overrides)
    return data, rfc, curp


def test_data_entry_stages_a_record_with_every_section(client_as, capturista):
    data, rfc, curp = valid_post()
    response = client_as(capturista).post(reverse("records:create"), data)
    assert response.status_code == 302
    record = ClientRecord.objects.get()
    assert record.rfc == rfc and record.curp == curp  # normalised: trimmed, upper-cased, inner spaces removed
    assert record.nationalities == "MX"
    assert record.birth_date == datetime.date(1988, 3, 14)
    assert record.av_inm and not record.av_avi
    assert record.scopes == ["MX", "MX:AV", "MX:AV:INM"]  # derived from the scope data
    assert record.metadata == {"sucursal": "Monterrey"}
    assert record.status == RecordStatus.IN_REVIEW
    assert record.created_by == capturista == record.updated_by
    event = AuditEvent.objects.get(action=AuditAction.RECORD_CREATED)
    assert event.record_id == record.pk and event.actor == capturista


def test_form_with_errors_shows_them_at_their_fields_and_keeps_what_was_typed(client_as, capturista):
    data, rfc, _ = valid_post(rfc="GODE561231GR9", name="Jacinta Ñañez")  # wrong check digit
    response = client_as(capturista).post(reverse("records:create"), data)
    assert response.status_code == 422
    html = response.content.decode()
    assert 'id="field-rfc"' in html
    field_html = html.split('id="field-rfc"')[1].split("</div>")[0]
    assert 'class="error"' in field_html
    assert 'value="GODE561231GR9"' in html  # what the user typed is still there
    assert "Jacinta Ñañez" in html
    assert ClientRecord.objects.count() == 0


def test_unparseable_date_is_an_error_at_the_date_field(client_as, capturista):
    data, _, _ = valid_post(birth_date="31/02/1988")
    response = client_as(capturista).post(reverse("records:create"), data)
    assert response.status_code == 422
    assert 'class="error"' in response.content.decode().split('id="field-birth_date"')[1].split("</div>")[0]


def test_company_with_curp_is_refused(client_as, capturista):
    data, _, curp = valid_post(
        client_type="company", name="Constructora del Norte SA de CV", apellido_paterno="", apellido_materno=""
    )
    response = client_as(capturista).post(reverse("records:create"), data)
    assert response.status_code == 422
    assert ClientRecord.objects.count() == 0


def test_edit_saves_changes_and_records_old_and_new_values(client_as, capturista, oficial):
    record = ClientRecordFactory(created_by=capturista, status=RecordStatus.APPROVED)
    page = client_as(oficial).get(reverse("records:edit", args=[record.pk]))
    assert page.status_code == 200
    data, _, _ = valid_post(
        client_type=record.client_type,
        name="Nuevo",
        apellido_paterno=record.apellido_paterno,
        apellido_materno=record.apellido_materno,
        birth_date=record.birth_date.isoformat(),
        rfc=record.rfc,
        curp=record.curp,
        external_id=record.external_id,
        metadata="{}",
        version=record.version,
    )
    data.pop("av_inm")
    response = client_as(oficial).post(reverse("records:edit", args=[record.pk]), data)
    assert response.status_code == 302
    record.refresh_from_db()
    assert record.name == "Nuevo"
    assert record.status == RecordStatus.IN_REVIEW  # changed data needs a fresh review
    assert record.updated_by == oficial and record.version == 2
    event = AuditEvent.objects.get(action=AuditAction.RECORD_UPDATED)
    assert event.changes["name"][1] == "Nuevo"
    assert event.changes["status"] == [RecordStatus.APPROVED, RecordStatus.IN_REVIEW]


def test_second_save_from_an_old_version_is_refused(client_as, oficial, oficial2):
    record = ClientRecordFactory()
    base = dict(
        client_type=record.client_type,
        apellido_paterno=record.apellido_paterno,
        apellido_materno=record.apellido_materno,
        birth_date=record.birth_date.isoformat(),
        rfc=record.rfc,
        curp=record.curp,
        external_id=record.external_id,
        metadata="{}",
        version=record.version,
    )
    first, _, _ = valid_post(name="Primero", **base)
    second, _, _ = valid_post(name="Segundo", **base)
    assert client_as(oficial).post(reverse("records:edit", args=[record.pk]), first).status_code == 302
    response = client_as(oficial2).post(reverse("records:edit", args=[record.pk]), second)
    assert response.status_code == 422
    record.refresh_from_db()
    assert record.name == "Primero"
    assert "Segundo" in response.content.decode()  # the refused input is not lost


def test_submitted_record_cannot_be_edited(client_as, oficial):
    record = ClientRecordFactory(status=RecordStatus.SUBMITTED)
    data, _, _ = valid_post(version=record.version)
    response = client_as(oficial).post(reverse("records:edit", args=[record.pk]), data)
    assert response.status_code == 422
    record.refresh_from_db()
    assert record.status == RecordStatus.SUBMITTED and record.version == 1


def test_detail_shows_problems_and_history(client_as, capturista, auditor):
    data, _, _ = valid_post(avi_username="maria85")
    assert client_as(capturista).post(reverse("records:create"), data).status_code == 302
    record = ClientRecord.objects.get()
    assert record.warning_count >= 1
    html = client_as(auditor).get(reverse("records:detail", args=[record.pk])).content.decode()
    assert 'id="history"' in html
    assert "capturista" in html


def test_empty_json_fields_are_shown_empty_not_as_null(client_as, capturista):
    shown_null = re.compile(r">\s*(null|\{\})\s*</textarea>")
    assert not shown_null.search(client_as(capturista).get(reverse("records:create")).content.decode())
    data, _, _ = valid_post(rfc="bad", metadata="", us_scope_data="")
    response = client_as(capturista).post(reverse("records:create"), data)
    assert response.status_code == 422 and not shown_null.search(response.content.decode())
