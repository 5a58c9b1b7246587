"""An Artu-header file with extra columns in Chromium: every field suggested, the columns left out named, kept in
metadata with one tick, staged; the record form's nationalities. At desktop and phone widths."""

import pytest

from onboarding.models import ClientRecord, Upload, UploadStatus
from tests.fixtures_browser import screenshot
from tests.imports import artu_row, csv_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (390, 844)])
def test_an_artu_header_file_is_mapped_and_its_other_columns_kept(page, sign_in, capturista, tmp_path, width, height):
    page.set_viewport_size({"width": width, "height": height})
    rows = [{**artu_row(i), "Sexo": "M", "Correo": f"c{i}@example.mx", "Observaciones": "alta"} for i in range(3)]
    path = tmp_path / "artu-clients.csv"
    path.write_bytes(csv_bytes(rows))
    sign_in(capturista)
    page.goto("/uploads/")
    page.set_input_files("#id_file", str(path))
    page.click("#upload-form button[type=submit]")
    page.wait_for_selector("#mapping-form")
    assert page.locator("#column-4 select").input_value() == "apellido_paterno"
    assert page.locator("#column-12 select").input_value() == "cnbv_clave_sujeto_obligado"
    assert not page.locator("#mapping-gaps").count()
    assert "Sexo" in page.locator("#left-out").inner_text()
    screenshot(page, f"mapping-artu-{width}")
    page.check("#id_keep_rest")
    page.click("#mapping-form button[type=submit]")
    page.wait_for_selector("#upload-counts")
    assert Upload.objects.get().status == UploadStatus.STAGED
    assert ClientRecord.objects.get(external_id="C-00000").metadata == {
        "Sexo": "M",
        "Correo": "c0@example.mx",
        "Observaciones": "alta",
    }


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (390, 844)])
def test_the_record_form_takes_a_nationality_as_written(page, sign_in, capturista, width, height):
    page.set_viewport_size({"width": width, "height": height})
    sign_in(capturista)
    page.goto("/records/new/")
    page.check("input[name=client_type][value=individual]")
    page.fill("#id_name", "Ana")
    page.fill("#id_apellido_paterno", "De la Fuente")
    page.fill("#id_apellido_materno", "Núñez")
    page.fill("#id_birth_date", "14/03/1988")
    page.fill("#id_nationalities", "Mexicana")
    screenshot(page, f"record-form-{width}")
    page.click("#record-form .sticky-actions button[type=submit]")
    page.wait_for_url(lambda url: "/new/" not in url)
    assert ClientRecord.objects.get().nationalities == "MX"
