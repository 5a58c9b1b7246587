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


def test_an_officer_maps_someone_elses_file_with_a_shared_mapping(
    page, sign_in, capturista, capturista2, oficial, oficial2
):
    from onboarding.services.uploads import upload_map_columns, upload_receive
    from tests.imports import uploaded

    def save(user, i, name, **options):
        upload = upload_receive(actor=user, file=uploaded(csv_bytes([person(i)]), f"archivo-{i}.csv"))
        return upload_map_columns(actor=user, upload_id=upload.pk, mapping=upload.mapping, save_as=name, **options)

    save(capturista2, 1, "Formato de la matriz", share=True)
    save(oficial, 2, "Mi formato")
    upload = upload_receive(actor=capturista, file=uploaded(csv_bytes([person(i) for i in range(3, 6)]), "sur.csv"))

    sign_in(oficial)
    for width, height in ((1280, 800), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.goto(f"/uploads/{upload.pk}/mapping/")
        assert page.locator("#mapping-maker").is_visible()  # the officer is told they become a maker
        assert page.locator("#saved-choice option").count() == 2
        # The file got the shared mapping (capturista has none of their own): marked as shared, with its owner.
        assert page.locator("#saved-mapping .badge-shared").is_visible()
        shared = page.locator("#saved-choice option", has_text="Formato de la matriz")
        assert "capturista2" in shared.inner_text()
        # Nothing on the page is wider than the screen: the columns table scrolls inside its own box.
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        screenshot(page, f"upload-mapping-saved-{width}")

    page.select_option("#saved-choice", label=shared.inner_text())
    page.click("#saved-mapping-choice button")
    page.wait_for_url("**saved=*")
    page.click("#mapping-form button[type=submit]")
    page.wait_for_selector("#upload-counts")
    upload.refresh_from_db()
    assert upload.mapped_by == oficial and upload.saved_mapping.name == "Formato de la matriz"
    assert set(ClientRecord.objects.filter(upload=upload).values_list("mapped_by", flat=True)) == {oficial.pk}
