"""Preparing an upload's rows (normalise + validate with `pipeline.RowPreparer`, then `store.encode_row` into
database form) in chunks, on one core or on several.

`prepared_chunks` yields each chunk of rows already prepared and pickled, in file order, for the staging spool.
A large file is prepared by worker processes: the caller keeps reading the file and reporting progress while the
workers validate, at most a few chunks ahead of what has been written, so memory stays flat at any file size.

The workers are started with `spawn`, never `fork`: the task worker that stages uploads holds database connections
and may run threads, and a forked child would inherit both. A spawned worker is a fresh interpreter that sets
Django up from the same settings module, never opens a database connection, and is given the few settings the
rules read. It costs about a second to start, hence the row threshold. (Like any `spawn` child it imports the
parent's main module: an entry-point script needs its `if __name__ == "__main__":` guard, as manage.py has.)
"""

import multiprocessing
import os
import pickle
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from itertools import islice

# Below this many rows, one process is faster than starting workers.
PARALLEL_MIN_ROWS = 20_000
MAX_WORKERS = 4
# Settings the rules read, copied into the workers (a test or a command may have changed them at run time).
WORKER_SETTINGS = ("ARTU_RECORD_METADATA_KEY",)

_preparer = None


def worker_count(rows: int) -> int:
    """How many worker processes to prepare `rows` rows with; 0 means in this process."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return 0 if rows < PARALLEL_MIN_ROWS or cores < 2 else min(cores, MAX_WORKERS)


def prepared_chunks(
    rows: Iterable[tuple[int, list]],
    headers: list[str],
    mapping: Mapping[str, str],
    *,
    chunk_rows: int,
    workers: int = 0,
) -> Iterator[tuple[int, bytes]]:
    """`(rows in the chunk, pickled [(row number, encoded columns), ...])` for each chunk, in file order."""
    from onboarding.imports.pipeline import RowPreparer

    chunks = _chunks(rows, chunk_rows)
    if workers < 1:
        preparer = RowPreparer(headers, mapping)
        for chunk in chunks:
            yield len(chunk), _pickled(preparer, chunk)
        return
    from django.conf import settings

    config = {name: getattr(settings, name) for name in WORKER_SETTINGS}
    # Under override_settings the holder has no module name; the environment still does.
    module = getattr(settings, "SETTINGS_MODULE", None) or os.environ["DJANGO_SETTINGS_MODULE"]
    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_start,
        initargs=(module, config, headers, dict(mapping)),
    ) as pool:
        pending: deque[tuple[int, Future]] = deque()
        try:
            for chunk in chunks:
                pending.append((len(chunk), pool.submit(_prepare, chunk)))
                if len(pending) > 2 * workers:
                    count, future = pending.popleft()
                    yield count, future.result()
            while pending:
                count, future = pending.popleft()
                yield count, future.result()
        finally:
            # Stopped early (too many rows, an error, the caller gave up): drop the chunks not started.
            for _count, future in pending:
                future.cancel()


def _chunks(rows: Iterable[tuple[int, list]], size: int) -> Iterator[list[tuple[int, list]]]:
    iterator = iter(rows)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _pickled(preparer, chunk: list[tuple[int, list]]) -> bytes:
    """The chunk's rows prepared and already in database form: `[(row number, store.encode_row(...)), ...]`."""
    from onboarding.imports.store import encode_row

    return pickle.dumps(
        [(number, encode_row(number, *preparer.prepare(cells))) for number, cells in chunk],
        protocol=pickle.HIGHEST_PROTOCOL,
    )


# -- in the worker processes -------------------------------------------------------------------------------------


def _start(settings_module: str, config: dict, headers: list[str], mapping: dict[str, str]) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = settings_module
    import django
    from django.conf import settings

    django.setup()
    for name, value in config.items():
        setattr(settings, name, value)
    from onboarding.imports.pipeline import RowPreparer

    global _preparer
    _preparer = RowPreparer(headers, mapping)


def _prepare(chunk: list[tuple[int, list]]) -> bytes:
    return _pickled(_preparer, chunk)
