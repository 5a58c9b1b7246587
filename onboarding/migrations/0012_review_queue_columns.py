"""The review queue's columns each user hid (onboarding.models.ReviewQueueColumns)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("onboarding", "0011_upload_staging_lease"),
    ]

    operations = [
        migrations.CreateModel(
            name="ReviewQueueColumns",
            fields=[
                (
                    "user",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="user",
                    ),
                ),
                ("hidden", models.JSONField(blank=True, default=list, verbose_name="hidden columns")),
                ("updated_at", models.DateTimeField(auto_now=True)),
            ],
            options={
                "verbose_name": "review queue columns",
                "verbose_name_plural": "review queue columns",
            },
        ),
    ]
