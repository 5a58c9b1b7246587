"""Submit approved records to Artu through the same service the page uses."""

import json

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError

from onboarding.models import ClientRecord
from onboarding.services.submissions import Scope, SubmissionRefused, submission_run, submission_start


class Command(BaseCommand):
    help = "Submit the approved records (all, or one upload's) to Artu's POST /clients/batch."

    def add_arguments(self, parser):
        parser.add_argument("--environment", choices=("test", "live"), default="test")
        parser.add_argument("--upload", type=int, help="only the approved records of this upload")
        parser.add_argument("--no-atomic", action="store_true", help="let Artu create the valid records of a batch")
        parser.add_argument("--as", dest="username", required=True, help="the officer submitting (audited)")
        parser.add_argument("--confirm", default="", help="type LIVE to send to the live environment")
        parser.add_argument("--wait", action="store_true", help="send now, in this process, and print the counts")
        parser.add_argument("--concurrency", type=int, help="batches in flight at once (default: ARTU_CONCURRENCY)")
        parser.add_argument("--report", help="write one JSON object per record to this file (with --wait)")

    def handle(self, *args, **options):
        try:
            actor = get_user_model().objects.get(username=options["username"])
        except get_user_model().DoesNotExist:
            raise CommandError(f"no user {options['username']!r}") from None
        try:
            submission = submission_start(
                actor=actor,
                environment=options["environment"],
                atomic=not options["no_atomic"],
                scope=Scope(upload_id=options["upload"]),
                confirmation=options["confirm"],
                enqueue=not options["wait"],
            )
        except PermissionDenied:
            raise CommandError(f"{actor.username} may not submit to {options['environment']}") from None
        except SubmissionRefused as exc:
            raise CommandError(str(exc.message)) from None
        self.stdout.write(f"submission: {submission.pk}")
        self.stdout.write(f"records: {submission.record_count} batches: {submission.batch_count}")
        if not options["wait"]:
            self.stdout.write("queued: the task worker sends it (make run starts one)")
            return
        submission = submission_run(submission.pk, concurrency=options["concurrency"])
        waiting = submission.record_count - submission.created_count - submission.failed_count
        self.stdout.write(f"created: {submission.created_count}")
        self.stdout.write(f"failed: {submission.failed_count}")
        self.stdout.write(f"not created: {waiting}")
        self.stdout.write(f"status: {submission.status}")
        if options["report"]:
            self._report(submission, options["report"])
        if submission.created_count != submission.record_count:
            raise CommandError("some records were not created at Artu; see the submission page or the report")

    def _report(self, submission, path: str) -> None:
        records = ClientRecord.objects.filter(batch__submission=submission).order_by("pk")
        with open(path, "w", encoding="utf-8") as out:
            for record in records.iterator():
                out.write(
                    json.dumps(
                        {
                            "id": record.pk,
                            "local_id": str(record.uuid),
                            "external_id": record.external_id,
                            "status": record.status,
                            "artu_id": str(record.artu_id) if record.artu_id else None,
                            "messages": record.artu_messages,
                        },
                        ensure_ascii=False,
                    )
                    + "\n"
                )
