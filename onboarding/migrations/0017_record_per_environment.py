# A record's state at Artu, per environment (issue 14: test, then live).
#
# Until now a record had one `artu_id`, `artu_environment`, `artu_created_at` and `artu_response`, and "submitted"
# was final whatever the environment. Now each environment that holds the record has its own row in ArtuRecord
# (Artu's id there, the client object Artu returned, when, and which submission), one at most per environment.
# The rows of the records created before are carried over here, then the old columns go. A record that had been sent
# to test becomes "sent to test": still eligible for live. One sent to live stays "submitted" (now "sent to live").
# Going back keeps one environment per record, live before test.
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

CHUNK = 2000


def carry_over(apps, schema_editor):
    ClientRecord = apps.get_model("onboarding", "ClientRecord")
    ArtuRecord = apps.get_model("onboarding", "ArtuRecord")
    held = ClientRecord.objects.filter(artu_id__isnull=False).order_by("pk")
    fields = ("pk", "artu_id", "artu_created_at", "artu_environment", "artu_response", "batch__submission_id")
    fields += ("batch__submission__environment", "updated_at")
    last = 0
    while rows := list(held.filter(pk__gt=last).values_list(*fields)[:CHUNK]):
        ArtuRecord.objects.bulk_create(
            ArtuRecord(
                record_id=pk,
                # A record stored without its environment came from its batch's submission; test otherwise.
                environment=environment or from_batch or "test",
                artu_id=artu_id,
                artu_created_at=created_at,
                response=response,
                submission_id=submission_id,
                recorded_at=created_at or updated_at,
            )
            for pk, artu_id, created_at, environment, response, submission_id, from_batch, updated_at in rows
        )
        last = rows[-1][0]
    in_test = ArtuRecord.objects.filter(environment="test").values("record_id")
    ClientRecord.objects.filter(status="submitted", pk__in=in_test).exclude(
        pk__in=ArtuRecord.objects.filter(environment="live").values("record_id")
    ).update(status="sent_to_test")
    if schema_editor.connection.vendor == "postgresql":
        # The rows' foreign keys are checked now, not at commit: the columns removed next are on a table they name.
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def carry_back(apps, schema_editor):
    ClientRecord = apps.get_model("onboarding", "ClientRecord")
    ArtuRecord = apps.get_model("onboarding", "ArtuRecord")
    # Live last, so it wins where a record is held in both.
    for environment in ("test", "live"):
        for row in ArtuRecord.objects.filter(environment=environment).iterator(chunk_size=CHUNK):
            ClientRecord.objects.filter(pk=row.record_id).update(
                artu_id=row.artu_id,
                artu_created_at=row.artu_created_at,
                artu_environment=environment,
                artu_response=row.response,
            )
    ClientRecord.objects.filter(status="sent_to_test").update(status="submitted")
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # as in carry_over: the tables change next


class Migration(migrations.Migration):
    dependencies = [
        ("onboarding", "0016_record_search_text"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="ArtuRecord",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "environment",
                    models.CharField(
                        choices=[("test", "Test"), ("live", "Live")], max_length=8, verbose_name="environment"
                    ),
                ),
                ("artu_id", models.UUIDField(verbose_name="Artu id")),
                ("artu_created_at", models.DateTimeField(blank=True, null=True, verbose_name="created at Artu")),
                ("response", models.JSONField(blank=True, null=True, verbose_name="Artu's answer")),
                ("recorded_at", models.DateTimeField(verbose_name="recorded at")),
            ],
            options={
                "verbose_name": "record at Artu",
                "verbose_name_plural": "records at Artu",
                "ordering": ["record", "environment"],
            },
        ),
        migrations.RemoveConstraint(
            model_name="clientrecord",
            name="record_status_valid",
        ),
        migrations.AlterField(
            model_name="clientrecord",
            name="status",
            field=models.CharField(
                choices=[
                    ("draft", "Draft"),
                    ("in_review", "In review"),
                    ("approved", "Approved"),
                    ("rejected", "Rejected"),
                    ("submitting", "Submitting"),
                    ("sent_to_test", "Sent to test"),
                    ("submitted", "Sent to live"),
                    ("failed", "Failed"),
                ],
                default="in_review",
                max_length=16,
                verbose_name="status",
            ),
        ),
        migrations.AddConstraint(
            model_name="clientrecord",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    (
                        "status__in",
                        [
                            "draft",
                            "in_review",
                            "approved",
                            "rejected",
                            "submitting",
                            "sent_to_test",
                            "submitted",
                            "failed",
                        ],
                    )
                ),
                name="record_status_valid",
            ),
        ),
        migrations.AddField(
            model_name="arturecord",
            name="record",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="at_artu",
                to="onboarding.clientrecord",
                verbose_name="record",
            ),
        ),
        migrations.AddField(
            model_name="arturecord",
            name="submission",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="created",
                to="onboarding.submission",
            ),
        ),
        migrations.AddIndex(
            model_name="arturecord",
            index=models.Index(fields=["submission", "record"], name="artu_record_submission"),
        ),
        migrations.AddConstraint(
            model_name="arturecord",
            constraint=models.UniqueConstraint(
                fields=("record", "environment"), name="artu_record_once_per_environment"
            ),
        ),
        migrations.AddConstraint(
            model_name="arturecord",
            constraint=models.UniqueConstraint(fields=("environment", "artu_id"), name="artu_record_id_unique"),
        ),
        migrations.AddConstraint(
            model_name="arturecord",
            constraint=models.CheckConstraint(
                condition=models.Q(("environment__in", ["test", "live"])), name="artu_record_environment_valid"
            ),
        ),
        migrations.RunPython(carry_over, carry_back, elidable=False),
        migrations.RemoveField(
            model_name="clientrecord",
            name="artu_created_at",
        ),
        migrations.RemoveField(
            model_name="clientrecord",
            name="artu_environment",
        ),
        migrations.RemoveField(
            model_name="clientrecord",
            name="artu_id",
        ),
        migrations.RemoveField(
            model_name="clientrecord",
            name="artu_response",
        ),
    ]
