"""Work a dead worker left behind. Background work holds a lease in its own rows (a batch's `claimed_at`, a
staging upload's `heartbeat_at`); once the lease expires, the work is queued again for another worker.

`manage.py worker` sweeps when it starts and every WORKER_SWEEP_SECONDS; `manage.py sweep` sweeps once.
"""

from dataclasses import dataclass

from onboarding.services.submissions import submission_requeue_stalled
from onboarding.services.uploads import upload_requeue_stalled


@dataclass(frozen=True)
class Requeued:
    submissions: list[int]
    uploads: list[int]


def work_requeue_stalled() -> Requeued:
    """Queue again every submission and staging whose lease has expired (see each service); returns their ids."""
    return Requeued(submissions=submission_requeue_stalled(), uploads=upload_requeue_stalled())
