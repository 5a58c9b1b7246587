"""Every main page passes axe-core (axe-playwright-python) with no serious or critical violation, in Spanish and
English, on a desktop (1280×800) and a phone (390×844): one browser, one live server, the pages visited in a loop.

What axe finds here (contrast, names of links, buttons and controls, landmarks, ARIA) is what a screen-reader or
low-vision user meets first; the test fails with axe's own report, rule by rule and element by element."""

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from onboarding.models import AuditEvent, RecordStatus, Submission, Upload, UploadStatus
from onboarding.services.records import record_create
from onboarding.services.review import record_acknowledge_warnings, record_send_back
from onboarding.services.submissions import submission_run, submission_start
from onboarding.services.uploads import upload_map_columns, upload_receive
from tests.factories import ClientRecordFactory
from tests.fixtures_browser import screenshot
from tests.imports import artu_row, csv_bytes, uploaded
from tests.review.queue_data import realistic_records
from tests.review.test_duplicates import person_data

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
LANGUAGES = ("es-mx", "en")
BLOCKING = {"serious", "critical"}
AXE = Axe()
PASSWORD = "a-long-test-password"
STATUS = {"not-found": 404, "forbidden": 403}  # the error pages, checked to be what they claim; the rest are 200


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def desk(artu, capturista, oficial, auditor):
    """A desk in use: records in review with errors, warnings acknowledged or not, a duplicate pair, a draft sent
    back; an upload staged and one waiting for its mapping, a saved mapping; a submission with a refused record."""
    realistic_records(6, created_by=capturista)
    first = record_create(actor=capturista, data=person_data(external_id="SUC-0001"))
    second = record_create(actor=capturista, data=person_data(external_id="SUC-0417", name="Jorge Alberto"))
    warned = record_create(actor=capturista, data=person_data(rfc="", curp="", nationalities="", external_id="SUC-9"))
    record_acknowledge_warnings(actor=oficial, record_id=warned.pk)
    draft = ClientRecordFactory(created_by=capturista)
    record_send_back(actor=oficial, record_id=draft.pk, comment="Confirme la CURP con el cliente.")
    rows = [artu_row(i) for i in range(3)]
    staged = upload_receive(actor=capturista, file=uploaded(csv_bytes(rows), "altas.csv"))
    upload_map_columns(actor=capturista, upload_id=staged.pk, mapping=staged.mapping, save_as="Altas", share=True)
    odd = [{"Cliente": "Ana", "Apellidos": "Pérez", "Clave": "X1"}]
    mapping = upload_receive(actor=capturista, file=uploaded(csv_bytes(odd), "sucursal.csv"))
    assert Upload.objects.get(pk=mapping.pk).status == UploadStatus.MAPPING
    ClientRecordFactory.create_batch(2, status=RecordStatus.APPROVED)
    ClientRecordFactory(status=RecordStatus.APPROVED, rfc="BAD")
    submission = submission_start(actor=oficial, environment="test", atomic=False, enqueue=False)
    submission_run(submission.pk, concurrency=1)
    ClientRecordFactory(status=RecordStatus.APPROVED)  # something left to submit: the new-submission form
    return {
        "first": first.pk,
        "second": second.pk,
        "warned": warned.pk,
        "staged": staged.pk,
        "mapping": mapping.pk,
        "submission": Submission.objects.get().pk,
        "event": AuditEvent.objects.order_by("-seq").first().seq,
    }


def open_reject_form(page, record_id: int) -> None:
    """The review queue with the inline reject form open under a row (the row's menu, then Reject)."""
    row = page.locator(f"#record-{record_id}")
    row.locator("details.row-menu summary").click()
    row.locator("a[data-key=reject]").click()
    expect(page.locator(f"#action-{record_id} form")).to_be_visible()


def submit_empty(page) -> None:
    """The record form sent with nothing typed: its errors beside the fields."""
    page.click(".sticky-actions button[type=submit]")
    expect(page.locator(".field.has-error").first).to_be_visible()


def pages(desk) -> dict[str, list[tuple[str, str, object]]]:
    """Who visits which pages: (name, URL, what to do once there or None)."""
    first, second, warned = desk["first"], desk["second"], desk["warned"]
    return {
        "oficial": [
            ("home-officer", "/", None),
            ("queue", "/review/", None),
            ("queue-inline-form", "/review/", lambda page: open_reject_form(page, warned)),
            ("record", f"/records/{first}/", None),
            ("record-form", f"/records/{warned}/edit/", None),
            ("record-form-errors", "/records/new/", submit_empty),
            ("records", "/records/", None),
            ("duplicates", f"/review/duplicates/{first}/{second}/", None),
            ("uploads", "/uploads/", None),
            ("upload", f"/uploads/{desk['staged']}/", None),
            ("mapping", f"/uploads/{desk['mapping']}/mapping/", None),
            ("mappings", "/uploads/mappings/", None),
            ("submissions", "/submissions/", None),
            ("submission-new", "/submissions/new/", None),
            ("submission", f"/submissions/{desk['submission']}/", None),
            ("not-found", "/records/987654321/", None),
        ],
        "capturista": [
            ("home-data-entry", "/", None),
            ("forbidden", "/audit/", None),
        ],
        "auditor": [
            ("home-auditor", "/", None),
            ("audit-log", "/audit/?per_page=25", None),
            ("audit-event", f"/audit/{desk['event']}/", None),
        ],
    }


def blocking(page) -> list[str]:
    """axe's serious and critical violations on the page as it is now, one line per element and why."""
    found = AXE.run(page).response["violations"]
    return [
        f"{v['id']} ({v['impact']}): {v['help']}\n    {node['target']} {node['html'][:160]}\n    "
        + "; ".join(check["message"] for check in node["any"] + node["all"] + node["none"])
        for v in found
        if v["impact"] in BLOCKING
        for node in v["nodes"]
    ]


def sign_in(page, username: str, password: str = PASSWORD) -> None:
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]:not(.linklike)")


@pytest.fixture
def new_tab(browser, live_server):
    """`new_tab(size)`: a page in a browser context of its own (its own cookies), closed after the test."""
    contexts = []

    def make(size: str):
        context = browser.new_context(base_url=live_server.url, locale="es-MX", viewport=SIZES[size])
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.mark.parametrize("size", SIZES)
def test_no_serious_or_critical_axe_violation_on_any_main_page(new_tab, live_server, desk, size):
    problems: dict[str, list[str]] = {}

    def speak(page, language: str) -> None:
        page.context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])

    def check(page, name: str, language: str) -> None:
        expect(page.locator("html")).to_have_attribute("lang", language)
        if found := blocking(page):
            problems[f"{name} ({language}, {size})"] = found
            screenshot(page, f"axe-{name}-{language}-{size}")

    # Signed out: the sign-in page, and the page a locked-out sign-in gets (a user name that does not exist; once
    # locked, each further attempt gets the page again without counting).
    page = new_tab(size)
    for language in LANGUAGES:
        speak(page, language)
        page.goto("/accounts/login/")
        check(page, "sign-in", language)
        for _attempt in range(5 if language == LANGUAGES[0] else 1):
            sign_in(page, "nadie", "wrong-Guess-123")
        expect(page.locator("#locked-out")).to_be_visible()
        check(page, "lockout", language)

    for username, visits in pages(desk).items():
        page = new_tab(size)
        sign_in(page, username)
        page.wait_for_url(lambda url: "/login/" not in url)
        for language in LANGUAGES:
            speak(page, language)
            for name, url, then in visits:
                assert page.goto(url).status == STATUS.get(name, 200), name
                if then:
                    then(page)
                check(page, name, language)

    report = "\n".join(f"{name}:\n  " + "\n  ".join(found) for name, found in problems.items())
    assert not problems, f"axe found serious or critical violations:\n{report}"
