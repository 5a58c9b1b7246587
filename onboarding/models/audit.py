"""The append-only, hash-chained audit trail."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditAction(models.TextChoices):
    LOGIN = "auth.login", _("Signed in")
    LOGOUT = "auth.logout", _("Signed out")
    LOGIN_FAILED = "auth.login_failed", _("Failed sign-in")
    RECORD_CREATED = "record.created", _("Record created")
    RECORD_UPDATED = "record.updated", _("Record changed")
    RECORD_SENT_TO_REVIEW = "record.sent_to_review", _("Record sent to review")
    RECORD_APPROVED = "record.approved", _("Record approved")
    RECORD_REJECTED = "record.rejected", _("Record rejected")
    RECORD_SENT_BACK = "record.sent_back", _("Record sent back to data entry")
    RECORD_WARNINGS_ACKNOWLEDGED = "record.warnings_acknowledged", _("Warnings acknowledged")
    UPLOAD_RECEIVED = "upload.received", _("File uploaded")
    UPLOAD_MAPPED = "upload.mapped", _("Columns mapped")
    UPLOAD_STAGED = "upload.staged", _("File staged")
    UPLOAD_FAILED = "upload.failed", _("File refused")
    UPLOAD_RESTARTED = "upload.restarted", _("Staging started again")
    UPLOAD_DISCARDED = "upload.discarded", _("Upload discarded")
    MAPPING_SAVED = "mapping.saved", _("Saved column mapping created, changed or shared")
    MAPPING_DELETED = "mapping.deleted", _("Saved column mapping deleted")
    SUBMISSION_STARTED = "submission.started", _("Submission started")
    BATCH_RESULT = "submission.batch_result", _("Batch result from Artu")
    RECORD_SUBMITTED = "record.submitted", _("Record created at Artu")
    RECORD_SUBMISSION_FAILED = "record.submission_failed", _("Record refused by Artu")
    # Approved again, never refused: Artu held it back with a refused record of its batch, or never received it.
    RECORD_NOT_CREATED = "record.not_created", _("Record not created: another of its batch was refused")
    RECORD_NOT_SENT = "record.not_sent", _("Record not sent to Artu")
    SUBMISSION_FINISHED = "submission.finished", _("Submission finished")
    USER_CHANGED = "user.changed", _("User or role changed")
    EXPORT = "data.export", _("Data exported")
    AUDIT_VERIFIED = "audit.verified", _("Audit chain verified")


class AuditEvent(models.Model):
    """One event. Never updated, deleted or truncated (PostgreSQL triggers enforce it, see migrations 0003, 0010)."""

    seq = models.PositiveBigIntegerField(unique=True)
    created_at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_username = models.CharField(max_length=150, blank=True)
    actor_role = models.CharField(max_length=200, blank=True)
    action = models.CharField(max_length=40, choices=AuditAction.choices)
    target_type = models.CharField(max_length=40, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    # PROTECT: a record with history can never be deleted (LFPIORPI keeps them ten years).
    record = models.ForeignKey(
        "onboarding.ClientRecord",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="audit_events",
        db_index=False,  # audit_record_seq starts with it
    )
    upload_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    submission_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    changes = models.JSONField(default=dict, blank=True)
    reason = models.TextField(blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-seq"]
        default_permissions = ("view",)
        # Declared here rather than with db_index/unique on the fields: on PostgreSQL those add a second,
        # LIKE-pattern index to every text column, which no query uses and every event would pay for.
        indexes = [
            models.Index(fields=["record", "seq"], name="audit_record_seq"),
            models.Index(fields=["action"], name="audit_action"),
        ]
        constraints = [models.UniqueConstraint(fields=["hash"], name="audit_hash_unique")]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action}"


class AuditChainHead(models.Model):
    """Single row (pk=1) holding the chain's tip; locking it serialises writers of the chain.

    It is also the record of how far the chain went: on PostgreSQL it only moves forward, along the chain, and is
    never deleted (migration 0010), so `verify_audit` can tell a chain cut short from one that never grew.
    """

    last_seq = models.PositiveBigIntegerField(default=0)
    last_hash = models.CharField(max_length=64)

    class Meta:
        default_permissions = ()

    def __str__(self) -> str:
        return f"#{self.last_seq} {self.last_hash[:12]}"


class AuditVerification(models.Model):
    """The outcome of each `verify_audit` run, shown to auditors."""

    ran_at = models.DateTimeField(auto_now_add=True)
    ok = models.BooleanField()
    events_checked = models.PositiveBigIntegerField()
    first_bad_seq = models.PositiveBigIntegerField(null=True, blank=True)
    detail = models.TextField(blank=True)
    # The last event of an intact chain and its hash: written down elsewhere, they are an anchor that
    # `verify_audit --anchor SEQ:HASH` checks later (a history rewritten up to it cannot keep that hash).
    head_seq = models.PositiveBigIntegerField(null=True, blank=True)
    head_hash = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-ran_at"]
        default_permissions = ("view",)

    def __str__(self) -> str:
        return f"{self.ran_at:%Y-%m-%d %H:%M} {'ok' if self.ok else f'broken at #{self.first_bad_seq}'}"
