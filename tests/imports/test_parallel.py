"""Large files are prepared by worker processes: the same rows, problems and order as in one process."""

import io
import pickle

import pytest

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


@pytest.fixture
def worker_chunks(monkeypatch) -> list[int]:
    """The workers are waited for (else this process may prepare a small file alone before they start); returns
    the sizes of the chunks they answered."""
    monkeypatch.setattr(parallel, "START_WAIT_SECONDS", 60)
    answered = []
    receive = parallel._Worker.receive

    def counted(self):
        blob = receive(self)
        answered.append(len(pickle.loads(blob)))  # noqa: S301 - ours
        return blob

    monkeypatch.setattr(parallel._Worker, "receive", counted)
    return answered


@pytest.mark.parametrize("workers", [1, 2])
def test_workers_prepare_the_same_chunks_in_the_same_order_as_one_process(settings, worker_chunks, workers):
    settings.ARTU_RECORD_METADATA_KEY = "app_ref"  # copied into the workers
    data = rows_file()
    assert prepared(data, workers=workers) == prepared(data, workers=0)
    # This process and the workers shared the chunks: each worker took some, and so did this process.
    assert len(worker_chunks) >= workers and sum(worker_chunks) < 34


def test_a_worker_that_fails_raises_its_error_in_the_staging_process(worker_chunks):
    data = rows_file()
    info = inspect_file(io.BytesIO(data), name="clientes.csv")
    rows = [(n, 12345) for n, _cells in iter_rows(io.BytesIO(data), info)]  # not lists of cells: preparing fails
    # One chunk: the worker, started before it, takes it.
    chunks = parallel.prepared_chunks(rows, info.headers, mapping_suggest(info.headers), chunk_rows=100, workers=1)
    with pytest.raises(TypeError):
        list(chunks)


def test_a_large_file_is_staged_through_the_workers(stage, monkeypatch, worker_chunks):
    monkeypatch.setattr(parallel, "PARALLEL_MIN_ROWS", 10)
    monkeypatch.setattr(uploads, "CHUNK_ROWS", 4)
    assert parallel.worker_count(10) >= 1 or parallel.worker_count(10) == 0  # 0 on a one-core machine
    upload = stage(rows_file())
    assert upload.status == UploadStatus.STAGED and upload.row_count == 34 and upload.rows_done == 34
    records = {r.source_row: r for r in ClientRecord.objects.filter(upload=upload)}
    assert len(records) == 34 and upload.duplicate_count == 2 and upload.error_count == 4
    assert records[35].duplicate_of == records[5] and records[5].duplicate_of == records[35]
    assert {p["code"] for p in records[33].problems} == {"date_invalid"}
    assert audit_chain_verify().ok
    assert worker_chunks or parallel.worker_count(10) == 0
