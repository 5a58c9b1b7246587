"""Large files are prepared by worker processes: the same rows, problems and order as in one process."""

import io
import pickle

import onboarding.services.uploads as uploads
from onboarding.imports import parallel
from onboarding.imports.mapping import mapping_suggest
from onboarding.imports.readers import inspect_file, iter_rows
from onboarding.models import ClientRecord, UploadStatus
from onboarding.services.audit import audit_chain_verify
from tests.imports import company, csv_bytes, person


def rows_file() -> bytes:
    rows = [person(i) for i in range(30)] + [
        company(30),
        person(31, **{"Fecha de nacimiento": "31/02/1990"}),
        person(32, **{"Nombre(s)": '=HYPERLINK("x")'}),
        person(3),
    ]
    return csv_bytes(rows)


def prepared(data: bytes, workers: int) -> list:
    info = inspect_file(io.BytesIO(data), name="clientes.csv")
    mapping = mapping_suggest(info.headers)
    chunks = parallel.prepared_chunks(
        iter_rows(io.BytesIO(data), info), info.headers, mapping, chunk_rows=4, workers=workers
    )
    # Every column but the new record's uuid (index 0 of the encoded columns), which is random.
    return [
        (count, [(number, encoded[1:]) for number, encoded in pickle.loads(blob)])  # noqa: S301 - ours
        for count, blob in chunks
    ]


def test_workers_prepare_the_same_chunks_in_the_same_order_as_one_process(settings):
    settings.ARTU_RECORD_METADATA_KEY = "app_ref"  # copied into the workers
    data = rows_file()
    assert prepared(data, workers=2) == prepared(data, workers=0)


def test_a_large_file_is_staged_through_the_workers(stage, monkeypatch):
    monkeypatch.setattr(parallel, "PARALLEL_MIN_ROWS", 10)
    monkeypatch.setattr(uploads, "CHUNK_ROWS", 4)
    assert parallel.worker_count(10) >= 2 or parallel.worker_count(10) == 0  # 0 on a one-core machine
    upload = stage(rows_file())
    assert upload.status == UploadStatus.STAGED and upload.row_count == 34 and upload.rows_done == 34
    records = {r.source_row: r for r in ClientRecord.objects.filter(upload=upload)}
    assert len(records) == 34 and upload.duplicate_count == 2 and upload.error_count == 4
    assert records[35].duplicate_of == records[5] and records[5].duplicate_of == records[35]
    assert {p["code"] for p in records[33].problems} == {"date_invalid"}
    assert audit_chain_verify().ok
