"""A working day in Chromium, on a desktop (1280×800) and a phone (390×844), in Spanish and English: the home page
says what waits, a stale save is re-applied in one step, dates are typed day first whatever the browser's locale."""

import datetime

import pytest
from playwright.sync_api import expect

from onboarding.models import ClientRecord, RecordStatus, Submission, SubmissionStatus, Upload, UploadStatus
from onboarding.services.audit import audit_chain_verify_and_record
from onboarding.services.records import record_update
from onboarding.services.review import record_send_back
from tests.factories import ClientRecordFactory, person_identifiers
from tests.fixtures_browser import SCREENSHOTS, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
LANGUAGES = ("es-mx", "en")


@pytest.fixture
def open_as(browser, live_server):
    """`open_as(user, size, language)`: a signed-in page in a browser set to es-MX, the app in `language`."""
    contexts = []

    def make(user, size="desktop", language="es-mx"):
        context = browser.new_context(base_url=live_server.url, locale="es-MX", viewport=SIZES[size])
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.goto("/accounts/login/")
        page.fill("#id_username", user.username)
        page.fill("#id_password", "a-long-test-password")
        page.click("button[type=submit]:not(.linklike)")
        page.wait_for_url(lambda url: "/login/" not in url)
        context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
        return page

    yield make
    for context in contexts:
        context.close()


def each_size_and_language(page, url: str, name: str, live_server) -> None:
    """Screenshots of `url` at both sizes in both languages, for a person to look at."""
    for language in LANGUAGES:
        page.context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
        for size, viewport in SIZES.items():
            page.set_viewport_size(viewport)
            page.goto(url)
            screenshot(page, f"{name}-{language}-{size}")


def staged_days_ago(days: int, **fields) -> ClientRecord:
    record = ClientRecordFactory(**fields)
    ClientRecord.objects.filter(pk=record.pk).update(created_at=record.created_at - datetime.timedelta(days=days))
    return record


@pytest.fixture
def busy_month(capturista, oficial2):
    """A month of work: records staged over 30 days in every status, warnings, a duplicate, a refused record, a
    draft sent back, uploads and submissions."""
    statuses = [RecordStatus.IN_REVIEW, RecordStatus.APPROVED, RecordStatus.SUBMITTED, RecordStatus.REJECTED]
    for day in range(0, 30, 2):
        for n in range(day % 5 + 1):
            staged_days_ago(day, created_by=capturista, status=statuses[(day + n) % len(statuses)])
    staged_days_ago(9, created_by=capturista, warning_count=1, warnings_acknowledged=False)
    staged_days_ago(4, created_by=capturista, duplicate_field="rfc")
    staged_days_ago(3, created_by=capturista, status=RecordStatus.FAILED)
    draft = ClientRecordFactory(created_by=capturista, name="Rosa María", last_name="Fuentes Olvera")
    record_send_back(actor=oficial2, record_id=draft.pk, comment="La CURP no corresponde a la fecha de nacimiento.")
    for name, status, rows in (
        ("sucursal-monterrey.csv", UploadStatus.MAPPING, 420),
        ("altas.csv", UploadStatus.STAGED, 1280),
    ):
        Upload.objects.create(original_name=name, created_by=capturista, format="csv", status=status, row_count=rows)
    Submission.objects.create(
        environment="test",
        created_by=oficial2,
        status=SubmissionStatus.FINISHED_WITH_FAILURES,
        record_count=250,
        created_count=247,
        failed_count=3,
    )
    return draft


def test_an_officer_home_says_what_waits_and_opens_the_queue_oldest_first(open_as, oficial, busy_month, live_server):
    page = open_as(oficial, "phone", "es-mx")
    page.goto("/")
    expect(page.locator("#home-review .age-bucket")).to_have_count(4)
    expect(page.locator("#home-warnings .home-n")).to_have_text("1")
    expect(page.locator("#home-chart svg[role=img]")).to_be_visible()
    page.locator("#home-review .age-bucket.age-7\\+").click()
    page.wait_for_url("**/review/?*")
    expect(page.locator("input[name=date_to][type=text]")).to_have_value(
        (datetime.date.today() - datetime.timedelta(days=7)).strftime("%d/%m/%Y")
    )
    assert page.locator("tr.review-row").count() >= 1
    each_size_and_language(page, "/", "home-officer", live_server)


def test_data_entry_home_lists_what_was_sent_back_and_why(open_as, capturista, busy_month, live_server):
    page = open_as(capturista, "desktop", "en")
    page.goto("/")
    sent_back = page.locator("#home-sent-back")
    expect(sent_back).to_contain_text("La CURP no corresponde a la fecha de nacimiento.")
    expect(page.locator("#home-my-uploads")).to_contain_text("sucursal-monterrey.csv")
    each_size_and_language(page, "/", "home-data-entry", live_server)  # ends in English, on a phone
    sent_back.get_by_role("link", name="Rosa María Fuentes Olvera").click()
    expect(page.locator("#send-to-review")).to_contain_text("La CURP no corresponde a la fecha de nacimiento.")
    page.get_by_role("button", name="Send back to review").click()
    expect(page.locator(".flash-success")).to_be_visible()
    assert ClientRecord.objects.get(pk=busy_month.pk).status == RecordStatus.IN_REVIEW


def test_an_auditor_home_shows_the_last_verification(open_as, auditor, busy_month, live_server):
    audit_chain_verify_and_record(actor=auditor)
    page = open_as(auditor, "desktop", "es-mx")
    page.goto("/")
    expect(page.locator("#home-anchor code")).to_be_visible()
    each_size_and_language(page, "/", "home-auditor", live_server)


@pytest.mark.parametrize(("size", "language"), [("desktop", "es-mx"), ("phone", "en")])
def test_a_stale_save_is_reapplied_in_one_step(open_as, oficial, capturista, size, language, live_server):
    record = ClientRecordFactory(created_by=capturista, name="Ana", middle_name="", external_id="CLI-1")
    first = open_as(oficial, size, language)
    first.goto(f"/records/{record.pk}/edit/")
    second = first.context.new_page()  # the same person, another tab
    second.goto(f"/records/{record.pk}/edit/")
    second.fill("#id_external_id", "CLI-77")
    second.fill("#id_name", "Anabel")
    second.click(".sticky-actions button[type=submit]")
    second.wait_for_url(f"**/records/{record.pk}/")

    first.fill("#id_middle_name", "Sofía")
    first.fill("#id_name", "Ana Luisa")
    first.click(".sticky-actions button[type=submit]")
    panel = first.locator("#stale-changes")
    expect(panel).to_be_visible()
    expect(panel.locator("#stale-name")).to_contain_text("Anabel")
    expect(panel.locator("#stale-name")).to_contain_text("Ana Luisa")
    expect(panel.locator("#stale-external_id")).to_contain_text("CLI-77")
    expect(panel.locator("input[name=choice_name][value=theirs]")).to_be_checked()
    screenshot(first, f"record-stale-{language}-{size}")
    panel.screenshot(path=str(SCREENSHOTS / f"record-stale-panel-{language}-{size}.png"))
    panel.locator("input[name=choice_name][value=mine]").check()
    panel.locator("button[type=submit]").click()
    first.wait_for_url(f"**/records/{record.pk}/")
    record.refresh_from_db()
    assert (record.name, record.middle_name, record.external_id) == ("Ana Luisa", "Sofía", "CLI-77")
    screenshot(first, f"record-after-reapply-{language}-{size}")


@pytest.mark.parametrize(("size", "language"), [("desktop", "en"), ("phone", "es-mx")])
def test_dates_are_typed_day_first_whatever_the_browsers_locale(open_as, capturista, size, language, live_server):
    page = open_as(capturista, size, language)
    page.goto("/records/new/")
    birth = page.locator("#id_birth_date")
    assert birth.get_attribute("type") == "text"
    assert birth.get_attribute("placeholder") == ("DD/MM/YYYY" if language == "en" else "DD/MM/AAAA")
    screenshot(page, f"record-form-{language}-{size}")
    when = datetime.date(1988, 3, 4)
    rfc, curp = person_identifiers("MARIA", "LOPEZ", "GARCIA", when, sex="M")
    page.check("input[name=client_type][value=individual]")
    page.fill("#id_name", "María")
    page.fill("#id_apellido_paterno", "López")
    page.fill("#id_apellido_materno", "García")
    birth.fill("04/03/1988")  # 4 March; a browser's month-first picker would have made it 3 April
    page.fill("#id_nationalities", "MX")
    page.fill("#id_rfc", rfc)
    page.fill("#id_curp", curp)
    page.click(".sticky-actions button[type=submit]")
    page.wait_for_url("**/records/*/")
    record = ClientRecord.objects.get()
    assert record.birth_date == when
    expect(page.locator("main")).to_contain_text("04/03/1988")
    each_size_and_language(page, f"/records/{record.pk}/", "record-detail", live_server)
    page.goto("/review/?date_from=01/01/2000")
    expect(page.locator("#id_date_from")).to_have_attribute("type", "text")
    expect(page.locator(f"#record-{record.pk}")).to_be_visible()


def test_records_list_and_a_sent_back_draft_at_both_sizes(open_as, capturista, oficial, live_server):
    record = ClientRecordFactory(created_by=capturista)
    record_update(actor=oficial, record_id=record.pk, version=1, data={"middle_name": "Guadalupe"})
    record_send_back(actor=oficial, record_id=record.pk, comment="Confirme el segundo nombre con el cliente.")
    page = open_as(capturista, "desktop")
    each_size_and_language(page, "/records/", "records-list", live_server)
    each_size_and_language(page, f"/records/{record.pk}/", "record-sent-back", live_server)


def test_audit_log_and_record_history_in_words_at_both_sizes(open_as, auditor, capturista, oficial, live_server):
    record = ClientRecordFactory(created_by=capturista, middle_name="")
    record_update(actor=oficial, record_id=record.pk, version=1, data={"middle_name": "Guadalupe"})
    record_send_back(actor=oficial, record_id=record.pk, comment="Confirme el segundo nombre.")
    page = open_as(auditor, "desktop", "en")
    page.goto("/audit/")
    expect(page.locator("#audit-table")).to_contain_text("Middle name: — → Guadalupe")
    expect(page.locator("#audit-table")).to_contain_text("Status: In review → Draft")
    expect(page.locator("#audit-table")).not_to_contain_text("middle_name")
    each_size_and_language(page, "/audit/", "audit-log", live_server)
