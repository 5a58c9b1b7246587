"""Tolerant parsing of Artu's answers (the [assumed] shapes), through ArtuClient on an httpx.MockTransport."""

import email.utils
import json
import logging
import time
import uuid

import httpx
import pytest
from django.conf import settings

from onboarding.artu import wire
from onboarding.artu.client import (
    ArtuAmbiguous,
    ArtuAuthError,
    ArtuClient,
    ArtuConflict,
    ArtuError,
    ArtuRateLimited,
    ArtuRequestRefused,
    ArtuServerError,
    ArtuUnavailable,
)
from onboarding.artu.wire import Issue

KEY = settings.ARTU_RECORD_METADATA_KEY


def items(count: int) -> list[dict]:
    return [{"type": "individual", "name": f"N{i}", "metadata": {KEY: str(uuid.uuid4())}} for i in range(count)]


def client_for(item: dict, **extra) -> dict:
    return {"id": str(uuid.uuid4()), "createdAt": "2026-01-02T03:04:05Z", **item, **extra}


def mock_client(handler) -> ArtuClient:
    return ArtuClient(base_url="https://api.artu.test", api_key="sk_unit", transport=httpx.MockTransport(handler))


def answer(status: int, body=None, *, text: str | None = None, headers=None):
    def handler(request: httpx.Request) -> httpx.Response:
        if text is not None:
            return httpx.Response(status, text=text, headers=headers)
        return httpx.Response(status, json=body, headers=headers)

    return handler


def outcomes(result) -> list[str]:
    return [r.outcome.value for r in result.items]


def test_the_request_carries_bearer_key_environment_and_the_documented_body():
    seen = {}
    sent = items(2)

    def handler(request):
        seen.update(request=request, body=json.loads(request.content))
        return httpx.Response(200, json={"atomic": False, "data": [client_for(i) for i in sent]})

    with mock_client(handler) as client:
        client.create_clients(sent, atomic=False, environment="live")

    request = seen["request"]
    assert (request.method, request.url.path) == ("POST", "/clients/batch")
    assert request.headers["Authorization"] == "Bearer sk_unit"
    assert request.headers["X-Environment"] == "live"
    assert request.headers["Content-Type"] == "application/json"
    assert seen["body"] == {"items": sent, "atomic": False}


def test_atomic_answer_matches_items_by_position():
    sent = items(3)

    with mock_client(answer(200, {"atomic": True, "data": [client_for(i) for i in sent]})) as client:
        result = client.create_clients(sent)

    assert outcomes(result) == ["created"] * 3
    assert [r.client["metadata"][KEY] for r in result.items] == [i["metadata"][KEY] for i in sent]


def test_sdk_form_is_matched_by_index_in_any_order():
    sent = items(4)
    body = {
        "atomic": False,
        "succeeded": [{"index": 3, "data": client_for(sent[3])}, {"index": 0, "data": client_for(sent[0])}],
        "failed": [
            {"index": 2, "error": {"message": "Invalid RFC", "code": "invalid_format", "path": "scopeData.MX.rfc"}},
            {"index": 1, "error": {"message": "Invalid", "validationErrors": [{"path": "items[1].name", "code": "x"}]}},
        ],
    }

    result = wire.parse_batch(body, sent, atomic=False, key=KEY)

    assert outcomes(result) == ["created", "failed", "failed", "created"]
    assert result.items[2].issues == (Issue("Invalid RFC", "scopeData.MX.rfc", "invalid_format", 2),)
    assert result.items[1].issues == (Issue("x", "name", "x", 1),)


def test_data_and_errors_form_puts_created_clients_on_the_indexes_not_reported_failed():
    sent = items(4)
    body = {
        "atomic": False,
        "data": [client_for(sent[0]), client_for(sent[2])],
        "errors": [{"index": 1, "message": "bad"}, {"index": 3, "code": "conflict", "path": "externalId"}],
    }

    result = wire.parse_batch(body, sent, atomic=False, key=KEY)

    assert outcomes(result) == ["created", "failed", "created", "failed"]
    assert [str(i) for i in result.items[3].issues] == ["externalId: conflict"]


def test_data_form_with_missing_entries_is_matched_by_the_records_key_and_the_rest_is_unknown():
    sent = items(4)
    body = {"atomic": False, "data": [client_for(sent[2]), client_for({"name": "no key echoed"})], "errors": []}

    result = wire.parse_batch(body, sent, atomic=False, key=KEY)

    assert outcomes(result) == ["unknown", "unknown", "created", "unknown"]


def test_a_client_whose_key_belongs_to_another_item_goes_to_that_item():
    sent = items(2)
    body = {"atomic": False, "succeeded": [{"index": 0, "data": client_for(sent[1])}], "failed": []}

    result = wire.parse_batch(body, sent, atomic=False, key=KEY)

    assert outcomes(result) == ["unknown", "created"]


def test_an_index_claimed_twice_is_unknown():
    sent = items(2)
    body = {
        "succeeded": [{"index": 0, "data": client_for(sent[0])}, {"index": 1, "data": client_for(sent[1])}],
        "failed": [{"index": 1, "error": {"message": "also failed?"}}],
    }

    assert outcomes(wire.parse_batch(body, sent, atomic=False, key=KEY)) == ["created", "unknown"]


def test_a_failed_entry_without_any_message_still_counts_as_failed():
    sent = items(1)

    result = wire.parse_batch({"succeeded": [], "failed": [{"index": 0}]}, sent, atomic=False, key=KEY)

    assert outcomes(result) == ["failed"]
    assert result.items[0].issues[0].message == wire.NO_MESSAGE


@pytest.mark.parametrize(
    "body",
    [
        None,
        [],
        "OK",
        {},
        {"data": "nope"},
        {"atomic": True, "data": [{"id": "not-a-uuid"}, {"id": 5}, None]},
        {"succeeded": [{"index": 7, "data": {}}], "failed": [{"index": 9}, {"index": "x"}, "junk"]},
        {"data": [], "errors": [{"no": "index"}]},
    ],
)
def test_garbage_answers_leave_every_item_unknown_never_failed(body):
    assert outcomes(wire.parse_batch(body, items(3), atomic=True, key=KEY)) == ["unknown"] * 3


@pytest.mark.parametrize("text", ["", "<html>502 Bad Gateway</html>", "{not json"])
def test_a_2xx_that_is_not_json_is_unknown(text):
    with mock_client(answer(200, text=text)) as client:
        result = client.create_clients(items(2))

    assert outcomes(result) == ["unknown", "unknown"]
    assert result.unknown == list(result.items)


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, ArtuRequestRefused),
        (401, ArtuAuthError),
        (403, ArtuAuthError),
        (404, ArtuRequestRefused),
        (409, ArtuConflict),
        (413, ArtuRequestRefused),
        (422, ArtuRequestRefused),
        (429, ArtuRateLimited),
        (500, ArtuServerError),
        (502, ArtuServerError),
        (503, ArtuServerError),
    ],
)
def test_status_codes_raise_their_error_type(status, error):
    with mock_client(answer(status, {"message": "nope"})) as client, pytest.raises(error) as raised:
        client.create_clients(items(1))

    assert raised.value.status == status
    assert "nope" in str(raised.value)


@pytest.mark.parametrize(
    ("body", "message", "code", "issues"),
    [
        ({"message": "Bad thing", "code": "bad"}, "Bad thing", "bad", []),
        ({"error": "Plain error"}, "Plain error", None, []),
        (
            {
                "error": {
                    "message": "Invalid",
                    "code": "validation_error",
                    "validationErrors": [
                        {"path": "items[3].scopeData.MX.rfc", "code": "invalid_format", "message": "Invalid RFC"}
                    ],
                }
            },
            "Invalid",
            "validation_error",
            [Issue("Invalid RFC", "scopeData.MX.rfc", "invalid_format", 3)],
        ),
        (
            {"message": "Invalid", "validationErrors": [{"path": ["items", 0, "name"], "message": "Required"}]},
            "Invalid",
            None,
            [Issue("Required", "name", None, 0)],
        ),
        (  # JSON Pointers: the item's index and the path inside it, as with the other forms
            {
                "message": "Invalid",
                "validationErrors": [
                    {"path": "/items/19/nationalities", "code": "invalid_string", "message": "Expected a code"},
                    {"path": "/items/2/scopeData/MX/rfc", "message": "Invalid RFC"},
                    {"path": "/atomic", "message": "Expected boolean"},
                ],
            },
            "Invalid",
            None,
            [
                Issue("Expected a code", "nationalities", "invalid_string", 19),
                Issue("Invalid RFC", "scopeData.MX.rfc", None, 2),
                Issue("Expected boolean", "atomic"),
            ],
        ),
        (
            {"issues": [{"path": "atomic", "message": "Expected boolean"}]},
            None,
            None,
            [Issue("Expected boolean", "atomic")],
        ),
        ("a plain text body", "a plain text body", None, []),
        (["odd"], None, None, []),
    ],
)
def test_error_bodies_are_read_tolerantly(body, message, code, issues):
    parsed = wire.parse_error(body)

    assert (parsed.message, parsed.code, list(parsed.issues)) == (message, code, issues)


def test_an_error_without_a_body_uses_the_http_reason():
    with mock_client(answer(422, text="")) as client, pytest.raises(ArtuRequestRefused) as refused:
        client.create_clients(items(1))

    assert str(refused.value) == "Unprocessable Entity (HTTP 422)"


@pytest.mark.parametrize(
    ("header", "expected"),
    [("3", 3.0), ("0.5", 0.5), ("-2", 0.0), ("soon", None), (None, None)],
)
def test_retry_after_in_seconds(header, expected):
    headers = {"Retry-After": header} if header is not None else {}
    with mock_client(answer(429, {}, headers=headers)) as client, pytest.raises(ArtuRateLimited) as limited:
        client.create_clients(items(1))

    assert limited.value.retry_after == expected


def test_retry_after_as_an_http_date():
    when = email.utils.formatdate(time.time() + 30, usegmt=True)

    assert 28 <= wire.parse_retry_after(when) <= 30


@pytest.mark.parametrize(
    ("error", "raised"),
    [
        (httpx.ConnectError("refused"), ArtuUnavailable),
        (httpx.ConnectTimeout("slow"), ArtuUnavailable),
        (httpx.PoolTimeout("busy"), ArtuUnavailable),
        (httpx.UnsupportedProtocol("ftp://"), ArtuUnavailable),
        (httpx.ReadTimeout("late"), ArtuAmbiguous),
        (httpx.WriteTimeout("late"), ArtuAmbiguous),
        (httpx.RemoteProtocolError("Server disconnected"), ArtuAmbiguous),
        (httpx.ReadError("reset"), ArtuAmbiguous),
    ],
)
def test_transport_failures_say_whether_the_request_may_have_reached_artu(error, raised):
    def handler(request):
        raise error

    with mock_client(handler) as client, pytest.raises(raised) as caught:
        client.create_clients(items(1))

    assert caught.value.maybe_committed is (raised is ArtuAmbiguous)


@pytest.mark.parametrize("shape", ["object", "data", "list"])
def test_lookup_reads_the_client_in_every_shape(shape):
    found = client_for(items(1)[0])
    body = {"object": found, "data": {"data": found}, "list": {"data": [found]}}[shape]
    seen = {}

    def handler(request):
        seen["path"] = request.url.raw_path
        return httpx.Response(200, json=body)

    with mock_client(handler) as client:
        assert client.find_by_metadata(KEY, "a/b c") == found

    assert seen["path"] == f"/clients/metadata/{KEY}/a%2Fb%20c".encode()


@pytest.mark.parametrize("body", [{}, {"data": []}, {"data": [{"id": str(uuid.uuid4())}] * 2}, "x"])
def test_an_unreadable_lookup_answer_is_ambiguous_not_absent(body):
    with mock_client(answer(200, body)) as client, pytest.raises(ArtuAmbiguous):
        client.find_by_metadata(KEY, "v")


def test_lookup_not_found_is_none():
    with mock_client(answer(404, {"error": {"code": "not_found"}})) as client:
        assert client.find_by_metadata(KEY, "v") is None


def test_a_key_echoed_in_an_error_body_is_redacted():
    with mock_client(answer(400, {"message": "bad key sk_unit"})) as client, pytest.raises(ArtuRequestRefused) as err:
        client.create_clients(items(1))

    assert "sk_unit" not in str(err.value)
    assert "sk_unit" not in json.dumps(err.value.body)


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(lambda body: json.dumps(body, ensure_ascii=False), id="as-is"),
        pytest.param(lambda body: json.dumps(body).replace("sk_unit", "sk\\u005funit"), id="escaped"),
    ],
)
def test_the_key_echoed_back_by_artu_is_redacted_however_it_is_written(raw):
    sent = items(1)
    sent[0]["name"] = "Núñez sk_unit"
    body = {"atomic": True, "data": [client_for(sent[0])]}

    def handler(request):
        return httpx.Response(200, text=raw(body), headers={"Content-Type": "application/json"})

    with mock_client(handler) as client:
        result = client.create_clients(sent)

    assert result.items[0].client["name"] == "Núñez [secure]"
    assert "sk_unit" not in json.dumps(result.body)


def test_an_answer_that_is_not_utf8_json_is_still_read_and_redacted():
    sent = items(1)
    sent[0]["name"] = "Peña sk_unit"
    text = json.dumps({"atomic": True, "data": [client_for(sent[0])]}, ensure_ascii=False)

    def handler(request):
        return httpx.Response(200, content=text.encode("utf-16"), headers={"Content-Type": "application/json"})

    with mock_client(handler) as client:
        result = client.create_clients(sent)

    assert outcomes(result) == ["created"]
    assert result.items[0].client["name"] == "Peña [secure]"


def test_a_key_with_a_slash_written_escaped_is_redacted_in_answers_and_errors():
    key = "sk_live/AbC+123"
    sent = items(1)
    sent[0]["name"] = f"echo {key}"

    def answer_with(status, body):
        text = json.dumps(body).replace("/", "\\/")  # JSON may escape "/" as "\/"
        return lambda request: httpx.Response(status, text=text, headers={"Content-Type": "application/json"})

    transport = httpx.MockTransport(answer_with(200, {"atomic": True, "data": [client_for(sent[0])]}))
    with ArtuClient(base_url="https://api.artu.test", api_key=key, transport=transport) as client:
        result = client.create_clients(sent)
    assert key not in json.dumps(result.body) and result.items[0].client["name"] == "echo [secure]"

    transport = httpx.MockTransport(answer_with(400, {"message": f"bad key {key}"}))
    with ArtuClient(base_url="https://api.artu.test", api_key=key, transport=transport) as client:
        with pytest.raises(ArtuRequestRefused) as refused:
            client.create_clients(sent)
    assert key not in str(refused.value) and key not in json.dumps(refused.value.body)


def echoing_key(status: int, body, key: str = "sk_unit"):
    """An answer whose status line and WWW-Authenticate header repeat the key, as a careless gateway's might."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            status,
            json=body,
            headers={"WWW-Authenticate": f'Bearer error="invalid_token", error_description="Bad key Bearer {key}"'},
            extensions={"reason_phrase": f"Bad key Bearer {key}".encode()},
        )

    return handler


@pytest.mark.parametrize("body", [{}, []], ids=["object", "array"])
@pytest.mark.parametrize("status", [401, 403, 404, 422, 429, 500])
def test_a_key_in_the_reason_phrase_is_redacted_from_the_error_and_the_log(status, body, caplog):
    caplog.set_level(logging.DEBUG, logger="httpx")
    with mock_client(echoing_key(status, body)) as client, pytest.raises(ArtuError) as raised:
        client.create_clients(items(1))

    assert str(raised.value) == f"Bad key Bearer [secure] (HTTP {status})"
    assert "sk_unit" not in repr(raised.value) + repr(vars(raised.value))
    assert "Bad key Bearer [secure]" in caplog.text
    assert "sk_unit" not in caplog.text


def test_a_key_in_the_reason_phrase_of_a_lookup_is_redacted():
    with mock_client(echoing_key(401, {})) as client, pytest.raises(ArtuAuthError) as raised:
        client.find_by_metadata(KEY, "v")

    assert str(raised.value) == "Bad key Bearer [secure] (HTTP 401)"


@pytest.mark.parametrize("key", ['sk_live_"quoted"', "sk_live\\back", "sk_live_ñandú"])
def test_a_key_that_json_would_escape_is_redacted_from_the_body_and_the_reason(key):
    transport = httpx.MockTransport(
        lambda request: httpx.Response(
            400, json={"message": f"bad key {key}", "echo": {key: [key]}}, extensions={"reason_phrase": b"Bad"}
        )
    )
    with ArtuClient(base_url="https://api.artu.test", api_key=key, transport=transport) as client:
        with pytest.raises(ArtuRequestRefused) as refused:
            client.create_clients(items(1))

    assert str(refused.value) == "bad key [secure] (HTTP 400)"
    assert refused.value.body == {"message": "bad key [secure]", "echo": {"[secure]": ["[secure]"]}}


def test_a_long_text_answer_is_cut_after_the_key_is_redacted():
    text = "x" * 1995 + "sk_unit" + "y" * 100
    with mock_client(answer(502, text=text)) as client, pytest.raises(ArtuServerError) as failed:
        client.create_clients(items(1))

    assert failed.value.body == "x" * 1995 + "[secu"
    assert "sk_u" not in str(failed.value) + failed.value.body


def test_metadata_beyond_64_bit_integers_is_still_sent():
    sent = items(1)
    sent[0]["metadata"]["cuenta"] = 123456789012345678901234567890
    seen = {}

    def handler(request):
        seen["body"] = json.loads(request.content)
        return httpx.Response(200, json={"atomic": True, "data": [client_for(i) for i in sent]})

    with mock_client(handler) as client:
        assert outcomes(client.create_clients(sent)) == ["created"]
    assert seen["body"]["items"][0]["metadata"]["cuenta"] == 123456789012345678901234567890
