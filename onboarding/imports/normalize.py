"""Turning spreadsheet cells into record values before validation.

Each parser returns the value the record stores, or raises `CellError(code, params)` when the cell cannot be read;
the pipeline stores an empty value and reports the code against the field. Names keep their accents, ñ and case
exactly (only surrounding and repeated spaces go). Parsers of columns with few distinct values (type, nationality,
yes/no, actividades) are memoised per upload by the pipeline.
"""

import datetime
import json
import re
import unicodedata
from typing import Any

from onboarding.models import AV_FIELDS, ClientType
from onboarding.nationalities import match_key, normalize_nationalities
from onboarding.validation import CONTROL_CHARACTERS, control_character, normalize_identifier

EXCEL_EPOCH = datetime.date(1899, 12, 30)
# Excel serial numbers this side of 1900-03-01 (61) and 2099-12-31 (73050) are dates; anything else is not.
EXCEL_SERIAL_RANGE = (61, 73050)


class CellError(ValueError):
    def __init__(self, code: str, **params: Any):
        super().__init__(code)
        self.code = code
        self.params = params


_key = match_key


def clean_text(value: Any) -> str:
    """Trim and collapse whitespace; decomposed accents (as macOS writes them) composed, nothing else touched."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    text = " ".join(text.split())
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    return text


def clean_identifier(value: Any) -> str:
    return normalize_identifier(value) if value not in (None, "") else ""


def has_control_characters(cells: list) -> bool:
    """Whether any cell of a row holds a character `validation.CONTROL_CHARACTERS` names (one search per row)."""
    try:
        return CONTROL_CHARACTERS.search("\n".join(cells)) is not None
    except TypeError:  # a JSON row: numbers, objects, missing cells
        return bool(control_character(cells))


def replace_control_characters(value: Any) -> Any:
    """The value with each such character, in any text, key or nested text, replaced by U+FFFD "�": every database
    can store it, the reviewer sees where it was, and validation still reports the field."""
    if isinstance(value, str):
        return CONTROL_CHARACTERS.sub("\ufffd", value)
    if isinstance(value, dict):
        return {replace_control_characters(k): replace_control_characters(v) for k, v in value.items()}
    if isinstance(value, list):
        return [replace_control_characters(v) for v in value]
    return value


# -- dates -------------------------------------------------------------------------------------------------------

MONTHS = {
    "ene": 1,
    "jan": 1,
    "feb": 2,
    "mar": 3,
    "abr": 4,
    "apr": 4,
    "may": 5,
    "jun": 6,
    "jul": 7,
    "ago": 8,
    "aug": 8,
    "sep": 9,
    "set": 9,
    "oct": 10,
    "nov": 11,
    "dic": 12,
    "dec": 12,
}
_ISO = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T].*)?")
_DMY = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4}|\d{2})(?: .*)?")
_DMONY = re.compile(r"(\d{1,2})[ /.-]*(?:de )?([a-z]{3})[a-z]*\.?[ /.-]*(?:de )?(\d{4})")
_SERIAL = re.compile(r"\d{2,5}(?:\.0+)?")


def _two_digit_year(yy: int) -> int:
    # A two-digit year is this century unless that would be in the future.
    this = datetime.date.today().year
    return 2000 + yy if 2000 + yy <= this else 1900 + yy


def parse_date(value: Any) -> datetime.date | None:
    """DD/MM/YYYY (Mexican order), YYYY-MM-DD, '5 de marzo de 1985', or an Excel serial number; '' → None."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _from_serial(value)
    text = str(value).strip()
    if not text:
        return None
    try:
        if m := _ISO.fullmatch(text):
            return datetime.date(int(m[1]), int(m[2]), int(m[3]))
        if m := _DMY.fullmatch(text):
            year = int(m[3]) if len(m[3]) == 4 else _two_digit_year(int(m[3]))
            return datetime.date(year, int(m[2]), int(m[1]))
        if _SERIAL.fullmatch(text):
            return _from_serial(float(text))
        if (m := _DMONY.fullmatch(_key(text))) and m[2] in MONTHS:
            return datetime.date(int(m[3]), MONTHS[m[2]], int(m[1]))
    except ValueError:
        pass
    raise CellError("date_invalid", value=text)


def _from_serial(number: float) -> datetime.date:
    # 1900-2100 alone is a year someone typed, not Excel's day 1985 (June 1905).
    if (
        not float(number).is_integer()
        or not EXCEL_SERIAL_RANGE[0] <= number <= EXCEL_SERIAL_RANGE[1]
        or 1900 <= number <= 2100
    ):
        raise CellError("date_invalid", value=str(number))
    return EXCEL_EPOCH + datetime.timedelta(days=int(number))


# -- type, yes/no, actividades -----------------------------------------------------------------------------------

CLIENT_TYPES = {
    ClientType.INDIVIDUAL: (
        "fisica",
        "persona fisica",
        "pf",
        "p f",
        "f",
        "individual",
        "individuo",
        "person",
        "natural",
        "persona natural",
        "natural person",
        "individual persona fisica",
    ),
    ClientType.COMPANY: (
        "moral",
        "persona moral",
        "pm",
        "p m",
        "m",
        "company",
        "empresa",
        "sociedad",
        "corporation",
        "legal entity",
        "legal person",
        "company persona moral",
    ),
    ClientType.TRUST: ("fideicomiso", "trust", "fid", "trust fideicomiso"),
}
_TYPE_WORDS = {word: str(kind) for kind, words in CLIENT_TYPES.items() for word in words}


def parse_client_type(value: Any) -> str:
    """'Persona Física' → individual, 'Moral' → company, 'Fideicomiso' → trust; '' → '' (inferred later)."""
    key = _key(value) if value not in (None, "") else ""
    if not key:
        return ""
    if key in _TYPE_WORDS:
        return _TYPE_WORDS[key]
    raise CellError("type_invalid", value=clean_text(value))


def infer_client_type(rfc: str, curp: str) -> str:
    """A 13-character RFC or any CURP belongs to a person; a 12-character RFC to a company."""
    if curp or len(rfc) == 13:
        return ClientType.INDIVIDUAL
    if len(rfc) == 12:
        return ClientType.COMPANY
    return ""


TRUE_WORDS = frozenset({"si", "s", "x", "1", "true", "t", "yes", "y", "verdadero", "v", "ok", "*"})
FALSE_WORDS = frozenset({"", "no", "n", "0", "false", "f", "falso", "-"})


def parse_bool(value: Any) -> bool:
    """Sí/no, x, 1/0, true/false; an empty cell is no."""
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, (int, float)):
        if value in (0, 1):
            return bool(value)
        raise CellError("value_invalid", value=str(value))
    text = str(value).strip()
    key = _key(text) if text not in ("*", "-", "✓", "✔") else text
    if key in TRUE_WORDS or text in ("✓", "✔"):
        return True
    if key in FALSE_WORDS:
        return False
    raise CellError("value_invalid", value=clean_text(value))


ACTIVIDAD_WORDS = {
    "arrendamiento": "ARI",
    "arrendamiento de inmuebles": "ARI",
    "activos virtuales": "AVI",
    "activo virtual": "AVI",
    "criptomonedas": "AVI",
    "inmuebles": "INM",
    "inmobiliaria": "INM",
    "bienes raices": "INM",
    "real estate": "INM",
    "juegos": "JYS",
    "juegos y sorteos": "JYS",
    "sorteos": "JYS",
    "apuestas": "JYS",
    "joyas": "MJR",
    "metales": "MJR",
    "metales preciosos": "MJR",
    "joyeria": "MJR",
    "prestamos": "MPC",
    "creditos": "MPC",
    "mutuos": "MPC",
    "prestamos y creditos": "MPC",
    "tarjetas": "TSC",
    "tarjetas de servicios": "TSC",
    "tarjetas prepagadas": "TSC",
    "vehiculos": "VEH",
    "autos": "VEH",
    "automoviles": "VEH",
    "vehicles": "VEH",
}


def parse_actividades(value: Any) -> tuple[list[str], str]:
    """'INM, VEH' / 'MX:AV:INM' / 'inmuebles; vehículos' / {'AVI': {'username': 'x'}} → (['INM', 'VEH'], username)."""
    username = ""
    if value in (None, ""):
        return [], ""
    if isinstance(value, dict):
        parts = [str(k) for k in value]
        avi = value.get("AVI")
        if isinstance(avi, dict):
            username = clean_text(avi.get("username"))
    elif isinstance(value, (list, tuple)):
        parts = [str(v) for v in value]
    else:
        parts = re.split(r"[,;/|+]", str(value))
    codes: list[str] = []
    for part in parts:
        key = _key(part)
        if not key:
            continue
        found = ACTIVIDAD_WORDS.get(key)
        words = [found] if found else [w.upper().removeprefix("MX:AV:") for w in key.split()]
        for code in words:
            if code not in AV_FIELDS:
                raise CellError("actividad_invalid", value=clean_text(part))
            if code not in codes:
                codes.append(code)
    return codes, username


# -- nationalities: one normaliser for the form and the files (onboarding.nationalities) -------------------------

parse_nationalities = normalize_nationalities


def metadata_text(value: Any) -> str:
    """A cell kept in metadata, as text: dates as YYYY-MM-DD, whole numbers without '.0'."""
    if isinstance(value, datetime.datetime) and value.time() == datetime.time():
        value = value.date()
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return clean_text(value)


# -- JSON-ish cells ----------------------------------------------------------------------------------------------


def parse_scopes(value: Any) -> list[str]:
    if value in (None, ""):
        return []
    if isinstance(value, (list, tuple)):
        return [clean_text(v).upper() for v in value if clean_text(v)]
    return [p.upper() for p in re.split(r"[,;|\s]+", str(value)) if p]


def parse_json_object(value: Any) -> dict:
    """A dict, or text holding a JSON object; anything else is `metadata_not_object`."""
    if value in (None, ""):
        return {}
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            return parsed
    raise CellError("metadata_not_object")


def parse_json_value(value: Any) -> Any:
    if value in (None, ""):
        return None
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value
