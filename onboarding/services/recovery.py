"""Work a dead worker left behind, and work resting until a set time. Background work holds a lease in its own rows
(a batch's `claimed_at`, a staging upload's `heartbeat_at`); once the lease expires, the work is queued again for
another worker. A batch Artu kept failing is paused until its cool-off is over (`next_attempt_at`); then it is
put back in the queue.

`manage.py worker` sweeps when it starts and every WORKER_SWEEP_SECONDS; `manage.py sweep` sweeps once.
"""

from dataclasses import dataclass

from onboarding.services.submissions import submission_requeue_stalled, submission_resume_due
from onboarding.services.uploads import upload_requeue_stalled


@dataclass(frozen=True)
class Requeued:
    submissions: list[int]
    uploads: list[int]
    resumed: list[int]  # submissions whose paused batches were resumed


def work_requeue_stalled() -> Requeued:
    """Queue again every submission and staging whose lease has expired, and the submissions whose paused batches
    are due (see each service); returns their ids."""
    return Requeued(
        submissions=submission_requeue_stalled(), uploads=upload_requeue_stalled(), resumed=submission_resume_due()
    )
