"""The sandbox as a new user (curl) or a benchmark sees it: raw HTTP on loopback."""

import datetime
import threading
import time
import uuid

import httpx
import pytest

from onboarding.artu.sandbox import FaultConfig, SandboxServer
from tests.artu.test_payload import reference_examples


@pytest.fixture
def http(artu):
    with httpx.Client(base_url=artu.url, headers={"Authorization": f"Bearer {artu.token}"}, timeout=5) as client:
        yield client


def post_batch(http, items, *, atomic=None, env="test", **kwargs):
    body = {"items": items} | ({} if atomic is None else {"atomic": atomic})
    headers = {"X-Environment": env} if env else {}
    return http.post("/clients/batch", json=body, headers=headers, **kwargs)


def error_paths(response) -> list[tuple[str, str]]:
    return [(e["path"], e["code"]) for e in response.json()["error"]["validationErrors"]]


def test_a_batch_of_three_returns_200_and_three_ids(http, artu_items):
    response = post_batch(http, artu_items(3))

    assert response.status_code == 200
    body = response.json()
    assert body["atomic"] is True
    assert all(uuid.UUID(c["id"]).version == 4 for c in body["data"])
    assert len({c["id"] for c in body["data"]}) == 3


def test_returned_clients_carry_every_field_of_the_reference_response(http, artu_items):
    _, example = reference_examples()
    sent = artu_items(1)[0]

    client = post_batch(http, [sent]).json()["data"][0]

    assert set(client) == set(example["data"][0])
    assert set(client["employment"]) == set(example["data"][0]["employment"])
    assert {key: client[key] for key in sent} == sent
    created = datetime.datetime.fromisoformat(client["createdAt"])
    assert created.tzinfo is not None and client["updatedAt"] == client["createdAt"]
    born, today = datetime.date.fromisoformat(sent["birthDate"]), datetime.date.today()
    assert client["age"] == today.year - born.year - ((today.month, today.day) < (born.month, born.day))


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({"X-Environment": "test"}, 401, "unauthorized"),
        ({"X-Environment": "test", "Authorization": "Bearer sk_test_other"}, 401, "unauthorized"),
        ({"Authorization": "TOKEN", "X-Environment": "production"}, 401, "unauthorized"),
        ({"Authorization": "Bearer TOKEN"}, 400, "invalid_environment"),
        ({"Authorization": "Bearer TOKEN", "X-Environment": "prod"}, 400, "invalid_environment"),
        ({"Authorization": "Bearer sk_test_noperm", "X-Environment": "test"}, 403, "forbidden"),
    ],
)
def test_key_and_environment_are_checked_first(artu, artu_items, headers, status, code):
    headers = {name: value.replace("TOKEN", artu.token) for name, value in headers.items()}

    response = httpx.post(f"{artu.url}/clients/batch", json={"items": artu_items(1)}, headers=headers)

    assert (response.status_code, response.json()["error"]["code"]) == (status, code)
    assert artu.clients("test") == []


@pytest.mark.parametrize(
    ("body", "paths"),
    [
        ({"items": []}, [("items", "too_small")]),
        ({}, [("items", "required")]),
        ({"items": {}}, [("items", "invalid_type")]),
        ({"items": [{"type": "individual", "name": "A"}], "atomic": "yes"}, [("atomic", "invalid_type")]),
        ({"items": [{"type": "individual", "name": "A"}], "extra": 1}, [("extra", "unrecognized_key")]),
    ],
)
def test_a_malformed_request_is_refused_with_validation_errors(http, body, paths):
    response = http.post("/clients/batch", json=body, headers={"X-Environment": "test"})

    assert response.status_code == 422
    assert error_paths(response) == paths


def test_251_items_are_refused_and_not_json_is_400(http, artu_items):
    assert error_paths(post_batch(http, artu_items(251))) == [("items", "too_big")]
    response = http.post("/clients/batch", content=b"{nope", headers={"X-Environment": "test"})
    assert (response.status_code, response.json()["error"]["code"]) == (400, "invalid_body")


@pytest.mark.parametrize(
    ("change", "path", "code"),
    [
        ({"name": 5}, "name", "invalid_type"),
        ({"name": " "}, "name", "too_small"),
        ({"type": "person"}, "type", "invalid_enum_value"),
        ({"birthDate": "17/05/1990"}, "birthDate", "invalid_date"),
        ({"birthDate": "1990-02-30"}, "birthDate", "invalid_date"),
        ({"scopes": "MX"}, "scopes", "invalid_type"),
        ({"scopes": ["MX", 3]}, "scopes[1]", "invalid_type"),
        ({"metadata": ["a"]}, "metadata", "invalid_type"),
        ({"nationalities": "MX,US"}, "nationalities", "invalid_string"),
        ({"nationalities": "Mexicana"}, "nationalities", "invalid_string"),
        ({"nationalities": ["MX", 3]}, "nationalities[1]", "invalid_type"),
        ({"nationalities": ["MX", "MX,US"]}, "nationalities[1]", "invalid_string"),
        ({"nationalities": {"MX": 1}}, "nationalities", "invalid_type"),
        ({"externalId": 12}, "externalId", "invalid_type"),
        ({"email": "a@b.mx"}, "email", "unrecognized_key"),
        ({"scopeData": {"MX": {"rfc": "abcd900101xy1"}}}, "scopeData.MX.rfc", "invalid_format"),
        ({"scopeData": {"MX": {"curp": "GALM900517MDFRPR0"}}}, "scopeData.MX.curp", "invalid_format"),
        (
            {"scopeData": {"MX": {"actividadVulnerable": {"XYZ": {}}}}},
            "scopeData.MX.actividadVulnerable.XYZ",
            "unrecognized_key",
        ),
        (
            {"scopeData": {"MX": {"actividadVulnerable": {"ARI": {"username": "x"}}}}},
            "scopeData.MX.actividadVulnerable.ARI.username",
            "unrecognized_key",
        ),
        (
            {"scopeData": {"MX": {"actividadVulnerable": {"AVI": {"username": 1}}}}},
            "scopeData.MX.actividadVulnerable.AVI.username",
            "invalid_type",
        ),
        (
            {"scopeData": {"MX": {"cnbv": {"TRANSMISOR": {"numeroCuenta": 1}}}}},
            "scopeData.MX.cnbv.TRANSMISOR.numeroCuenta",
            "invalid_type",
        ),
        ({"scopeData": {"CA": {}}}, "scopeData.CA", "unrecognized_key"),
    ],
)
def test_each_field_is_type_checked_and_the_atomic_batch_stores_nothing(http, artu, artu_items, change, path, code):
    items = artu_items(4)
    items[3] = items[3] | change

    response = post_batch(http, items)

    assert response.status_code == 422
    assert (f"items[3].{path}", code) in error_paths(response)
    assert artu.clients("test") == []


@pytest.mark.parametrize(
    ("client_type", "rfc", "curp", "errors"),
    [
        ("company", "ABC900101XY1", None, []),
        ("trust", "ABC900101XY1", None, []),
        ("company", "ABCD900101XY1", None, [("scopeData.MX.rfc", "invalid_format")]),
        ("individual", "ABC900101XY1", None, [("scopeData.MX.rfc", "invalid_format")]),
        ("company", None, "GALM900517MDFRPR01", [("scopeData.MX.curp", "not_allowed")]),
    ],
)
def test_rfc_length_follows_the_type_and_curp_is_for_persons(http, client_type, rfc, curp, errors):
    mx = {key: value for key, value in (("rfc", rfc), ("curp", curp)) if value}
    item = {"type": client_type, "name": "Alguien", "scopeData": {"MX": mx}}

    response = post_batch(http, [item], atomic=False)

    failed = response.json()["failed"]
    assert [(e["path"], e["code"]) for f in failed for e in f["error"]["validationErrors"]] == errors


def test_non_atomic_answers_in_the_sdk_form(http, artu, artu_items):
    items = artu_items(3)
    items[0]["scopeData"]["MX"]["rfc"] = "X"

    body = post_batch(http, items, atomic=False).json()

    assert body["atomic"] is False
    assert [s["index"] for s in body["succeeded"]] == [1, 2]
    assert [(f["index"], f["error"]["code"]) for f in body["failed"]] == [(0, "validation_error")]
    assert len(artu.clients("test")) == 2


def test_external_id_is_unique_per_environment_within_and_across_batches(http, artu, artu_items):
    first, second = artu_items(2)
    second["externalId"] = first["externalId"]

    body = post_batch(http, [first, second], atomic=False).json()
    again = post_batch(http, [first], atomic=False).json()
    live = post_batch(http, [first], env="live")

    assert [s["index"] for s in body["succeeded"]] == [0]
    assert body["failed"][0]["error"]["validationErrors"][0]["code"] == "conflict"
    assert again["failed"][0]["error"]["status"] == 409
    assert live.status_code == 200
    assert [len(artu.clients(env)) for env in ("test", "live")] == [1, 1]


def test_atomic_conflict_alone_is_409(http, artu_items):
    items = artu_items(2)
    post_batch(http, items[:1])

    response = post_batch(http, items)

    assert response.status_code == 409
    assert error_paths(response) == [("items[0].externalId", "conflict")]


def test_lookup_by_metadata(http, artu_items):
    item = artu_items(1)[0]
    created = post_batch(http, [item]).json()["data"][0]
    path = f"/clients/metadata/onboardingRecordId/{item['metadata']['onboardingRecordId']}"

    assert http.get(path, headers={"X-Environment": "test"}).json()["id"] == created["id"]
    assert http.get(path, headers={"X-Environment": "live"}).status_code == 404
    assert http.get(path).status_code == 400


def test_admin_endpoints_list_reset_and_count(http, artu, artu_items):
    post_batch(http, artu_items(2))
    http.get("/clients/metadata/k/v", headers={"X-Environment": "test"})

    stats = artu.stats()
    assert (stats["stats"]["requests_batch"], stats["stats"]["requests_lookup"], stats["stored"]["test"]) == (1, 1, 2)
    artu.reset()
    assert artu.clients("test") == [] and artu.stats()["stats"] == {}
    assert httpx.post(f"{artu.url}/_sandbox/faults", json={"rate_500": 2}).status_code == 400
    assert httpx.post(f"{artu.url}/_sandbox/faults", json={"next": [{"fault": "boom"}]}).status_code == 400


def test_random_faults_repeat_with_the_same_seed(http, artu):
    def statuses():
        artu.set_faults(seed=42, rate_429=0.2, rate_500=0.2)
        return [http.get("/clients/metadata/k/v", headers={"X-Environment": "test"}).status_code for _ in range(30)]

    first = statuses()

    assert first == statuses()
    assert {404, 429, 500} <= set(first)


def test_queued_faults_hit_only_their_endpoint_and_count(http, artu, artu_items):
    artu.set_faults(next=[{"fault": "server_error", "count": 2, "endpoint": "batch"}])

    lookup = http.get("/clients/metadata/k/v", headers={"X-Environment": "test"})
    batches = [post_batch(http, artu_items(1)).status_code for _ in range(3)]

    assert lookup.status_code == 404
    assert batches == [500, 500, 200]
    assert artu.stats()["stats"]["fault_server_error"] == 2


def test_rate_limit_sends_retry_after(http, artu, artu_items):
    artu.set_faults(retry_after=5, next=[{"fault": "rate_limit"}])

    response = post_batch(http, artu_items(1))

    assert (response.status_code, response.headers["Retry-After"]) == (429, "5")


def test_echo_key_answers_401_with_the_key_in_the_status_line_and_a_header(http, artu, artu_items):
    artu.set_faults(next=[{"fault": "echo_key"}])
    response = post_batch(http, artu_items(1))

    assert (response.status_code, response.json()) == (401, {})
    assert response.reason_phrase == f"Bad key Bearer {artu.token}"
    assert artu.token in response.headers["WWW-Authenticate"]
    assert artu.clients("test") == []


def test_eight_concurrent_requests_with_200_ms_latency_overlap(artu, artu_items):
    artu.set_faults(latency_ms=200)
    batches = [artu_items(5) for _ in range(8)]
    clients = [httpx.Client(base_url=artu.url, headers={"Authorization": f"Bearer {artu.token}"}) for _ in batches]
    statuses = []
    threads = [
        threading.Thread(target=lambda c, b: statuses.append(post_batch(c, b).status_code), args=pair)
        for pair in zip(clients, batches, strict=True)
    ]

    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    for client in clients:
        client.close()

    assert statuses == [200] * 8
    assert elapsed < 0.2 * 4  # one after the other it would take 1.6 s
    assert artu.stats()["stats"]["max_in_flight"] >= 4
    assert len(artu.clients("test")) == 40


def test_latency_range_stays_within_bounds(http, artu):
    artu.set_faults(latency_ms=[50, 80], seed=1)

    started = time.monotonic()
    http.get("/clients/metadata/k/v", headers={"X-Environment": "test"})

    assert 0.05 <= time.monotonic() - started < 0.5


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "example.com"])
def test_the_server_refuses_to_listen_beyond_loopback(host):
    with pytest.raises(ValueError, match="loopback"):
        SandboxServer(host, 0, token="t")


@pytest.mark.parametrize("faults", [{"latency_ms": -1}, {"latency_ms": [1, 2, 3]}, {"drop_rate": 0.6, "rate_500": 0.6}])
def test_fault_configuration_is_checked(faults):
    with pytest.raises(ValueError):
        FaultConfig(**faults)


@pytest.mark.parametrize("nationalities", ["MX", ["MX"], ["MX", "US"]])
def test_both_documented_nationality_forms_are_accepted(http, artu_items, nationalities):
    item = artu_items(1)[0] | {"nationalities": nationalities}

    response = post_batch(http, [item])

    assert response.status_code == 200
    assert response.json()["data"][0]["nationalities"] == nationalities
