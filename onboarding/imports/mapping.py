"""Matching a file's column names to record fields: Spanish and English names, accents and case ignored.

A mapping is `{header as in the file: target}`, with "" for a column that is left out. Targets are the record's
data fields (`validation.FIELD_LABELS`, apellido paterno and apellido materno among them) plus what exists only in
files: one column holding both apellidos ("paterno materno", cut into the two fields by `imports.pipeline`), a
column listing actividades vulnerables ("INM, VEH") and columns kept in metadata.
"""

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Mapping

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from onboarding.models import AV_FIELDS
from onboarding.validation import FIELD_LABELS

IGNORE = ""
# A column kept in the record's metadata under its own header (it travels to Artu); any number of columns may be.
KEEP = "metadata_keep"
PATERNO = "apellido_paterno"
MATERNO = "apellido_materno"
ACTIVIDADES = "actividades"

EXTRA_LABELS = {
    KEEP: _("— keep in metadata, under this column's name —"),
    ACTIVIDADES: _("Actividades vulnerables (a list such as INM, VEH)"),
}
# What a column can be mapped to, in the order the mapping select lists them.
TARGETS = (
    "client_type",
    "name",
    "middle_name",
    PATERNO,
    MATERNO,
    "last_name",
    "birth_date",
    "nationalities",
    "external_id",
    "rfc",
    "curp",
    ACTIVIDADES,
    *AV_FIELDS.values(),
    "avi_username",
    "cnbv_numero_cuenta",
    "cnbv_clave_sujeto_obligado",
    "scopes",
    "metadata",
    "us_scope_data",
    KEEP,
)

SYNONYMS: dict[str, tuple[str, ...]] = {
    "client_type": (
        "tipo",
        "tipo de persona",
        "tipo persona",
        "tipo de cliente",
        "tipo cliente",
        "persona",
        "física o moral",
        "persona física o moral",
        "tipo de contribuyente",
        "type",
        "client type",
        "customer type",
        "person type",
        "entity type",
        "clientType",
    ),
    "name": (
        "nombre",
        "nombres",
        "nombre(s)",
        "primer nombre",
        "nombre o razón social",
        "nombre/razón social",
        "nombre(s) o razón social",
        "razón social",
        "denominación",
        "denominación o razón social",
        "nombre completo",
        "nombre del cliente",
        "nombre cliente",
        "name",
        "names",
        "first name",
        "first names",
        "given name",
        "given names",
        "legal name",
        "company name",
        "full name",
        "firstName",
        "name(s) or legal name",
    ),
    "middle_name": ("segundo nombre", "otro nombre", "otros nombres", "middle name", "middle names", "middleName"),
    PATERNO: (
        "apellido paterno",
        "paterno",
        "primer apellido",
        "ap paterno",
        "apellido 1",
        "apellido1",
        "first surname",
        "first last name",
        "paternal surname",
        "paternal last name",
        "father's last name",
        "father last name",
        "apellidoPaterno",
        "firstLastName",
        "lastName1",
    ),
    MATERNO: (
        "apellido materno",
        "materno",
        "segundo apellido",
        "ap materno",
        "apellido 2",
        "apellido2",
        "second surname",
        "second last name",
        "maternal surname",
        "maternal last name",
        "mother's last name",
        "mother last name",
        "apellidoMaterno",
        "secondLastName",
        "lastName2",
    ),
    "last_name": ("apellidos", "apellido", "last name", "last names", "surname", "surnames", "family name", "lastName"),
    "birth_date": (
        "fecha de nacimiento",
        "fecha nacimiento",
        "f nacimiento",
        "fec nac",
        "fecha nac",
        "nacimiento",
        "fecha de constitución",
        "fecha constitución",
        "fecha de nacimiento o constitución",
        "fecha de nacimiento/constitución",
        "birth date",
        "date of birth",
        "dob",
        "birthdate",
        "birthDate",
        "incorporation date",
        "date of incorporation",
        "birth or incorporation date",
    ),
    "nationalities": (
        "nacionalidad",
        "nacionalidades",
        "país de nacionalidad",
        "nationality",
        "nationalities",
        "citizenship",
    ),
    "external_id": (
        "id externo",
        "identificador externo",
        "número de cliente",
        "no cliente",
        "núm cliente",
        "clave de cliente",
        "clave cliente",
        "id cliente",
        "id de cliente",
        "folio",
        "folio cliente",
        "external id",
        "externalId",
        "client id",
        "customer id",
        "customer number",
        "client number",
        "client no",
        "id",
    ),
    "rfc": ("rfc", "r.f.c.", "rfc con homoclave", "registro federal de contribuyentes", "tax id", "scopeData.MX.rfc"),
    "curp": ("curp", "c.u.r.p.", "clave única de registro de población", "scopeData.MX.curp"),
    ACTIVIDADES: (
        "actividad vulnerable",
        "actividades vulnerables",
        "actividad",
        "actividades",
        "av",
        "vulnerable activity",
        "vulnerable activities",
        "actividadVulnerable",
        "scopeData.MX.actividadVulnerable",
    ),
    "avi_username": (
        "usuario avi",
        "usuario",
        "usuario plataforma",
        "usuario en la plataforma",
        "nombre de usuario",
        "avi username",
        "username",
        "platform username",
        "user name",
        "scopeData.MX.actividadVulnerable.AVI.username",
    ),
    "cnbv_numero_cuenta": (
        "número de cuenta",
        "no cuenta",
        "núm cuenta",
        "cuenta",
        "account number",
        "account",
        "numeroCuenta",
        "cuenta transmisor",
        "scopeData.MX.cnbv.TRANSMISOR.numeroCuenta",
    ),
    "cnbv_clave_sujeto_obligado": (
        "clave sujeto obligado",
        "clave de sujeto obligado",
        "clave so",
        "sujeto obligado",
        "clave del sujeto obligado",
        "reporting entity key",
        "reporting entity",
        "claveSujetoObligado",
        "scopeData.MX.cnbv.TRANSMISOR.claveSujetoObligado",
    ),
    "scopes": ("scopes", "alcances", "ámbitos", "ámbito"),
    "metadata": ("metadata", "metadatos"),
    "us_scope_data": ("scopeData.US", "us scope data", "datos us"),
}
for _code, _field in AV_FIELDS.items():
    SYNONYMS[_field] = (
        _code,
        f"av {_code}",
        f"av_{_code}",
        f"actividad {_code}",
        f"actividad vulnerable {_code}",
        f"MX:AV:{_code}",
    )

# Words dropped from a header before matching, and spellings that mean the same word.
STOPWORDS = frozenset({"de", "del", "la", "el", "los", "las", "s", "the", "of", "y", "o", "and", "or", "en", "a"})
TOKEN_ALIASES = {"numero": "no", "num": "no", "nro": "no", "n": "no", "number": "no", "nbr": "no", "nacim": "nac"}
# A header that contains one of these words is that identifier, whatever else it says ("RFC del cliente").
STRONG_TOKENS = {"rfc": "rfc", "curp": "curp"}
# Words that only say where a field sits in Artu's client object ("scopeData.MX.cnbv.TRANSMISOR.numeroCuenta",
# "transmisorClaveSujetoObligado"): dropped from the front of a header that does not match as it is.
CONTEXT_TOKENS = frozenset({"scope", "data", "mx", "cnbv", "transmisor", "client", "cliente"})

# Required: the name; and the type, unless an RFC or CURP column lets it be inferred (13-character RFC or a CURP:
# individual; 12-character RFC: company).
TYPE_SOURCES = ("client_type", "rfc", "curp")


def target_label(target: str) -> str:
    if target in EXTRA_LABELS:
        return str(EXTRA_LABELS[target])
    return str(FIELD_LABELS.get(target, target))


def target_choices() -> list[tuple[str, str]]:
    return [(IGNORE, str(_("— leave out —"))), (KEEP, target_label(KEEP))] + [
        (t, target_label(t)) for t in TARGETS if t != KEEP
    ]


def mapping_left_out(mapping: Mapping[str, str]) -> list[str]:
    """The columns whose data would not be kept anywhere."""
    return [header for header, target in mapping.items() if not target and str(header).strip()]


def mapping_keep_rest(mapping: Mapping[str, str]) -> dict[str, str]:
    """The mapping with every left-out column kept in metadata under its header."""
    return {header: target or KEEP for header, target in mapping.items()}


def _strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def header_key(text: object) -> str:
    """'Fecha de Nacimiento (DD/MM/AAAA)*' → 'fecha nacimiento'; 'middleName' → 'middle name'."""
    text = re.sub(r"\(s\)|\([^)]*\)", " ", str(text or ""))
    text = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", text)
    text = _strip_accents(text).lower()
    tokens = [TOKEN_ALIASES.get(t, t) for t in re.split(r"[^a-z0-9]+", text) if t and t not in STOPWORDS]
    return " ".join(tokens)


SYNONYM_INDEX: dict[str, str] = {}
for _target in TARGETS:
    for _name in (*SYNONYMS.get(_target, ()), _target):
        SYNONYM_INDEX.setdefault(header_key(_name), _target)
# Longest first, so "apellido paterno cliente" matches "apellido paterno" before "apellido".
_PREFIXES = sorted((k for k in SYNONYM_INDEX if k), key=lambda k: -len(k.split()))


def match_header(header: str) -> str:
    """The target a header names, or "" when none does."""
    key = header_key(header)
    if not key:
        return IGNORE
    if key in SYNONYM_INDEX:
        return SYNONYM_INDEX[key]
    tokens = key.split()
    while len(tokens) > 1 and tokens[0] in CONTEXT_TOKENS:
        tokens = tokens[1:]
        if " ".join(tokens) in SYNONYM_INDEX:
            return SYNONYM_INDEX[" ".join(tokens)]
    tokens = key.split()
    for prefix in _PREFIXES:
        words = prefix.split()
        if len(words) >= 2 and tokens[: len(words)] == words:
            return SYNONYM_INDEX[prefix]
    for token in tokens:
        if token in STRONG_TOKENS:
            return STRONG_TOKENS[token]
    return IGNORE


def mapping_suggest(headers: Iterable[str]) -> dict[str, str]:
    """Each header's best target; a target goes to the first column that names it. A column of last names
    beside one of apellidos maternos ("lastName" next to "secondLastName") holds the apellido paterno."""
    used: dict[str, str] = {}
    mapping = {}
    for header in headers:
        target = match_header(header)
        if target in used:
            target = IGNORE
        if target:
            used[target] = header
        mapping[header] = target
    if "last_name" in used and MATERNO in used and PATERNO not in used:
        mapping[used["last_name"]] = PATERNO
    return mapping


def headers_signature(headers: Iterable[str]) -> str:
    """Same columns (in any order, any accents or case) → same signature."""
    keys = sorted(header_key(h) or str(h).strip().lower() for h in headers)
    return hashlib.sha256("\x1f".join(keys).encode("utf-8")).hexdigest()


def mapping_from_saved(headers: Iterable[str], saved: Mapping[str, str]) -> dict[str, str]:
    """Apply a saved mapping (keyed by the headers it was saved with) to this file's spelling of the headers."""
    by_key = {header_key(h): t for h, t in saved.items()}
    return {h: by_key.get(header_key(h), IGNORE) for h in headers}


def mapping_check(headers: list[str], mapping: Mapping[str, str]) -> dict[str, str]:
    """The mapping cleaned to this file's headers; raises ValidationError naming what is missing or doubled."""
    clean = {h: (mapping.get(h) or IGNORE) for h in headers}
    unknown = sorted({t for t in clean.values() if t and t not in TARGETS})
    if unknown:
        raise ValidationError(
            _("Unknown target field: %(fields)s."), code="mapping_unknown", params={"fields": ", ".join(unknown)}
        )
    seen: dict[str, str] = {}
    for header, target in clean.items():
        if target and target in seen and target != KEEP:
            raise ValidationError(
                _("Columns “%(first)s” and “%(second)s” are both mapped to %(field)s; map one of them only."),
                code="mapping_twice",
                params={"first": seen[target], "second": header, "field": target_label(target)},
            )
        if target:
            seen[target] = header
    if "last_name" in seen and (PATERNO in seen or MATERNO in seen):
        split = [seen[t] for t in (PATERNO, MATERNO) if t in seen]
        raise ValidationError(
            _(
                "Column “%(whole)s” is mapped to %(field)s and “%(split)s” to the apellidos one by one; map the "
                "last names either as one column or as Apellido paterno and Apellido materno, not both."
            ),
            code="mapping_last_name",
            params={"whole": seen["last_name"], "field": target_label("last_name"), "split": "”, “".join(split)},
        )
    missing = []
    if "name" not in seen:
        missing.append(target_label("name"))
    if not any(t in seen for t in TYPE_SOURCES):
        missing.append(target_label("client_type"))
    if missing:
        raise ValidationError(
            _("The file has no column for: %(fields)s. Map a column to each of them."),
            code="missing_columns",
            params={"fields": ", ".join(missing)},
        )
    return clean
