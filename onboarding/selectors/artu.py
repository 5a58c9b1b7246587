"""Where Artu holds a record, per environment, and the client object Artu returned, in a form a person can read.

The client object's parts beyond the reference page's field names (the inside of `riskAssessments`, a document's
statuses) are not documented: they are shown as Artu gave them, read tolerantly, never required."""

import datetime
import json
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Exists, OuterRef, QuerySet
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext_lazy as _

from onboarding.models import ArtuEnvironment, ArtuRecord, ClientRecord

# The statuses of a document Artu names (`pending_upload` on the reference page; the others seen in its docs).
DOCUMENT_STATUS_LABELS = {
    "pending_upload": _("Waiting for the file"),
    "uploaded": _("Uploaded"),
    "pending_review": _("Waiting for review"),
    "verified": _("Verified"),
    "rejected": _("Rejected"),
    "expired": _("Expired"),
}
# Names for the parts of a risk assessment and of a document seen so far; others are shown with Artu's own words.
RISK_LABELS = {
    "level": _("Level"),
    "score": _("Score"),
    "factors": _("Factors"),
    "assessedAt": _("Assessed at"),
}
RISK_LEVELS = {"low": _("Low"), "medium": _("Medium"), "high": _("High")}
DOCUMENT_TYPES = {
    "identification": _("Identification"),
    "proof_of_address": _("Proof of address"),
    "incorporation_deed": _("Incorporation deed"),
    "trust_agreement": _("Trust agreement"),
}
# The lists of a client object shown as a count (their content is not this desk's business).
COUNTED_PARTS = {
    "addresses": _("Addresses"),
    "contactMethods": _("Contact methods"),
    "bankAccounts": _("Bank accounts"),
    "linkedClients": _("Linked clients"),
}


def with_environments(records: QuerySet[ClientRecord]) -> QuerySet[ClientRecord]:
    """The records with `in_test` and `in_live`: whether Artu holds each in that environment (one query still)."""
    held = ArtuRecord.objects.filter(record=OuterRef("pk"))
    return records.annotate(
        in_test=Exists(held.filter(environment=ArtuEnvironment.TEST)),
        in_live=Exists(held.filter(environment=ArtuEnvironment.LIVE)),
    )


@dataclass(frozen=True)
class Entry:
    """One value of Artu's answer: a label (Artu's own key when it has no name here) and its text or date."""

    label: str
    text: str = ""
    when: datetime.datetime | datetime.date | None = None


@dataclass
class ArtuCopy:
    """The record as one environment of Artu holds it, ready for the record page."""

    held: ArtuRecord
    updated_at: datetime.datetime | None = None
    risk: list[tuple[str, list[Entry]]] = field(default_factory=list)
    tags: list[dict[str, str]] = field(default_factory=list)
    documents: list[dict[str, Any]] = field(default_factory=list)
    counted: list[tuple[str, int]] = field(default_factory=list)
    raw: str = ""

    @property
    def environment(self) -> str:
        return self.held.environment

    @property
    def environment_label(self) -> str:
        return str(ArtuEnvironment(self.held.environment).label)


def record_artu_copies(*, record_id: int) -> list[ArtuCopy]:
    """The environments of Artu holding the record, test first, each with Artu's answer made readable."""
    rows = ArtuRecord.objects.filter(record_id=record_id).select_related("submission").order_by("environment")
    copies = sorted((_copy(row) for row in rows), key=lambda c: ArtuEnvironment.values.index(c.environment))
    return copies


def _copy(row: ArtuRecord) -> ArtuCopy:
    client = row.response if isinstance(row.response, dict) else {}
    return ArtuCopy(
        held=row,
        updated_at=_when(client.get("updatedAt")),
        risk=_risk(client.get("riskAssessments")),
        tags=[_tag(tag) for tag in _list(client.get("tags")) if isinstance(tag, dict)],
        documents=[_document(doc) for doc in _list(client.get("documents")) if isinstance(doc, dict)],
        counted=[(str(label), len(_list(client.get(key)))) for key, label in COUNTED_PARTS.items() if client.get(key)],
        raw=json.dumps(row.response, indent=2, ensure_ascii=False) if row.response is not None else "",
    )


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _when(value: Any) -> datetime.datetime | datetime.date | None:
    if not isinstance(value, str):
        return None
    try:
        return parse_datetime(value) or parse_date(value)
    except ValueError:
        return None


def _text(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    if isinstance(value, list):
        return ", ".join(_text(v) for v in value) or "—"
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def _entries(value: Any) -> list[Entry]:
    """A risk assessment's values, each readable: a date as a date, a list joined, an object in a line of JSON."""
    if not isinstance(value, dict):
        return [Entry("", _text(value))]
    entries = []
    for key, item in value.items():
        when = _when(item) if isinstance(item, str) and key.endswith("At") else None
        text = str(RISK_LEVELS.get(item, item)) if key == "level" and isinstance(item, str) else _text(item)
        entries.append(Entry(str(RISK_LABELS.get(key, key)), "" if when else text, when))
    return entries


def _risk(value: Any) -> list[tuple[str, list[Entry]]]:
    """`riskAssessments` (an object on the reference page, its inside undocumented): one group per key."""
    if isinstance(value, dict):
        return [(str(key), _entries(item)) for key, item in value.items()]
    if isinstance(value, list):
        return [(str(item.get("scope") or item.get("id") or n), _entries(item)) for n, item in enumerate(value, 1)]
    return []


def _tag(tag: dict[str, Any]) -> dict[str, str]:
    return {"name": _text(tag.get("name")), "color": str(tag.get("color") or ""), "id": str(tag.get("id") or "")}


def _document(doc: dict[str, Any]) -> dict[str, Any]:
    status = str(doc.get("status") or "")
    return {
        "type": str(DOCUMENT_TYPES.get(doc.get("type"), _text(doc.get("type")))),
        "status": str(DOCUMENT_STATUS_LABELS.get(status, status)) or "—",
        "status_code": status,
        "filename": doc.get("filename") or "",
        "id": str(doc.get("id") or ""),
        "created_at": _when(doc.get("createdAt")),
        "expires_at": _when(doc.get("expiresAt")),
        "verified_at": _when(doc.get("verifiedAt")),
        "rejection_reason": doc.get("rejectionReason") or "",
    }
