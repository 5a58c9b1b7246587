"""Submit approved records to Artu, or resume a submission, through the same services the pages use."""

import json
import time

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from onboarding.models import Submission
from onboarding.selectors.submissions import submission_records
from onboarding.services.submissions import (
    Scope,
    SubmissionRefused,
    submission_progress,
    submission_resume,
    submission_resume_due,
    submission_run,
    submission_start,
)

# With --wait, how long at most between two looks at a submission that is not finished (its paused batches' time
# to be resumed, batches another worker holds).
WAIT_POLL_SECONDS = 5.0


class Command(BaseCommand):
    help = "Submit the approved records (all, or one upload's) to Artu's POST /clients/batch, or resume a submission."

    def add_arguments(self, parser):
        parser.add_argument("--environment", choices=("test", "live"), default="test")
        parser.add_argument("--upload", type=int, help="only the approved records of this upload")
        parser.add_argument("--no-atomic", action="store_true", help="let Artu create the valid records of a batch")
        parser.add_argument("--as", dest="username", required=True, help="the officer submitting (audited)")
        parser.add_argument("--confirm", default="", help="type LIVE to send to the live environment")
        parser.add_argument(
            "--resume",
            type=int,
            metavar="ID",
            help="resume submission ID: its batches given up on or paused are checked with Artu, then sent",
        )
        parser.add_argument(
            "--wait",
            action="store_true",
            help="send now, in this process, until every record is created, refused, or given up after "
            "ARTU_GIVE_UP_AFTER; print the counts",
        )
        parser.add_argument("--concurrency", type=int, help="batches in flight at once (default: ARTU_CONCURRENCY)")
        parser.add_argument("--report", help="write one JSON object per record to this file (with --wait)")

    def handle(self, *args, **options):
        try:
            actor = get_user_model().objects.get(username=options["username"])
        except get_user_model().DoesNotExist:
            raise CommandError(f"no user {options['username']!r}") from None
        try:
            if options["resume"] is not None:
                submission = submission_resume(
                    actor=actor, submission_id=options["resume"], enqueue=not options["wait"]
                )
            else:
                submission = submission_start(
                    actor=actor,
                    environment=options["environment"],
                    atomic=not options["no_atomic"],
                    scope=Scope(upload_id=options["upload"]),
                    confirmation=options["confirm"],
                    enqueue=not options["wait"],
                )
        except Submission.DoesNotExist:
            raise CommandError(f"no submission {options['resume']}") from None
        except PermissionDenied:
            if options["resume"] is not None:
                raise CommandError(f"{actor.username} may not resume submission {options['resume']}") from None
            raise CommandError(f"{actor.username} may not submit to {options['environment']}") from None
        except SubmissionRefused as exc:
            raise CommandError(str(exc.message)) from None
        self.stdout.write(f"submission: {submission.pk}")
        self.stdout.write(f"records: {submission.record_count} batches: {submission.batch_count}")
        if not options["wait"]:
            self.stdout.write("queued: the task worker sends it (make run starts one)")
            return
        submission = self._settle(submission, options["concurrency"])
        waiting = submission.record_count - submission.created_count - submission.failed_count
        self.stdout.write(f"created: {submission.created_count}")
        self.stdout.write(f"failed: {submission.failed_count}")
        self.stdout.write(f"not created: {waiting}")
        self.stdout.write(f"status: {submission.status}")
        if options["report"]:
            self._report(submission, options["report"])
        if submission.created_count != submission.record_count:
            raise CommandError("some records were not created at Artu; see the submission page or the report")

    def _settle(self, submission: Submission, concurrency: int | None) -> Submission:
        """Send in this process until the submission finishes: each paused batch is resumed when its cool-off is
        over, as the worker's sweep would, until ARTU_GIVE_UP_AFTER gives it up."""
        submission = submission_run(submission.pk, concurrency=concurrency)
        announced = None
        while submission.finished_at is None:
            progress = submission_progress(submission)
            resumes_at = progress["resumes_at"]
            if resumes_at and resumes_at != announced:
                local = timezone.localtime(resumes_at)
                self.stdout.write(f"paused: {progress['paused']} batches after repeated errors; again at {local:%X}")
                announced = resumes_at
            delay = (resumes_at - timezone.now()).total_seconds() if resumes_at else WAIT_POLL_SECONDS
            time.sleep(min(max(delay, 0.0), WAIT_POLL_SECONDS))
            submission_resume_due(submission_id=submission.pk, enqueue=False)
            submission = submission_run(submission.pk, concurrency=concurrency)
        return submission

    def _report(self, submission, path: str) -> None:
        records = submission_records(submission)
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
