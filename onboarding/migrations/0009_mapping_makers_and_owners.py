import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def mappers_from_the_audit(apps, schema_editor):
    """Who mapped each upload already past mapping, as its `upload.mapped` event says. The records of an upload
    someone other than its uploader mapped get that mapper too (the uploader is their creator already, so the
    others need no rewrite)."""
    Upload = apps.get_model("onboarding", "Upload")
    ClientRecord = apps.get_model("onboarding", "ClientRecord")
    AuditEvent = apps.get_model("onboarding", "AuditEvent")
    mapped = AuditEvent.objects.filter(action="upload.mapped", upload_id__isnull=False, actor__isnull=False)
    mappers = dict(mapped.order_by("seq").values_list("upload_id", "actor_id"))  # the last mapping wins
    for upload in Upload.objects.filter(pk__in=list(mappers)).only("pk", "created_by_id"):
        mapper = mappers[upload.pk]
        Upload.objects.filter(pk=upload.pk).update(mapped_by_id=mapper)
        if mapper != upload.created_by_id:
            ClientRecord.objects.filter(upload_id=upload.pk).update(mapped_by_id=mapper)


class Migration(migrations.Migration):
    dependencies = [
        ("onboarding", "0008_fewer_pattern_indexes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="clientrecord",
            name="mapped_by",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="columns mapped by",
            ),
        ),
        migrations.AddField(
            model_name="upload",
            name="mapped_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="columns mapped by",
            ),
        ),
        migrations.RunPython(mappers_from_the_audit, migrations.RunPython.noop),
        # Saved mappings: the user who made one owns it (names are unique per owner, no longer across everyone);
        # existing ones stay private to their maker until the owner shares them.
        migrations.RenameField(model_name="savedmapping", old_name="created_by", new_name="owner"),
        migrations.AddField(
            model_name="savedmapping",
            name="shared",
            field=models.BooleanField(default=False, verbose_name="shared with everyone"),
        ),
        migrations.AlterField(
            model_name="savedmapping",
            name="name",
            field=models.CharField(max_length=100, verbose_name="name"),
        ),
        migrations.AlterModelOptions(
            name="savedmapping",
            options={
                "ordering": ["name", "id"],
                "verbose_name": "saved mapping",
                "verbose_name_plural": "saved mappings",
            },
        ),
        migrations.AddConstraint(
            model_name="savedmapping",
            constraint=models.UniqueConstraint(fields=("owner", "name"), name="saved_mapping_owner_name"),
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
