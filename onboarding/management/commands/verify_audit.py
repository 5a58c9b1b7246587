import re

from django.core.management.base import BaseCommand, CommandError

from onboarding.services.audit import ChainProblem, audit_chain_verify_and_record

ANCHOR = re.compile(r"^#?(?P<seq>[1-9][0-9]*):(?P<hash>[0-9a-f]{64})$")


class Command(BaseCommand):
    help = (
        "Walk the audit chain from the first event; exit 0 when intact, otherwise non-zero naming the first event "
        "that does not match. Every run is recorded and shown to auditors on the audit log page. An intact run "
        "prints the chain's head (SEQ:HASH); kept outside the database and passed back with --anchor, it proves "
        "that nothing up to that event was rewritten or removed since."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--anchor",
            action="append",
            default=[],
            metavar="SEQ:HASH",
            help="an event number and the hash an earlier run printed for it (repeatable)",
        )

    def handle(self, *args, **options) -> None:
        anchors = {}
        for text in options["anchor"]:
            if not (match := ANCHOR.match(text.strip().lower())):
                raise CommandError(
                    f"--anchor {text!r}: expected SEQ:HASH, an event number and its 64-character hash as an earlier "
                    "run printed them",
                    returncode=2,
                )
            anchors[int(match["seq"])] = match["hash"]
        report = audit_chain_verify_and_record(anchors=anchors)
        if not report.ok:
            why = ChainProblem(report.problem).label if report.problem in ChainProblem.values else report.problem
            raise CommandError(
                f"audit chain broken at event #{report.first_bad_seq} ({why}): {report.detail}; "
                f"{report.events_checked} events read",
                returncode=1,
            )
        anchored = f"; {len(anchors)} anchor(s) match" if anchors else ""
        self.stdout.write(self.style.SUCCESS(f"audit chain intact: {report.events_checked} events verified{anchored}"))
        if not report.events_checked and not anchors:
            self.stdout.write(
                "The trail is empty. If this system ever wrote events, someone able to bypass the database's "
                "guards may have removed them: check with --anchor SEQ:HASH kept from an earlier run."
            )
        if report.head_seq:
            anchor = f"{report.head_seq}:{report.head_hash}"
            self.stdout.write(f"head: {anchor}")
            self.stdout.write(
                f"Keep this line outside the database; `manage.py verify_audit --anchor {anchor}` shows later "
                f"that no event up to #{report.head_seq} was rewritten."
            )
