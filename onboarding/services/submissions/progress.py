"""Progress and export: the counts the submission page shows while it runs, and the results file."""

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, Min
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from onboarding.imports.export import csv_safe
from onboarding.models import AuditAction, BatchState, RecordOutcome, RecordStatus, Submission
from onboarding.permissions import PERM_VIEW_SUBMISSIONS
from onboarding.selectors.submissions import artu_message_text, submission_outcome_counts, submission_records
from onboarding.services.submissions.outcome import FINAL_BATCH_STATES
from onboarding.services.submissions.start import _submission_event

# Batches that wait for a next attempt, by themselves: their cause and time are what the page says about the wait.
WAITING_STATES = (BatchState.RETRY_WAIT, BatchState.RECONCILING, BatchState.PAUSED)


def submission_progress(submission: Submission) -> dict[str, Any]:
    """Counts for the progress page: batches done of total, the records of each outcome (created, refused, not created
    with a refused one, not sent, waiting), time left, and for the batches waiting to be tried again (after a retry's
    backoff or a pause's cool-off) or given up: the cause (a `SendCause` code) and when the next attempt comes."""
    by_state = submission.batches.values_list("state").annotate(n=Count("pk"), next_at=Min("next_attempt_at"))
    batches, next_at = {}, {}
    for state, n, at in by_state.values_list("state", "n", "next_at"):
        batches[state], next_at[state] = n, at
    outcomes = submission_outcome_counts(submission)
    done = sum(batches.get(s, 0) for s in FINAL_BATCH_STATES)
    total = submission.batch_count or sum(batches.values())
    eta = None
    if submission.started_at and 0 < done < total:
        elapsed = (timezone.now() - submission.started_at).total_seconds()
        eta = int(elapsed / done * (total - done))
    waits = [at for state, at in next_at.items() if state in WAITING_STATES and at]
    return {
        "batches_done": done,
        "batches_total": total,
        "percent": int(100 * done / total) if total else 100,
        "created": outcomes[RecordOutcome.CREATED],
        "failed": outcomes[RecordOutcome.REFUSED],
        "not_created": outcomes[RecordOutcome.NOT_CREATED],
        "not_sent": outcomes[RecordOutcome.NOT_SENT],
        "waiting": outcomes[RecordOutcome.WAITING],
        "elsewhere": outcomes["elsewhere"],
        "outcomes": outcomes,
        "eta_seconds": eta,
        "finished": submission.finished_at is not None,
        "retrying": batches.get(BatchState.RETRY_WAIT, 0) + batches.get(BatchState.RECONCILING, 0),
        "gave_up": batches.get(BatchState.GAVE_UP, 0),
        "paused": batches.get(BatchState.PAUSED, 0),
        "resumes_at": next_at.get(BatchState.PAUSED),
        "next_attempt_at": min(waits) if waits else None,
        "cause": _cause(submission),
    }


def _cause(submission: Submission) -> str:
    """The cause of the latest trouble among the batches still waiting or given up (a `SendCause` code, or "")."""
    troubled = submission.batches.filter(state__in=(*WAITING_STATES, BatchState.GAVE_UP)).exclude(cause="")
    return troubled.order_by("-updated_at", "-pk").values_list("cause", flat=True).first() or ""


def submission_results_export(*, actor, submission: Submission) -> list[list[str]]:
    """The results file (local id, external id, Artu id, status, message) as rows; the download is audited."""
    if not actor.has_perm(PERM_VIEW_SUBMISSIONS):
        raise PermissionDenied
    records = submission_records(submission).only("uuid", "external_id", "status", "artu_messages")
    rows = [[str(_("Local id")), str(_("External id")), str(_("Artu id")), str(_("Status")), str(_("Message"))]]
    labels = dict(RecordStatus.choices)
    for record in records:
        message = "; ".join(artu_message_text(m) for m in record.artu_messages or [])
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
