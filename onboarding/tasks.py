"""Background tasks (django.tasks, run by `manage.py worker`). Each one calls one service."""

from django.tasks import TaskResultStatus, task


@task
def submission_run_task(submission_id: int) -> dict:
    """Send a submission's open batches to Artu; running it again resumes where it stopped."""
    from onboarding.services.submissions import submission_run

    submission = submission_run(submission_id)
    return {"status": submission.status, "created": submission.created_count, "failed": submission.failed_count}


@task
def upload_stage_task(upload_id: int) -> dict:
    """Stage a mapped upload (all rows or none); the upload row shows progress and the outcome."""
    from onboarding.services.uploads import upload_stage

    upload = upload_stage(upload_id=upload_id)
    return {"status": upload.status, "rows": upload.row_count, "errors": upload.error_count}


@task
def worker_heartbeat_task() -> int:
    """Shows that a worker takes tasks (`/healthz` queues one when none waits); drops heartbeats an hour old."""
    from onboarding.health import heartbeats_prune

    return heartbeats_prune()


# -- the queue's own rows, for the sweep that re-queues work a dead worker left (see services/recovery.py) ---------


class WorkerLost(Exception):
    """Recorded on a run that was still shown running when the lease of its work expired: its worker stopped."""


def _runs(task, status: TaskResultStatus):
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.filter(task_path=task.module_path, status=status).only("args_kwargs")


def _subject(run) -> int | None:
    """The id a run was given (each task here takes one id, positional or by keyword)."""
    args, kwargs = run.args_kwargs.get("args") or [], run.args_kwargs.get("kwargs") or {}
    value = args[0] if args else next(iter(kwargs.values()), None)
    return value if isinstance(value, int) else None


def task_subjects_waiting(task) -> set[int]:
    """The ids given to this task's runs that wait in the queue."""
    return {_subject(run) for run in _runs(task, TaskResultStatus.READY)}


def task_runs_abandon(task, ids: set[int]) -> int:
    """Mark as failed this task's runs for `ids` still shown running; returns how many."""
    abandoned = [run for run in _runs(task, TaskResultStatus.RUNNING) if _subject(run) in ids]
    for run in abandoned:
        run.set_failed(WorkerLost("the worker stopped before it finished; the work was queued again"))
    return len(abandoned)
