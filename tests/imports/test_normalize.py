"""Values normalised before validation, and one row turned into a record's data and problems."""

import datetime

import pytest

from onboarding.imports import normalize as n
from onboarding.imports.mapping import mapping_suggest
from onboarding.imports.pipeline import RowPreparer
from onboarding.models import ClientRecord
from onboarding.services.records import record_apply_data
from tests.imports import SPANISH_HEADERS, company, person


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("05/03/1985", datetime.date(1985, 3, 5)),
        ("5/3/1985", datetime.date(1985, 3, 5)),
        ("05-03-1985", datetime.date(1985, 3, 5)),
        ("1985-03-05", datetime.date(1985, 3, 5)),
        ("1985-03-05 00:00:00", datetime.date(1985, 3, 5)),
        ("31107", datetime.date(1985, 3, 1)),  # Excel serial
        (31107, datetime.date(1985, 3, 1)),
        ("31107.0", datetime.date(1985, 3, 1)),
        ("5 de marzo de 1985", datetime.date(1985, 3, 5)),
        ("05-mar-1985", datetime.date(1985, 3, 5)),
        ("05/03/85", datetime.date(1985, 3, 5)),
        (datetime.datetime(1985, 3, 5, 0, 0), datetime.date(1985, 3, 5)),
        ("", None),
    ],
)
def test_dates(value, expected):
    assert n.parse_date(value) == expected


@pytest.mark.parametrize("value", ["31/02/1985", "03/25/1985", "mañana", "1985", "12.5"])
def test_impossible_dates_are_refused(value):
    with pytest.raises(n.CellError) as caught:
        n.parse_date(value)
    assert caught.value.code == "date_invalid"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Física", "individual"),
        ("FISICA", "individual"),
        ("Persona física", "individual"),
        ("PF", "individual"),
        ("Moral", "company"),
        ("Persona Moral", "company"),
        ("p.m.", "company"),
        ("Company", "company"),
        ("Fideicomiso", "trust"),
        ("trust", "trust"),
        ("", ""),
    ],
)
def test_client_types(value, expected):
    assert n.parse_client_type(value) == expected


def test_an_unknown_type_is_refused():
    with pytest.raises(n.CellError) as caught:
        n.parse_client_type("Gobierno")
    assert caught.value.code == "type_invalid" and caught.value.params == {"value": "Gobierno"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Mexicana", "MX"),
        ("mexicano", "MX"),
        ("México", "MX"),
        ("MEX", "MX"),
        ("mx", "MX"),
        ("Estadounidense", "US"),
        ("Estados Unidos", "US"),
        ("México y Estados Unidos", "MX,US"),
        ("Mexicana, Guatemalteca", "MX,GT"),
        ("mx; us", "MX,US"),
        ("Canada", "CA"),
        ("Narnia", "NARNIA"),
        ("", ""),
    ],
)
def test_nationality_words_become_iso_codes(value, expected):
    assert n.parse_nationalities(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("sí", True),
        ("SI", True),
        ("x", True),
        ("X", True),
        ("1", True),
        ("true", True),
        ("✓", True),
        (1, True),
        ("no", False),
        ("", False),
        ("0", False),
        ("false", False),
        (None, False),
    ],
)
def test_yes_no(value, expected):
    assert n.parse_bool(value) is expected


def test_yes_no_refuses_anything_else():
    with pytest.raises(n.CellError):
        n.parse_bool("quizá")


@pytest.mark.parametrize(
    ("value", "codes"),
    [
        ("INM, VEH", ["INM", "VEH"]),
        ("inm;veh", ["INM", "VEH"]),
        ("MX:AV:MJR", ["MJR"]),
        ("INM VEH", ["INM", "VEH"]),
        ("Inmuebles / Vehículos", ["INM", "VEH"]),
        (["AVI"], ["AVI"]),
        ("", []),
    ],
)
def test_actividades_lists(value, codes):
    assert n.parse_actividades(value)[0] == codes


def test_actividades_in_artu_shape_carry_the_avi_username():
    assert n.parse_actividades({"AVI": {"username": "ana.m"}, "INM": {}}) == (["AVI", "INM"], "ana.m")


def test_an_unknown_actividad_is_refused():
    with pytest.raises(n.CellError) as caught:
        n.parse_actividades("INM, XYZ")
    assert caught.value.code == "actividad_invalid" and caught.value.params == {"value": "XYZ"}


def test_names_keep_accents_enye_and_case_only_spaces_change():
    assert n.clean_text("  María   José ") == "María José"
    assert n.clean_text("Nu\u0301n\u0303ez") == "Núñez"  # decomposed ñ (as macOS writes it) composed
    assert n.clean_text("de la PEÑA") == "de la PEÑA"


def prepare(row: dict, headers=SPANISH_HEADERS):
    preparer = RowPreparer(list(headers), mapping_suggest(headers))
    return preparer.prepare([row.get(h, "") for h in headers])


def test_a_row_becomes_the_records_data_with_paterno_materno_joined():
    values, problems, source = prepare(person(0))
    assert values["name"] == "María José"
    assert (values["apellido_paterno"], values["apellido_materno"]) == ("Peña", "Núñez")
    assert values["middle_name"] == ""
    assert values["client_type"] == "individual"
    assert values["nationalities"] == "MX"
    assert values["rfc"] == person(0)["RFC"].replace(" ", "").upper()
    assert values["birth_date"] == datetime.datetime.strptime(person(0)["Fecha de nacimiento"], "%d/%m/%Y").date()
    assert problems == []
    assert source["Apellido paterno"] == "Peña"


def test_actividades_set_the_flags_and_the_scopes():
    values, problems, _ = prepare(person(1))
    assert values["av_inm"] and values["av_veh"] and not values["av_mjr"]
    assert values["scopes"] == ["MX", "MX:AV", "MX:AV:INM", "MX:AV:VEH"]
    assert problems == []


def test_a_company_row_is_valid_too():
    values, problems, _ = prepare(company(1))
    assert values["client_type"] == "company" and values["apellido_paterno"] == values["apellido_materno"] == ""
    assert problems == []


def test_the_type_is_inferred_from_the_rfc_when_the_column_is_empty():
    assert prepare(person(0, **{"Tipo de persona": ""}))[0]["client_type"] == "individual"
    assert prepare(company(0, **{"Tipo de persona": ""}))[0]["client_type"] == "company"


def test_row_problems_use_the_validation_codes_and_are_not_doubled():
    values, problems, _ = prepare(
        person(
            0,
            **{"Fecha de nacimiento": "31/02/1990", "Tipo de persona": "Gobierno", "Actividad vulnerable": "INM, ZZZ"},
        )
    )
    codes = {(p["field"], p["code"]) for p in problems}
    assert ("birth_date", "date_invalid") in codes
    assert ("birth_date", "required_person") not in codes
    assert ("client_type", "type_invalid") in codes
    assert ("scopes", "actividad_invalid") in codes
    assert values["birth_date"] is None


def test_a_value_longer_than_the_field_is_cut_and_reported():
    values, problems, _ = prepare(person(0, **{"Número de cliente": "X" * 150}))
    assert len(values["external_id"]) == 100
    assert {"field": "external_id", "code": "too_long", "severity": "error", "params": {"max": 100}} in problems


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"RFC": "PENM971117RT4"},
        {"CURP": "XXXX"},
        {"Nombre(s)": ""},
        {"Nombre(s)": "=cmd|' /C calc'!A0"},
        {"Nacionalidad": "Narnia"},
        {"Apellido paterno": "", "Apellido materno": ""},
    ],
)
def test_the_same_problems_as_a_typed_record(overrides):
    """The upload path and the form path (`record_apply_data`) agree on every problem."""
    values, problems, _ = prepare(person(0, **overrides))
    record = ClientRecord()
    record_apply_data(record, values)
    assert problems == record.problems
    assert values["scopes"] == record.scopes


def test_an_avi_username_from_the_actividades_map_is_length_checked_too():
    headers = ["name", "type", "scopeData.MX.actividadVulnerable"]
    preparer = RowPreparer(headers, mapping_suggest(headers))
    values, problems, _ = preparer.prepare(["Ana", "individual", {"AVI": {"username": "u" * 250}}])
    assert len(values["avi_username"]) == 200 and values["av_avi"]
    assert {"field": "avi_username", "code": "too_long", "severity": "error", "params": {"max": 200}} in problems
