"""The Artu sandbox: a loopback HTTP server that behaves like `POST /clients/batch` and the metadata lookup.

It follows ARTU_CONTRACT.md: Bearer token (`ARTU_SANDBOX_TOKEN`; `sk_test_noperm` is a key without permissions),
`X-Environment` test/live with separate stores, 1..250 items, strict per-field checks, RFC/CURP formats,
`externalId` unique per environment, atomic all-or-nothing and non-atomic partial results (the SDK form). Its
storage is its own memory, never the app's tables. Faults (latency, 429, 500, dropped connections, "committed,
then dropped or answered too late") are drawn from a seeded random generator or queued for the next N requests;
a queued `echo_key` answers 401 with the key sent in its reason phrase and a header.

Admin endpoints for tests and benchmarks: `GET /_sandbox/clients?environment=test`, `POST /_sandbox/reset`,
`GET|POST /_sandbox/faults`, `GET /_sandbox/stats`.
"""

import datetime
import ipaddress
import json
import logging
import random
import re
import socket
import threading
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import TCPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

logger = logging.getLogger(__name__)

ENVIRONMENTS = ("test", "live")
MAX_ITEMS = 250
MAX_BODY_BYTES = 16 * 1024 * 1024
NO_PERMISSION_TOKEN = "sk_test_noperm"  # noqa: S105 (a published sandbox key that lacks every permission)
CLIENT_TYPES = ("individual", "company", "trust")
ACTIVIDADES = ("ARI", "AVI", "INM", "JYS", "MJR", "MPC", "TSC", "VEH")
ITEM_FIELDS = (
    "type",
    "name",
    "middleName",
    "lastName",
    "birthDate",
    "nationalities",
    "scopes",
    "externalId",
    "metadata",
    "scopeData",
)
RFC_PERSON = re.compile(r"^[A-ZÑ&]{4}\d{6}[A-Z\d]{3}$")
RFC_COMPANY = re.compile(r"^[A-ZÑ&]{3}\d{6}[A-Z\d]{3}$")
CURP = re.compile(
    r"^[A-Z][AEIOUX][A-Z]{2}\d{2}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])[HMX]"
    r"(AS|BC|BS|CC|CL|CM|CS|CH|DF|DG|GT|GR|HG|JC|MC|MN|MS|NT|NL|OC|PL|QT|QR|SP|SL|SR|TC|TS|TL|VZ|YN|ZS|NE)"
    r"[B-DF-HJ-NP-TV-Z]{3}[A-Z\d]\d$"
)
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
COUNTRY = re.compile(r"^[A-Z]{2}$")
METADATA_PATH = re.compile(r"^/clients/metadata/([^/]+)/([^/]+)$")


class Fault(StrEnum):
    RATE_LIMIT = "rate_limit"  # 429 with Retry-After
    SERVER_ERROR = "server_error"  # 500, nothing stored
    DROP = "drop"  # connection closed before processing
    COMMIT_THEN_DROP = "commit_then_drop"  # stored, then the connection closed without an answer
    COMMIT_THEN_LATE = "commit_then_late"  # stored, answered after `late_ms` (past the client's timeout)
    ECHO_KEY = "echo_key"  # 401 `{}` whose reason phrase and WWW-Authenticate header repeat the key sent


@dataclass
class FaultConfig:
    """What goes wrong, and how often. `next` queues faults: `[{"fault": "drop", "count": 1, "endpoint": "batch"}]`."""

    latency_ms: float | list[float] = 0
    rate_429: float = 0
    retry_after: int = 1
    rate_500: float = 0
    drop_rate: float = 0
    commit_then_drop_rate: float = 0
    commit_then_late_rate: float = 0
    late_ms: float = 35_000
    seed: int | None = None
    next: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        latency = self.latency_ms if isinstance(self.latency_ms, list) else [self.latency_ms]
        if not 1 <= len(latency) <= 2 or any(not isinstance(v, int | float) or v < 0 for v in latency):
            raise ValueError("latency_ms is a number of milliseconds or [low, high]")
        if any(not 0 <= rate <= 1 for rate, _ in self.rates()) or sum(rate for rate, _ in self.rates()) > 1:
            raise ValueError("fault rates are between 0 and 1 and add up to at most 1")
        for entry in self.next:
            if not isinstance(entry, dict) or entry.get("fault") not in Fault.__members__.values():
                raise ValueError(f"a queued fault is one of {', '.join(Fault)}")
            if entry.get("endpoint") not in (None, "batch", "lookup"):
                raise ValueError("a queued fault's endpoint is 'batch', 'lookup' or absent (any)")

    @classmethod
    def from_json(cls, data: Any) -> "FaultConfig":
        if not isinstance(data, dict) or set(data) - {f.name for f in fields(cls)}:
            raise ValueError(f"faults are a JSON object with keys among {', '.join(f.name for f in fields(cls))}")
        try:
            return cls(**data)
        except TypeError as exc:
            raise ValueError(str(exc)) from None

    def rates(self) -> list[tuple[float, Fault]]:
        return [
            (self.rate_429, Fault.RATE_LIMIT),
            (self.rate_500, Fault.SERVER_ERROR),
            (self.drop_rate, Fault.DROP),
            (self.commit_then_drop_rate, Fault.COMMIT_THEN_DROP),
            (self.commit_then_late_rate, Fault.COMMIT_THEN_LATE),
        ]


class Problems:
    """Collects `{path, code, message}` validation errors (Artu's `validationErrors` shape)."""

    def __init__(self) -> None:
        self.errors: list[dict[str, str]] = []

    def add(self, path: str, code: str, message: str) -> None:
        self.errors.append({"path": path, "code": code, "message": message})

    def object(self, value: Any, path: str, allowed: tuple[str, ...]) -> bool:
        if not isinstance(value, dict):
            self.add(path, "invalid_type", f"Expected object, received {_json_type(value)}")
            return False
        for key in value:
            if key not in allowed:
                self.add(f"{path}.{key}" if path else key, "unrecognized_key", f"Unrecognized key '{key}'")
        return True

    def string(self, value: Any, path: str, *, required: bool = False) -> bool:
        if not isinstance(value, str):
            self.add(path, "invalid_type", f"Expected string, received {_json_type(value)}")
            return False
        if required and not value.strip():
            self.add(path, "too_small", "String must contain at least 1 character")
            return False
        return True


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "boolean", int: "number", float: "number", str: "string", list: "array", dict: "object"}.get(
        type(value), type(value).__name__
    )


def _is_date(value: str) -> bool:
    if not DATE.match(value):
        return False
    try:
        datetime.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def validate_item(item: Any) -> list[dict[str, str]]:
    """The item's problems, paths relative to the item (`scopeData.MX.rfc`)."""
    problems = Problems()
    if not problems.object(item, "", ITEM_FIELDS):
        return problems.errors
    client_type = item.get("type")
    if "type" not in item:
        problems.add("type", "required", "Required")
    elif problems.string(client_type, "type") and client_type not in CLIENT_TYPES:
        problems.add("type", "invalid_enum_value", f"Expected {' | '.join(CLIENT_TYPES)}, received '{client_type}'")
    if "name" not in item:
        problems.add("name", "required", "Required")
    else:
        problems.string(item["name"], "name", required=True)
    for name in ("middleName", "lastName", "externalId"):
        if name in item:
            problems.string(item[name], name)
    if "nationalities" in item:
        _validate_nationalities(problems, item["nationalities"])
    if "birthDate" in item and problems.string(item["birthDate"], "birthDate") and not _is_date(item["birthDate"]):
        problems.add("birthDate", "invalid_date", "Expected a date as YYYY-MM-DD")
    if "scopes" in item:
        scopes = item["scopes"]
        if not isinstance(scopes, list):
            problems.add("scopes", "invalid_type", f"Expected array, received {_json_type(scopes)}")
        else:
            for position, scope in enumerate(scopes):
                problems.string(scope, f"scopes[{position}]", required=True)
    if "metadata" in item and not isinstance(item["metadata"], dict):
        problems.add("metadata", "invalid_type", f"Expected object, received {_json_type(item['metadata'])}")
    if "scopeData" in item and problems.object(item["scopeData"], "scopeData", ("MX", "US")):
        mx = item["scopeData"].get("MX")
        if mx is not None and problems.object(mx, "scopeData.MX", ("rfc", "curp", "actividadVulnerable", "cnbv")):
            _validate_mx(problems, mx, client_type)
    return problems.errors


def _validate_nationalities(problems: Problems, value: Any) -> None:
    # Both documented forms: one code as a string ("MX") or a list of codes (["MX", "US"]); a joined string is neither.
    if isinstance(value, list):
        for position, code in enumerate(value):
            if problems.string(code, f"nationalities[{position}]", required=True) and not COUNTRY.match(code):
                problems.add(f"nationalities[{position}]", "invalid_string", "Expected an ISO 3166-1 alpha-2 code")
    elif problems.string(value, "nationalities") and not COUNTRY.match(value):
        problems.add("nationalities", "invalid_string", "Expected an ISO 3166-1 alpha-2 code, or a list of them")


def _validate_mx(problems: Problems, mx: dict[str, Any], client_type: Any) -> None:
    if "rfc" in mx and problems.string(mx["rfc"], "scopeData.MX.rfc"):
        # 13 characters for a person, 12 for a company or trust; either when the type itself is wrong.
        kind = client_type if client_type in CLIENT_TYPES else None
        forms = {"individual": (RFC_PERSON,), "company": (RFC_COMPANY,), "trust": (RFC_COMPANY,)}
        if not any(form.match(mx["rfc"]) for form in forms.get(kind, (RFC_PERSON, RFC_COMPANY))):
            length = {"individual": "13", None: "12 or 13"}.get(kind, "12")
            problems.add("scopeData.MX.rfc", "invalid_format", f"Invalid RFC: expected {length} characters of RFC form")
    if "curp" in mx and problems.string(mx["curp"], "scopeData.MX.curp"):
        if client_type != "individual":
            problems.add("scopeData.MX.curp", "not_allowed", "CURP is only for individuals")
        elif not CURP.match(mx["curp"]):
            problems.add("scopeData.MX.curp", "invalid_format", "Invalid CURP: expected 18 characters of CURP form")
    activities = mx.get("actividadVulnerable")
    if activities is not None and problems.object(activities, "scopeData.MX.actividadVulnerable", ACTIVIDADES):
        for code, value in activities.items():
            path = f"scopeData.MX.actividadVulnerable.{code}"
            if code in ACTIVIDADES and problems.object(value, path, ("username",) if code == "AVI" else ()):
                if "username" in value:
                    problems.string(value["username"], f"{path}.username")
    cnbv = mx.get("cnbv")
    if cnbv is not None and problems.object(cnbv, "scopeData.MX.cnbv", ("TRANSMISOR",)):
        transmisor = cnbv.get("TRANSMISOR")
        path = "scopeData.MX.cnbv.TRANSMISOR"
        if transmisor is not None and problems.object(transmisor, path, ("numeroCuenta", "claveSujetoObligado")):
            for name in ("numeroCuenta", "claveSujetoObligado"):
                if name in transmisor:
                    problems.string(transmisor[name], f"{path}.{name}")


def _timestamp(now: datetime.datetime) -> str:
    return now.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _age(birth_date: str | None, client_type: str, today: datetime.date) -> int | None:
    if client_type != "individual" or not birth_date:
        return None
    born = datetime.date.fromisoformat(birth_date)
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


# Tags the sandbox puts on a client, by what the client carries (Artu's own rules are not published).
TAG_NAMESPACE = uuid.UUID("6b0f1c8e-3c1e-4d7a-9a51-5a4f3f1d2c00")
TAGS = {
    "actividad_vulnerable": ("Actividad vulnerable", "#b45309"),
    "transmisor": ("Transmisor CNBV", "#1d4ed8"),
    "foreign": ("Nacionalidad extranjera", "#7c3aed"),
}
# The document each kind of client is asked for first.
FIRST_DOCUMENT = {"individual": "identification", "company": "incorporation_deed", "trust": "trust_agreement"}


def _nationalities(item: dict[str, Any]) -> list[str]:
    value = item.get("nationalities")
    return [value] if isinstance(value, str) else [v for v in value or [] if isinstance(v, str)]


def _risk_assessments(item: dict[str, Any], activities: dict, reasons: list[str], stamp: str) -> dict[str, Any]:
    """A risk assessment per regulatory area, the shape a client object's `riskAssessments` could take (the
    reference page shows only `{}`): a level, a score out of 100, the factors behind it and when."""
    score = 15 + 10 * len(activities) + 20 * ("foreign" in reasons) + 10 * (item["type"] != "individual")
    score += 10 * ("transmisor" in reasons)
    level = "low" if score < 35 else "medium" if score < 60 else "high"
    factors = [f"actividad_vulnerable:{code}" for code in activities]
    factors += [reason for reason in reasons if reason != "actividad_vulnerable"]
    return {"MX": {"level": level, "score": min(score, 100), "factors": factors, "assessedAt": stamp}}


def _annotations(item: dict[str, Any], client_id: str, stamp: str) -> dict[str, Any]:
    """What Artu adds to a client it creates: risk assessments, tags and the documents it will ask for."""
    mx = (item.get("scopeData") or {}).get("MX") or {}
    activities = mx.get("actividadVulnerable") or {}
    reasons = [
        reason
        for reason, applies in (
            ("actividad_vulnerable", bool(activities)),
            ("transmisor", bool(mx.get("cnbv"))),
            ("foreign", any(code != "MX" for code in _nationalities(item))),
        )
        if applies
    ]
    tags = [
        {"id": str(uuid.uuid5(TAG_NAMESPACE, reason)), "name": TAGS[reason][0], "color": TAGS[reason][1]}
        for reason in reasons
    ]
    document = {
        "clientId": client_id,
        "type": FIRST_DOCUMENT.get(item["type"], "identification"),
        "id": str(uuid.uuid4()),
        "createdAt": stamp,
        "updatedAt": stamp,
        "status": "pending_upload",
        "filename": None,
        "contentType": None,
        "size": 0,
        "expiresAt": None,
        "verifiedAt": None,
        "verifiedBy": None,
        "rejectionReason": None,
        "reviewedAt": None,
        "reviewedBy": None,
        "externalId": None,
        "fields": {},
        "metadata": {},
    }
    risk = _risk_assessments(item, activities, reasons, stamp)
    return {"riskAssessments": risk, "tags": tags, "documents": [document]}


def build_client(item: dict[str, Any], now: datetime.datetime) -> dict[str, Any]:
    """The stored client: what was sent plus every field of the reference page's response, with the risk
    assessments, tags and documents Artu adds to a new client."""
    stamp = _timestamp(now)
    client_id = str(uuid.uuid4())
    return {
        "type": item["type"],
        "name": item["name"],
        "scopes": item.get("scopes", []),
        "id": client_id,
        "createdAt": stamp,
        "updatedAt": stamp,
        "isPrimary": True,
        "nationalities": item.get("nationalities"),
        "externalId": item.get("externalId"),
        "metadata": item.get("metadata", {}),
        "birthDate": item.get("birthDate"),
        "middleName": item.get("middleName"),
        "lastName": item.get("lastName"),
        "employment": {
            "isEmployee": False,
            "employeeId": None,
            "position": None,
            "department": None,
            "startDate": None,
        },
        "scopeData": item.get("scopeData", {}),
        "email": None,
        "phone": None,
        "age": _age(item.get("birthDate"), item["type"], now.date()),
        "addresses": [],
        "contactMethods": [],
        "bankAccounts": [],
        "linkedClients": [],
        **_annotations(item, client_id, stamp),
    }


def error_body(code: str, message: str, errors: list[dict[str, str]] | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if errors:
        error["validationErrors"] = errors
    return {"error": error}


class SandboxState:
    """Stores per environment, fault configuration and counters, behind one lock."""

    def __init__(self, token: str, faults: FaultConfig) -> None:
        self.token = token
        self.initial_faults = faults
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.clients: dict[str, dict[str, dict[str, Any]]] = {env: {} for env in ENVIRONMENTS}
            self.external_ids: dict[str, dict[str, str]] = {env: {} for env in ENVIRONMENTS}
            self.metadata_index: dict[str, dict[tuple[str, str], str]] = {env: {} for env in ENVIRONMENTS}
            self.stats: Counter[str] = Counter()
            self.in_flight = 0
        self.configure(self.initial_faults)

    def configure(self, faults: FaultConfig) -> None:
        with self.lock:
            self.faults = faults
            self.rng = random.Random(faults.seed)
            self.queue = [dict(entry, count=int(entry.get("count", 1))) for entry in faults.next]

    def draw(self, endpoint: str) -> tuple[float, Fault | None]:
        """Latency in seconds and the fault (if any) for the next request to `endpoint`."""
        with self.lock:
            latency = self.faults.latency_ms
            low, high = (latency * 2)[:2] if isinstance(latency, list) else (latency, latency)
            seconds = (self.rng.uniform(low, high) if high > low else low) / 1000
            for entry in self.queue:
                if entry["count"] > 0 and entry.get("endpoint") in (None, endpoint):
                    entry["count"] -= 1
                    return seconds, Fault(entry["fault"])
            roll, threshold = self.rng.random(), 0.0
            for rate, fault in self.faults.rates():
                threshold += rate
                if roll < threshold:
                    return seconds, fault
            return seconds, None

    def count(self, *keys: str) -> None:
        with self.lock:
            self.stats.update(keys)

    def enter(self) -> None:
        with self.lock:
            self.in_flight += 1
            self.stats["max_in_flight"] = max(self.stats["max_in_flight"], self.in_flight)

    def leave(self) -> None:
        with self.lock:
            self.in_flight -= 1

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            stored = {env: len(self.clients[env]) for env in ENVIRONMENTS}
            return {"stats": dict(self.stats), "stored": stored, "in_flight": self.in_flight}

    def list_clients(self, env: str) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.clients[env].values())

    def find(self, env: str, key: str, value: str) -> dict[str, Any] | None:
        with self.lock:
            client_id = self.metadata_index[env].get((key, value))
            return self.clients[env][client_id] if client_id else None

    def create(self, env: str, body: Any) -> tuple[int, dict[str, Any]]:
        """Validates and stores a batch; returns the HTTP status and the answer."""
        if not isinstance(body, dict):
            return 400, error_body("invalid_body", "The request body must be a JSON object")
        problems = Problems()
        problems.object(body, "", ("items", "atomic"))
        atomic = body.get("atomic", True)
        if not isinstance(atomic, bool):
            problems.add("atomic", "invalid_type", f"Expected boolean, received {_json_type(atomic)}")
        items = body.get("items")
        if items is None:
            problems.add("items", "required", "Required")
        elif not isinstance(items, list):
            problems.add("items", "invalid_type", f"Expected array, received {_json_type(items)}")
        elif not items:
            problems.add("items", "too_small", "Array must contain at least 1 element(s)")
        elif len(items) > MAX_ITEMS:
            problems.add("items", "too_big", f"Array must contain at most {MAX_ITEMS} element(s)")
        if problems.errors:
            return 422, error_body("validation_error", "Invalid request", problems.errors)
        item_errors = [validate_item(item) for item in items]
        now = datetime.datetime.now(datetime.UTC)
        with self.lock:
            self._add_conflicts(env, items, item_errors)
            if atomic:
                return self._create_atomic(env, items, item_errors, now)
            succeeded, failed = [], []
            for index, (item, errors) in enumerate(zip(items, item_errors, strict=True)):
                if errors:
                    failed.append({"index": index, "error": self._item_error(errors)})
                else:
                    succeeded.append({"index": index, "data": self._store(env, item, now)})
            self.stats.update({"created": len(succeeded), f"created_{env}": len(succeeded)})
            return 200, {"atomic": False, "succeeded": succeeded, "failed": failed}

    def _add_conflicts(self, env: str, items: list[Any], item_errors: list[list[dict[str, str]]]) -> None:
        seen = set(self.external_ids[env])
        for item, errors in zip(items, item_errors, strict=True):
            external_id = item.get("externalId") if not errors else None
            if external_id is None:
                continue
            if external_id in seen:
                errors.append({"path": "externalId", "code": "conflict", "message": "externalId already exists"})
            seen.add(external_id)

    def _create_atomic(
        self, env: str, items: list[Any], item_errors: list[list[dict[str, str]]], now: datetime.datetime
    ) -> tuple[int, dict[str, Any]]:
        errors = [
            dict(error, path=f"items[{index}].{error['path']}" if error["path"] else f"items[{index}]")
            for index, errs in enumerate(item_errors)
            for error in errs
        ]
        if errors:
            if all(error["code"] == "conflict" for error in errors):
                return 409, error_body("conflict", "One or more clients already exist", errors)
            return 422, error_body("validation_error", "Invalid request", errors)
        data = [self._store(env, item, now) for item in items]
        self.stats.update({"created": len(data), f"created_{env}": len(data)})
        return 200, {"atomic": True, "data": data}

    @staticmethod
    def _item_error(errors: list[dict[str, str]]) -> dict[str, Any]:
        if all(error["code"] == "conflict" for error in errors):
            return dict(error_body("conflict", "Client already exists", errors)["error"], status=409)
        return dict(error_body("validation_error", "Invalid client", errors)["error"], status=422)

    def _store(self, env: str, item: dict[str, Any], now: datetime.datetime) -> dict[str, Any]:
        client = build_client(item, now)
        self.clients[env][client["id"]] = client
        if client["externalId"] is not None:
            self.external_ids[env][client["externalId"]] = client["id"]
        for key, value in client["metadata"].items():
            if isinstance(value, str):
                self.metadata_index[env].setdefault((key, value), client["id"])
        return client


class SandboxHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, each answer would wait for a delayed ACK.
    disable_nagle_algorithm = True
    server: "SandboxServer"

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s %s", self.address_string(), format % args)

    @property
    def state(self) -> SandboxState:
        return self.server.state

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY_BYTES:
            self.close_connection = True
            return self._send(413, error_body("payload_too_large", "The body is too large or has no valid length"))
        raw = self.rfile.read(length) if length else b""
        if url.path.startswith("/_sandbox/"):
            return self._admin(method, url.path, parse_qs(url.query), raw)
        if url.path == "/clients/batch":
            return self._api(method, "POST", "batch", lambda env: self.state.create(env, self._json(raw)))
        match = METADATA_PATH.match(url.path)
        if match:
            key, value = unquote(match.group(1)), unquote(match.group(2))
            return self._api(method, "GET", "lookup", lambda env: self._lookup(env, key, value))
        self._send(404, error_body("not_found", f"No route for {method} {url.path}"))

    @staticmethod
    def _json(raw: bytes) -> Any:
        try:
            return json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return None

    def _lookup(self, env: str, key: str, value: str) -> tuple[int, dict[str, Any]]:
        client = self.state.find(env, key, value)
        if client is None:
            return 404, error_body("not_found", f"No client with metadata {key} = {value}")
        return 200, client

    def _refusal(self, permission: str) -> tuple[int, dict[str, Any]] | None:
        """401/400/403 before any work, in Artu's order: key, then environment, then permission."""
        authorization = self.headers.get("Authorization", "")
        token = authorization.removeprefix("Bearer ").strip() if authorization.startswith("Bearer ") else ""
        if token not in (self.state.token, NO_PERMISSION_TOKEN):
            return 401, error_body("unauthorized", "Invalid or missing API key")
        env = self.headers.get("X-Environment")
        if env not in ENVIRONMENTS:
            return 400, error_body("invalid_environment", 'The X-Environment header must be "test" or "live"')
        if token == NO_PERMISSION_TOKEN:
            return 403, error_body("forbidden", f"The API key lacks the permission {env}:{permission}")
        return None

    def _api(self, method: str, allowed: str, endpoint: str, work: Any) -> None:
        if method != allowed:
            return self._send(405, error_body("method_not_allowed", f"Use {allowed}"), {"Allow": allowed})
        self.state.enter()
        try:
            self._api_call(endpoint, work)
        finally:
            self.state.leave()

    def _api_call(self, endpoint: str, work: Any) -> None:
        latency, fault = self.state.draw(endpoint)
        self.state.count("requests", f"requests_{endpoint}", *([f"fault_{fault}"] if fault else []))
        if latency:
            time.sleep(latency)
        if fault == Fault.DROP:
            return self._drop()
        if fault == Fault.RATE_LIMIT:
            retry_after = str(self.state.faults.retry_after)
            return self._send(429, error_body("rate_limited", "Too many requests"), {"Retry-After": retry_after})
        if fault == Fault.SERVER_ERROR:
            return self._send(500, error_body("internal_error", "Internal server error"))
        if fault == Fault.ECHO_KEY:
            # A careless gateway: the key comes back in the status line and a header, the body says nothing.
            sent = self.headers.get("Authorization", "")
            header = {"WWW-Authenticate": f'Bearer error="invalid_token", error_description="Bad key {sent}"'}
            return self._send(401, {}, header, reason=f"Bad key {sent}")
        refusal = self._refusal("clients:create" if endpoint == "batch" else "clients:read")
        status, payload = refusal or work(self.headers["X-Environment"])
        if fault == Fault.COMMIT_THEN_DROP:
            return self._drop()
        if fault == Fault.COMMIT_THEN_LATE:
            time.sleep(self.state.faults.late_ms / 1000)
        self._send(status, payload)

    def _admin(self, method: str, path: str, query: dict[str, list[str]], raw: bytes) -> None:
        route = (method, path.removeprefix("/_sandbox/").rstrip("/"))
        if route == ("GET", "clients"):
            env = query.get("environment", ["test"])[0]
            if env not in ENVIRONMENTS:
                return self._send(400, error_body("invalid_environment", "environment is test or live"))
            return self._send(200, {"data": self.state.list_clients(env)})
        if route == ("POST", "reset"):
            self.state.reset()
            return self._send(200, {"reset": True})
        if route == ("GET", "stats"):
            return self._send(200, self.state.snapshot())
        if route == ("GET", "faults"):
            return self._send(200, asdict(self.state.faults))
        if route == ("POST", "faults"):
            try:
                faults = FaultConfig.from_json(self._json(raw) or {})
            except ValueError as exc:
                return self._send(400, error_body("invalid_faults", str(exc)))
            self.state.configure(faults)
            return self._send(200, asdict(faults))
        self._send(404, error_body("not_found", f"No sandbox route for {method} {path}"))

    def _send(
        self, status: int, payload: Any, headers: dict[str, str] | None = None, *, reason: str | None = None
    ) -> None:
        body = json.dumps(payload).encode()
        try:
            self.send_response(status, reason or HTTPStatus(status).phrase)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up waiting (the "answered too late" fault): nothing left to do.
            self.close_connection = True

    def _drop(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def ensure_loopback(host: str) -> str:
    """The address to bind, refusing anything but loopback (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return "127.0.0.1"
    try:
        if ipaddress.ip_address(host).is_loopback:
            return host
    except ValueError:
        pass
    raise ValueError(f"the Artu sandbox listens on loopback only (127.0.0.1, ::1 or localhost), not {host!r}")


class SandboxServer(ThreadingHTTPServer):
    """The sandbox on `host:port` (port 0 picks a free one); `serve_forever()` or `start()` in a thread."""

    daemon_threads = True
    request_queue_size = 128

    def __init__(
        self, host: str = "127.0.0.1", port: int = 8001, *, token: str | None = None, faults: FaultConfig | None = None
    ) -> None:
        host = ensure_loopback(host)
        if token is None:
            from django.conf import settings

            token = settings.ARTU_SANDBOX_TOKEN
        if ipaddress.ip_address(host).version == 6:
            self.address_family = socket.AF_INET6
        self.state = SandboxState(token, faults or FaultConfig())
        super().__init__((host, port), SandboxHandler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host name (getfqdn), which may wait on DNS.
        TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    @property
    def url(self) -> str:
        host = f"[{self.server_name}]" if ":" in self.server_name else self.server_name
        return f"http://{host}:{self.server_port}"

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, args=(0.05,), name="artu-sandbox", daemon=True)
        thread.start()
        return thread
