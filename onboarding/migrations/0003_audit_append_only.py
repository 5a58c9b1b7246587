"""On PostgreSQL, the audit table refuses UPDATE and DELETE for every client, not just this app.

TRUNCATE stays possible for the database owner (Django's test flush uses it); no page, command or service issues it.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION onboarding_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only: % refused on %', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER onboarding_auditevent_no_update_delete
    BEFORE UPDATE OR DELETE ON onboarding_auditevent
    FOR EACH ROW EXECUTE FUNCTION onboarding_audit_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS onboarding_auditevent_no_update_delete ON onboarding_auditevent;
DROP FUNCTION IF EXISTS onboarding_audit_append_only();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("onboarding", "0002_audit_chain_head")]
    operations = [migrations.RunPython(forwards, backwards)]
