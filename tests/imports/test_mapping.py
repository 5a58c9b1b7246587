"""Column matching: Spanish and English names and variants, accents and case ignored; the mapping rules."""

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from onboarding.imports.mapping import (
    ACTIVIDADES,
    MATERNO,
    PATERNO,
    headers_signature,
    mapping_check,
    mapping_from_saved,
    mapping_suggest,
    match_header,
)


@pytest.mark.parametrize(
    ("header", "target"),
    [
        ("Nombre(s)", "name"),
        ("NOMBRE", "name"),
        ("Razón social", "name"),
        ("Nombre del cliente", "name"),
        ("Segundo nombre", "middle_name"),
        ("Apellido paterno", PATERNO),
        ("APELLIDO  PATERNO", PATERNO),
        ("Ap. Paterno", PATERNO),
        ("Apellido materno", MATERNO),
        ("Segundo apellido", MATERNO),
        ("Apellidos", "last_name"),
        ("Fecha de nacimiento", "birth_date"),
        ("Fecha de Nacimiento (DD/MM/AAAA)", "birth_date"),
        ("Fecha de constitución", "birth_date"),
        ("Tipo de persona", "client_type"),
        ("Nacionalidad", "nationalities"),
        ("RFC", "rfc"),
        ("R.F.C.", "rfc"),
        ("RFC del cliente", "rfc"),
        ("CURP*", "curp"),
        ("ID externo", "external_id"),
        ("Número de cliente", "external_id"),
        ("No. Cliente", "external_id"),
        ("Núm. cliente", "external_id"),
        ("Actividad vulnerable", ACTIVIDADES),
        ("Actividades vulnerables", ACTIVIDADES),
        ("Usuario AVI", "avi_username"),
        ("Número de cuenta", "cnbv_numero_cuenta"),
        ("Clave sujeto obligado", "cnbv_clave_sujeto_obligado"),
        ("Clave de sujeto obligado", "cnbv_clave_sujeto_obligado"),
        ("INM", "av_inm"),
        ("AV VEH", "av_veh"),
    ],
)
def test_spanish_headers_are_matched(header, target):
    assert match_header(header) == target


@pytest.mark.parametrize(
    ("header", "target"),
    [
        ("First name", "name"),
        ("Given names", "name"),
        ("Legal name", "name"),
        ("Middle name", "middle_name"),
        ("Last name", "last_name"),
        ("Surname", "last_name"),
        ("Date of birth", "birth_date"),
        ("DOB", "birth_date"),
        ("Client type", "client_type"),
        ("Nationality", "nationalities"),
        ("External ID", "external_id"),
        ("Customer number", "external_id"),
        ("Account number", "cnbv_numero_cuenta"),
        ("Reporting entity key", "cnbv_clave_sujeto_obligado"),
        ("Vulnerable activities", ACTIVIDADES),
        # Artu's own field names, as a JSON file flattens them
        ("middleName", "middle_name"),
        ("lastName", "last_name"),
        ("birthDate", "birth_date"),
        ("externalId", "external_id"),
        ("scopeData.MX.rfc", "rfc"),
        ("scopeData.MX.curp", "curp"),
        ("scopeData.MX.actividadVulnerable", ACTIVIDADES),
        ("scopeData.MX.actividadVulnerable.AVI.username", "avi_username"),
        ("scopeData.MX.cnbv.TRANSMISOR.numeroCuenta", "cnbv_numero_cuenta"),
        ("scopeData.MX.cnbv.TRANSMISOR.claveSujetoObligado", "cnbv_clave_sujeto_obligado"),
        ("scopeData.US", "us_scope_data"),
    ],
)
def test_english_headers_and_artu_field_names_are_matched(header, target):
    assert match_header(header) == target


@pytest.mark.parametrize("header", ["Teléfono", "Email", "Sucursal", "Observaciones", ""])
def test_unknown_columns_are_left_out(header):
    assert match_header(header) == ""


def test_a_target_goes_to_the_first_column_that_names_it():
    assert mapping_suggest(["Nombre", "Nombre(s)", "RFC"]) == {"Nombre": "name", "Nombre(s)": "", "RFC": "rfc"}


def test_signature_ignores_order_accents_and_case():
    assert headers_signature(["Número de cliente", "RFC"]) == headers_signature(["rfc", "NUMERO DE CLIENTE"])
    assert headers_signature(["Número de cliente", "RFC"]) != headers_signature(["Número de cliente", "CURP"])


def test_a_saved_mapping_follows_the_headers_whatever_their_spelling():
    saved = {"Nombre": "name", "Tel": "", "Clave": "external_id"}
    assert mapping_from_saved(["NOMBRE", "clave", "tel"], saved) == {
        "NOMBRE": "name",
        "clave": "external_id",
        "tel": "",
    }


def test_mapping_check_names_the_missing_required_columns():
    with pytest.raises(ValidationError) as caught, translation.override("en"):
        mapping_check(["Teléfono", "Email"], {"Teléfono": "", "Email": ""})
    assert caught.value.code == "missing_columns"
    with translation.override("en"):
        assert "Name(s) or legal name" in caught.value.messages[0] and "Type" in caught.value.messages[0]


def test_the_type_can_come_from_the_rfc_column():
    assert mapping_check(["Nombre", "RFC"], {"Nombre": "name", "RFC": "rfc"}) == {"Nombre": "name", "RFC": "rfc"}


def test_mapping_check_refuses_a_target_used_twice():
    with pytest.raises(ValidationError) as caught:
        mapping_check(["A", "B"], {"A": "name", "B": "name"})
    assert caught.value.code == "mapping_twice"


def test_mapping_check_refuses_last_names_both_whole_and_split():
    with pytest.raises(ValidationError) as caught:
        mapping_check(["N", "A", "P"], {"N": "name", "A": "last_name", "P": PATERNO})
    assert caught.value.code == "mapping_last_name"


def test_mapping_check_refuses_an_unknown_target():
    with pytest.raises(ValidationError) as caught:
        mapping_check(["N"], {"N": "password"})
    assert caught.value.code == "mapping_unknown"
