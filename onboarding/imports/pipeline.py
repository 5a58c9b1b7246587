"""One file row → one record's data, its problems and its original cells.

The same rules as the form: values are normalised here, then `validation.validate_record` finds every problem and
`validation.derive_scopes` sets the scopes, exactly as `services.records.record_apply_data` does for a typed record.
Problems found while reading a cell (a date that is not a date, an unknown type) are added with the same codes.
"""

from collections.abc import Callable, Mapping
from typing import Any

from onboarding.identifiers import last_name_split
from onboarding.imports import normalize as n
from onboarding.imports.mapping import ACTIVIDADES, KEEP, MATERNO, PATERNO
from onboarding.models import AV_FIELDS, DATA_FIELDS, ClientRecord, ClientType
from onboarding.validation import Problem, Severity, derive_scopes, validate_record

# Columns of few distinct values: each distinct cell is parsed once per upload.
_MEMO_LIMIT = 5000
TEXT_TARGETS = (
    "name",
    "middle_name",
    PATERNO,
    MATERNO,
    "external_id",
    "avi_username",
    "cnbv_numero_cuenta",
    "cnbv_clave_sujeto_obligado",
)
MAX_LENGTH = {
    f.name: f.max_length
    for f in ClientRecord._meta.concrete_fields
    if f.name in DATA_FIELDS and getattr(f, "max_length", None)
}
# The field a cell problem is reported against, when it is not the column's own target.
PROBLEM_FIELD = {ACTIVIDADES: "scopes", KEEP: "metadata"}
# A file's one column of both apellidos ("Apellidos", Artu's `lastName` alone) is cut into the two fields where the
# row's RFC and CURP say (identifiers.last_name_split); each apellido is then checked on its own, like the form's.
JOINED_LAST_NAMES = "last_name"
# A cell kept in metadata under its column's header: text, checked like any typed metadata (validate_record).
METADATA_VALUE_MAX_LENGTH = 1000
DEFAULTS: dict[str, Any] = {
    "client_type": "",
    "name": "",
    "middle_name": "",
    PATERNO: "",
    MATERNO: "",
    "birth_date": None,
    "nationalities": "",
    "scopes": [],
    "scopes_override": False,
    "external_id": "",
    "metadata": {},
    "rfc": "",
    "curp": "",
    **dict.fromkeys(AV_FIELDS.values(), False),
    "avi_username": "",
    "cnbv_numero_cuenta": "",
    "cnbv_clave_sujeto_obligado": "",
    "us_scope_data": None,
}
assert set(DEFAULTS) == set(DATA_FIELDS)


def _memo(parse: Callable[[Any], Any]) -> Callable[[Any], Any]:
    cache: dict[Any, Any] = {}

    def parse_cached(value: Any) -> Any:
        if not isinstance(value, (str, int, float, bool)) or value is None:
            return parse(value)
        try:
            return cache[value]
        except KeyError:
            pass
        try:
            result = parse(value)
        except n.CellError as exc:
            result = exc
        if len(cache) < _MEMO_LIMIT:
            cache[value] = result
        return result

    def call(value: Any) -> Any:
        result = parse_cached(value)
        if isinstance(result, n.CellError):
            raise result
        return result

    return call


class RowPreparer:
    """Prepares the rows of one upload under one mapping (`{header: target}`)."""

    def __init__(self, headers: list[str], mapping: Mapping[str, str]):
        self.headers = headers
        self.columns = [(i, mapping[h]) for i, h in enumerate(headers) if mapping.get(h)]
        self.client_type = _memo(n.parse_client_type)
        self.nationalities = _memo(n.parse_nationalities)
        self.boolean = _memo(n.parse_bool)
        self.actividades = _memo(n.parse_actividades)
        self.date = n.parse_date
        # Only fields some column fills can be too long.
        filled = {t for _, t in self.columns}
        filled |= {PATERNO, MATERNO} if JOINED_LAST_NAMES in filled else set()
        filled |= {"avi_username"} if ACTIVIDADES in filled else set()
        self.limits = [(name, limit) for name, limit in MAX_LENGTH.items() if name in filled]

    def prepare(self, cells: list) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any]]:
        """(data fields, problems as stored, original non-empty cells) of one row."""
        if n.has_control_characters(cells):
            # PostgreSQL cannot store NUL, and no datum holds such characters: the fields they reach get
            # `control_character` from validation, as in the form.
            cells = n.replace_control_characters(cells)
        width = len(cells)
        source = {self.headers[i]: c for i, c in enumerate(cells[: len(self.headers)]) if c not in (None, "")}
        values = dict(DEFAULTS)
        values["scopes"], values["metadata"] = [], {}
        found: list[Problem] = []
        joined = given_scopes = None
        kept: dict[str, str] = {}
        raw_type = ""
        for index, target in self.columns:
            cell = cells[index] if index < width else None
            if cell is None or cell == "":
                continue
            try:
                if target in TEXT_TARGETS:
                    values[target] = n.clean_text(cell)
                elif target == "rfc" or target == "curp":
                    values[target] = n.clean_identifier(cell)
                elif target == JOINED_LAST_NAMES:
                    joined = n.clean_text(cell)
                elif target == "client_type":
                    raw_type = self.client_type(cell)
                elif target == "birth_date":
                    values["birth_date"] = self.date(cell)
                elif target == "nationalities":
                    values["nationalities"] = self.nationalities(cell)
                elif target == ACTIVIDADES:
                    codes, username = self.actividades(cell)
                    for code in codes:
                        values[AV_FIELDS[code]] = True
                    if username and not values["avi_username"]:
                        values["avi_username"] = username
                elif target.startswith("av_"):
                    values[target] = values[target] or self.boolean(cell)
                elif target == "scopes":
                    given_scopes = n.parse_scopes(cell)
                elif target == "metadata":
                    values["metadata"] = n.parse_json_object(cell)
                elif target == "us_scope_data":
                    values["us_scope_data"] = n.parse_json_value(cell)
                elif target == KEEP:
                    text = n.metadata_text(cell)
                    if len(text) > METADATA_VALUE_MAX_LENGTH:
                        raise n.CellError("too_long", max=METADATA_VALUE_MAX_LENGTH)
                    kept[self.headers[index]] = text
            except n.CellError as exc:
                found.append(Problem(PROBLEM_FIELD.get(target, target), exc.code, Severity.ERROR, exc.params))
        if kept:
            # A metadata column of the file, when there is one, wins over a kept column of the same key.
            values["metadata"] = {**kept, **values["metadata"]}
        if joined:
            self._split_last_names(values, joined)
        self._set_type(values, raw_type, found)
        for name, limit in self.limits:
            value = values[name]
            if isinstance(value, str) and len(value) > limit:
                found.append(Problem(name, "too_long", Severity.ERROR, {"max": limit}))
                values[name] = value[:limit]
        derived = derive_scopes(values)
        if given_scopes and sorted(set(given_scopes)) != sorted(derived):
            values["scopes"], values["scopes_override"] = list(dict.fromkeys(given_scopes)), True
        else:
            values["scopes"] = derived
        problems = validate_record(values)
        if found:
            # A cell that could not be read is reported once, not again as "required".
            unread = {p.field for p in found}
            problems = found + [
                p for p in problems if not (p.field in unread and p.code in ("required", "required_person"))
            ]
        return values, [p.as_dict() for p in problems], source

    @staticmethod
    def _split_last_names(values: dict[str, Any], joined: str) -> None:
        given = (values["name"], values["middle_name"])
        paterno, materno = last_name_split(joined, given_names=given, rfc=values["rfc"], curp=values["curp"])
        values[PATERNO], values[MATERNO] = paterno, materno

    @staticmethod
    def _set_type(values: dict[str, Any], raw_type: str, found: list[Problem]) -> None:
        # The database needs a type: one that cannot be read or inferred is stored as individual, with an error
        # on the type that blocks approval until an officer sets it.
        inferred = raw_type or n.infer_client_type(values["rfc"], values["curp"])
        if not inferred:
            if not any(p.field == "client_type" for p in found):
                found.append(Problem("client_type", "required", Severity.ERROR))
            inferred = ClientType.INDIVIDUAL
        values["client_type"] = inferred
