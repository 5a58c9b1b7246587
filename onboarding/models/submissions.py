"""Submissions to Artu and the batches (at most 250 records) they are cut into."""

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ArtuEnvironment(models.TextChoices):
    TEST = "test", _("Test")
    LIVE = "live", _("Live")


class SubmissionStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    FINISHED = "finished", _("Finished")
    FINISHED_WITH_FAILURES = "finished_with_failures", _("Finished with failures")


class BatchState(models.TextChoices):
    QUEUED = "queued", _("Waiting")
    SENDING = "sending", _("Sending")
    RETRY_WAIT = "retry_wait", _("Waiting to retry")
    RECONCILING = "reconciling", _("Checking with Artu")
    # Artu kept failing: the worker tries again by itself at `next_attempt_at` (a cool-off that grows each time).
    PAUSED = "paused", _("Paused after repeated errors")
    DONE = "done", _("Done")
    # Left for a person (resume): the key was refused, or the batch kept failing for ARTU_GIVE_UP_AFTER.
    GAVE_UP = "gave_up", _("Not sent (attempts exhausted)")


class SendCause(models.TextChoices):
    """Why a batch waits, is paused or was not sent: stored as a code, shown in the reader's language."""

    UNREACHABLE = "unreachable", _("Artu could not be reached")
    NO_ANSWER = "no_answer", _("Artu did not answer in time, or the connection dropped")
    SERVER_ERROR = "server_error", _("Artu answered with a server error")
    RATE_LIMITED = "rate_limited", _("Artu asked to slow down (too many requests)")
    KEY_REFUSED = "key_refused", _("Artu refused the API key")
    KEY_FORBIDDEN = "key_forbidden", _("The API key may not create clients in this Artu environment")
    REFUSED = "refused", _("Artu refused the request")
    WORKER_ERROR = "worker_error", _("The background worker stopped on an error")
    OTHER = "other", _("Artu answered with an error")


# What a record not created keeps among its Artu messages (written in the worker's language; the pages word it again
# in the reader's from the codes kept beside it).
SIBLING_REFUSED_MESSAGE = _("Not created: record %(name)s in the same batch was refused.")
NOT_SENT_MESSAGE = _("Not sent: %(error)s. The record is approved again and can be submitted later.")


class RecordOutcome(models.TextChoices):
    """What a submission made of one of its records, as its page groups them (from the record's status and the
    messages it kept; never stored)."""

    CREATED = "created", _("Created at Artu")
    REFUSED = "refused", _("Refused by Artu")
    NOT_CREATED = "not_created", _("Not created: batch refused")
    NOT_SENT = "not_sent", _("Not sent")
    WAITING = "waiting", _("Waiting")


class Submission(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    environment = models.CharField(_("environment"), max_length=8, choices=ArtuEnvironment.choices)
    atomic = models.BooleanField(_("all or nothing per batch"), default=True)
    status = models.CharField(
        _("status"), max_length=24, choices=SubmissionStatus.choices, default=SubmissionStatus.QUEUED, db_index=True
    )
    scope = models.JSONField(_("what was chosen"), default=dict, blank=True)
    record_count = models.PositiveIntegerField(default=0)
    batch_count = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    failed_count = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("submission")
        verbose_name_plural = _("submissions")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return str(self.uuid)

    @property
    def not_created_count(self) -> int:
        """Records it took that Artu did not create: refused, held back with a refused one, not sent, or waiting."""
        return max(0, self.record_count - self.created_count)


class SubmissionBatch(models.Model):
    submission = models.ForeignKey(Submission, on_delete=models.PROTECT, related_name="batches")
    index = models.PositiveIntegerField()
    state = models.CharField(max_length=16, choices=BatchState.choices, default=BatchState.QUEUED, db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # When the batch is tried again: after a retry's backoff, or, paused, after its cool-off.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    resumes = models.PositiveSmallIntegerField(default=0)  # times paused and resumed by the worker
    give_up_at = models.DateTimeField(null=True, blank=True)  # first claim + ARTU_GIVE_UP_AFTER: then paused no more
    claimed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)  # the detail, for whoever runs the worker; people read `cause`
    cause = models.CharField(max_length=16, choices=SendCause.choices, blank=True)
    response = models.JSONField(null=True, blank=True)
    created_count = models.PositiveIntegerField(default=0)
    failed_count = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["submission", "index"]
        constraints = [models.UniqueConstraint(fields=["submission", "index"], name="batch_index_unique")]

    def __str__(self) -> str:
        return f"{self.submission_id}#{self.index}"


class ArtuRecord(models.Model):
    """A record as Artu holds it in one environment: Artu's id there, when Artu created it, the client object Artu
    returned (redacted like everything Artu sends) and the submission that created it. A record sent to test, then
    to live, has two; one at most per environment, which is what makes a submission exactly-once per environment."""

    record = models.ForeignKey(
        "onboarding.ClientRecord",
        on_delete=models.PROTECT,
        related_name="at_artu",
        verbose_name=_("record"),
        db_index=False,  # the (record, environment) constraint leads with it
    )
    environment = models.CharField(_("environment"), max_length=8, choices=ArtuEnvironment.choices)
    artu_id = models.UUIDField(_("Artu id"))
    artu_created_at = models.DateTimeField(_("created at Artu"), null=True, blank=True)
    response = models.JSONField(_("Artu's answer"), null=True, blank=True)
    # Null only for records created before this table existed whose batch is gone (migration 0017).
    submission = models.ForeignKey(
        Submission, null=True, blank=True, on_delete=models.PROTECT, related_name="created", db_index=False
    )
    recorded_at = models.DateTimeField(_("recorded at"))

    class Meta:
        verbose_name = _("record at Artu")
        verbose_name_plural = _("records at Artu")
        ordering = ["record", "environment"]
        constraints = [
            models.UniqueConstraint(fields=["record", "environment"], name="artu_record_once_per_environment"),
            models.UniqueConstraint(fields=["environment", "artu_id"], name="artu_record_id_unique"),
            models.CheckConstraint(
                condition=models.Q(environment__in=ArtuEnvironment.values), name="artu_record_environment_valid"
            ),
        ]
        indexes = [models.Index(fields=["submission", "record"], name="artu_record_submission")]

    def __str__(self) -> str:
        return f"{self.record_id} @ {self.environment}: {self.artu_id}"
