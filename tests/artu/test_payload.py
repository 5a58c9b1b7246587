"""The JSON item builder, held against the request example of Artu's reference page."""

import datetime
import json
import re
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from onboarding.artu.payload import record_to_item
from onboarding.artu.sandbox import validate_item
from onboarding.models import AV_FIELDS, ClientRecord, ClientType
from tests.factories import company_rfc, person_identifiers

REFERENCE_NAME = "clients-batch-reference.txt"
# The reference page ships beside the project (../shared/reference); a copy under docs/reference also counts.
REFERENCE_CANDIDATES = [
    Path(settings.BASE_DIR) / "docs" / "reference" / REFERENCE_NAME,
    Path(settings.BASE_DIR).parent / "shared" / "reference" / REFERENCE_NAME,
]
FREE_FORM = {"metadata"}  # the contract: an object with free-form string keys


def reference_examples() -> tuple[dict[str, Any], dict[str, Any]]:
    """The request and response examples of the reference page, parsed from its text."""
    path = next((p for p in REFERENCE_CANDIDATES if p.is_file()), None)
    if path is None:
        pytest.fail(f"Artu's reference page {REFERENCE_NAME} not found in {REFERENCE_CANDIDATES}")
    text = path.read_text(encoding="utf-8")
    decoder = json.JSONDecoder()
    request_start = text.index("{", text.index("--data '"))
    request, request_end = decoder.raw_decode(text, request_start)
    response, _ = decoder.raw_decode(text, text.index("{", request_end))
    return request, response


def full_record(**overrides: Any) -> ClientRecord:
    birth = datetime.date(1990, 5, 17)
    rfc, curp = person_identifiers("MARIA", "GARCIA", "LOPEZ", birth, sex="M")
    values = {
        "client_type": ClientType.INDIVIDUAL,
        "name": "María",
        "middle_name": "Fernanda",
        "apellido_paterno": "García",
        "apellido_materno": "López",
        "birth_date": birth,
        "nationalities": "MX,US",
        "scopes": ["MX", "MX:AV", *(f"MX:AV:{code}" for code in AV_FIELDS), "MX:CNBV", "MX:CNBV:TRANSMISOR"],
        "external_id": "CLI-000123",
        "metadata": {"branch": "Monterrey"},
        "rfc": rfc,
        "curp": curp,
        **{field: True for field in AV_FIELDS.values()},
        "avi_username": "maria.garcia",
        "cnbv_numero_cuenta": "0123456789",
        "cnbv_clave_sujeto_obligado": "SO-0042",
        "us_scope_data": {"ssn": "123-45-6789"},
    }
    return ClientRecord(**(values | overrides))


def assert_same_shape(example: Any, ours: Any, path: str = "") -> None:
    """Every key of the example at the same nested path in ours, and no other key."""
    if isinstance(example, dict):
        assert isinstance(ours, dict), f"{path} is not an object"
        if path in FREE_FORM:
            return
        assert set(ours) == set(example), f"keys at {path or 'the top'}: {sorted(ours)} != {sorted(example)}"
        for key, value in example.items():
            assert_same_shape(value, ours[key], f"{path}.{key}" if path else key)
    elif isinstance(example, list):
        assert isinstance(ours, list) and ours, f"{path} is not a non-empty array"
    elif example == "<string>":
        assert isinstance(ours, str) and ours, f"{path} is not a non-empty string"
    elif example != "<unknown>":
        assert type(ours) is type(example), f"{path}: {ours!r} is not like {example!r}"


def empty_values(value: Any, path: str = "") -> list[str]:
    if isinstance(value, dict):
        found = [f"{path}.{key}" for key, v in value.items() if v in (None, "", [])]
        return found + [p for key, v in value.items() for p in empty_values(v, f"{path}.{key}")]
    return []


def test_full_item_has_exactly_the_request_fields_of_the_reference_example():
    request, _ = reference_examples()
    example = request["items"][0]

    # The page types nationalities as a string: one code is sent that way (several go as a list, tested below).
    item = record_to_item(full_record(nationalities="MX"))

    assert_same_shape(example, item)
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", item["birthDate"])
    json.dumps(item)  # JSON as it is, no custom encoder


def test_full_item_passes_the_sandbox_checks():
    assert validate_item(record_to_item(full_record())) == []


def test_item_maps_the_record_fields_onto_artu_names():
    record = full_record()

    item = record_to_item(record)

    assert item["type"] == "individual"
    assert (item["name"], item["middleName"], item["lastName"]) == ("María", "Fernanda", "García López")
    assert item["birthDate"] == "1990-05-17"
    assert item["nationalities"] == ["MX", "US"]
    assert record_to_item(full_record(nationalities="MX"))["nationalities"] == "MX"
    assert "nationalities" not in record_to_item(full_record(nationalities=""))
    assert item["externalId"] == "CLI-000123"
    mx = item["scopeData"]["MX"]
    assert (mx["rfc"], mx["curp"]) == (record.rfc, record.curp)
    assert mx["actividadVulnerable"]["AVI"] == {"username": "maria.garcia"}
    assert mx["actividadVulnerable"]["VEH"] == {}
    assert mx["cnbv"]["TRANSMISOR"] == {"numeroCuenta": "0123456789", "claveSujetoObligado": "SO-0042"}
    assert item["scopeData"]["US"] == {"ssn": "123-45-6789"}


def test_metadata_always_carries_the_record_uuid_under_the_reserved_key():
    key = settings.ARTU_RECORD_METADATA_KEY
    record = full_record(metadata={"branch": "Monterrey", key: "typed-by-someone"})

    item = record_to_item(record)

    assert item["metadata"] == {"branch": "Monterrey", key: str(record.uuid)}


def test_minimal_company_sends_nothing_empty():
    record = ClientRecord(client_type=ClientType.COMPANY, name="Comercializadora del Norte SA de CV")

    item = record_to_item(record)

    assert item == {
        "type": "company",
        "name": "Comercializadora del Norte SA de CV",
        "metadata": {settings.ARTU_RECORD_METADATA_KEY: str(record.uuid)},
    }


def test_partly_filled_record_leaves_out_every_empty_part():
    founded = datetime.date(2010, 3, 4)
    record = ClientRecord(
        client_type=ClientType.COMPANY,
        name="Joyería Centro",
        birth_date=founded,
        rfc=company_rfc("Joyeria Centro", founded),
        av_mjr=True,
        avi_username="left over from an unticked AVI",
        cnbv_numero_cuenta="  ",
        us_scope_data={},
        scopes=["MX", "MX:AV", "MX:AV:MJR"],
    )

    item = record_to_item(record)

    assert empty_values(item) == []
    assert item["scopeData"] == {"MX": {"rfc": record.rfc, "actividadVulnerable": {"MJR": {}}}}
    assert validate_item(item) == []


def test_avi_without_username_is_an_empty_object():
    item = record_to_item(full_record(avi_username=""))

    assert item["scopeData"]["MX"]["actividadVulnerable"]["AVI"] == {}


@pytest.mark.parametrize(
    ("numero", "clave", "expected"),
    [("0123", "", {"numeroCuenta": "0123"}), ("", "SO-1", {"claveSujetoObligado": "SO-1"}), ("", "", None)],
)
def test_cnbv_transmisor_carries_only_what_is_filled(numero, clave, expected):
    item = record_to_item(full_record(cnbv_numero_cuenta=numero, cnbv_clave_sujeto_obligado=clave))

    assert item["scopeData"]["MX"].get("cnbv") == ({"TRANSMISOR": expected} if expected else None)
