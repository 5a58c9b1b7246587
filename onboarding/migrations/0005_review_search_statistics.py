# Statistics for the review queue's name search (issue #6), PostgreSQL only; no table, index or data change.
#
# The search is `UPPER(name::text) LIKE UPPER('%term%')` on the name, middle and last name (Django's icontains).
# Without statistics on those expressions PostgreSQL guesses a few dozen matches for any term, so for a common
# surname (6,000 of 100,000 records) it reads the whole table and sorts it to show the first page (70-130 ms)
# instead of walking the sort index until the page is full (3-6 ms). ANALYZE keeps them current like any other
# statistics; they cost nothing on writes. SQLite has no such statistics and its planner walks the index anyway.
from django.db import migrations

FIELDS = ("name", "middle_name", "last_name")


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for field in FIELDS:
        expression = f"UPPER({field}::text)"  # as Django writes icontains, or PostgreSQL would not match them
        schema_editor.execute(
            f"CREATE STATISTICS IF NOT EXISTS record_upper_{field} ON ({expression}) FROM onboarding_clientrecord"
        )
    schema_editor.execute("ANALYZE onboarding_clientrecord")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for field in FIELDS:
        schema_editor.execute(f"DROP STATISTICS IF EXISTS record_upper_{field}")


class Migration(migrations.Migration):
    dependencies = [
        ("onboarding", "0004_review_indexes"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
