"""On PostgreSQL the audit tables defend themselves: events cannot be truncated, the chain head only moves forward."""

import pytest
from django.db import DatabaseError, connection, transaction

from onboarding.models import AuditChainHead, AuditEvent
from onboarding.services.audit import GENESIS_HASH, audit_chain_verify
from tests.audit import write

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.postgres_only,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the audit triggers exist only on PostgreSQL"),
]


@pytest.fixture
def chain(capturista) -> list[int]:
    return [write(capturista, reason=f"change {i}").seq for i in range(5)]


def refused(sql: str, params=None, *, match: str, intact: bool = True) -> None:
    """The statement fails, and the chain is exactly what it was."""
    events, head = AuditEvent.objects.count(), AuditChainHead.objects.get(pk=1)
    with pytest.raises(DatabaseError, match=match), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # TRUNCATE refuses to run with checks still queued
        cursor.execute(sql, params)
    assert AuditEvent.objects.count() == events
    after = AuditChainHead.objects.get(pk=1)
    assert (after.last_seq, after.last_hash) == (head.last_seq, head.last_hash)
    assert audit_chain_verify().ok is intact


@pytest.mark.parametrize(
    "sql",
    [
        "TRUNCATE onboarding_auditevent",
        "TRUNCATE onboarding_auditchainhead",
        "TRUNCATE onboarding_auditevent, onboarding_auditchainhead",
        "TRUNCATE onboarding_auditevent, onboarding_auditchainhead RESTART IDENTITY CASCADE",
    ],
)
@pytest.mark.usefixtures("chain")
def test_the_audit_tables_refuse_truncate(sql):
    refused(sql, match="cannot be truncated")


@pytest.mark.usefixtures("chain")
def test_the_chain_head_refuses_delete():
    refused("DELETE FROM onboarding_auditchainhead", match="never deleted")


def test_the_chain_head_refuses_to_move_back(chain):
    previous = AuditEvent.objects.get(seq=chain[-2])
    refused(
        "UPDATE onboarding_auditchainhead SET last_seq = %s, last_hash = %s",
        [previous.seq, previous.hash],
        match="only moves forward",
    )
    refused(
        "UPDATE onboarding_auditchainhead SET last_seq = 0, last_hash = %s", [GENESIS_HASH], match="only moves forward"
    )


def test_the_chain_head_refuses_a_new_hash_for_the_same_event(chain):
    refused("UPDATE onboarding_auditchainhead SET last_hash = %s", ["f" * 64], match="only moves forward")


def test_the_chain_head_refuses_to_move_past_the_last_event(chain):
    refused(
        "UPDATE onboarding_auditchainhead SET last_seq = %s, last_hash = %s",
        [chain[-1] + 10, "f" * 64],
        match="only moves forward",
    )


def test_the_chain_head_refuses_to_move_to_an_event_that_does_not_continue_it(chain):
    # An event inserted behind the writer's back, well-formed but linking to an older event than the head.
    tip = AuditEvent.objects.get(seq=chain[-1])
    forged = AuditEvent.objects.get(seq=chain[-2])
    forged.pk, forged.seq, forged.hash = None, tip.seq + 1, "e" * 64
    AuditEvent.objects.bulk_create([forged])
    refused(
        "UPDATE onboarding_auditchainhead SET last_seq = %s, last_hash = %s",
        [forged.seq, forged.hash],
        match="only moves forward",
        intact=False,  # the forged event itself breaks the chain
    )


@pytest.mark.usefixtures("chain")
def test_a_restarted_or_second_chain_head_is_refused():
    refused(
        "INSERT INTO onboarding_auditchainhead (id, last_seq, last_hash) VALUES (2, 0, %s)",
        [GENESIS_HASH],
        match="empty trail",
    )


def test_the_writer_still_moves_the_head_forward(chain, capturista):
    event = write(capturista, reason="later")
    head = AuditChainHead.objects.get(pk=1)
    assert (head.last_seq, head.last_hash) == (event.seq, event.hash) and event.seq == chain[-1] + 1


@pytest.mark.usefixtures("chain")
def test_the_flush_setting_lets_only_the_owner_truncate():
    """The test suite empties its database with TRUNCATE after transactional tests, under this setting; a role
    that was granted TRUNCATE but does not own the table gets nothing from it."""
    intruder = f"{connection.settings_dict['NAME']}_intruder"
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # TRUNCATE refuses to run with checks still queued
        cursor.execute(f"CREATE ROLE {intruder}")  # rolled back with the test's transaction
        cursor.execute(f"GRANT TRUNCATE ON onboarding_auditevent TO {intruder}")
    with pytest.raises(DatabaseError, match="cannot be truncated"), transaction.atomic(), connection.cursor() as cur:
        cur.execute(f"SET LOCAL ROLE {intruder}")
        cur.execute("SET LOCAL onboarding.audit_truncate = 'allowed'")
        cur.execute("TRUNCATE onboarding_auditevent")
    assert audit_chain_verify().ok
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL onboarding.audit_truncate = 'allowed'")
        cursor.execute("TRUNCATE onboarding_auditevent")
    assert not AuditEvent.objects.exists()
