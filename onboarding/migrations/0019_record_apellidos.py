# Apellido paterno and apellido materno kept apart (issue 15: one normaliser for the form and files).
#
# Files carry the two apart and the form now asks for them apart, so the record stores them as two fields, and
# `last_name` ("paterno materno", what Artu's `lastName` receives, what the queue sorts and the search reads)
# becomes a column the database derives from them: no code writes it, so it cannot disagree with them.
#
# The records staged before keep one joined value; it is cut where the holder's RFC and CURP say (the cut whose
# name letters they carry), else after the first surname with its particles ("de la Garza Pérez": "de la Garza",
# "Pérez"). A company's or trust's last name, if any, stays whole in the paterno. Problems stored against
# `last_name` now belong to `apellido_paterno`, where the form and the queue show them.
#
# Also for issue 15: an upload counts the rows that corrected a record of an earlier upload (`updated_count`) and
# those that matched one with the same data (`unchanged_count`), and a pending upload can be `discarded` (`upload.discarded` in the audit trail).
import json

from django.db import migrations, models
from django.db.models import Value
from django.db.models.functions import Concat, Trim

CHUNK = 2000
SORT_INDEXES = {"record_last_name_id": ["last_name", "id"], "record_status_last_name": ["status", "last_name", "id"]}


def split(apps, schema_editor):
    # The app's own splitter: pure and dependency-free (onboarding.identifiers), imported here so the cut is the one
    # the validation checks keys against.
    from onboarding.identifiers import last_name_split

    connection = schema_editor.connection
    quote = connection.ops.quote_name
    table = quote("onboarding_clientrecord")
    select = (
        f"SELECT id, client_type, name, middle_name, {quote('last_name')}, rfc, curp, problems FROM {table} "
        "WHERE id > %s ORDER BY id LIMIT %s"
    )
    update = f"UPDATE {table} SET apellido_paterno = %s, apellido_materno = %s, problems = %s WHERE id = %s"
    last = 0
    with connection.cursor() as cursor:
        while True:
            cursor.execute(select, [last, CHUNK])
            rows = cursor.fetchall()
            if not rows:
                break
            changes = []
            for pk, client_type, name, middle, last_name, rfc, curp, problems in rows:
                last_name = last_name or ""
                if client_type == "individual":
                    paterno, materno = last_name_split(last_name, given_names=(name, middle), rfc=rfc, curp=curp)
                else:
                    paterno, materno = last_name.strip(), ""
                if isinstance(problems, str):
                    problems = json.loads(problems)
                for problem in problems or []:
                    if problem.get("field") == "last_name":
                        problem["field"] = "apellido_paterno"
                changes.append((paterno, materno, json.dumps(problems or []), pk))
            cursor.executemany(update, changes)
            last = rows[-1][0]


def join(apps, schema_editor):
    connection = schema_editor.connection
    table = connection.ops.quote_name("onboarding_clientrecord")
    schema_editor.execute(f"UPDATE {table} SET last_name = TRIM(apellido_paterno || ' ' || apellido_materno)")


class Migration(migrations.Migration):
    dependencies = [
        ("onboarding", "0018_submission_outcome"),
    ]

    operations = [
        migrations.AddField(
            model_name="clientrecord",
            name="apellido_paterno",
            field=models.CharField(blank=True, max_length=200, verbose_name="apellido paterno"),
        ),
        migrations.AddField(
            model_name="clientrecord",
            name="apellido_materno",
            field=models.CharField(blank=True, max_length=200, verbose_name="apellido materno"),
        ),
        migrations.RunPython(split, join, elidable=False),
        *(migrations.RemoveIndex(model_name="clientrecord", name=name) for name in SORT_INDEXES),
        migrations.RemoveField(model_name="clientrecord", name="last_name"),
        migrations.AddField(
            model_name="clientrecord",
            name="last_name",
            field=models.GeneratedField(
                db_persist=True,
                expression=Trim(Concat("apellido_paterno", Value(" "), "apellido_materno")),
                output_field=models.CharField(blank=True, max_length=401, verbose_name="last names"),
            ),
        ),
        *(
            migrations.AddIndex(model_name="clientrecord", index=models.Index(fields=fields, name=name))
            for name, fields in SORT_INDEXES.items()
        ),
        migrations.AddField(model_name="upload", name="updated_count", field=models.PositiveIntegerField(default=0)),
        migrations.AddField(model_name="upload", name="unchanged_count", field=models.PositiveIntegerField(default=0)),
        migrations.AlterField(
            model_name="upload",
            name="status",
            field=models.CharField(
                choices=[
                    ("received", "Received"),
                    ("mapping", "Waiting for column mapping"),
                    ("queued", "Queued for staging"),
                    ("staging", "Staging"),
                    ("staged", "Staged"),
                    ("failed", "Refused"),
                    ("discarded", "Discarded"),
                ],
                db_index=True,
                default="received",
                max_length=16,
                verbose_name="status",
            ),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="action",
            field=models.CharField(
                choices=[
                    ("auth.login", "Signed in"),
                    ("auth.logout", "Signed out"),
                    ("auth.login_failed", "Failed sign-in"),
                    ("record.created", "Record created"),
                    ("record.updated", "Record changed"),
                    ("record.sent_to_review", "Record sent to review"),
                    ("record.approved", "Record approved"),
                    ("record.rejected", "Record rejected"),
                    ("record.sent_back", "Record sent back to data entry"),
                    ("record.warnings_acknowledged", "Warnings acknowledged"),
                    ("upload.received", "File uploaded"),
                    ("upload.mapped", "Columns mapped"),
                    ("upload.staged", "File staged"),
                    ("upload.failed", "File refused"),
                    ("upload.restarted", "Staging started again"),
                    ("upload.discarded", "Upload discarded"),
                    ("mapping.saved", "Saved column mapping created, changed or shared"),
                    ("mapping.deleted", "Saved column mapping deleted"),
                    ("submission.started", "Submission started"),
                    ("submission.batch_result", "Batch result from Artu"),
                    ("record.submitted", "Record created at Artu"),
                    ("record.submission_failed", "Record refused by Artu"),
                    ("submission.finished", "Submission finished"),
                    ("user.changed", "User or role changed"),
                    ("data.export", "Data exported"),
                    ("audit.verified", "Audit chain verified"),
                ],
                max_length=40,
            ),
        ),
    ]
