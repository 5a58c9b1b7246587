"""Submitting approved records to Artu exactly once.

The flow: `submission_start` claims the approved records in one guarded step (row locks with SKIP LOCKED on
PostgreSQL, a conditional update under SQLite's write lock) and cuts them into batches of at most
`ARTU_BATCH_SIZE`. `submission_run` (the background task) sends the batches, `ARTU_CONCURRENCY` at a time,
through one httpx client. No HTTP call happens inside a transaction; each batch's outcome is written in one
transaction with its audit events.

Exactly once: every record's own UUID travels in `metadata[ARTU_RECORD_METADATA_KEY]`. After an attempt that
may have reached Artu (timeout, dropped connection, 5xx, an item the answer does not account for), the records
still waiting are looked up by that key before anything is sent again: found → stored as created; not found →
sent again. A batch whose worker died is taken over once its lease expires, with the same reconciliation. The
batch's `claimed_at` is the hold's token: every state its worker writes is conditional on it, so a worker that
slept past its retry time, or past its lease, finds the batch taken and leaves it instead of sending it again.

Settling by itself: lookups have their own retry budget and never use a batch's send attempts. A batch Artu keeps
failing is paused, and the worker's sweep resumes it after a cool-off that doubles each time; only after
ARTU_GIVE_UP_AFTER is it given up, for a person to resume.

One module per stage, each readable on its own: `start` (choose, claim, cut into batches; a worker's claim of a
batch; resume and requeue), `send` (send and reconcile), `outcome` (what an answer makes of each record, in one
transaction with its audit events) and `progress` (the page's counts, the results file).
"""

from onboarding.services.submissions.outcome import (
    FINAL_BATCH_STATES,
    NOT_SENT_MESSAGE,
    SIBLING_REFUSED_MESSAGE,
    BatchTakenOver,
    submission_refresh,
)
from onboarding.services.submissions.progress import (
    WAITING_STATES,
    submission_progress,
    submission_results_export,
)
from onboarding.services.submissions.send import batch_process, submission_run
from onboarding.services.submissions.start import (
    LIVE_CONFIRMATION,
    RESUBMITTABLE,
    Preview,
    Scope,
    SubmissionRefused,
    submission_preview,
    submission_requeue_stalled,
    submission_resume,
    submission_resume_due,
    submission_start,
)

__all__ = [
    "FINAL_BATCH_STATES",
    "LIVE_CONFIRMATION",
    "RESUBMITTABLE",
    "WAITING_STATES",
    "NOT_SENT_MESSAGE",
    "SIBLING_REFUSED_MESSAGE",
    "BatchTakenOver",
    "Preview",
    "Scope",
    "SubmissionRefused",
    "batch_process",
    "submission_preview",
    "submission_progress",
    "submission_refresh",
    "submission_requeue_stalled",
    "submission_resume",
    "submission_resume_due",
    "submission_results_export",
    "submission_run",
    "submission_start",
]
