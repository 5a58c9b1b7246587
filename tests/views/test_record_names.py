"""The form asks for the two apellidos apart, as files carry them (nationalities: test_record_form_names.py)."""

import pytest
from django.urls import reverse

from onboarding.artu.payload import record_to_item
from onboarding.models import AuditAction, AuditEvent, ClientRecord
from onboarding.services.records import record_update
from tests.factories import ClientRecordFactory
from tests.views.test_records import valid_post

pytestmark = pytest.mark.django_db


def test_the_form_has_a_field_for_each_apellido(client_as, capturista):
    html = client_as(capturista).get(reverse("records:create")).text
    assert 'name="apellido_paterno"' in html and 'name="apellido_materno"' in html
    assert 'name="last_name"' not in html


def test_the_apellidos_are_stored_apart_and_joined_for_artu_and_the_search(client_as, capturista):
    data, _, _ = valid_post(apellido_paterno="de la Garza", apellido_materno="Núñez")
    assert client_as(capturista).post(reverse("records:create"), data).status_code == 302
    record = ClientRecord.objects.get()
    assert (record.apellido_paterno, record.apellido_materno) == ("de la Garza", "Núñez")
    assert record.last_name == "de la Garza Núñez"  # derived by the database: the queue sorts on it
    assert "de la garza nunez" in record.search_text
    assert record_to_item(record)["lastName"] == "de la Garza Núñez"
    created = AuditEvent.objects.get(action=AuditAction.RECORD_CREATED).changes["data"]
    assert (created["apellido_paterno"], created["apellido_materno"]) == ("de la Garza", "Núñez")


def test_a_formula_in_the_materno_is_refused_at_its_own_field(client_as, capturista):
    data, _, _ = valid_post(apellido_materno="=1+1")
    response = client_as(capturista).post(reverse("records:create"), data)
    assert response.status_code == 422
    field_html = response.text.split('id="field-apellido_materno"')[1].split("</div>")[0]
    assert 'class="error"' in field_html
    assert not ClientRecord.objects.exists()


def test_a_person_with_one_apellido_gets_no_warning_about_the_other(client_as, capturista):
    data, _, _ = valid_post(apellido_materno="")
    client_as(capturista).post(reverse("records:create"), data)
    codes = {p["code"] for p in ClientRecord.objects.get().problems}
    assert "last_name_missing" not in codes


def test_changing_one_apellido_is_audited_as_that_field(oficial):
    record = ClientRecordFactory(apellido_paterno="Pérez", apellido_materno="Soto")
    record_update(actor=oficial, record_id=record.pk, version=1, data={"apellido_materno": "Solís"})
    record.refresh_from_db()
    assert record.last_name == "Pérez Solís"
    changes = AuditEvent.objects.get(action=AuditAction.RECORD_UPDATED, record_id=record.pk).changes
    assert changes["apellido_materno"] == ["Soto", "Solís"] and "apellido_paterno" not in changes
