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
    ]
