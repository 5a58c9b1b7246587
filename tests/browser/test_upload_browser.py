"""Data entry uploads a branch's spreadsheet in Chromium: encoding and columns detected, rows staged and counted."""

import pytest

from onboarding.models import ClientRecord, RecordStatus, Upload, UploadStatus
from tests.fixtures_browser import screenshot
from tests.imports import company, csv_bytes, person

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def test_capturista_uploads_a_windows_csv_maps_and_stages_it(page, sign_in, capturista, tmp_path):
    rows = [person(i) for i in range(6)] + [company(1), person(7, RFC="GODE561231GR9")]  # last RFC: wrong digit
    path = tmp_path / "sucursal-norte.csv"
    path.write_bytes(csv_bytes(rows, encoding="cp1252", delimiter=";", title_rows=("Altas de clientes, octubre",)))
    errors = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)

    sign_in(capturista)
    page.goto("/uploads/")
    assert page.locator("#upload-limits").is_visible()
    page.set_input_files("#id_file", str(path))
    page.click("#upload-form button[type=submit]")
    page.wait_for_selector("#mapping-form")
    facts = page.locator("#file-facts").inner_text()
    assert "cp1252" in facts.lower() or "windows-1252" in facts.lower()
    assert "8" in facts  # rows counted, the title row skipped
    # Every Spanish header was matched to a field: nothing left unmapped.
    assert page.locator("#column-0 select").input_value() == "external_id"
    screenshot(page, "upload-mapping")

    page.click("#mapping-form button[type=submit]")
    page.wait_for_selector("#upload-counts")
    assert page.locator("#count-ready .count-n").inner_text() == "7"
    assert page.locator("#count-errors .count-n").inner_text() == "1"
    screenshot(page, "upload-result")

    upload = Upload.objects.get()
    assert upload.status == UploadStatus.STAGED
    staged = ClientRecord.objects.filter(upload=upload)
    assert staged.count() == 8 and set(staged.values_list("status", flat=True)) == {RecordStatus.IN_REVIEW}
    assert staged.filter(last_name="Ramírez Sánchez").exists()  # accents kept, paterno + materno
    page.click("#count-errors")
    page.wait_for_url("**/review/**")
    screenshot(page, "upload-errors-in-queue")
    assert page.locator("tr.review-row").count() == 1
    assert not [e for e in errors if "Content Security Policy" in e or "Refused" in e]
