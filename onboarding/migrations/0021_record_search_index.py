"""An index the review queue's search reads instead of the records themselves (`selectors.review`).

`search_text LIKE '%term%'` cannot seek in a B-tree, but it can read one: on SQLite a covering index on
`search_text` holds only that column and the row id, a fraction of each record's row, so the search scans it in a
third of the time. On PostgreSQL a trigram index (pg_trgm, a trusted extension: the database's owner may create it)
finds the matching rows directly. Neither is a model index: each database gets the kind that serves it.
"""

from django.db import migrations

INDEX = "record_search_text"


def create(apps, schema_editor):
    table = apps.get_model("onboarding", "ClientRecord")._meta.db_table
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        schema_editor.execute(f'CREATE INDEX IF NOT EXISTS {INDEX} ON "{table}" USING gin (search_text gin_trgm_ops)')
    else:
        schema_editor.execute(f'CREATE INDEX IF NOT EXISTS {INDEX} ON "{table}" (search_text)')


def drop(apps, schema_editor):
    schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("onboarding", "0020_audit_actions_of_both")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
