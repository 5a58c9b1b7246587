"""The queue's search ignores accents and case over every name part and identifier, and every way a record is
written (form, change, cell edited in place, upload, the migration for older records) keeps it findable."""

import importlib
from types import SimpleNamespace

import pytest
from django.db import connection
from django.urls import reverse

from onboarding.models import ClientRecord, record_search_text, search_fold
from onboarding.selectors.review import review_queue_filter
from onboarding.services.records import record_create, record_update
from onboarding.services.uploads import upload_map_columns, upload_receive
from tests.audit import record_data
from tests.factories import ClientRecordFactory
from tests.imports import csv_bytes, person, uploaded

pytestmark = pytest.mark.django_db
HX = {"HX-Request": "true"}


def found(q: str) -> list[str]:
    return sorted(r.display_name for r in review_queue_filter(q=q))


@pytest.fixture
def people():
    return {
        "sofia": ClientRecordFactory(name="Sofía", middle_name="Guadalupe", last_name="Olvera Íñiguez"),
        "sofia_ruiz": ClientRecordFactory(name="Sofia", last_name="Ruiz Peña"),
        "olvera": ClientRecordFactory(name="Óscar", last_name="Olvera Díaz"),
        "hyphen": ClientRecordFactory(name="Ana", last_name="García-López Núñez"),
    }


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("sofia olvera", ["Sofía Guadalupe Olvera Íñiguez"]),  # every word must match, in any part
        ("olvera sofia", ["Sofía Guadalupe Olvera Íñiguez"]),
        ("iniguez", ["Sofía Guadalupe Olvera Íñiguez"]),
        ("ÍÑIGUEZ", ["Sofía Guadalupe Olvera Íñiguez"]),
        ("SOFÍA", ["Sofia Ruiz Peña", "Sofía Guadalupe Olvera Íñiguez"]),
        ("guadalupe", ["Sofía Guadalupe Olvera Íñiguez"]),  # the middle name
        ("oscar olvera", ["Óscar Olvera Díaz"]),
        ("pena", ["Sofia Ruiz Peña"]),
        ("peña", ["Sofia Ruiz Peña"]),
        ("garcia-lopez", ["Ana García-López Núñez"]),  # a separator without a digit is a name too
        ("sofia diaz", []),
    ],
)
def test_search_ignores_accents_and_case_and_needs_every_word(people, q, expected):
    assert found(q) == expected


def test_accents_written_as_separate_marks_are_found_too():
    # Files saved on a Mac keep "í" as "i" followed by a combining accent.
    ClientRecordFactory(name="Sofi\u0301a", last_name="Iñiguez")
    assert found("sofia") == found("Sofía") == found("SOFI\u0301A") == ["Sofi\u0301a Iñiguez"]


def test_rfc_curp_and_external_id_are_found_without_accents_or_case():
    record = ClientRecordFactory(name="Juan", last_name="Olvera", external_id="Sucursal-Ñuñoa-7")
    ClientRecordFactory(name="Otro", last_name="", external_id="SUC-NUNOA-8")
    assert found("NUÑOA sucursal") == found("Sucursal-Ñuñoa") == ["Juan Olvera"]  # words without digits: anywhere
    assert found(record.rfc[:4].lower()) == ["Juan Olvera"]  # letters only: anywhere in the RFC
    # With a digit, the start of an RFC, CURP or external id, from their indexes: RFC and CURP are kept in capitals,
    # an external id as it came, so it is tried as typed, in capitals and in lower case.
    assert found(record.curp[:10].lower()) == found(record.rfc) == ["Juan Olvera"]
    assert found("Sucursal-Ñuñoa-7") == ["Juan Olvera"] and found("suc-nunoa-8") == ["Otro"]


def test_the_search_text_is_what_the_queue_compares():
    assert search_fold("Íñiguez ÜBER Straße") == "iniguez uber strasse"
    values = {
        "name": "Sofía",
        "middle_name": "",
        "apellido_paterno": "Olvera",
        "apellido_materno": "",
        "rfc": "OOIS900101AB1",
        "external_id": "X-1",
    }
    assert record_search_text(values) == "sofia olvera oois900101ab1 x-1"


# -- every writer keeps it -------------------------------------------------------------------------------------


def test_a_record_typed_into_the_form_is_found_without_accents(capturista):
    record = record_create(
        actor=capturista, data=record_data(name="Sofía", apellido_paterno="Olvera", apellido_materno="Íñiguez")
    )
    assert [r.pk for r in review_queue_filter(q="sofia iniguez")] == [record.pk]


def test_a_changed_name_is_found_by_the_new_name_only(oficial):
    record = ClientRecordFactory(name="Sofía", last_name="Olvera Íñiguez")
    record_update(
        actor=oficial, record_id=record.pk, version=1, data={"apellido_paterno": "Núñez", "apellido_materno": "Peña"}
    )
    assert found("iniguez") == []
    assert found("sofia nunez") == ["Sofía Núñez Peña"]


def test_a_name_edited_in_place_in_the_queue_is_found_by_the_new_name(client_as, oficial):
    record = ClientRecordFactory(name="Sofia")
    response = client_as(oficial).post(
        reverse("review:cell", args=[record.pk, "name"]), {"value": "Ángela", "version": 1}, headers=HX
    )
    assert response.status_code == 200
    assert [r.pk for r in review_queue_filter(q="angela")] == [record.pk]
    assert found("sofia") == []


def test_uploaded_records_are_found_without_accents(capturista, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    # person(0) is María José Peña Núñez, person(4) Sofía González Pérez, as a branch's file writes them.
    upload = upload_receive(actor=capturista, file=uploaded(csv_bytes([person(i) for i in range(5)]), "c.csv"))
    upload = upload_map_columns(actor=capturista, upload_id=upload.pk, mapping=upload.mapping)
    assert ClientRecord.objects.filter(upload=upload).count() == 5
    assert found("maria jose pena nunez") == ["María José Peña Núñez"]
    assert found("SOFIA GONZALEZ") == ["Sofía González Pérez"]
    assert found("c-00004") == ["Sofía González Pérez"]  # the file's client number, the record's external id


def test_the_migration_fills_the_search_text_of_the_records_staged_before_it():
    migration = importlib.import_module("onboarding.migrations.0016_record_search_text")
    record = ClientRecordFactory(name="Sofía", middle_name="Lupita", last_name="Olvera Íñiguez", external_id="Ñ-1")
    ClientRecord.objects.update(search_text="")
    assert found("sofia") == []
    migration.fill(None, SimpleNamespace(connection=connection))  # it reads only the editor's connection
    record.refresh_from_db()
    assert record.search_text == record_search_text(vars(record))  # the frozen copy folds as the app does
    assert found("sofia lupita iniguez") == ["Sofía Lupita Olvera Íñiguez"]
