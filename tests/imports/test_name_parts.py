"""Each apellido of a file is checked on its own, as the record keeps them: a formula, a control character or an
overlong value is reported against the column the user mapped."""

import pytest
from django.utils import translation

from onboarding.models import ClientRecord
from onboarding.validation import check_text, problem_message
from tests.imports import csv_bytes, person


def problems_of(record: ClientRecord) -> set[tuple[str, str]]:
    return {(p["field"], p["code"]) for p in record.problems if p["severity"] == "error"}


@pytest.mark.parametrize(
    ("column", "value", "field", "code"),
    [
        ("Apellido materno", "=1+1", "apellido_materno", "formula"),
        ("Apellido materno", "@SUM(A1:A9)", "apellido_materno", "formula"),
        ("Apellido materno", "-2+3", "apellido_materno", "formula"),
        ("Apellido paterno", "Pe\x1bña", "apellido_paterno", "control_character"),
        ("Apellido materno", "Nú\x07ñez", "apellido_materno", "control_character"),
        ("Apellido paterno", "P" * 201, "apellido_paterno", "too_long"),
    ],
)
def test_a_bad_apellido_is_reported_against_its_own_column(stage, column, value, field, code):
    upload = stage(csv_bytes([person(0, **{column: value})]))
    record = ClientRecord.objects.get(upload=upload)
    assert (field, code) in problems_of(record)
    assert record.error_count >= 1 and upload.error_count == 1


def test_clean_apellidos_are_joined_without_problems(stage):
    upload = stage(csv_bytes([person(0, **{"Apellido paterno": "De la Fuente", "Apellido materno": "Núñez"})]))
    record = ClientRecord.objects.get(upload=upload)
    assert record.last_name == "De la Fuente Núñez"
    assert not {f for f, _code in problems_of(record)} & {"apellido_paterno", "apellido_materno", "last_name"}


def test_the_problem_names_the_apellido_in_the_readers_language():
    (problem,) = check_text("apellido_materno", "=1+1")
    with translation.override("en"):
        assert problem_message(problem.field, problem.code, problem.params).startswith("Apellido materno starts with")


@pytest.mark.parametrize("value", ["Ana\x07", "Ana\x1b[31m", "\ufffdAna"])
def test_control_characters_are_refused_in_any_text_field_as_in_the_form(value):
    assert [(p.field, p.code) for p in check_text("name", value)] == [("name", "control_character")]
