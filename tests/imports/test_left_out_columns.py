"""Columns that map to no field are named before staging and can be kept in the record's metadata, under their
header names, which travels to Artu; their cells are checked like any typed text."""

import datetime
import io

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import translation

from onboarding.artu.payload import record_to_item
from onboarding.imports.mapping import KEEP
from onboarding.models import ClientRecord, Upload, UploadStatus
from tests.imports import artu_row, csv_bytes, uploaded, xlsx_bytes

EXTRA = {"Sexo": "M", "Correo": "ana@example.mx", "Teléfono": "5512345678", "CLABE": "002180700000000019"}


@pytest.fixture(autouse=True)
def english(client):
    client.cookies["django_language"] = "en"
    with translation.override("en"):
        yield


def receive(client, rows, name="clientes.csv") -> tuple[Upload, str]:
    data = csv_bytes(rows) if name.endswith(".csv") else xlsx_bytes([list(rows[0]), *[list(r.values()) for r in rows]])
    client.post(reverse("uploads:list"), {"file": uploaded(data, name), "encoding": ""})
    upload = Upload.objects.get()
    return upload, client.get(reverse("uploads:mapping", args=[upload.pk])).text


def form_of(upload: Upload, **changes) -> dict:
    return {**{f"col_{i}": upload.mapping[h] for i, h in enumerate(upload.headers)}, **changes}


def test_the_mapping_page_names_the_columns_that_will_not_be_kept(client_as, capturista):
    upload, page = receive(client_as(capturista), [{**artu_row(0), **EXTRA}])
    assert 'id="left-out"' in page and "These 4 columns will not be kept" in page
    for header in EXTRA:
        assert f'<span class="mono">{header}</span>' in page
    assert 'name="keep_rest"' in page


def test_one_tick_keeps_the_other_columns_in_metadata_and_sends_them_to_artu(client_as, capturista):
    client = client_as(capturista)
    upload, _page = receive(client, [{**artu_row(0), **EXTRA}])
    response = client.post(reverse("uploads:mapping", args=[upload.pk]), form_of(upload, keep_rest="on"))
    assert response.status_code == 302
    record = ClientRecord.objects.get()
    assert record.metadata == EXTRA and record.error_count == 0
    assert record_to_item(record)["metadata"]["CLABE"] == "002180700000000019"
    upload.refresh_from_db()
    assert upload.mapping["Sexo"] == KEEP


def test_a_column_can_be_kept_on_its_own_and_the_rest_left_out(client_as, capturista):
    client = client_as(capturista)
    upload, _page = receive(client, [{**artu_row(0), **EXTRA}])
    correo = upload.headers.index("Correo")
    client.post(reverse("uploads:mapping", args=[upload.pk]), form_of(upload, **{f"col_{correo}": KEEP}))
    assert ClientRecord.objects.get().metadata == {"Correo": "ana@example.mx"}


def test_without_a_choice_nothing_is_kept(client_as, capturista):
    client = client_as(capturista)
    upload, _page = receive(client, [{**artu_row(0), **EXTRA}])
    client.post(reverse("uploads:mapping", args=[upload.pk]), form_of(upload))
    assert ClientRecord.objects.get().metadata == {}


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ('=HYPERLINK("x")', "formula"),
        ("@SUM(A1)", "formula"),
        ("ok\x07", "control_character"),
        ("x" * 1001, "too_long"),
    ],
)
def test_kept_cells_are_checked_like_typed_text(client_as, capturista, value, code):
    client = client_as(capturista)
    upload, _page = receive(client, [{**artu_row(0), "Observaciones": value}])
    client.post(reverse("uploads:mapping", args=[upload.pk]), form_of(upload, keep_rest="on"))
    record = ClientRecord.objects.get()
    assert ("metadata", code) in {(p["field"], p["code"]) for p in record.problems}
    assert record.error_count >= 1


def test_kept_cells_of_a_workbook_are_text(client_as, capturista):
    client = client_as(capturista)
    row = {**artu_row(0), "Alta": datetime.datetime(2024, 3, 5), "Sucursal": 12}
    upload, _page = receive(client, [row], name="clientes.xlsx")
    client.post(reverse("uploads:mapping", args=[upload.pk]), form_of(upload, keep_rest="on"))
    assert ClientRecord.objects.get().metadata == {"Alta": "2024-03-05", "Sucursal": "12"}


def test_import_clients_names_what_it_leaves_out_or_keeps_it(tmp_path, capturista):
    path = tmp_path / "c.csv"
    path.write_bytes(csv_bytes([{**artu_row(0), "Sexo": "M"}]))
    out = io.StringIO()
    call_command("import_clients", str(path), "--user", "capturista", stdout=out)
    assert "not kept (no field, see --keep-other-columns): Sexo" in out.getvalue()
    first = ClientRecord.objects.get()
    assert first.metadata == {}
    call_command(
        "import_clients", str(path), "--user", "capturista", "--keep-other-columns", "--allow-same-file", stdout=out
    )
    # The same client again, now keeping the column: its record (still in review) is corrected in place.
    assert ClientRecord.objects.get(pk=first.pk).metadata == {"Sexo": "M"} and ClientRecord.objects.count() == 1
    assert Upload.objects.filter(status=UploadStatus.STAGED).count() == 2
