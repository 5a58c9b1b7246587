"""The staged client record: every field of an Artu `/clients/batch` item, plus review state."""

import re
import unicodedata
import uuid
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Value
from django.db.models.functions import Concat, Trim
from django.utils.translation import gettext_lazy as _


class ClientType(models.TextChoices):
    INDIVIDUAL = "individual", _("Individual (persona física)")
    COMPANY = "company", _("Company (persona moral)")
    TRUST = "trust", _("Trust (fideicomiso)")


class RecordStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    IN_REVIEW = "in_review", _("In review")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    SUBMITTING = "submitting", _("Submitting")
    # Created at Artu's test environment, and waiting to be sent to live (a live submission takes it).
    SENT_TO_TEST = "sent_to_test", _("Sent to test")
    # Created at Artu's live environment: final. Where the record is held, with Artu's ids: `ArtuRecord`.
    SUBMITTED = "submitted", _("Sent to live")
    FAILED = "failed", _("Failed")


class ActividadVulnerable(models.TextChoices):
    """LFPIORPI art. 17 vulnerable activities, keyed as Artu's `scopeData.MX.actividadVulnerable`."""

    ARI = "ARI", _("ARI · Real-estate leasing")
    AVI = "AVI", _("AVI · Virtual assets")
    INM = "INM", _("INM · Real estate")
    JYS = "JYS", _("JYS · Games and lotteries")
    MJR = "MJR", _("MJR · Precious metals and jewellery")
    MPC = "MPC", _("MPC · Non-bank loans and credit")
    TSC = "TSC", _("TSC · Service, credit and prepaid cards")
    VEH = "VEH", _("VEH · Vehicles")


# Model field for each actividad vulnerable flag, in the order of ActividadVulnerable.
AV_FIELDS = {code: f"av_{code.lower()}" for code in ActividadVulnerable.values}

# The fields that are the client's data (what Artu receives); everything else is review state.
DATA_FIELDS = (
    "client_type",
    "name",
    "middle_name",
    "apellido_paterno",
    "apellido_materno",
    "birth_date",
    "nationalities",
    "scopes",
    "scopes_override",
    "external_id",
    "metadata",
    "rfc",
    "curp",
    *AV_FIELDS.values(),
    "avi_username",
    "cnbv_numero_cuenta",
    "cnbv_clave_sujeto_obligado",
    "us_scope_data",
)


# What the review queue's search reads, in `ClientRecord.search_text`: typed as "sofia olvera", it finds
# "Sofía Olvera Íñiguez". Every service that writes these fields writes it too (`record_apply_data`,
# `imports.store.encode_row`); migration 0016 filled it for the records staged before.
SEARCH_FIELDS = ("name", "middle_name", "apellido_paterno", "apellido_materno", "rfc", "curp", "external_id")
# Every block of combining marks: what remains of an accent, tilde or diaeresis once a letter is decomposed.
_MARKS = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")


def joined_last_name(paterno: str | None, materno: str | None) -> str:
    """The apellidos as one value, "paterno materno" (what `ClientRecord.last_name` holds): for a form's values."""
    return " ".join(part for part in (paterno, materno) if part)


def search_fold(text: str) -> str:
    """`text` as the search compares it: without accents (Í, ñ, ü: i, n, u; composed or not) and case-folded."""
    if text.isascii():
        return text.lower()
    return _MARKS.sub("", unicodedata.normalize("NFKD", text)).casefold()


def record_search_text(values: Mapping[str, Any]) -> str:
    """The `search_text` of a record with these field values: its SEARCH_FIELDS folded, one space apart."""
    return search_fold(" ".join(value for field in SEARCH_FIELDS if (value := values.get(field))))


# Indexes behind the review queue's sortable columns (migration 0004), primary key as the tie-breaker.
QUEUE_SORT_INDEXES = {
    "created": ["-created_at", "-id"],
    "updated": ["-updated_at", "-id"],
    "name": ["name", "id"],
    "last_name": ["last_name", "id"],
    "problems": ["error_count", "warning_count", "id"],
}
QUEUE_STATUS_SORT_INDEXES = {
    "updated": ["-updated_at", "-id"],
    "name": ["name", "id"],
    "last_name": ["last_name", "id"],
    "problems": ["error_count", "warning_count", "id"],
    "rfc": ["rfc", "id"],
    "external_id": ["external_id", "id"],
}


class ClientRecord(models.Model):
    # Indexes: every one is paid on each staged row and each status change. No column gets its own index where a
    # composite index in Meta starts with it (status, error_count, created_at, upload), and the people who last
    # changed or reviewed a record are never searched for (only a user's deletion would read them, and PROTECT
    # refuses it anyway once they have records).
    uuid = models.UUIDField(_("local id"), default=uuid.uuid4, unique=True, editable=False)
    status = models.CharField(_("status"), max_length=16, choices=RecordStatus.choices, default=RecordStatus.IN_REVIEW)

    # Identity. Mexican persons: `name` holds the given name(s), `middle_name` a second given name when kept apart,
    # the two apellidos their own fields, and `last_name` is derived by the database: "paterno materno", what Artu's
    # `lastName` receives and the queue sorts on (README, "Names"). No code writes it, so it cannot disagree.
    client_type = models.CharField(_("type"), max_length=16, choices=ClientType.choices)
    name = models.CharField(_("name"), max_length=200)
    middle_name = models.CharField(_("middle name"), max_length=200, blank=True)
    apellido_paterno = models.CharField(_("apellido paterno"), max_length=200, blank=True)
    apellido_materno = models.CharField(_("apellido materno"), max_length=200, blank=True)
    last_name = models.GeneratedField(
        expression=Trim(Concat("apellido_paterno", Value(" "), "apellido_materno")),
        output_field=models.CharField(_("last names"), max_length=401, blank=True),
        db_persist=True,
    )
    birth_date = models.DateField(_("birth or incorporation date"), null=True, blank=True)
    nationalities = models.CharField(_("nationalities"), max_length=100, blank=True)
    scopes = models.JSONField(_("scopes"), default=list, blank=True)
    scopes_override = models.BooleanField(_("scopes set by hand"), default=False)
    external_id = models.CharField(_("external id"), max_length=100, blank=True)
    metadata = models.JSONField(_("metadata"), default=dict, blank=True)

    # scopeData.MX
    rfc = models.CharField("RFC", max_length=13, blank=True)
    curp = models.CharField("CURP", max_length=18, blank=True)
    av_ari = models.BooleanField(ActividadVulnerable.ARI.label, default=False)
    av_avi = models.BooleanField(ActividadVulnerable.AVI.label, default=False)
    av_inm = models.BooleanField(ActividadVulnerable.INM.label, default=False)
    av_jys = models.BooleanField(ActividadVulnerable.JYS.label, default=False)
    av_mjr = models.BooleanField(ActividadVulnerable.MJR.label, default=False)
    av_mpc = models.BooleanField(ActividadVulnerable.MPC.label, default=False)
    av_tsc = models.BooleanField(ActividadVulnerable.TSC.label, default=False)
    av_veh = models.BooleanField(ActividadVulnerable.VEH.label, default=False)
    avi_username = models.CharField(_("AVI platform username"), max_length=200, blank=True)
    cnbv_numero_cuenta = models.CharField(_("account number (número de cuenta)"), max_length=40, blank=True)
    cnbv_clave_sujeto_obligado = models.CharField(
        _("reporting entity key (clave de sujeto obligado)"), max_length=40, blank=True
    )
    # scopeData.US: shape not documented by Artu, kept as given.
    us_scope_data = models.JSONField(_("US scope data"), null=True, blank=True)

    # Validation outcome, recomputed on every change: [{"field", "code", "severity", "params"}].
    problems = models.JSONField(default=list, blank=True)
    error_count = models.PositiveSmallIntegerField(default=0)
    warning_count = models.PositiveSmallIntegerField(default=0)
    warnings_acknowledged = models.BooleanField(_("warnings acknowledged"), default=False)

    # Optimistic concurrency: every data change bumps it; a save from an older version is refused.
    version = models.PositiveIntegerField(default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("created by")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("last changed by"),
        db_index=False,
    )
    updated_at = models.DateTimeField(_("last changed at"), auto_now=True)
    # Who mapped the columns of the file the record was staged from: that choice decided the record's data (which
    # column became the name, the external id...), so the mapper is one of its makers, like its creator.
    mapped_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("columns mapped by"),
        db_index=False,
    )

    # Where the record came from (issue: upload and staging). Null for records typed into the form.
    upload = models.ForeignKey(
        "onboarding.Upload",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="records",
        verbose_name=_("upload"),
        db_index=False,
    )
    source_row = models.PositiveIntegerField(_("row in file"), null=True, blank=True)
    source_data = models.JSONField(_("original cells"), null=True, blank=True)
    # Another record with the same external id, RFC or CURP; approval is blocked until an officer resolves it.
    duplicate_of = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("possible duplicate of"),
    )
    duplicate_field = models.CharField(_("duplicated field"), max_length=20, blank=True)
    # The name parts and identifiers without accents or case (`record_search_text`), for the queue's search.
    search_text = models.TextField(default="", blank=True, editable=False)

    # Review outcome.
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("reviewed by"),
        db_index=False,
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    reject_reason = models.CharField(_("rejection reason"), max_length=40, blank=True)
    review_comment = models.TextField(_("review comment"), blank=True)

    # Submission: the batch currently or last carrying the record, and Artu's messages when refused.
    batch = models.ForeignKey(
        "onboarding.SubmissionBatch", null=True, blank=True, on_delete=models.SET_NULL, related_name="records"
    )
    batch_position = models.PositiveSmallIntegerField(null=True, blank=True)
    artu_messages = models.JSONField(_("Artu's messages"), default=list, blank=True)

    class Meta:
        verbose_name = _("client record")
        verbose_name_plural = _("client records")
        ordering = ["-created_at", "-id"]
        permissions = [
            ("review_clientrecord", _("Can approve, reject and send back client records")),
            ("submit_clientrecord", _("Can submit approved client records to Artu (test)")),
            ("submit_live_clientrecord", _("Can submit client records to Artu live")),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(client_type__in=ClientType.values), name="record_type_valid"),
            models.CheckConstraint(condition=models.Q(status__in=RecordStatus.values), name="record_status_valid"),
        ]
        indexes = [
            # Identifier lookups (duplicates, prefix search as a range). Declared here, not with db_index: on
            # PostgreSQL db_index also adds a LIKE-pattern index that no query uses and every write pays for.
            *(models.Index(fields=[field], name=f"record_{field}") for field in ("external_id", "rfc", "curp")),
            models.Index(fields=["status", "-created_at"], name="record_status_created"),
            # The review queue's sort orders, alone and after a status tab, so a page is read in index order.
            *(models.Index(fields=fields, name=f"record_{key}_id") for key, fields in QUEUE_SORT_INDEXES.items()),
            *(
                models.Index(fields=["status", *fields], name=f"record_status_{key}")
                for key, fields in QUEUE_STATUS_SORT_INDEXES.items()
            ),
            models.Index(fields=["upload", "status"], name="record_upload_status"),
        ]

    def __str__(self) -> str:
        return self.display_name or str(self.uuid)

    @property
    def display_name(self) -> str:
        return " ".join(p for p in (self.name, self.middle_name, self.last_name) if p)

    @property
    def actividades_vulnerables(self) -> list[str]:
        return [code for code, field in AV_FIELDS.items() if getattr(self, field)]

    @property
    def sent_back_comment(self) -> str:
        """What the reviewer asked data entry to change, while the record waits as a draft ("" otherwise).
        A send-back is the only way into draft; `reviewed_by`/`reviewed_at` say who asked and when."""
        return self.review_comment if self.status == RecordStatus.DRAFT else ""

    @property
    def is_person(self) -> bool:
        return self.client_type == ClientType.INDIVIDUAL


class DuplicateDismissal(models.Model):
    """An officer's finding that two records sharing one identifier value are different clients: that value no
    longer flags the pair (services.duplicates). Another value they come to share is a new question."""

    first = models.ForeignKey(ClientRecord, on_delete=models.CASCADE, related_name="+", db_index=False)
    second = models.ForeignKey(ClientRecord, on_delete=models.CASCADE, related_name="+")
    field = models.CharField(max_length=20)
    value = models.CharField(max_length=100)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("not-a-duplicate decision")
        verbose_name_plural = _("not-a-duplicate decisions")
        default_permissions = ()
        constraints = [
            # `first` is the older record: one row per pair and value, whichever side it was settled from.
            models.UniqueConstraint(fields=["first", "second", "field", "value"], name="dismissal_pair_value"),
            models.CheckConstraint(condition=models.Q(first__lt=models.F("second")), name="dismissal_pair_ordered"),
        ]

    def __str__(self) -> str:
        return f"#{self.first_id} ≠ #{self.second_id} ({self.field} {self.value})"
