"""Audit trail tests: events written, the chain and its verification, the log page, export, admin, secrets."""

from django.db import connection, transaction
from django.db.models import Max

from onboarding.models import DATA_FIELDS, AuditAction, AuditEvent
from onboarding.services.audit import audit_event_write
from tests.factories import ClientRecordFactory


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
    """Run raw SQL against the audit table as an intruder with database access would.

    On PostgreSQL the append-only trigger is switched off for this statement only; the test's own transaction
    rolls the ALTER TABLE back with everything else. ALTER TABLE refuses to run while deferred foreign-key checks
    are queued, so they are run first.
    """
    postgresql = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        if postgresql:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("ALTER TABLE onboarding_auditevent DISABLE TRIGGER USER")
        cursor.execute(sql, params)
        if postgresql:
            cursor.execute("ALTER TABLE onboarding_auditevent ENABLE TRIGGER USER")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
