"""Progress and export: the counts the submission page shows while it runs, and the results file."""

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, Min
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from onboarding.imports.export import csv_safe
from onboarding.models import AuditAction, BatchState, ClientRecord, RecordStatus, Submission
from onboarding.permissions import PERM_VIEW_SUBMISSIONS
from onboarding.selectors.submissions import submission_records
from onboarding.services.submissions.outcome import FINAL_BATCH_STATES
from onboarding.services.submissions.start import _submission_event


def submission_progress(submission: Submission) -> dict[str, Any]:
    """Counts for the progress page: batches done of total, records created/failed/waiting, time left, and the
    batches paused after repeated errors with the time the first of them is tried again."""
    by_state = submission.batches.values_list("state").annotate(n=Count("pk"), next_at=Min("next_attempt_at"))
    batches, next_at = {}, {}
    for state, n, at in by_state.values_list("state", "n", "next_at"):
        batches[state], next_at[state] = n, at
    records = dict(
        ClientRecord.objects.filter(batch__submission=submission)
        .values_list("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    done = sum(batches.get(s, 0) for s in FINAL_BATCH_STATES)
    total = submission.batch_count or sum(batches.values())
    eta = None
    if submission.started_at and 0 < done < total:
        elapsed = (timezone.now() - submission.started_at).total_seconds()
        eta = int(elapsed / done * (total - done))
    created = submission.created.count()  # its ArtuRecord rows: the records may have moved on (test, then live)
    return {
        "batches_done": done,
        "batches_total": total,
        "percent": int(100 * done / total) if total else 100,
        "created": created,
        "failed": records.get(RecordStatus.FAILED, 0),
        "waiting": records.get(RecordStatus.SUBMITTING, 0),
        "returned": max(
            0,
            submission.record_count
            - created
            - records.get(RecordStatus.FAILED, 0)
            - records.get(RecordStatus.SUBMITTING, 0),
        ),
        "eta_seconds": eta,
        "finished": submission.finished_at is not None,
        "retrying": batches.get(BatchState.RETRY_WAIT, 0) + batches.get(BatchState.RECONCILING, 0),
        "gave_up": batches.get(BatchState.GAVE_UP, 0),
        "paused": batches.get(BatchState.PAUSED, 0),
        "resumes_at": next_at.get(BatchState.PAUSED),
    }


def submission_results_export(*, actor, submission: Submission) -> list[list[str]]:
    """The results file (local id, external id, Artu id, status, message) as rows; the download is audited."""
    if not actor.has_perm(PERM_VIEW_SUBMISSIONS):
        raise PermissionDenied
    records = submission_records(submission).only("uuid", "external_id", "status", "artu_messages")
    rows = [[str(_("Local id")), str(_("External id")), str(_("Artu id")), str(_("Status")), str(_("Message"))]]
    labels = dict(RecordStatus.choices)
    for record in records:
        message = "; ".join(
            f"{m.get('path')}: {m.get('message')}" if m.get("path") else str(m.get("message", ""))
            for m in record.artu_messages or []
        )
        rows.append(
            [
                csv_safe(v)
                for v in (
                    record.uuid,
                    record.external_id,
                    record.artu_id or "",
                    labels.get(record.status, record.status),
                    message,
                )
            ]
        )
    with transaction.atomic(durable=True):
        _submission_event(
            submission,
            actor=actor,
            action=AuditAction.EXPORT,
            changes={"what": "submission_results", "rows": len(rows) - 1, "format": "csv"},
        )
    return rows
