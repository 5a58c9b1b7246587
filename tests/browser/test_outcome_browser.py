"""In Chromium, at a laptop's and a phone's size: a submission that went partly wrong says what became of each
record, in the reader's language, and offers to send again what Artu never had; the review queue's ticked rows go
to the submission page, counted before anything is sent."""

import pytest
from playwright.sync_api import expect

from onboarding.artu.client import ArtuClient
from onboarding.models import RecordStatus, Submission
from onboarding.services.submissions import batch_process, submission_refresh, submission_start
from onboarding.services.submissions.start import _batch_claim
from tests.deploy import free_port
from tests.factories import ClientRecordFactory
from tests.fixtures_browser import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZES = {"laptop": (1280, 800), "phone": (390, 844)}


@pytest.fixture
def mixed_submission(artu, oficial, settings):
    """One submission of three batches: an atomic refusal (1 refused, 3 held back), one Artu never received
    (unreachable, given up at once: 4 not sent), one created (2)."""
    settings.ARTU_BATCH_SIZE = 4
    settings.ARTU_MAX_ATTEMPTS = 1
    settings.ARTU_GIVE_UP_AFTER = 0
    settings.ARTU_CONNECT_TIMEOUT = 0.5
    approved = {"status": RecordStatus.APPROVED}
    ClientRecordFactory.create_batch(3, **approved)
    ClientRecordFactory(nationalities="XXX", name="Rosa", last_name="Ávila Cruz", **approved)
    ClientRecordFactory.create_batch(6, **approved)
    submission = submission_start(actor=oficial, environment="test", atomic=True, enqueue=False)
    with ArtuClient() as sandbox, ArtuClient(base_url=f"http://127.0.0.1:{free_port()}") as nowhere:
        for client in (sandbox, nowhere, sandbox):
            batch_process(client, *_batch_claim(submission.pk))
    return submission_refresh(submission.pk)


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")


@pytest.mark.parametrize("size", SIZES)
def test_a_failed_submission_says_what_became_of_each_record(page, sign_in, oficial, mixed_submission, size):
    page.set_viewport_size(dict(zip(("width", "height"), SIZES[size], strict=True)))
    sign_in(oficial)
    page.goto(f"/submissions/{mixed_submission.pk}/")
    counts = {code: page.locator(f"#count-{code} .count-n").inner_text() for code in ("created", "refused")}
    counts |= {code: page.locator(f"#count-{code} .count-n").inner_text() for code in ("not_created", "not_sent")}
    assert counts == {"created": "2", "refused": "1", "not_created": "3", "not_sent": "4"}
    expect(page.locator("#progress-cause")).to_contain_text("No se pudo contactar a Artu")
    assert page.locator("#count-not_sent").evaluate("e => getComputedStyle(e).backgroundColor") != page.locator(
        "#count-created"
    ).evaluate("e => getComputedStyle(e).backgroundColor")
    retry = page.get_by_role("button", name="Reintentar los 4 registros no enviados")
    expect(retry).to_be_visible()
    expect(page.get_by_role("button", name="Enviar de nuevo los otros 3, sin los rechazados")).to_be_visible()
    assert no_horizontal_scroll(page)
    screenshot(page, f"failed-submission-es-{size}", full_page=False)
    screenshot(page, f"failed-submission-es-{size}-full")

    page.click("#count-not_created")
    expect(page.locator("#records tbody tr")).to_have_count(3)
    expect(page.locator("#records tbody tr").first.get_by_role("link", name="Rosa Ávila Cruz")).to_be_visible()
    screenshot(page, f"failed-submission-es-{size}-held-back")
    page.locator("#records tbody tr").first.get_by_role("link", name="Rosa Ávila Cruz").click()
    expect(page.locator("#artu-messages h2")).to_have_text("Artu rechazó este registro")
    expect(page.locator("#artu-messages")).to_contain_text("Nacionalidades")
    screenshot(page, f"refused-record-es-{size}")
    page.goto(f"/submissions/{mixed_submission.pk}/?outcome=not_sent")
    page.locator("#records tbody tr a").first.click()
    expect(page.locator("#artu-messages h2")).to_have_text("No enviado a Artu")
    expect(page.locator("#history")).to_contain_text("Registro no enviado a Artu")
    screenshot(page, f"not-sent-record-es-{size}")

    site = "/".join(page.url.split("/")[:3]) + "/"
    page.context.add_cookies([{"name": "django_language", "value": "en", "url": site}])
    page.goto(f"/submissions/{mixed_submission.pk}/?outcome=not_sent")
    expect(page.locator("#records")).to_contain_text("Not sent: Artu could not be reached.")
    assert "ConnectError" not in page.content()
    screenshot(page, f"failed-submission-en-{size}")

    page.get_by_role("button", name="Retry the 4 records not sent").click()
    page.wait_for_url(lambda url: f"/submissions/{mixed_submission.pk}/" not in url)
    again = Submission.objects.exclude(pk=mixed_submission.pk).get()
    assert again.record_count == 4 and again.scope["from_submission"] == mixed_submission.pk


@pytest.mark.parametrize("size", SIZES)
def test_ticked_rows_of_the_queue_go_to_the_submission_page_counted(page, sign_in, oficial, size):
    page.set_viewport_size(dict(zip(("width", "height"), SIZES[size], strict=True)))
    ready = ClientRecordFactory.create_batch(2, status=RecordStatus.APPROVED)
    waiting = ClientRecordFactory(status=RecordStatus.IN_REVIEW)
    ClientRecordFactory(status=RecordStatus.APPROVED)
    sign_in(oficial)
    page.goto("/review/")
    for record in (*ready, waiting):
        page.check(f"#record-{record.pk} input[data-select]")
    expect(page.locator("[data-selected-count]")).to_have_text("3")
    screenshot(page, f"queue-selection-{size}", full_page=False)
    page.locator("#bulk-submit").click()
    page.wait_for_url("**/submissions/new/?ids=*")
    expect(page.locator("#preview")).to_contain_text("Se enviarán 2 registros aprobados en 1 lote.")
    expect(page.locator("#preview-selected")).to_contain_text("2 de los 3 registros seleccionados están aprobados")
    assert no_horizontal_scroll(page)
    screenshot(page, f"queue-selection-submission-{size}")
    page.click("button[type=submit][data-disable-on-submit]")
    page.wait_for_url("**/submissions/*/")
    assert Submission.objects.get().record_count == 2
