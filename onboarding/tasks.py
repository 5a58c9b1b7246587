"""Background tasks (django.tasks, run by `manage.py db_worker`). Each one calls one service."""

from django.tasks import task


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
