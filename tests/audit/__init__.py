"""Audit trail tests: events written, the chain and its verification, the log page, export, admin, secrets."""

from django.db import connection, transaction
from django.db.models import Max

from onboarding.models import DATA_FIELDS, AuditAction, AuditEvent
from onboarding.services.audit import audit_event_write
from tests.factories import ClientRecordFactory

AUDIT_TABLES = ("onboarding_auditevent", "onboarding_auditchainhead")


def last_seq() -> int:
    return AuditEvent.objects.aggregate(m=Max("seq"))["m"] or 0


def events_since(seq: int) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(seq__gt=seq).order_by("seq"))


def actions_since(seq: int) -> list[str]:
    return [e.action for e in events_since(seq)]


def write(actor=None, action=AuditAction.RECORD_UPDATED, **fields) -> AuditEvent:
    with transaction.atomic():
        return audit_event_write(actor=actor, action=action, **fields)


def record_data(**overrides) -> dict:
    """Valid form data for `record_create`, from the factory's defaults."""
    built = ClientRecordFactory.build()
    return {f: getattr(built, f) for f in DATA_FIELDS} | overrides


def tamper(sql: str, params=()) -> None:
    """Run raw SQL against the audit tables as an intruder who owns them would.

    On PostgreSQL the triggers of the events and chain head tables are switched off for this statement only; the
    test's own transaction rolls the ALTER TABLE back with everything else. ALTER TABLE refuses to run while
    deferred foreign-key checks are queued, so they are run first.
    """
    postgresql = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        if postgresql:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            for table in AUDIT_TABLES:
                cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        cursor.execute(sql, params)
        if postgresql:
            for table in AUDIT_TABLES:
                cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def as_superuser(sql: str) -> None:
    """Run raw SQL on PostgreSQL as a database superuser would: with `session_replication_role = replica`, under
    which no ordinary trigger fires. Only for the statement; the test's transaction rolls it back."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # TRUNCATE refuses to run with checks still queued
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(sql)
        cursor.execute("SET LOCAL session_replication_role = origin")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
