from django.core.management.base import BaseCommand, CommandError

from onboarding.services.audit import ChainProblem, audit_chain_verify_and_record


class Command(BaseCommand):
    help = (
        "Walk the audit chain from the first event; exit 0 when intact, otherwise non-zero naming the first event "
        "that does not match. Every run is recorded and shown to auditors on the audit log page."
    )

    def handle(self, *args, **options) -> None:
        report = audit_chain_verify_and_record()
        if not report.ok:
            why = ChainProblem(report.problem).label if report.problem in ChainProblem.values else report.problem
            raise CommandError(
                f"audit chain broken at event #{report.first_bad_seq} ({why}): {report.detail}; "
                f"{report.events_checked} events read",
                returncode=1,
            )
        self.stdout.write(self.style.SUCCESS(f"audit chain intact: {report.events_checked} events verified"))
