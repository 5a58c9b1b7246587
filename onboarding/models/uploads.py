"""Uploaded files and the column mappings users save for them."""

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class UploadFormat(models.TextChoices):
    CSV = "csv", "CSV"
    XLSX = "xlsx", "Excel (.xlsx)"
    JSON = "json", "JSON"


class UploadStatus(models.TextChoices):
    RECEIVED = "received", _("Received")
    MAPPING = "mapping", _("Waiting for column mapping")
    QUEUED = "queued", _("Queued for staging")
    STAGING = "staging", _("Staging")
    STAGED = "staged", _("Staged")
    FAILED = "failed", _("Refused")
    DISCARDED = "discarded", _("Discarded")


class Upload(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    file = models.FileField(_("file"), upload_to="uploads/%Y/%m/")
    original_name = models.CharField(_("file name"), max_length=255)
    size = models.PositiveBigIntegerField(_("size in bytes"), default=0)
    sha256 = models.CharField(max_length=64, db_index=True)
    format = models.CharField(_("format"), max_length=8, choices=UploadFormat.choices)
    encoding = models.CharField(_("encoding"), max_length=32, blank=True)
    delimiter = models.CharField(_("delimiter"), max_length=4, blank=True)
    header_row = models.PositiveIntegerField(_("header row"), default=1)
    headers = models.JSONField(_("columns"), default=list, blank=True)
    mapping = models.JSONField(_("column mapping"), default=dict, blank=True)
    saved_mapping = models.ForeignKey(
        "onboarding.SavedMapping", null=True, blank=True, on_delete=models.SET_NULL, related_name="uploads"
    )
    status = models.CharField(
        _("status"), max_length=16, choices=UploadStatus.choices, default=UploadStatus.RECEIVED, db_index=True
    )
    error_code = models.CharField(max_length=40, blank=True)
    error_message = models.TextField(blank=True)
    row_count = models.PositiveIntegerField(_("rows"), default=0)
    rows_done = models.PositiveIntegerField(default=0)
    ready_count = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    warning_count = models.PositiveIntegerField(default=0)
    duplicate_count = models.PositiveIntegerField(default=0)
    # Rows that corrected a record of an earlier upload instead of staging a new one (imports.corrections), and rows
    # that matched such a record with the same data.
    updated_count = models.PositiveIntegerField(default=0)
    unchanged_count = models.PositiveIntegerField(default=0)
    # The staging lease: `heartbeat_at` is the staging worker's last sign of life and the hold's token (each of its
    # writes is conditional on it and renews it); each start of the staging counts one attempt.
    staging_attempts = models.PositiveSmallIntegerField(default=0)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    mapped_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("columns mapped by"),
    )
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("upload")
        verbose_name_plural = _("uploads")
        ordering = ["-created_at", "-id"]
        permissions = [("stage_upload", _("Can upload client files for staging"))]

    def __str__(self) -> str:
        return self.original_name

    @property
    def new_count(self) -> int:
        """Rows staged as new records: the others corrected (or matched unchanged) a record of an earlier upload."""
        return self.row_count - self.updated_count - self.unchanged_count


class SavedMapping(models.Model):
    """A named column mapping of one user, applied automatically to their later files with the same headers.
    A shared one is offered to everyone (their own mappings still come first)."""

    name = models.CharField(_("name"), max_length=100)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    shared = models.BooleanField(_("shared with everyone"), default=False)
    headers_signature = models.CharField(max_length=64, db_index=True)
    headers = models.JSONField(default=list)
    mapping = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("saved mapping")
        verbose_name_plural = _("saved mappings")
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="saved_mapping_owner_name")]

    def __str__(self) -> str:
        return self.name
