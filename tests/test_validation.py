"""The shared record rules: identifiers, dates, type-specific fields, formulas."""

import datetime
import random

import pytest
from django.utils import translation
from stdnum.mx import curp as stdnum_curp
from stdnum.mx import rfc as stdnum_rfc

from onboarding.validation import (
    Problem,
    Severity,
    derive_scopes,
    normalize_nationalities,
    normalize_rfc,
    validate_record,
)
from tests.factories import company_rfc, person_identifiers

BIRTH = datetime.date(1985, 7, 23)


def person(**overrides):
    rfc, curp = person_identifiers("MARIA", "GARCIA", "LOPEZ", BIRTH, "M", random.Random(7))
    values = {
        "client_type": "individual",
        "name": "María",
        "apellido_paterno": "García",
        "apellido_materno": "López",
        "birth_date": BIRTH,
        "nationalities": "MX",
        "rfc": rfc,
        "curp": curp,
        "scopes": ["MX"],
    }
    return values | overrides


def company(**overrides):
    founded = datetime.date(2010, 3, 15)
    values = {
        "client_type": "company",
        "name": "Comercializadora del Bajío SA de CV",
        "birth_date": founded,
        "nationalities": "MX",
        "rfc": company_rfc("Comercializadora", founded, random.Random(3)),
    }
    return values | overrides


def codes(values, severity=None):
    return {p.code for p in validate_record(values) if severity is None or p.severity == severity}


def flip_check_digit(identifier: str, alphabet: str) -> str:
    wrong = next(c for c in alphabet if c != identifier[-1])
    return identifier[:-1] + wrong


def test_a_valid_person_and_a_valid_company_have_no_errors():
    assert codes(person(), Severity.ERROR) == set()
    assert codes(company(), Severity.ERROR) == set()


@pytest.mark.parametrize("typed", [" garc-850723 ab1 ", "GARC 850723-AB1", "garc850723ab1"])
def test_rfc_is_trimmed_upper_cased_and_stripped_of_spaces_and_dashes(typed):
    assert normalize_rfc(typed) == "GARC850723AB1"


def test_rfc_with_wrong_check_digit_is_an_error_on_the_rfc_field():
    values = person()
    values["rfc"] = flip_check_digit(values["rfc"], "0123456789A")
    problems = [p for p in validate_record(values) if p.severity == Severity.ERROR]
    assert [(p.field, p.code) for p in problems] == [("rfc", "rfc_checksum")]


def test_curp_with_wrong_check_digit_is_an_error():
    values = person()
    values["curp"] = flip_check_digit(values["curp"], "0123456789")
    assert "curp_checksum" in codes(values, Severity.ERROR)


@pytest.mark.parametrize(
    "bad_rfc,code",
    [
        ("GARC8507231", "rfc_length_type"),  # 11 characters
        ("1ARC850723AB1", "rfc_format"),  # a digit where a letter belongs
        ("GARC851323AB1", "rfc_date"),  # month 13
    ],
)
def test_malformed_rfcs(bad_rfc, code):
    assert code in codes(person(rfc=bad_rfc), Severity.ERROR)


def test_rfc_length_must_match_the_type():
    assert "rfc_length_type" in codes(company(rfc=person()["rfc"]), Severity.ERROR)
    assert "rfc_length_type" in codes(person(rfc=company()["rfc"]), Severity.ERROR)


def test_rfc_date_must_equal_the_birth_date():
    problems = validate_record(person(birth_date=datetime.date(1985, 7, 24)))
    mismatch = [p for p in problems if p.code == "rfc_birth_date_mismatch"]
    assert mismatch and mismatch[0].severity == Severity.ERROR and mismatch[0].field == "rfc"
    assert "curp_birth_date_mismatch" in {p.code for p in problems}


def test_company_rfc_date_is_its_incorporation_date():
    assert "rfc_birth_date_mismatch" in codes(company(birth_date=datetime.date(2011, 3, 15)))


@pytest.mark.parametrize("generic", ["XAXX010101000", "XEXX010101000"])
def test_generic_rfcs_are_accepted_with_a_warning(generic):
    problems = [p for p in validate_record(person(rfc=generic)) if p.field == "rfc"]
    assert [(p.code, p.severity) for p in problems] == [("rfc_generic", Severity.WARNING)]


def test_curp_sex_x_is_accepted():
    base = person()["curp"][:10] + "X" + person()["curp"][11:17]
    curp = base + stdnum_curp.calc_check_digit(base)
    assert not stdnum_curp.is_valid(curp)  # python-stdnum alone refuses it
    assert codes(person(curp=curp), Severity.ERROR) == set()


def test_curp_is_for_persons_only():
    assert "not_for_company" in codes(company(curp=person()["curp"]), Severity.ERROR)


def test_curp_with_impossible_date_or_state_is_refused():
    curp = person()["curp"]
    bad_date = curp[:6] + "13" + curp[8:17]
    assert "curp_date" in codes(person(curp=bad_date + stdnum_curp.calc_check_digit(bad_date)))
    bad_state = curp[:11] + "ZZ" + curp[13:17]
    assert "curp_component" in codes(person(curp=bad_state + stdnum_curp.calc_check_digit(bad_state)))
    assert "curp_length" in codes(person(curp=curp[:17]))


def test_birth_date_in_the_future_is_an_error():
    tomorrow = datetime.date.today() + datetime.timedelta(days=1)
    assert "birth_date_future" in codes(person(birth_date=tomorrow, rfc="", curp=""), Severity.ERROR)


def test_required_fields_depend_on_the_type():
    assert {"required", "required_person"} <= codes(person(name="", birth_date=None, rfc="", curp=""))
    assert "required_person" not in codes(company(birth_date=None))
    assert "not_for_company" in codes(company(middle_name="Algo"))
    assert "required" in codes(person(client_type=""))


@pytest.mark.parametrize("prefix", ["=", "+", "-", "@"])
def test_values_that_would_run_as_a_formula_are_flagged(prefix):
    problems = [p for p in validate_record(person(name=f'{prefix}HYPERLINK("x")')) if p.code == "formula"]
    assert problems and problems[0].field == "name" and problems[0].severity == Severity.ERROR


def test_nationalities_are_iso_codes():
    assert normalize_nationalities("mx; us") == "MX,US"
    assert "nationality_invalid" in codes(person(nationalities="MEXICO"))
    assert "nationality_invalid" not in codes(person(nationalities="MX,US"))


def test_reserved_metadata_key_is_refused(settings):
    assert "metadata_reserved_key" in codes(person(metadata={settings.ARTU_RECORD_METADATA_KEY: "x"}))


def test_cnbv_needs_both_fields_and_avi_username_needs_avi():
    assert "cnbv_incomplete" in codes(person(cnbv_numero_cuenta="123"))
    assert "avi_username_without_avi" in codes(person(avi_username="maria85"), Severity.WARNING)


def test_scopes_are_derived_from_the_scope_data():
    values = person(av_avi=True, av_inm=True, cnbv_numero_cuenta="1", cnbv_clave_sujeto_obligado="K")
    assert derive_scopes(values) == ["MX", "MX:AV", "MX:AV:AVI", "MX:AV:INM", "MX:CNBV", "MX:CNBV:TRANSMISOR"]
    assert derive_scopes({"name": "x"}) == []


def test_messages_name_the_field_in_both_languages():
    problem = Problem("birth_date", "birth_date_future")
    with translation.override("en"):
        assert "Birth or incorporation date" in problem.message
    with translation.override("es-mx"):
        assert "fecha" in problem.message.lower()
    assert Problem.from_dict(problem.as_dict()) == problem


def test_stdnum_is_what_checks_the_check_digit():
    # Guard against a silent regression to format-only checks (stdnum's RFC default skips check digits).
    rfc = person()["rfc"]
    assert stdnum_rfc.is_valid(rfc, validate_check_digits=True)
    assert not stdnum_rfc.is_valid(flip_check_digit(rfc, "0123456789A"), validate_check_digits=True)


def _mutations(identifier: str, rng: random.Random, alphabet: str, count: int) -> list[str]:
    """The identifier, and copies with one or two characters replaced (any position, any character)."""
    out = [identifier]
    for _ in range(count):
        chars = list(identifier)
        for _ in range(rng.choice((1, 1, 2))):
            chars[rng.randrange(len(chars))] = rng.choice(alphabet)
        out.append("".join(chars))
    return out


def test_the_quick_identifier_checks_accept_only_what_stdnum_accepts():
    # validation._rfc_plainly_valid / _curp_plain_date skip python-stdnum's validate() for identifiers it would
    # accept; they must never accept one it refuses, and must give the same birth date.
    from onboarding.validation import _curp_plain_date, _rfc_plainly_valid

    rng = random.Random(11)
    alphabet = "ABCDEHMXZÑ&0123456789 -a"
    rfcs, curps = ["BUEI850723AB1", "CACA850723AB1", "GARC000229AB1", "GARC010229AB1"], ["BUEI850723HDFRRR09"]
    for _ in range(300):
        birth = datetime.date(1930, 1, 1) + datetime.timedelta(days=rng.randint(0, 30000))
        rfc, curp = person_identifiers("MARIA", "GARCIA", "LOPEZ", birth, rng.choice("HM"), rng)
        rfcs += _mutations(rfc, rng, alphabet, 6)
        rfcs += _mutations(company_rfc("Comercializadora", birth, rng), rng, alphabet, 3)
        curps += _mutations(curp, rng, alphabet, 6)
    plain = 0
    for rfc in rfcs:
        if _rfc_plainly_valid(rfc):
            plain += 1
            assert stdnum_rfc.validate(rfc, validate_check_digits=True) == rfc
    assert plain > 300
    plain = 0
    for curp in curps:
        encoded = _curp_plain_date(curp)
        if encoded is not None:
            plain += 1
            assert stdnum_curp.validate(curp, validate_check_digits=False) == curp
            assert stdnum_curp.get_birth_date(curp) == encoded
    assert plain > 300
