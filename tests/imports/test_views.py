"""The upload pages with the test client: upload → mapping → result, progress polling, downloads, roles."""

import pytest
from django.urls import reverse
from django.utils import translation

from onboarding.models import AuditAction, AuditEvent, ClientRecord, Upload, UploadStatus
from onboarding.services.uploads import upload_receive
from tests.imports import csv_bytes, person, uploaded

HTMX = {"HX-Request": "true"}


@pytest.fixture(autouse=True)
def english(client):
    client.cookies["django_language"] = "en"
    with translation.override("en"):
        yield


def post_file(client, data: bytes, name: str = "clientes.csv", **extra):
    return client.post(reverse("uploads:list"), {"file": uploaded(data, name), "encoding": "", **extra})


def mapping_data(upload: Upload, **changes) -> dict:
    data = {f"col_{i}": upload.mapping.get(h, "") for i, h in enumerate(upload.headers)}
    data.update(changes)
    return data


def test_the_upload_page_shows_the_limits_from_settings(client_as, capturista, settings):
    settings.UPLOAD_MAX_BYTES = 20 * 1024 * 1024  # "20 MB" as a file browser shows it
    settings.UPLOAD_MAX_ROWS = 12_345
    response = client_as(capturista).get(reverse("uploads:list"))
    assert response.status_code == 200
    assert "Up to 20 MB and 12,345 rows per file." in response.text
    assert 'enctype="multipart/form-data"' in response.text


def test_upload_then_map_then_see_the_result(client_as, capturista):
    client = client_as(capturista)
    rows = [person(0), person(1), person(2, RFC="PENM971117RT4"), person(3, **{"Apellido materno": ""}), person(0)]
    response = post_file(client, csv_bytes(rows, delimiter=";", encoding="cp1252"))
    upload = Upload.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("uploads:mapping", args=[upload.pk])

    page = client.get(response["Location"])
    assert page.status_code == 200
    text = page.text
    assert "cp1252" in text and "semicolon" in text
    assert "Número de cliente" in text and "C-00000" in text  # a column and its sample value
    assert '<option value="apellido_paterno" selected>' in text
    assert not ClientRecord.objects.exists()

    response = client.post(page.request["PATH_INFO"], mapping_data(upload))
    assert response.status_code == 302 and response["Location"] == reverse("uploads:detail", args=[upload.pk])
    result = client.get(response["Location"]).text
    upload.refresh_from_db()
    assert upload.status == UploadStatus.STAGED
    assert ClientRecord.objects.filter(upload=upload).count() == 5
    assert 'id="count-ready"' in result and f'<span class="count-n">{upload.ready_count}</span>' in result
    assert (upload.ready_count, upload.error_count, upload.duplicate_count) == (2, 3, 2)
    assert f"upload={upload.pk}" in result
    assert reverse("uploads:problems", args=[upload.pk]) + "?format=csv" in result
    assert "File staged: 5 records sent to review." in result


def test_result_links_go_to_the_review_queue_filtered(client_as, capturista, stage):
    upload = stage(csv_bytes([person(0)]))
    text = client_as(capturista).get(reverse("uploads:detail", args=[upload.pk])).text
    queue = reverse("review:queue")
    assert f"{queue}?upload={upload.pk}&amp;has_errors=yes" in text
    assert f"{queue}?upload={upload.pk}&amp;duplicate=yes" in text


def test_a_bad_file_shows_its_message_and_stages_nothing(client_as, capturista):
    response = post_file(client_as(capturista), b"\x89PNG\r\n\x1a\n" + bytes(300), "foto.csv")
    assert response.status_code == 422
    assert "The file was not accepted; nothing was staged" in response.text
    assert "PNG image" in response.text
    assert not ClientRecord.objects.exists()
    assert Upload.objects.get().status == UploadStatus.FAILED


BOMB_LIMIT = 1_000_000


def _zip_bomb() -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b" " * (BOMB_LIMIT * 25))
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "name", "shown"),
    [
        (b"", "vacio.csv", "The file is empty."),
        (b"\x89PNG\r\n\x1a\n" + bytes(300), "foto.csv", "it looks like a PNG image"),
        (b"Nombre,RFC\n" + bytes([0x81, 0x8D, 0x8F, 0x90, 0x9D, 1, 2, 3] * 400), "c.csv", "could not be read in any"),
        (b"Nombre,RFC,nombre\r\nAna,X,Y\r\n", "c.csv", "appear more than once"),
        (b"PK\x03\x04 not really a workbook", "c.xlsx", "damaged or is not really an .xlsx"),
        (_zip_bomb(), "bomba.xlsx", "zip bomb"),
        (b'{"name": "Ana"}', "c.json", "must be an array of clients"),
        (csv_bytes([person(i) for i in range(4)]), "muchas.csv", "more than 3 data rows"),
    ],
)
def test_each_bad_file_is_refused_with_a_clear_message(client_as, capturista, settings, data, name, shown):
    settings.UPLOAD_MAX_ROWS = 3
    settings.UPLOAD_MAX_BYTES = BOMB_LIMIT
    response = post_file(client_as(capturista), data, name)
    assert response.status_code == 422
    assert shown in response.text.replace("&#x27;", "'").replace("&quot;", '"')
    assert not ClientRecord.objects.exists()
    assert Upload.objects.get().status == UploadStatus.FAILED


def test_an_oversized_file_shows_the_limit(client_as, capturista, settings):
    settings.UPLOAD_MAX_BYTES = 50
    response = post_file(client_as(capturista), csv_bytes([person(0)]))
    assert response.status_code == 422 and "most one upload may have" in response.text
    assert not Upload.objects.exists()


def test_a_mapping_missing_required_columns_is_shown_then_refused(client_as, capturista):
    client = client_as(capturista)
    post_file(client, csv_bytes([{"Teléfono": "555", "Correo": "a@b.mx"}]))
    upload = Upload.objects.get()
    page = client.get(reverse("uploads:mapping", args=[upload.pk]))
    assert 'id="mapping-gaps"' in page.text and "has no column for" in page.text
    response = client.post(reverse("uploads:mapping", args=[upload.pk]), mapping_data(upload))
    assert response.status_code == 422 and "Nothing was staged" in response.text
    assert not ClientRecord.objects.exists()


def test_the_same_file_again_warns_and_needs_a_tick(client_as, capturista, stage):
    data = csv_bytes([person(0)])
    first = stage(data)
    client = client_as(capturista)
    post_file(client, data)
    again = Upload.objects.exclude(pk=first.pk).get()
    page = client.get(reverse("uploads:mapping", args=[again.pk]), {"same_file": "again"})
    assert 'id="same-file"' in page.text and f"#{first.pk}" in page.text
    refused = client.post(reverse("uploads:mapping", args=[again.pk]), mapping_data(again))
    assert refused.status_code == 422 and ClientRecord.objects.count() == 1
    accepted = client.post(reverse("uploads:mapping", args=[again.pk]), mapping_data(again, allow_same_file="on"))
    assert accepted.status_code == 302 and Upload.objects.get(pk=again.pk).unchanged_count == 1


def test_a_saved_mapping_is_named_on_the_next_upload(client_as, capturista):
    client = client_as(capturista)
    post_file(client, csv_bytes([person(0)]))
    first = Upload.objects.get()
    client.post(reverse("uploads:mapping", args=[first.pk]), mapping_data(first, save_as="Sucursal Norte"))
    post_file(client, csv_bytes([person(1)]), "abril.csv")
    later = Upload.objects.exclude(pk=first.pk).get()
    page = client.get(reverse("uploads:mapping", args=[later.pk]))
    assert 'id="saved-mapping"' in page.text and "Sucursal Norte" in page.text


def test_progress_polls_while_staging_and_stops_when_done(client_as, oficial, stage):
    upload = stage(csv_bytes([person(0)]))
    Upload.objects.filter(pk=upload.pk).update(status=UploadStatus.STAGING, rows_done=1000, row_count=4000)
    client = client_as(oficial)
    page = client.get(reverse("uploads:detail", args=[upload.pk])).text
    assert 'hx-trigger="every 1s"' in page and '<progress id="upload-progress" max="4000" value="1000">' in page

    running = client.get(reverse("uploads:progress", args=[upload.pk]), headers=HTMX)
    assert running.status_code == 200 and 'id="upload-status"' in running.text and "<html" not in running.text
    assert "1000 of 4000 rows checked" in running.text and "HX-Request" in running["Vary"]

    Upload.objects.filter(pk=upload.pk).update(status=UploadStatus.STAGED, row_count=1, rows_done=1)
    done = client.get(reverse("uploads:progress", args=[upload.pk]), headers=HTMX)
    assert done.status_code == 286
    assert 'id="upload-counts"' in done.text and "hx-trigger" not in done.text


def test_progress_without_htmx_goes_to_the_page(client_as, oficial, stage):
    upload = stage(csv_bytes([person(0)]))
    response = client_as(oficial).get(reverse("uploads:progress", args=[upload.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("uploads:detail", args=[upload.pk])


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_problem_rows_download(client_as, auditor, stage, file_format):
    upload = stage(csv_bytes([person(0), person(1, **{"Fecha de nacimiento": "99/99/1999"})]))
    response = client_as(auditor).get(reverse("uploads:problems", args=[upload.pk]), {"format": file_format})
    assert response.status_code == 200
    assert f"clientes-problems-{upload.pk}.{file_format}" in response["Content-Disposition"]
    body = b"".join(response.streaming_content)
    assert body.startswith(b"\xef\xbb\xbfRow," if file_format == "csv" else b"PK")
    assert AuditEvent.objects.filter(action=AuditAction.EXPORT, actor=auditor).count() == 1


def test_unknown_upload_is_404(client_as, oficial):
    client = client_as(oficial)
    assert client.get(reverse("uploads:detail", args=[999])).status_code == 404
    assert client.get(reverse("uploads:problems", args=[999])).status_code == 404


@pytest.mark.parametrize(
    ("role", "list_status", "post_status", "mapping_status"),
    [
        ("capturista", 200, 302, 200),
        ("oficial", 200, 302, 200),
        ("auditor", 200, 403, 403),
        ("nobody", 403, 403, 403),
    ],
)
def test_who_may_do_what(request, client_as, capturista, role, list_status, post_status, mapping_status):
    pending = upload_receive(actor=capturista, file=uploaded(csv_bytes([person(2)])))
    client = client_as(request.getfixturevalue(role))
    assert client.get(reverse("uploads:list")).status_code == list_status
    assert client.get(reverse("uploads:mapping", args=[pending.pk])).status_code == mapping_status
    assert post_file(client, csv_bytes([person(1)])).status_code == post_status
    assert Upload.objects.count() == (2 if post_status == 302 else 1)


def test_the_navigation_links_the_upload_page(client_as, capturista):
    assert f'href="{reverse("uploads:list")}"' in client_as(capturista).get(reverse("home")).text


def test_wrong_method_is_refused(client_as, oficial, stage):
    upload = stage(csv_bytes([person(0)]))
    assert client_as(oficial).post(reverse("uploads:detail", args=[upload.pk])).status_code == 405


def test_mapping_someone_elses_upload_warns_and_the_pages_name_the_mapper(client_as, capturista, oficial, oficial2):
    post_file(client_as(capturista), csv_bytes([person(0)]))
    upload = Upload.objects.get()
    assert 'id="mapping-maker"' not in client_as(capturista).get(reverse("uploads:mapping", args=[upload.pk])).text
    client = client_as(oficial)
    page = client.get(reverse("uploads:mapping", args=[upload.pk])).text
    assert 'id="mapping-maker"' in page and "capturista uploaded this file" in page
    assert client.post(reverse("uploads:mapping", args=[upload.pk]), mapping_data(upload)).status_code == 302
    detail = client.get(reverse("uploads:detail", args=[upload.pk])).text
    assert 'id="upload-mapped-by">oficial<' in detail
    record = ClientRecord.objects.get(upload=upload)
    html = client_as(oficial2).get(reverse("records:detail", args=[record.pk])).text
    assert 'id="record-mapped-by">oficial<' in html
    assert "You mapped the columns" in client_as(oficial).get(reverse("records:detail", args=[record.pk])).text
