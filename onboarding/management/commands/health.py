"""`manage.py health`: the same report as /healthz, as JSON; exits 1 when unhealthy (for cron, systemd, CI)."""

import json

from django.core.management.base import BaseCommand, CommandError

from onboarding.health import health_report


class Command(BaseCommand):
    help = "Checks the database, the migrations and the task worker; exits non-zero when one fails."
    requires_system_checks = []

    def handle(self, *args, **options) -> None:
        report = health_report()
        self.stdout.write(json.dumps(report, indent=2))
        if report["status"] != "ok":
            raise CommandError("unhealthy", returncode=1)
