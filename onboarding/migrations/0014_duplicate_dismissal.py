import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    # The last migration on main when this was written (not 0008): two leaves would stop `migrate`.
    dependencies = [
        ("onboarding", "0012_review_queue_columns"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="DuplicateDismissal",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("field", models.CharField(max_length=20)),
                ("value", models.CharField(max_length=100)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "created_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to=settings.AUTH_USER_MODEL
                    ),
                ),
                (
                    "first",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="onboarding.clientrecord",
                    ),
                ),
                (
                    "second",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to="onboarding.clientrecord"
                    ),
                ),
            ],
            options={
                "verbose_name": "not-a-duplicate decision",
                "verbose_name_plural": "not-a-duplicate decisions",
                "default_permissions": (),
                "constraints": [
                    models.UniqueConstraint(fields=("first", "second", "field", "value"), name="dismissal_pair_value"),
                    models.CheckConstraint(
                        condition=models.Q(("first__lt", models.F("second"))), name="dismissal_pair_ordered"
                    ),
                ],
            },
        ),
    ]
