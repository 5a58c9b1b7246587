"""Files whose columns carry Artu's own field names (camelCase or dotted paths) or English names stage with no
mapping made by hand: through the upload page and through `import_clients`."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import translation

from onboarding.imports.mapping import MATERNO, PATERNO, mapping_suggest
from onboarding.models import ClientRecord, Upload, UploadStatus
from tests.imports import ARTU_HEADERS, artu_row, csv_bytes, uploaded, xlsx_bytes

DOTTED = {
    "externalId": "externalId",
    "type": "type",
    "name": "name",
    "lastName": "lastName",
    "secondLastName": "secondLastName",
    "birthDate": "birthDate",
    "nationalities": "nationalities",
    "rfc": "scopeData.MX.rfc",
    "curp": "scopeData.MX.curp",
    "actividadVulnerable": "scopeData.MX.actividadVulnerable",
    "transmisorNumeroCuenta": "scopeData.MX.cnbv.TRANSMISOR.numeroCuenta",
    "transmisorClaveSujetoObligado": "scopeData.MX.cnbv.TRANSMISOR.claveSujetoObligado",
}
ENGLISH = {
    "externalId": "Customer ID",
    "type": "Client type",
    "name": "First name",
    "lastName": "Last name",
    "secondLastName": "Second last name",
    "birthDate": "Date of birth",
    "nationalities": "Nationality",
    "rfc": "RFC",
    "curp": "CURP",
    "transmisorNumeroCuenta": "Account number",
    "transmisorClaveSujetoObligado": "Reporting entity key",
}


def renamed(names: dict[str, str], i: int) -> dict[str, str]:
    row = artu_row(i)
    return {new: row[old] for old, new in names.items()}


def xlsx_of(rows: list[dict]) -> bytes:
    headers = list(rows[0])
    return xlsx_bytes([headers, *([r[h] for h in headers] for r in rows)])


def test_artu_headers_are_all_suggested_and_last_name_beside_second_last_name_is_paterno():
    assert mapping_suggest(ARTU_HEADERS) == {
        "externalId": "external_id",
        "type": "client_type",
        "name": "name",
        "middleName": "middle_name",
        "lastName": PATERNO,
        "secondLastName": MATERNO,
        "birthDate": "birth_date",
        "nationalities": "nationalities",
        "rfc": "rfc",
        "curp": "curp",
        "actividadVulnerable": "actividades",
        "transmisorNumeroCuenta": "cnbv_numero_cuenta",
        "transmisorClaveSujetoObligado": "cnbv_clave_sujeto_obligado",
    }


@pytest.mark.parametrize(
    ("headers", "target"),
    [
        (["Nombre", "lastName", "Apellido materno"], PATERNO),
        (["Nombre", "Apellidos", "Segundo apellido"], PATERNO),
        (["Nombre", "lastName"], "last_name"),
        (["Nombre", "scopeData.MX.actividadVulnerable.INM"], "av_inm"),
    ],
)
def test_a_column_is_read_in_the_context_of_the_others(headers, target):
    assert mapping_suggest(headers)[headers[1]] == target


@pytest.fixture
def english(client):
    client.cookies["django_language"] = "en"
    with translation.override("en"):
        yield


def stage_through_the_page(client, data: bytes, name: str) -> Upload:
    response = client.post(reverse("uploads:list"), {"file": uploaded(data, name), "encoding": ""})
    upload = Upload.objects.get()
    assert response.status_code == 302, response.text
    page = client.get(response["Location"])
    assert 'id="mapping-gaps"' not in page.text
    form = {f"col_{i}": upload.mapping[h] for i, h in enumerate(upload.headers)}
    response = client.post(reverse("uploads:mapping", args=[upload.pk]), form)
    assert response.status_code == 302, response.text
    upload.refresh_from_db()
    return upload


@pytest.mark.parametrize("names", [None, DOTTED, ENGLISH], ids=["artu", "dotted", "english"])
@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_artu_and_english_headers_stage_through_the_upload_page(client_as, capturista, english, names, file_format):
    rows = [artu_row(i) if names is None else renamed(names, i) for i in range(3)]
    data = csv_bytes(rows) if file_format == "csv" else xlsx_of(rows)
    upload = stage_through_the_page(client_as(capturista), data, f"artu.{file_format}")
    assert upload.status == UploadStatus.STAGED and upload.error_count == 0, upload.error_message
    record = ClientRecord.objects.get(external_id="C-00000")
    assert record.last_name == "Peña Núñez"
    assert (record.cnbv_numero_cuenta, record.cnbv_clave_sujeto_obligado) == ("0000000000", "TRX-001")
    assert "MX:CNBV:TRANSMISOR" in record.scopes


def run(*args) -> str:
    out = io.StringIO()
    call_command("import_clients", *args, stdout=out)
    return out.getvalue()


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_artu_headers_stage_through_import_clients(tmp_path, capturista, file_format):
    rows = [artu_row(i) for i in range(3)]
    path = tmp_path / f"artu.{file_format}"
    path.write_bytes(csv_bytes(rows) if file_format == "csv" else xlsx_of(rows))
    output = run(str(path), "--user", "capturista")
    assert "rows: 3  ready: 3  errors: 0" in output
    assert ClientRecord.objects.get(external_id="C-00001").last_name == "García López"


def test_import_clients_maps_columns_by_hand(tmp_path, capturista):
    rows = [{**artu_row(0), "Cliente": "Socio 7", "Sucursal": "Norte"}]
    path = tmp_path / "socios.csv"
    path.write_bytes(csv_bytes(rows))
    run(str(path), "--user", "capturista", "--map", "cliente=external_id", "--map", "externalId=")
    record = ClientRecord.objects.get()
    assert record.external_id == "Socio 7"
    assert Upload.objects.get().mapping["externalId"] == ""


@pytest.mark.parametrize(
    ("pair", "message"),
    [
        ("Cliente", "HEADER=FIELD"),
        ("Cliente=password", "unknown field 'password'"),
        ("Teléfono=name", "the file has no column Teléfono"),
    ],
)
def test_import_clients_refuses_a_bad_hand_mapping(tmp_path, capturista, pair, message):
    path = tmp_path / "c.csv"
    path.write_bytes(csv_bytes([{**artu_row(0), "Cliente": "x"}]))
    with pytest.raises(CommandError, match=message):
        run(str(path), "--user", "capturista", "--map", pair)
    assert not ClientRecord.objects.exists()


def test_a_conflict_that_remains_names_its_columns_and_is_not_staged(client_as, capturista, english):
    client = client_as(capturista)
    rows = [{**artu_row(0), "Apellido paterno": "Peña"}]
    client.post(reverse("uploads:list"), {"file": uploaded(csv_bytes(rows)), "encoding": ""})
    upload = Upload.objects.get()
    upload.mapping["lastName"] = "last_name"
    upload.save(update_fields=["mapping"])
    page = client.get(reverse("uploads:mapping", args=[upload.pk]))
    assert 'id="mapping-gaps"' in page.text
    assert "“lastName”" in page.text and "“secondLastName”" in page.text
    form = {f"col_{i}": upload.mapping[h] for i, h in enumerate(upload.headers)}
    response = client.post(reverse("uploads:mapping", args=[upload.pk]), form)
    assert response.status_code == 422 and "Nothing was staged" in response.text
    assert not ClientRecord.objects.exists()
