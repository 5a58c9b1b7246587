from django.db import migrations


def create_head(apps, schema_editor):
    AuditChainHead = apps.get_model("onboarding", "AuditChainHead")
    AuditChainHead.objects.get_or_create(pk=1, defaults={"last_seq": 0, "last_hash": "0" * 64})


class Migration(migrations.Migration):
    dependencies = [("onboarding", "0001_initial")]
    operations = [migrations.RunPython(create_head, migrations.RunPython.noop)]
