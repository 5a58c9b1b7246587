"""The record form in a browser: apellido paterno and materno side by side on a desk screen, one under the other on
a phone, both typed and stored apart; the upload page at the same sizes."""

import datetime

import pytest

from onboarding.models import ClientRecord
from tests.factories import person_identifiers
from tests.fixtures_browser import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZES = {"desk": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


def _no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")


@pytest.mark.parametrize("size", SIZES)
def test_a_person_is_typed_with_each_apellido_in_its_own_field(page, sign_in, capturista, size):
    page.set_viewport_size(SIZES[size])
    sign_in(capturista)
    page.goto("/records/new/")
    paterno, materno = page.locator("#id_apellido_paterno"), page.locator("#id_apellido_materno")
    assert paterno.is_visible() and materno.is_visible()
    assert page.locator("label[for=id_apellido_paterno]").inner_text().startswith("Apellido paterno")
    p_box, m_box = paterno.bounding_box(), materno.bounding_box()
    if size == "desk":
        assert abs(p_box["y"] - m_box["y"]) < 5 and m_box["x"] > p_box["x"]  # side by side
    else:
        assert m_box["y"] > p_box["y"] and m_box["x"] + m_box["width"] <= SIZES[size]["width"]
    assert _no_horizontal_scroll(page)
    birth = datetime.date(1985, 2, 3)
    rfc, curp = person_identifiers("LUIS", "GARZA", "NUXEZ", birth)  # RENAPO: Ñ is X
    page.check("input[name=client_type][value=individual]")
    page.fill("#id_name", "Luis")
    paterno.fill("de la Garza")
    materno.fill("Núñez")
    page.fill("#id_birth_date", "03/02/1985")
    page.fill("#id_nationalities", "Mexicana")
    page.fill("#id_rfc", rfc)
    page.fill("#id_curp", curp)
    page.locator("#field-apellido_materno").scroll_into_view_if_needed()
    screenshot(page, f"record-form-apellidos-{size}", full_page=False)
    page.click(".sticky-actions button[type=submit]")
    page.wait_for_url("**/records/*/")
    record = ClientRecord.objects.get()
    assert (record.apellido_paterno, record.apellido_materno, record.last_name) == (
        "de la Garza",
        "Núñez",
        "de la Garza Núñez",
    )
    assert record.nationalities == "MX"
    assert not {p["code"] for p in record.problems} & {"rfc_name_mismatch", "curp_name_mismatch"}
    screenshot(page, f"record-detail-apellidos-{size}", full_page=False)


@pytest.mark.parametrize("size", SIZES)
def test_the_upload_page_fits_the_screen(page, sign_in, capturista, size):
    page.set_viewport_size(SIZES[size])
    sign_in(capturista)
    page.goto("/uploads/")
    assert page.locator("input[type=file]").is_visible()
    assert _no_horizontal_scroll(page)
    screenshot(page, f"upload-page-{size}", full_page=False)


def _upload(page, path):
    page.goto("/uploads/")
    page.set_input_files("#id_file", str(path))
    page.click("#upload-form button[type=submit]")


def test_a_corrected_file_updates_in_place_and_the_same_file_again_is_discarded(page, sign_in, capturista, tmp_path):
    from onboarding.models import Upload, UploadStatus
    from tests.imports import csv_bytes, person

    page.set_viewport_size(SIZES["desk"])
    sign_in(capturista)
    first = tmp_path / "altas.csv"
    first.write_bytes(csv_bytes([person(0, RFC="PEXA900101XX1"), person(1)]))
    _upload(page, first)
    page.click("#mapping-form button[type=submit]")
    page.wait_for_selector("#upload-counts")
    fixed = tmp_path / "altas-corregido.csv"
    fixed.write_bytes(csv_bytes([person(0), person(2)]))
    _upload(page, fixed)
    page.click("#mapping-form button[type=submit]")
    page.wait_for_selector("#upload-new-updated")
    line = page.locator("#upload-new-updated").inner_text()
    assert "Registros nuevos: 1" in line and "en revisión): 1" in line
    screenshot(page, "upload-result-updated-desk", full_page=False)
    assert ClientRecord.objects.count() == 3

    # The same corrected file once more, on a phone, in English: stopped before the mapping, then discarded.
    page.set_viewport_size(SIZES["phone"])
    page.click("button[value=en]")
    _upload(page, fixed)
    page.wait_for_selector("#same-file-first")
    assert page.locator("#mapping-form").count() == 0
    assert _no_horizontal_scroll(page)
    screenshot(page, "upload-same-file-phone-en", full_page=False)
    page.click("#same-file-discard")
    page.wait_for_selector("#discard-confirm")
    screenshot(page, "upload-discard-confirm-phone-en", full_page=False)
    page.click("#discard-confirm")
    page.wait_for_url("**/uploads/")
    assert Upload.objects.latest("pk").status == UploadStatus.DISCARDED
    screenshot(page, "upload-list-after-discard-phone-en", full_page=False)


def test_the_queue_edits_each_apellido_in_place(page, sign_in, oficial):
    from tests.factories import ClientRecordFactory

    record = ClientRecordFactory(name="Ana", apellido_paterno="Ruiz", apellido_materno="")
    page.set_viewport_size(SIZES["desk"])
    sign_in(oficial)
    page.goto("/review/")
    page.click(f"#cell-{record.pk}-apellido_materno a")
    page.fill(f"#cell-{record.pk}-apellido_materno input[name=value]", "Paz")
    page.keyboard.press("Enter")
    page.wait_for_selector(f"#cell-{record.pk}-apellido_materno a:has-text('Paz')")
    screenshot(page, "queue-apellidos-desk", full_page=False)
    record.refresh_from_db()
    assert (record.apellido_materno, record.last_name) == ("Paz", "Ruiz Paz")
