"""Queue again the work whose worker stopped (expired leases); `manage.py worker` does it by itself."""

from django.core.management.base import BaseCommand

from onboarding.services.recovery import work_requeue_stalled


class Command(BaseCommand):
    help = (
        "Queue again every submission and upload staging whose worker has shown no sign of life for its lease "
        "(ARTU_LEASE_SECONDS, UPLOAD_LEASE_SECONDS), and resumes the paused batches whose cool-off is over; prints "
        "their ids. `manage.py worker` does this by itself."
    )

    def handle(self, *args, **options):
        requeued = work_requeue_stalled()
        self.stdout.write(f"submissions: {' '.join(map(str, requeued.submissions)) or '-'}")
        self.stdout.write(f"uploads: {' '.join(map(str, requeued.uploads)) or '-'}")
        self.stdout.write(f"resumed: {' '.join(map(str, requeued.resumed)) or '-'}")
