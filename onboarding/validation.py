"""Identifier and record rules shared by the form and the upload paths.

Values are plain Python: `validate_record` takes a mapping of the record's data fields (the names of
`ClientRecord.DATA_FIELDS`) and returns every problem found, each tied to a field and carrying a severity:
an error blocks approval, a warning needs an officer's acknowledgement.
"""

import datetime
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as InvalidValue
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _
from django_countries import countries
from stdnum.exceptions import InvalidChecksum, InvalidComponent, InvalidFormat, InvalidLength, ValidationError
from stdnum.mx import curp as stdnum_curp
from stdnum.mx import rfc as stdnum_rfc

from onboarding.identifiers import company_rfc_mismatch, person_curp_mismatch, person_rfc_mismatch
from onboarding.models.records import AV_FIELDS, ClientType
from onboarding.nationalities import normalize_nationalities  # noqa: F401 - the one normaliser, used by forms

PERSON_TYPES = (ClientType.INDIVIDUAL,)
CLIENT_TYPES = frozenset(ClientType.values)
GENERIC_RFCS = {
    "XAXX010101000": _("generic RFC for the general public"),
    "XEXX010101000": _("generic RFC for foreign residents"),
}
RFC_LENGTH = {ClientType.INDIVIDUAL: 13, ClientType.COMPANY: 12, ClientType.TRUST: 12}
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# C0 and C1 control characters but tab, line feed and carriage return, and U+FFFD (what remains of a character a
# program could not read): no client datum holds one, pages do not show them, and PostgreSQL cannot store NUL.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffd]")
TEXT_FIELDS = (
    "name",
    "middle_name",
    "apellido_paterno",
    "apellido_materno",
    "external_id",
    "avi_username",
    "cnbv_numero_cuenta",
    "cnbv_clave_sujeto_obligado",
    "rfc",
    "curp",
    "nationalities",
)
KNOWN_SCOPES = ("MX", "MX:AV", *(f"MX:AV:{code}" for code in AV_FIELDS), "MX:CNBV", "MX:CNBV:TRANSMISOR")
OLDEST_BIRTH_DATE = datetime.date(1900, 1, 1)

FIELD_LABELS = {
    "client_type": _("Type"),
    "name": _("Name(s) or legal name"),
    "middle_name": _("Middle name"),
    "last_name": _("Last names (paterno materno)"),
    "apellido_paterno": _("Apellido paterno"),
    "apellido_materno": _("Apellido materno"),
    "birth_date": _("Birth or incorporation date"),
    "nationalities": _("Nationalities"),
    "scopes": _("Scopes"),
    "scopes_override": _("Set the scopes by hand"),
    "external_id": _("External id"),
    "metadata": _("Metadata"),
    "rfc": "RFC",
    "curp": "CURP",
    "av_ari": _("ARI · Real-estate leasing"),
    "av_avi": _("AVI · Virtual assets"),
    "av_inm": _("INM · Real estate"),
    "av_jys": _("JYS · Games and lotteries"),
    "av_mjr": _("MJR · Precious metals and jewellery"),
    "av_mpc": _("MPC · Non-bank loans and credit"),
    "av_tsc": _("TSC · Service, credit and prepaid cards"),
    "av_veh": _("VEH · Vehicles"),
    "avi_username": _("AVI platform username"),
    "cnbv_numero_cuenta": _("Account number (número de cuenta)"),
    "cnbv_clave_sujeto_obligado": _("Reporting entity key (clave de sujeto obligado)"),
    "us_scope_data": _("US scope data"),
}

MESSAGES = {
    "required": _("%(field)s is required."),
    "required_person": _("%(field)s is required for an individual."),
    "not_for_company": _("%(field)s applies to individuals only; leave it empty for a company or trust."),
    "type_invalid": _("%(field)s must be individual, company or trust."),
    "rfc_format": _("%(field)s %(value)s does not have the shape of an RFC."),
    "rfc_length_type": _("%(field)s must have %(expected)s characters for this type of client; it has %(length)s."),
    "rfc_date": _("%(field)s %(value)s holds an impossible date."),
    "rfc_checksum": _("%(field)s %(value)s has a wrong check digit (homoclave)."),
    "rfc_generic": _("%(field)s %(value)s is the %(kind)s; use the client's own RFC when they have one."),
    "rfc_birth_date_mismatch": _("The date in %(field)s (%(rfc_date)s) differs from the birth date (%(birth_date)s)."),
    "curp_format": _("%(field)s %(value)s does not have the shape of a CURP."),
    "curp_length": _("%(field)s must have 18 characters; it has %(length)s."),
    "curp_date": _("%(field)s %(value)s holds an impossible date."),
    "curp_component": _("%(field)s %(value)s has an invalid sex, state or name part."),
    "curp_checksum": _("%(field)s %(value)s has a wrong check digit."),
    "curp_birth_date_mismatch": _(
        "The date in %(field)s (%(curp_date)s) differs from the birth date (%(birth_date)s)."
    ),
    "rfc_name_mismatch": _(
        "The letters %(found)s of %(field)s do not come from the client's name, which gives %(expected)s; "
        "check the name and the RFC."
    ),
    "curp_name_mismatch": _(
        "The letters %(found)s of %(field)s do not come from the client's name, which gives %(expected)s; "
        "check the name and the CURP."
    ),
    "birth_date_future": _("%(field)s cannot be in the future."),
    "birth_date_old": _("%(field)s is before 1900; check it."),
    "date_invalid": _("%(field)s %(value)s is not a date; use DD/MM/YYYY or YYYY-MM-DD."),
    "nationality_invalid": _("%(field)s: %(value)s is not an ISO country code (e.g. MX, US)."),
    "nationality_missing": _("%(field)s is empty; Artu expects the client's nationality."),
    "formula": _("%(field)s starts with “%(prefix)s” and would run as a spreadsheet formula; remove it."),
    "control_character": _("%(field)s holds an invisible or unreadable character (%(char)s); remove it."),
    "too_long": _("%(field)s is longer than %(max)s characters."),
    "avi_username_without_avi": _("%(field)s is filled in but AVI is not ticked."),
    "cnbv_incomplete": _("CNBV money transmitter data needs both the account number and the reporting entity key."),
    "scope_unknown": _("%(field)s: %(value)s is not a scope Artu knows."),
    "scopes_empty": _("%(field)s are set by hand but empty."),
    "metadata_not_object": _("%(field)s must be a JSON object of text keys."),
    "metadata_reserved_key": _("%(field)s may not use the key %(value)s; the app sets it."),
    "last_name_missing": _("%(field)s is empty; Mexican persons usually have apellido paterno and materno."),
    "value_invalid": _("%(field)s: %(value)s is not a valid value."),
    "duplicate": _(
        "%(field)s %(value)s is also on record #%(other)s; keep one and reject the other, or mark this "
        "one as not a duplicate."
    ),
    "duplicate_in_file": _("%(field)s %(value)s is also in row %(row)s of this file (record #%(other)s)."),
    "actividad_invalid": _("%(value)s is not an actividad vulnerable; use ARI, AVI, INM, JYS, MJR, MPC, TSC or VEH."),
}


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Problem:
    """One broken rule, tied to a field. The message is built in the reader's language when shown."""

    field: str
    code: str
    severity: Severity = Severity.ERROR
    params: dict[str, Any] = dataclass_field(default_factory=dict)

    @property
    def message(self) -> str:
        return problem_message(self.field, self.code, self.params)

    @property
    def field_label(self) -> str:
        return str(FIELD_LABELS.get(self.field, self.field))

    def as_dict(self) -> dict[str, Any]:
        return {"field": self.field, "code": self.code, "severity": str(self.severity), "params": self.params}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Problem":
        return cls(data["field"], data["code"], Severity(data.get("severity", "error")), dict(data.get("params") or {}))


def problem_message(field_name: str, code: str, params: Mapping[str, Any] | None = None) -> str:
    """The problem's sentence in the active language, naming the field as staff know it."""
    template = MESSAGES.get(code)
    values = {k: _shown_date(v) if k.endswith("_date") else v for k, v in (params or {}).items()}
    values["field"] = FIELD_LABELS.get(field_name, field_name)
    if template is None:
        return f"{values['field']}: {values.get('message', code)}"
    try:
        return str(template) % values
    except (KeyError, TypeError, ValueError):
        return str(template).split("%(")[0] + str(values["field"])


def _shown_date(value: Any) -> Any:
    """A date kept in a problem's params (ISO text) in the reader's order, as every other date is shown."""
    try:
        return date_format(datetime.date.fromisoformat(value), "SHORT_DATE_FORMAT")
    except (TypeError, ValueError):
        return value


def split_problems(problems: Iterable[Problem]) -> tuple[list[Problem], list[Problem]]:
    problems = list(problems)
    return (
        [p for p in problems if p.severity == Severity.ERROR],
        [p for p in problems if p.severity == Severity.WARNING],
    )


def has_errors(problems: Iterable[Problem]) -> bool:
    return any(p.severity == Severity.ERROR for p in problems)


# -- normalisers -------------------------------------------------------------------------------------------------


def normalize_text(value: Any) -> str:
    """Trim and collapse inner whitespace; None becomes ''."""
    if value is None:
        return ""
    return " ".join(str(value).split())


def normalize_identifier(value: Any) -> str:
    """RFC/CURP as SAT and RENAPO print them: upper case, no spaces, dashes, dots or underscores."""
    return re.sub(r"[\s\-_.]", "", normalize_text(value)).upper()


normalize_rfc = normalize_curp = normalize_identifier


def is_formula(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_PREFIXES)


def control_character(value: Any) -> str:
    """A control character in a text, or in any key or text inside a JSON value, as "U+0000"; "" when none."""
    if isinstance(value, str):
        found = CONTROL_CHARACTERS.search(value)
        return f"U+{ord(found[0]):04X}" if found else ""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if found := CONTROL_CHARACTERS.search(item):
                return f"U+{ord(found[0]):04X}"
        elif isinstance(item, dict):
            pending += item.keys()
            pending += item.values()
        elif isinstance(item, (list, tuple)):
            pending += item
    return ""


def has_control_chars(value: str) -> bool:
    """Control characters (NUL, ESC, BEL...), surrogates, or U+FFFD where bytes were not text."""
    return any(ch == "\ufffd" or unicodedata.category(ch) in _NOT_TYPED for ch in value)


def check_text(field: str, value: Any, max_length: int | None = None) -> list[Problem]:
    """One text value on its own, before it is joined to any other: no spreadsheet formula at its start, no
    control characters, at most `max_length` characters."""
    if not isinstance(value, str) or not value:
        return []
    problems = []
    if is_formula(value):
        problems.append(Problem(field, "formula", Severity.ERROR, {"prefix": value[0].strip() or "⇥"}))
    if char := control_character(value):
        problems.append(Problem(field, "control_character", Severity.ERROR, {"char": char}))
    if max_length and len(value) > max_length:
        problems.append(Problem(field, "too_long", Severity.ERROR, {"max": max_length}))
    return problems


# -- scopes ------------------------------------------------------------------------------------------------------


def derive_scopes(values: Mapping[str, Any]) -> list[str]:
    """The regulatory scopes implied by the scope data: MX for any Mexican data, then AV and CNBV branches."""
    activities = [code for code, name in AV_FIELDS.items() if values.get(name)]
    cnbv = bool(values.get("cnbv_numero_cuenta") or values.get("cnbv_clave_sujeto_obligado"))
    scopes: list[str] = []
    if activities or cnbv or values.get("rfc") or values.get("curp"):
        scopes.append("MX")
    if activities:
        scopes += ["MX:AV", *(f"MX:AV:{code}" for code in activities)]
    if cnbv:
        scopes += ["MX:CNBV", "MX:CNBV:TRANSMISOR"]
    return scopes


# -- identifier checks -------------------------------------------------------------------------------------------


def _rfc_date(rfc: str, birth: datetime.date | None, today: datetime.date | None = None) -> datetime.date | None:
    """The date encoded in an RFC; the century is taken from the birth date when known."""
    offset = 4 if len(rfc) == 13 else 3
    yy, mm, dd = int(rfc[offset : offset + 2]), int(rfc[offset + 2 : offset + 4]), int(rfc[offset + 4 : offset + 6])
    today = today or datetime.date.today()
    for century in ([birth.year // 100 * 100] if birth else []) + [2000, 1900]:
        try:
            candidate = datetime.date(century + yy, mm, dd)
        except ValueError:
            return None
        if candidate <= today:
            return candidate
    return datetime.date(1900 + yy, mm, dd)


# python-stdnum's `validate` cleans its input again in every helper it calls (four times for a CURP), which costs
# more than the rest of a row's checks. An identifier already in compact form (the normalisers' output: plain
# A-Z, 0-9, & and Ñ) is checked here with python-stdnum's own tables and check digit, once; anything this does
# not pass, or any python-stdnum without those tables, goes through python-stdnum's `validate`, whose exception
# names the problem. tests/test_validation.py checks that the two agree.
_RFC_PLAIN = {
    13: re.compile(r"[A-Z&Ñ]{4}[0-9]{6}[1-9A-V][1-9A-Z][0-9A]"),
    12: re.compile(r"[A-Z&Ñ]{3}[0-9]{6}[1-9A-V][1-9A-Z][0-9A]"),
}
_RFC_WORDS = getattr(stdnum_rfc, "_name_blacklist", None)
_CURP_PLAIN = re.compile(r"[A-Z]{4}[0-9]{6}[HM][A-Z]{5}[0-9A-Z][0-9]")
_CURP_WORDS = getattr(stdnum_curp, "_name_blacklist", None)
_CURP_STATES = getattr(stdnum_curp, "_valid_states", None)


def _rfc_plainly_valid(rfc: str) -> bool:
    """True when python-stdnum's `validate(rfc, validate_check_digits=True)` would accept `rfc` as it is."""
    pattern = _RFC_PLAIN.get(len(rfc))
    if pattern is None or _RFC_WORDS is None or not pattern.fullmatch(rfc):
        return False
    if len(rfc) == 13 and rfc[:4] in _RFC_WORDS:
        return False
    at = len(rfc) - 9
    try:
        datetime.date(2000 + int(rfc[at : at + 2]), int(rfc[at + 2 : at + 4]), int(rfc[at + 4 : at + 6]))
    except ValueError:
        return False
    return rfc[-1] == stdnum_rfc.calc_check_digit(rfc[:-1])


def _curp_plain_date(as_stdnum: str) -> datetime.date | None:
    """The birth date when python-stdnum's `validate(as_stdnum, validate_check_digits=False)` would accept the
    CURP as it is (sex already mapped to H or M); None when it might not."""
    if (
        _CURP_WORDS is None
        or _CURP_STATES is None
        or not _CURP_PLAIN.fullmatch(as_stdnum)
        or as_stdnum[:4] in _CURP_WORDS
        or as_stdnum[11:13] not in _CURP_STATES
    ):
        return None
    year = int(as_stdnum[4:6]) + (1900 if as_stdnum[16].isdigit() else 2000)
    try:
        return datetime.date(year, int(as_stdnum[6:8]), int(as_stdnum[8:10]))
    except ValueError:
        return None


def check_rfc(
    rfc: str, client_type: str | None, birth: datetime.date | None, today: datetime.date | None = None
) -> list[Problem]:
    """Format, date and check digit with python-stdnum; length by type; date equal to the birth date."""
    problems: list[Problem] = []
    if rfc in GENERIC_RFCS:
        if client_type in PERSON_TYPES or client_type is None:
            return [Problem("rfc", "rfc_generic", Severity.WARNING, {"value": rfc, "kind": str(GENERIC_RFCS[rfc])})]
        return [Problem("rfc", "rfc_length_type", Severity.ERROR, {"expected": 12, "length": len(rfc)})]
    expected = RFC_LENGTH.get(client_type)
    if expected and len(rfc) != expected:
        return [Problem("rfc", "rfc_length_type", Severity.ERROR, {"expected": expected, "length": len(rfc)})]
    try:
        if not _rfc_plainly_valid(rfc):
            stdnum_rfc.validate(rfc, validate_check_digits=True)
    except InvalidLength:
        return [
            Problem("rfc", "rfc_length_type", Severity.ERROR, {"expected": expected or "12/13", "length": len(rfc)})
        ]
    except InvalidChecksum:
        problems.append(Problem("rfc", "rfc_checksum", Severity.ERROR, {"value": rfc}))
    except InvalidFormat:
        return [Problem("rfc", "rfc_format", Severity.ERROR, {"value": rfc})]
    except InvalidComponent:
        if _rfc_date(rfc, birth, today) is None:
            return [Problem("rfc", "rfc_date", Severity.ERROR, {"value": rfc})]
        if not re.fullmatch(r"[1-9A-V][1-9A-Z][0-9A]", rfc[-3:]):
            return [Problem("rfc", "rfc_checksum", Severity.ERROR, {"value": rfc})]  # homoclave SAT never issues
        return [Problem("rfc", "rfc_format", Severity.ERROR, {"value": rfc})]  # a word SAT replaces
    except ValidationError:
        return [Problem("rfc", "rfc_format", Severity.ERROR, {"value": rfc})]
    encoded = _rfc_date(rfc, birth, today)
    if encoded is None:
        problems.append(Problem("rfc", "rfc_date", Severity.ERROR, {"value": rfc}))
    elif birth and (encoded.month, encoded.day, encoded.year % 100) != (birth.month, birth.day, birth.year % 100):
        problems.append(
            Problem(
                "rfc",
                "rfc_birth_date_mismatch",
                Severity.ERROR,
                {"rfc_date": encoded.isoformat(), "birth_date": birth.isoformat()},
            )
        )
    return problems


def check_curp(curp: str, birth: datetime.date | None) -> list[Problem]:
    """Format, date, sex (H, M or X), state and check digit; date equal to the birth date."""
    if len(curp) != 18:
        return [Problem("curp", "curp_length", Severity.ERROR, {"length": len(curp)})]
    # python-stdnum knows H and M only; X (non-binary, RENAPO since 2022) is checked the same way.
    as_stdnum = curp[:10] + ("H" if curp[10] == "X" else curp[10]) + curp[11:]
    encoded = _curp_plain_date(as_stdnum)
    try:
        if encoded is None:
            stdnum_curp.validate(as_stdnum, validate_check_digits=False)
    except InvalidFormat:
        return [Problem("curp", "curp_format", Severity.ERROR, {"value": curp})]
    except InvalidComponent:
        try:
            stdnum_curp.get_birth_date(as_stdnum)
        except InvalidComponent:
            return [Problem("curp", "curp_date", Severity.ERROR, {"value": curp})]
        return [Problem("curp", "curp_component", Severity.ERROR, {"value": curp})]
    except ValidationError:
        return [Problem("curp", "curp_format", Severity.ERROR, {"value": curp})]
    if curp[-1] != stdnum_curp.calc_check_digit(curp):
        return [Problem("curp", "curp_checksum", Severity.ERROR, {"value": curp})]
    if encoded is None:
        encoded = stdnum_curp.get_birth_date(as_stdnum)
    if birth and encoded != birth:
        return [
            Problem(
                "curp",
                "curp_birth_date_mismatch",
                Severity.ERROR,
                {"curp_date": encoded.isoformat(), "birth_date": birth.isoformat()},
            )
        ]
    return []


# -- the whole record --------------------------------------------------------------------------------------------


def _text_problems(values: Mapping[str, Any]) -> list[Problem]:
    problems = []
    for name in TEXT_FIELDS:
        problems += check_text(name, values.get(name))
    for name in ("metadata", "us_scope_data"):
        # Every staged row passes here: the empty ones, most of them, cost no call.
        if (value := values.get(name)) and (char := control_character(value)):
            problems.append(Problem(name, "control_character", Severity.ERROR, {"char": char}))
    metadata = values.get("metadata")
    if isinstance(metadata, Mapping):
        codes = set()
        for key, value in metadata.items():
            for problem in check_text("metadata", key) + check_text("metadata", value):
                if problem.code not in codes:
                    codes.add(problem.code)
                    problems.append(problem)
    return problems


def _identity_problems(values: Mapping[str, Any], client_type: str | None, today: datetime.date) -> list[Problem]:
    problems = []
    if client_type not in CLIENT_TYPES:
        problems.append(Problem("client_type", "required" if not client_type else "type_invalid"))
    if not values.get("name"):
        problems.append(Problem("name", "required"))
    birth = values.get("birth_date")
    if client_type in PERSON_TYPES:
        if not birth:
            problems.append(Problem("birth_date", "required_person"))
        if not values.get("apellido_paterno") and not values.get("apellido_materno"):
            problems.append(Problem("apellido_paterno", "last_name_missing", Severity.WARNING))
    elif client_type in CLIENT_TYPES:
        for name in ("middle_name", "curp"):
            if values.get(name):
                problems.append(Problem(name, "not_for_company"))
    if isinstance(birth, datetime.date):
        if birth > today:
            problems.append(Problem("birth_date", "birth_date_future"))
        elif birth < OLDEST_BIRTH_DATE:
            problems.append(Problem("birth_date", "birth_date_old", Severity.WARNING))
    nationalities = values.get("nationalities") or ""
    if not nationalities:
        if client_type in PERSON_TYPES:
            problems.append(Problem("nationalities", "nationality_missing", Severity.WARNING))
    else:
        for code in nationalities.split(","):
            if code not in countries:
                problems.append(Problem("nationalities", "nationality_invalid", Severity.ERROR, {"value": code}))
    return problems


def _identifier_problems(values: Mapping[str, Any], client_type: str | None, today: datetime.date) -> list[Problem]:
    problems = []
    birth = values.get("birth_date") if isinstance(values.get("birth_date"), datetime.date) else None
    rfc, curp = values.get("rfc") or "", values.get("curp") or ""
    if rfc and not is_formula(rfc):
        problems += check_rfc(rfc, client_type, birth, today)
    if curp and not is_formula(curp) and client_type in PERSON_TYPES:
        problems += check_curp(curp, birth)
    if not has_errors(problems):
        problems += _name_letter_problems(values, client_type, rfc, curp)
    return problems


def _name_letter_problems(values: Mapping[str, Any], client_type: str | None, rfc: str, curp: str) -> list[Problem]:
    """Each key's name letters against the holder's own name (onboarding.identifiers), as warnings."""
    holder = {
        "given_names": (values.get("name"), values.get("middle_name")),
        "paterno": values.get("apellido_paterno"),
        "materno": values.get("apellido_materno"),
    }
    mismatches = []
    if client_type in PERSON_TYPES:
        if len(rfc) == 13 and rfc not in GENERIC_RFCS:
            mismatches.append(("rfc", person_rfc_mismatch(rfc, **holder)))
        if len(curp) == 18:
            mismatches.append(("curp", person_curp_mismatch(curp, **holder)))
    elif client_type == ClientType.COMPANY and len(rfc) == 12:
        mismatches.append(("rfc", company_rfc_mismatch(rfc, legal_name=values.get("name"))))
    return [
        Problem(field, f"{field}_name_mismatch", Severity.WARNING, {"found": m.found, "expected": m.expected})
        for field, m in mismatches
        if m
    ]


def _scope_problems(values: Mapping[str, Any]) -> list[Problem]:
    problems = []
    if values.get("avi_username") and not values.get(AV_FIELDS["AVI"]):
        problems.append(Problem("avi_username", "avi_username_without_avi", Severity.WARNING))
    account, key = values.get("cnbv_numero_cuenta"), values.get("cnbv_clave_sujeto_obligado")
    if bool(account) != bool(key):
        problems.append(Problem("cnbv_clave_sujeto_obligado" if account else "cnbv_numero_cuenta", "cnbv_incomplete"))
    scopes = values.get("scopes") or []
    for scope in scopes:
        if scope not in KNOWN_SCOPES:
            problems.append(Problem("scopes", "scope_unknown", Severity.ERROR, {"value": scope}))
    if values.get("scopes_override") and not scopes:
        problems.append(Problem("scopes", "scopes_empty", Severity.WARNING))
    metadata = values.get("metadata")
    if metadata not in (None, "", {}):
        if not isinstance(metadata, Mapping) or not all(isinstance(k, str) for k in metadata):
            problems.append(Problem("metadata", "metadata_not_object"))
        elif settings.ARTU_RECORD_METADATA_KEY in metadata:
            problems.append(
                Problem(
                    "metadata", "metadata_reserved_key", Severity.ERROR, {"value": settings.ARTU_RECORD_METADATA_KEY}
                )
            )
    return problems


def validate_record(values: Mapping[str, Any]) -> list[Problem]:
    """Every problem of one record's data, errors and warnings, in field order."""
    client_type = values.get("client_type") or None
    today = datetime.date.today()
    return [
        *_text_problems(values),
        *_identity_problems(values, client_type, today),
        *_identifier_problems(values, client_type, today),
        *_scope_problems(values),
    ]


# -- request parameters (filters, ids in a URL or a form) -------------------------------------------------------

# Dates a filter accepts: far enough inside what datetime and both databases hold that the end of the day
# (date + 1 day) and its conversion to UTC never overflow, and wide enough for any record or event.
PARAM_DATE_MIN = datetime.date(1900, 1, 1)
PARAM_DATE_MAX = datetime.date(2999, 12, 31)
# The ids are BigAutoFields: a signed 64-bit integer on PostgreSQL, and SQLite's INTEGER is no wider.
ID_MAX = 2**63 - 1
# Control characters (NUL, ESC, tab...) and surrogates; U+FFFD stands for bytes that were not UTF-8 (Django
# decodes a query string with errors="replace").
_NOT_TYPED = {"Cc", "Cs"}


def check_param_date(value: datetime.date) -> None:
    """A filter date within PARAM_DATE_MIN..PARAM_DATE_MAX; raises ValidationError (code `date_range`)."""
    if not PARAM_DATE_MIN <= value <= PARAM_DATE_MAX:
        raise InvalidValue(
            _("Enter a date between %(min)s and %(max)s."),
            code="date_range",
            params={
                "min": date_format(PARAM_DATE_MIN, "SHORT_DATE_FORMAT"),
                "max": date_format(PARAM_DATE_MAX, "SHORT_DATE_FORMAT"),
            },
        )


def check_param_text(value: str) -> None:
    """Text a person can type in a one-line box: no control characters (NUL included), no surrogates, nothing that
    was not UTF-8; raises ValidationError (code `invalid_text`)."""
    if has_control_chars(value):
        raise InvalidValue(_("Remove the invisible or invalid characters."), code="invalid_text")


def check_ids(values: Iterable[Any]) -> list[int]:
    """Record, upload or submission numbers, each a whole number from 1 to ID_MAX; sorted, without repeats.
    Raises ValidationError (code `invalid_id`)."""
    try:
        ids = {int(v) for v in values}
    except (TypeError, ValueError):
        raise InvalidValue(_("The selection is not a list of record numbers."), code="invalid_id") from None
    if any(not 1 <= n <= ID_MAX for n in ids):
        raise InvalidValue(_("The selection is not a list of record numbers."), code="invalid_id")
    return sorted(ids)
