"""`verify_audit` walks the hash chain and names the first event an intruder edited, deleted or inserted."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command, execute_from_command_line
from django.db import DatabaseError, connection, transaction

from onboarding.models import AuditAction, AuditEvent, AuditVerification
from onboarding.services.audit import ChainProblem, audit_chain_verify, event_hash
from tests.audit import as_superuser, last_seq, tamper, write

pytestmark = pytest.mark.django_db

needs_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the append-only trigger exists only on PostgreSQL"
)


@pytest.fixture
def chain(capturista):
    """Five events after whatever the fixtures wrote; returns their sequence numbers."""
    return [write(capturista, reason=f"change {i}").seq for i in range(5)]


SHORTENED = ChainProblem.SHORTENED.label


def verify() -> str:
    with pytest.raises(CommandError) as failure:
        call_command("verify_audit", stdout=StringIO())
    assert failure.value.returncode == 1
    return str(failure.value)


def test_an_intact_chain_exits_zero_prints_the_count_and_is_recorded(chain):
    out = StringIO()
    call_command("verify_audit", stdout=out)
    assert f"intact: {chain[-1]} events verified" in out.getvalue()
    assert last_seq() == chain[-1] + 1  # the verification is itself an event
    run = AuditVerification.objects.get()
    assert run.ok and run.events_checked == chain[-1] and run.first_bad_seq is None
    assert AuditEvent.objects.filter(action=AuditAction.AUDIT_VERIFIED).count() == 1


def test_a_broken_chain_exits_non_zero_from_the_command_line(chain):
    tamper("UPDATE onboarding_auditevent SET reason = 'nothing happened' WHERE seq = %s", [chain[2]])
    with pytest.raises(SystemExit) as exited:
        execute_from_command_line(["manage.py", "verify_audit"])
    assert exited.value.code == 1


def test_an_edited_event_is_named_as_a_hash_mismatch(chain):
    tamper("UPDATE onboarding_auditevent SET reason = 'nothing happened' WHERE seq = %s", [chain[2]])
    message = verify()
    assert f"#{chain[2]} (hash mismatch)" in message
    run = AuditVerification.objects.get()
    assert not run.ok and run.first_bad_seq == chain[2]


def test_an_edit_that_also_rewrites_the_hash_breaks_the_next_link(chain):
    event = AuditEvent.objects.get(seq=chain[2])
    event.reason = "nothing happened"
    forged = event_hash(event)
    tamper("UPDATE onboarding_auditevent SET reason = %s, hash = %s WHERE seq = %s", [event.reason, forged, chain[2]])
    assert f"#{chain[3]} (broken link)" in verify()


def test_a_deleted_event_is_named_as_missing(chain):
    tamper("DELETE FROM onboarding_auditevent WHERE seq = %s", [chain[1]])
    assert f"#{chain[1]} (event missing)" in verify()


def test_deleting_the_latest_events_is_detected_through_the_chain_head(chain):
    tamper("DELETE FROM onboarding_auditevent WHERE seq >= %s", [chain[3]])
    assert f"#{chain[3]} ({SHORTENED}): the chain head says event #{chain[-1]} was written" in verify()


def test_an_emptied_event_table_is_detected_through_the_chain_head(chain):
    tamper("DELETE FROM onboarding_auditevent")
    message = verify()
    assert f"#1 ({SHORTENED}): the chain head says event #{chain[-1]} was written" in message
    assert "0 events read" in message


def test_a_deleted_chain_head_is_reported_rather_than_trusted(chain):
    tamper("DELETE FROM onboarding_auditchainhead")
    assert f"#{chain[-1] + 1} ({ChainProblem.HEAD_MISSING.label})" in verify()


def test_an_event_inserted_in_the_middle_breaks_the_link_of_the_one_after_it(chain, capturista):
    k = chain[2]
    # Make room at seq k (in two steps: a unique column cannot shift by one in place), then forge a
    # well-formed event there that links correctly to its predecessor.
    tamper("UPDATE onboarding_auditevent SET seq = seq + 1000000 WHERE seq >= %s", [k])
    tamper("UPDATE onboarding_auditevent SET seq = seq - 999999 WHERE seq >= 1000000")
    previous = AuditEvent.objects.get(seq=k - 1)
    forged = AuditEvent(
        seq=k,
        created_at=previous.created_at,
        actor=capturista,
        actor_username="capturista",
        actor_role="",
        action=AuditAction.RECORD_APPROVED,
        changes={},
        prev_hash=previous.hash,
    )
    forged.hash = event_hash(forged)
    AuditEvent.objects.bulk_create([forged])
    assert f"#{k + 1} (broken link)" in verify()


def test_an_event_appended_behind_the_writers_back_is_detected(chain, capturista):
    tip = AuditEvent.objects.get(seq=chain[-1])
    forged = AuditEvent(
        seq=tip.seq + 1,
        created_at=tip.created_at,
        actor=capturista,
        actor_username="capturista",
        actor_role="",
        action=AuditAction.RECORD_APPROVED,
        changes={},
        prev_hash=tip.hash,
    )
    forged.hash = event_hash(forged)
    AuditEvent.objects.bulk_create([forged])
    assert f"#{tip.seq + 1} (event added outside the audit writer)" in verify()


def test_verification_reads_the_chain_in_chunks(chain):
    report = audit_chain_verify(chunk_size=2)
    assert report.ok and report.events_checked == chain[-1]


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE onboarding_auditevent SET reason = 'x' WHERE seq = %s",
        "DELETE FROM onboarding_auditevent WHERE seq = %s",
    ],
)
@pytest.mark.usefixtures("chain")
@pytest.mark.postgres_only
@needs_postgresql
def test_the_postgresql_trigger_refuses_update_and_delete(sql):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, [1] if "%s" in sql else None)
    assert audit_chain_verify().ok


@pytest.mark.usefixtures("chain")
@pytest.mark.postgres_only
@needs_postgresql
def test_the_postgresql_trigger_refuses_orm_updates_and_deletes_too():
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(seq=1).update(reason="x")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(seq=1).delete()
    assert audit_chain_verify().ok


def anchor_from(output: str) -> str:
    """The SEQ:HASH an intact run prints on its `head:` line."""
    return next(line.split(": ", 1)[1] for line in output.splitlines() if line.startswith("head: "))


def run_verify(*args) -> str:
    out = StringIO()
    call_command("verify_audit", *args, stdout=out)
    return out.getvalue()


def rewrite_history_from(seq: int, reason: str) -> None:
    """What an intruder with write access and the hashing code would do: edit one event, then recompute the hash
    and link of every event after it and move the chain head, so that the chain is consistent again."""
    prev = AuditEvent.objects.get(seq=seq - 1).hash
    for event in AuditEvent.objects.filter(seq__gte=seq).order_by("seq"):
        if event.seq == seq:
            event.reason = reason
        event.prev_hash = prev
        event.hash = prev = event_hash(event)
        tamper(
            "UPDATE onboarding_auditevent SET reason = %s, prev_hash = %s, hash = %s WHERE seq = %s",
            [event.reason, event.prev_hash, event.hash, event.seq],
        )
    tamper("UPDATE onboarding_auditchainhead SET last_hash = %s WHERE id = 1", [prev])


def test_an_intact_run_prints_an_anchor_that_a_later_run_checks(chain, capturista):
    anchor = anchor_from(run_verify())
    assert anchor.split(":")[0] == str(chain[-1])
    assert AuditVerification.objects.get().head_hash == anchor.split(":")[1]
    write(capturista, reason="later work")  # the chain grows; the anchor still holds
    out = run_verify("--anchor", anchor)
    assert "intact" in out and "1 anchor(s) match" in out


def test_a_rewritten_and_recomputed_history_passes_the_chain_but_not_its_anchor(chain):
    anchor = anchor_from(run_verify())
    rewrite_history_from(chain[2], "nothing happened")
    assert "intact" in run_verify()  # the chain alone cannot tell
    with pytest.raises(CommandError) as failure:
        call_command("verify_audit", "--anchor", anchor, stdout=StringIO())
    assert failure.value.returncode == 1
    assert f"#{chain[-1]} (history rewritten since the anchor was taken)" in str(failure.value)
    assert not AuditVerification.objects.order_by("-pk").first().ok


def test_an_anchor_beyond_the_end_of_the_chain_is_reported_as_a_shortened_chain(chain):
    with pytest.raises(CommandError) as failure:
        call_command("verify_audit", "--anchor", f"{chain[-1] + 50}:{'a' * 64}", stdout=StringIO())
    assert failure.value.returncode == 1
    assert f"({SHORTENED}): the anchor says event #{chain[-1] + 50} existed" in str(failure.value)


def test_a_chain_cut_back_with_its_head_passes_alone_but_not_against_its_anchor(chain):
    anchor = anchor_from(run_verify())
    cut = AuditEvent.objects.get(seq=chain[1])
    tamper("DELETE FROM onboarding_auditevent WHERE seq > %s", [cut.seq])
    tamper("UPDATE onboarding_auditchainhead SET last_seq = %s, last_hash = %s", [cut.seq, cut.hash])
    # The chain alone cannot tell (this intact run appends its own event, #cut + 1): the anchor can.
    assert f"intact: {cut.seq} events verified" in run_verify()
    with pytest.raises(CommandError) as failure:
        call_command("verify_audit", "--anchor", anchor, stdout=StringIO())
    assert failure.value.returncode == 1
    message = str(failure.value)
    assert f"#{cut.seq + 2} ({SHORTENED}): the anchor says event #{anchor.split(':')[0]} existed" in message


@pytest.mark.postgres_only
@needs_postgresql
def test_a_superuser_who_empties_both_tables_is_caught_by_the_anchor(chain):
    """`session_replication_role = replica` silences every trigger: what a superuser can do, and what only an
    anchor kept outside the database catches once the chain head goes too."""
    anchor = anchor_from(run_verify())
    as_superuser("TRUNCATE onboarding_auditevent")
    assert f"the chain head says event #{chain[-1] + 1} was written" in verify()
    as_superuser("TRUNCATE onboarding_auditchainhead")
    out = run_verify()
    assert "intact: 0 events verified" in out and "The trail is empty" in out and "--anchor" in out
    with pytest.raises(CommandError) as failure:
        call_command("verify_audit", "--anchor", anchor, stdout=StringIO())
    assert failure.value.returncode == 1
    assert f"#2 ({SHORTENED}): the anchor says event #{chain[-1]} existed" in str(failure.value)


@pytest.mark.parametrize("anchor", ["12", "x:abc", f"0:{'a' * 64}", f"5:{'a' * 63}", f"5:{'g' * 64}"])
def test_a_malformed_anchor_is_refused_before_anything_is_read(chain, anchor):
    with pytest.raises(CommandError) as failure:
        call_command("verify_audit", "--anchor", anchor, stdout=StringIO())
    assert failure.value.returncode == 2 and "expected SEQ:HASH" in str(failure.value)
    assert not AuditVerification.objects.exists()


@pytest.mark.parametrize(
    "changes",
    [
        {"status": ["submitting", "submitted"], "artu_id": "a1", "n": 3, "ok": True, "none": None},
        {"status": [AuditAction.RECORD_SUBMITTED, "x"]},  # text enum members, as the services pass them
        {"messages": [{"message": "m", "path": "rfc"}], "when": "2026-01-01"},
        {"amount": 1.5, "nested": [[1, 2]]},
    ],
)
def test_what_is_hashed_is_what_the_database_gives_back(changes):
    import json

    from onboarding.services.audit import json_safe

    safe = json_safe(changes)
    assert safe == json.loads(json.dumps(changes))
    assert all(type(v) is not AuditAction for value in safe.values() if isinstance(value, list) for v in value)
    event = write(changes=changes)
    event.refresh_from_db()
    assert event.changes == safe
    assert event_hash(event) == event.hash
