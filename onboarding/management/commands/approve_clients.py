"""`approve_clients --upload ID --as USERNAME`: back-office approval of an upload's clean records."""

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError

from onboarding.models import RecordStatus, Upload
from onboarding.services.review import SKIP_LABELS, record_bulk_approve


class Command(BaseCommand):
    help = (
        "Approve the in-review records of an upload that have no errors and no unacknowledged warnings, as USERNAME, "
        "through the review service (maker-checker applies; every approval is audited). Prints `approved: <n>` "
        "and `skipped: <n>` with the reasons."
    )

    def add_arguments(self, parser):
        parser.add_argument("--upload", type=int, required=True, help="the upload's id")
        parser.add_argument("--as", dest="username", required=True, help="the officer who approves")

    def handle(self, *args, upload: int, username: str, **options):
        try:
            actor = get_user_model().objects.get(username=username, is_active=True)
        except get_user_model().DoesNotExist:
            raise CommandError(f"no active user {username!r}") from None
        if not Upload.objects.filter(pk=upload).exists():
            raise CommandError(f"no upload {upload}")
        try:
            result = record_bulk_approve(actor=actor, filters={"upload_id": upload, "status": RecordStatus.IN_REVIEW})
        except PermissionDenied:
            raise CommandError(f"{username} may not review records") from None
        self.stdout.write(f"approved: {result.done}")
        self.stdout.write(f"skipped: {result.skipped_total}")
        for code, n in result.skipped.most_common():
            self.stdout.write(f"  {code}: {n} ({SKIP_LABELS.get(code, code)})")
