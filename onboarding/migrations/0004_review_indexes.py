# Indexes for the review queue (issue #6). Each sortable column, with the primary key as tie-breaker, alone (the
# "All" tab) and after status (one status tab), so a page of 100,000 records is read in index order instead of
# sorting the table; and upload + status for an upload's records. Only indexes: no table or data change.
from django.db import migrations, models

SORTS = {
    "created": ["-created_at", "-id"],
    "updated": ["-updated_at", "-id"],
    "name": ["name", "id"],
    "last_name": ["last_name", "id"],
    "problems": ["error_count", "warning_count", "id"],
}
STATUS_SORTS = {
    "updated": ["-updated_at", "-id"],
    "name": ["name", "id"],
    "last_name": ["last_name", "id"],
    "problems": ["error_count", "warning_count", "id"],
    "rfc": ["rfc", "id"],
    "external_id": ["external_id", "id"],
}


class Migration(migrations.Migration):
    dependencies = [
        ("onboarding", "0003_audit_append_only"),
    ]

    operations = [
        *(
            migrations.AddIndex(model_name="clientrecord", index=models.Index(fields=fields, name=f"record_{key}_id"))
            for key, fields in SORTS.items()
        ),
        *(
            migrations.AddIndex(
                model_name="clientrecord",
                index=models.Index(fields=["status", *fields], name=f"record_status_{key}"),
            )
            for key, fields in STATUS_SORTS.items()
        ),
        migrations.AddIndex(
            model_name="clientrecord",
            index=models.Index(fields=["upload", "status"], name="record_upload_status"),
        ),
    ]
