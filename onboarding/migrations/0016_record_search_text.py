# The review queue's search ignores accents and case (issue: search and filters that fit the job).
#
# `search_text` holds a record's name parts, RFC, CURP and external id without accents and in lower case; the
# services that write those fields write it too (see models/records.py, `record_search_text`). This migration adds
# it and fills it for the records already there, with a frozen copy of the folding (a migration must not change
# when the app's code does). The search now reads that one column instead of UPPER() of three, so the statistics
# 0005 made PostgreSQL keep on UPPER(name), UPPER(middle_name) and UPPER(last_name) are dropped; the plain column's
# own statistics give the planner its estimates.
import re
import unicodedata

from django.db import migrations, models

FIELDS = ("name", "middle_name", "last_name", "rfc", "curp", "external_id")
MARKS = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
CHUNK = 2000
STATISTICS = ("name", "middle_name", "last_name")


def fold(text: str) -> str:
    if text.isascii():
        return text.lower()
    return MARKS.sub("", unicodedata.normalize("NFKD", text)).casefold()


def fill(apps, schema_editor):
    connection = schema_editor.connection
    quote = connection.ops.quote_name
    table = quote("onboarding_clientrecord")
    columns = ", ".join(quote(f) for f in FIELDS)
    select = f"SELECT id, {columns} FROM {table} WHERE id > %s ORDER BY id LIMIT %s"
    update = f"UPDATE {table} SET search_text = %s WHERE id = %s"
    last = 0
    with connection.cursor() as cursor:
        while True:
            cursor.execute(select, [last, CHUNK])
            rows = cursor.fetchall()
            if not rows:
                break
            cursor.executemany(update, [(fold(" ".join(v for v in values if v)), pk) for pk, *values in rows])
            last = rows[-1][0]
        if connection.vendor == "postgresql":
            for field in STATISTICS:
                cursor.execute(f"DROP STATISTICS IF EXISTS record_upper_{field}")
            cursor.execute(f"ANALYZE {table}")


def unfill(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for field in STATISTICS:
        schema_editor.execute(
            f"CREATE STATISTICS IF NOT EXISTS record_upper_{field} ON (UPPER({field}::text)) FROM onboarding_clientrecord"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("onboarding", "0015_batch_cool_off"),
    ]

    operations = [
        migrations.AddField(
            model_name="clientrecord",
            name="search_text",
            field=models.TextField(blank=True, default="", editable=False),
        ),
        migrations.RunPython(fill, unfill, elidable=False),
    ]
