"""ArtuClient against the sandbox over real HTTP on loopback."""

import socket
import uuid

import pytest
from django.conf import settings
from django.db import transaction

from onboarding.artu.client import (
    ArtuAmbiguous,
    ArtuAuthError,
    ArtuCalledInTransaction,
    ArtuClient,
    ArtuConflict,
    ArtuError,
    ArtuRateLimited,
    ArtuRequestRefused,
    ArtuServerError,
    ArtuUnavailable,
)
from onboarding.artu.wire import Outcome

KEY = settings.ARTU_RECORD_METADATA_KEY


def record_key(item):
    return item["metadata"][KEY]


def test_three_items_come_back_as_three_created_clients(artu, artu_items):
    items = artu_items(3)

    with ArtuClient() as client:
        result = client.create_clients(items)

    assert [r.outcome for r in result.items] == [Outcome.CREATED] * 3
    ids = [r.artu_id for r in result.created]
    assert len({uuid.UUID(i) for i in ids}) == 3
    assert [r.client["metadata"][KEY] for r in result.items] == [record_key(i) for i in items]
    assert sorted(c["id"] for c in artu.clients("test")) == sorted(ids)


def test_atomic_batch_with_one_invalid_item_is_refused_whole(artu, artu_items):
    items = artu_items(3)
    items[1]["scopeData"]["MX"]["rfc"] = "NOT-AN-RFC"

    with ArtuClient() as client, pytest.raises(ArtuRequestRefused) as refused:
        client.create_clients(items, atomic=True)

    assert refused.value.status == 422
    assert [(i.index, i.path) for i in refused.value.issues] == [(1, "scopeData.MX.rfc")]
    assert not refused.value.transient
    assert artu.clients("test") == []


def test_non_atomic_batch_creates_the_valid_items_and_reports_the_invalid_one(artu, artu_items):
    items = artu_items(3)
    items[1]["scopeData"]["MX"]["curp"] = "BAD"

    with ArtuClient() as client:
        result = client.create_clients(items, atomic=False)

    assert [r.outcome for r in result.items] == [Outcome.CREATED, Outcome.FAILED, Outcome.CREATED]
    assert [(i.path, i.code) for i in result.items[1].issues] == [("scopeData.MX.curp", "invalid_format")]
    stored = {c["metadata"][KEY] for c in artu.clients("test")}
    assert stored == {record_key(items[0]), record_key(items[2])}


def test_a_wrong_key_is_an_authentication_error(artu, artu_items):
    with ArtuClient(api_key="sk_test_wrong") as client, pytest.raises(ArtuAuthError) as error:
        client.create_clients(artu_items(1))

    assert error.value.status == 401
    assert artu.clients("test") == []


def test_a_key_without_permission_is_refused_with_403(artu, artu_items):
    with ArtuClient(api_key="sk_test_noperm", environment="live") as client, pytest.raises(ArtuAuthError) as error:
        client.create_clients(artu_items(1))

    assert error.value.status == 403
    assert "live:clients:create" in str(error.value)


def test_an_existing_external_id_is_a_conflict(artu, artu_items):
    items = artu_items(2)
    with ArtuClient() as client:
        client.create_clients(items[:1])
        again = [items[1] | {"externalId": items[0]["externalId"]}, *artu_items(1)]

        with pytest.raises(ArtuConflict) as conflict:
            client.create_clients(again, atomic=True)
        partial = client.create_clients(again, atomic=False)

    assert conflict.value.status == 409
    assert [(i.index, i.path) for i in conflict.value.issues] == [(0, "externalId")]
    assert [r.outcome for r in partial.items] == [Outcome.FAILED, Outcome.CREATED]
    assert partial.items[0].issues[0].code == "conflict"
    assert len(artu.clients("test")) == 2


def test_rate_limit_carries_retry_after_and_stores_nothing(artu, artu_items):
    artu.set_faults(retry_after=7, next=[{"fault": "rate_limit"}])

    with ArtuClient() as client, pytest.raises(ArtuRateLimited) as limited:
        client.create_clients(artu_items(2))

    assert (limited.value.status, limited.value.retry_after) == (429, 7.0)
    assert limited.value.transient and not limited.value.maybe_committed
    assert artu.clients("test") == []


def test_server_error_is_transient_and_may_have_committed(artu, artu_items):
    artu.set_faults(next=[{"fault": "server_error"}])

    with ArtuClient() as client, pytest.raises(ArtuServerError) as error:
        client.create_clients(artu_items(1))

    assert error.value.status == 500
    assert error.value.transient and error.value.maybe_committed


def test_connection_dropped_before_processing_is_ambiguous_and_nothing_is_found(artu, artu_items):
    items = artu_items(2)
    artu.set_faults(next=[{"fault": "drop"}])

    with ArtuClient() as client:
        with pytest.raises(ArtuAmbiguous) as error:
            client.create_clients(items)
        found = client.find_by_metadata(KEY, record_key(items[0]))
        retried = client.create_clients(items)

    assert error.value.maybe_committed
    assert found is None
    assert len(retried.created) == 2
    assert len(artu.clients("test")) == 2


def test_committed_then_dropped_is_ambiguous_and_the_lookup_finds_the_client(artu, artu_items):
    items = artu_items(2)
    artu.set_faults(next=[{"fault": "commit_then_drop", "endpoint": "batch"}])

    with ArtuClient() as client:
        with pytest.raises(ArtuAmbiguous):
            client.create_clients(items)
        found = [client.find_by_metadata(KEY, record_key(item)) for item in items]

    stored = {c["metadata"][KEY]: c["id"] for c in artu.clients("test")}
    assert [f["id"] for f in found] == [stored[record_key(item)] for item in items]


def test_committed_then_answered_too_late_is_ambiguous(artu, artu_items, settings):
    settings.ARTU_TIMEOUT = 0.3
    items = artu_items(1)
    artu.set_faults(late_ms=900, next=[{"fault": "commit_then_late", "endpoint": "batch"}])

    with ArtuClient() as client:
        with pytest.raises(ArtuAmbiguous):
            client.create_clients(items)
        found = client.find_by_metadata(KEY, record_key(items[0]))

    assert found is not None
    assert found["externalId"] == items[0]["externalId"]


def test_nothing_listening_is_unavailable_and_safe_to_resend(artu_items):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    with ArtuClient(base_url=f"http://127.0.0.1:{port}") as client, pytest.raises(ArtuUnavailable) as error:
        client.create_clients(artu_items(1))

    assert error.value.transient and not error.value.maybe_committed


@pytest.mark.parametrize("count", [0, 251])
def test_batch_size_outside_1_to_250_is_refused_before_sending(artu, artu_items, count):
    with ArtuClient() as client, pytest.raises(ValueError, match="1 to 250"):
        client.create_clients(artu_items(count))

    assert "requests" not in artu.stats()["stats"]


def test_a_batch_of_250_is_created(artu, artu_items):
    with ArtuClient() as client:
        result = client.create_clients(artu_items(250))

    assert len(result.created) == 250
    assert len(artu.clients("test")) == 250


def test_an_unknown_environment_is_refused_before_sending(artu, artu_items):
    with ArtuClient() as client, pytest.raises(ValueError, match="test' or 'live"):
        client.create_clients(artu_items(1), environment="production")


def test_live_and_test_are_kept_apart(artu, artu_items):
    items = artu_items(1)

    with ArtuClient() as client:
        live = client.create_clients(items, environment="live")
        in_test = client.find_by_metadata(KEY, record_key(items[0]))
        in_live = client.find_by_metadata(KEY, record_key(items[0]), environment="live")
        # The same externalId is free in the other environment.
        test = client.create_clients(items, environment="test")

    assert in_test is None
    assert in_live["id"] == live.items[0].artu_id
    assert test.items[0].artu_id != live.items[0].artu_id
    assert [len(artu.clients(env)) for env in ("test", "live")] == [1, 1]


def test_lookup_of_an_unknown_value_is_none(artu):
    with ArtuClient() as client:
        assert client.find_by_metadata(KEY, str(uuid.uuid4())) is None


def test_every_error_is_an_artu_error():
    for error in (ArtuAuthError, ArtuRequestRefused, ArtuConflict, ArtuRateLimited, ArtuServerError, ArtuAmbiguous):
        assert issubclass(error, ArtuError)
    assert issubclass(ArtuUnavailable, ArtuError)


@pytest.mark.django_db
def test_the_client_refuses_to_call_inside_a_transaction(artu, artu_items):
    with transaction.atomic(), ArtuClient() as client, pytest.raises(ArtuCalledInTransaction):
        client.create_clients(artu_items(1))

    assert "requests" not in artu.stats()["stats"]
