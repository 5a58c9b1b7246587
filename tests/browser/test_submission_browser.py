"""An officer submits the approved records in the browser and follows the progress until Artu's ids show."""

import shutil
import threading
from pathlib import Path

import pytest
from django.db import connection

from onboarding.models import ArtuRecord, RecordStatus, Submission
from onboarding.services.submissions import submission_run
from tests.factories import ClientRecordFactory
from tests.fixtures_browser import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
DOCS_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "submission-progress.png"


def run_in_thread(submission_id: int) -> None:
    """What the task worker does, in a thread of its own that closes its database connection when done."""
    try:
        submission_run(submission_id, concurrency=2)
    finally:
        connection.close()


def test_officer_submits_and_watches_progress(page, sign_in, oficial, artu, settings):
    settings.ARTU_BATCH_SIZE = 2
    ClientRecordFactory.create_batch(3, status=RecordStatus.APPROVED)
    ClientRecordFactory(status=RecordStatus.APPROVED, rfc="BAD")
    sign_in(oficial)
    page.goto("/submissions/new/")
    assert "4" in page.locator("#preview").inner_text()
    page.uncheck("input[name=atomic]")
    screenshot(page, "submission-new")
    page.click("button[type=submit][data-disable-on-submit]")
    page.wait_for_url("**/submissions/*/")
    submission = Submission.objects.get()
    assert submission.batch_count == 2 and not submission.atomic
    # What the task worker does, here in a thread while the page polls.
    worker = threading.Thread(target=run_in_thread, args=(submission.pk,))
    worker.start()
    worker.join(30)
    page.wait_for_selector("#progress:not([hx-get])", timeout=15_000)
    for held in ArtuRecord.objects.filter(environment="test"):
        assert page.get_by_text(str(held.artu_id)).is_visible()
    assert page.get_by_text("scopeData.MX.rfc").first.is_visible()
    screenshot(page, "submission-done")
    # The README's picture of a submission's progress, at the laptop size the README speaks of.
    page.set_viewport_size({"width": 1280, "height": 800})
    page.click("button[name=language][value=en]")  # in English, like the README
    page.wait_for_selector("html[lang=en] #progress")
    DOCS_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(screenshot(page, "submission-progress-1280", full_page=False), DOCS_SCREENSHOT)
