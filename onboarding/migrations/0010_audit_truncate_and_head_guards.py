"""On PostgreSQL, the audit trail cannot be emptied, and the chain head can only move forward.

0003 refuses UPDATE and DELETE of events, but row triggers do not fire on TRUNCATE, and the chain head (the one row
that says how far the chain went) had no guard at all: truncating both tables left a trail that verified as
"intact: 0 events". Now:

- TRUNCATE of either table is refused by a statement trigger. The one exception is a session that owns the table
  and sets `onboarding.audit_truncate = 'allowed'` (the test suite does, to empty its database between
  transactional tests): it gives nothing to anyone who could not already disable or drop the trigger.
- The chain head row is never deleted; it is inserted only as the genesis row of an empty trail; an UPDATE must move
  it forward, to an event that exists with that hash, along a chain that continues from where the head was.

What a superuser (or the tables' owner) can still do is in the README's audit trail section.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION onboarding_audit_no_truncate() RETURNS trigger AS $$
BEGIN
    IF current_setting('onboarding.audit_truncate', true) = 'allowed'
       AND pg_has_role(current_user, (SELECT relowner FROM pg_class WHERE oid = TG_RELID), 'USAGE') THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'the audit trail cannot be truncated: TRUNCATE refused on %', TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER onboarding_auditevent_no_truncate
    BEFORE TRUNCATE ON onboarding_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION onboarding_audit_no_truncate();

CREATE TRIGGER onboarding_auditchainhead_no_truncate
    BEFORE TRUNCATE ON onboarding_auditchainhead
    FOR EACH STATEMENT EXECUTE FUNCTION onboarding_audit_no_truncate();

CREATE OR REPLACE FUNCTION onboarding_audit_head_forward_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'the audit chain head is never deleted'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF TG_OP = 'INSERT' THEN
        IF NEW.id = 1 AND NEW.last_seq = 0 AND NEW.last_hash = repeat('0', 64)
           AND NOT EXISTS (SELECT 1 FROM onboarding_auditevent) THEN
            RETURN NEW;
        END IF;
        RAISE EXCEPTION 'the audit chain head starts only once, at event 0 of an empty trail'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    -- The writer inserts its events first, then moves the head to the last of them in the same transaction.
    IF NEW.id = OLD.id
       AND NEW.last_seq > OLD.last_seq
       AND EXISTS (SELECT 1 FROM onboarding_auditevent WHERE seq = NEW.last_seq AND hash = NEW.last_hash)
       AND EXISTS (SELECT 1 FROM onboarding_auditevent WHERE seq = OLD.last_seq + 1 AND prev_hash = OLD.last_hash) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'the audit chain head only moves forward, along the chain: #% to #% refused',
        OLD.last_seq, NEW.last_seq
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER onboarding_auditchainhead_forward_only
    BEFORE INSERT OR UPDATE OR DELETE ON onboarding_auditchainhead
    FOR EACH ROW EXECUTE FUNCTION onboarding_audit_head_forward_only();
"""

DROP = """
DROP TRIGGER IF EXISTS onboarding_auditchainhead_forward_only ON onboarding_auditchainhead;
DROP FUNCTION IF EXISTS onboarding_audit_head_forward_only();
DROP TRIGGER IF EXISTS onboarding_auditchainhead_no_truncate ON onboarding_auditchainhead;
DROP TRIGGER IF EXISTS onboarding_auditevent_no_truncate ON onboarding_auditevent;
DROP FUNCTION IF EXISTS onboarding_audit_no_truncate();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("onboarding", "0009_mapping_makers_and_owners")]
    operations = [migrations.RunPython(forwards, backwards)]
