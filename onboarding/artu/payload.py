"""A staged record as the exact `/clients/batch` item (ARTU_CONTRACT.md, "A client object").

Only the contract's field names, nested as on the reference page; nothing empty is sent. The record's
local UUID always travels in `metadata[ARTU_RECORD_METADATA_KEY]` so an ambiguous attempt can be
reconciled with `GET /clients/metadata/{key}/{value}`.
"""

import re
from typing import Any

from django.conf import settings

from onboarding.models import AV_FIELDS, DATA_FIELDS, ClientRecord, joined_last_name

# The record fields `record_to_item` reads: loading only these keeps a batch's query light.
# `last_name` (derived, "paterno materno") for the record's display name in outcome messages.
PAYLOAD_FIELDS = ("id", "uuid", "last_name", *(f for f in DATA_FIELDS if f != "scopes_override"))


# Where each record field travels in an item (the inverse of `record_to_item`), for Artu's messages about an item.
FIELD_PATHS = {
    "type": "client_type",
    "name": "name",
    "middleName": "middle_name",
    "lastName": "apellido_paterno",  # "paterno materno" (README, "Names"): shown on the first of the two
    "birthDate": "birth_date",
    "nationalities": "nationalities",
    "scopes": "scopes",
    "externalId": "external_id",
    "metadata": "metadata",
    "scopeData.MX.rfc": "rfc",
    "scopeData.MX.curp": "curp",
    **{f"scopeData.MX.actividadVulnerable.{code}": field for code, field in AV_FIELDS.items()},
    "scopeData.MX.actividadVulnerable.AVI.username": "avi_username",
    "scopeData.MX.cnbv.TRANSMISOR.numeroCuenta": "cnbv_numero_cuenta",
    "scopeData.MX.cnbv.TRANSMISOR.claveSujetoObligado": "cnbv_clave_sujeto_obligado",
    "scopeData.US": "us_scope_data",
}
LIST_POSITION = re.compile(r"\[\d+\]")


def record_field(path: str | None) -> str | None:
    """The record field an item path names (`scopeData.MX.rfc` → `rfc`, `nationalities[1]` → `nationalities`), by
    its longest known prefix; None for the item as a whole or a path we do not send."""
    parts = LIST_POSITION.sub("", path or "").split(".")
    for end in range(len(parts), 0, -1):
        if field := FIELD_PATHS.get(".".join(parts[:end])):
            return field
    return None


def _filled(value: Any) -> bool:
    return value not in (None, "", [], {})


def _compact(mapping: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in mapping.items() if _filled(value)}


def _scope_data_mx(record: ClientRecord) -> dict[str, Any]:
    actividades: dict[str, dict[str, str]] = {}
    for code, field in AV_FIELDS.items():
        if getattr(record, field):
            # Only AVI carries a field (the client's username on the virtual-asset platform).
            actividades[code] = _compact({"username": record.avi_username.strip()}) if code == "AVI" else {}
    transmisor = _compact(
        {
            "numeroCuenta": record.cnbv_numero_cuenta.strip(),
            "claveSujetoObligado": record.cnbv_clave_sujeto_obligado.strip(),
        }
    )
    mx = _compact({"rfc": record.rfc.strip(), "curp": record.curp.strip()})
    if actividades:
        mx["actividadVulnerable"] = actividades
    if transmisor:
        mx["cnbv"] = {"TRANSMISOR": transmisor}
    return mx


def nationalities_for_wire(stored: str) -> str | list[str] | None:
    """'MX' → "MX", 'MX,US' → ["MX", "US"] (ARTU_CONTRACT.md): one code as a string, several as a list."""
    codes = [code.strip() for code in (stored or "").split(",") if code.strip()]
    if not codes:
        return None
    return codes[0] if len(codes) == 1 else codes


def record_to_item(record: ClientRecord) -> dict[str, Any]:
    """The Artu client object for `record`: contract field names only, empty values left out."""
    metadata = {str(key): value for key, value in (record.metadata or {}).items()}
    # The reserved key always carries the record's own UUID, whatever the metadata typed in says.
    metadata[settings.ARTU_RECORD_METADATA_KEY] = str(record.uuid)
    item = _compact(
        {
            "type": record.client_type,
            "name": record.name.strip(),
            "middleName": record.middle_name.strip(),
            "lastName": joined_last_name(record.apellido_paterno.strip(), record.apellido_materno.strip()),
            "birthDate": record.birth_date.isoformat() if record.birth_date else None,
            "nationalities": nationalities_for_wire(record.nationalities),
            "scopes": list(dict.fromkeys(record.scopes or [])),
            "externalId": record.external_id.strip(),
            "metadata": metadata,
        }
    )
    scope_data = _compact({"MX": _scope_data_mx(record), "US": record.us_scope_data})
    if scope_data:
        item["scopeData"] = scope_data
    return item
