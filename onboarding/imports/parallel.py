"""Preparing an upload's rows (normalise + validate with `pipeline.RowPreparer`, then `store.encode_row` into
database form) in chunks, on one core or on several.

`prepared_chunks` yields each chunk of rows already prepared and pickled, in file order, for the staging spool.
A large file is prepared by this process and by worker processes together: this process reads the file, hands a
chunk to each idle worker, prepares the next chunk itself meanwhile, and yields the chunks in file order. Each
worker holds one chunk at a time, and this process at most a few, so memory stays flat at any file size; with
two cores there is one worker, since this process is the other preparer (a worker per core would make three
Python processes, each with Django loaded, share two cores: more memory, no more speed).

A worker is a fresh interpreter (`python -m onboarding.imports.parallel`), never a fork: the task worker that
stages uploads holds database connections and may run threads, and a forked child would inherit both. It sets
Django up from the same settings module, never opens a database connection (it is given an in-memory SQLite
one, so that PostgreSQL's driver is not loaded for nothing), and is given the few settings the rules read. It
talks over its stdin and stdout (framed pickles, one request and one answer at a time), so no multiprocessing
resource tracker process is started either. It costs about a second to start, hence the row
threshold; this process does not wait for it, it prepares chunks itself until the worker says it is ready.
"""

import os
import pickle  # noqa: S403 - only between this process and the workers it starts
import select
import struct
import subprocess
import sys
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from itertools import islice
from pathlib import Path
from typing import IO, Any

# Below this many rows, one process is faster than starting workers.
PARALLEL_MIN_ROWS = 20_000
MAX_WORKERS = 3
# Settings the rules read, copied into the workers (a test or a command may have changed them at run time).
WORKER_SETTINGS = ("ARTU_RECORD_METADATA_KEY",)
# Chunks this process may hold prepared while a worker's earlier chunk is not back yet (they wait, in file order).
MAX_AHEAD = 3
# How long to wait for the workers to start before preparing chunks alone (tests wait, so workers do prepare).
START_WAIT_SECONDS = 0.0
# A frame: its kind and its payload's length, then the payload.
_HEADER = struct.Struct("!cQ")
READY, DATA, ERROR = b"R", b"D", b"E"
PROJECT_DIR = Path(__file__).resolve().parent.parent.parent


def worker_count(rows: int) -> int:
    """How many worker processes prepare `rows` rows beside this one; 0 means this process alone."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return 0 if rows < PARALLEL_MIN_ROWS or cores < 2 else min(cores - 1, MAX_WORKERS)


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

    preparer = RowPreparer(headers, mapping)
    chunks = _chunks(rows, chunk_rows)
    if workers < 1:
        for chunk in chunks:
            yield len(chunk), _pickled(preparer, chunk)
        return
    pool: list[_Worker] = []
    # In file order: [rows, pickled chunk, or the worker preparing it].
    pending: deque[list[Any]] = deque()
    try:
        for _ in range(workers):
            pool.append(_Worker(headers, mapping))
        for worker in pool:
            worker.ready(wait=START_WAIT_SECONDS)
        for chunk in chunks:
            idle = next((w for w in pool if not w.busy and w.ready()), None)
            if idle:
                idle.send(chunk)
                pending.append([len(chunk), idle])
            else:
                pending.append([len(chunk), _pickled(preparer, chunk)])
            for entry in pending:
                if isinstance(entry[1], _Worker) and entry[1].answered():
                    entry[1] = entry[1].receive()
            while pending and (isinstance(pending[0][1], bytes) or len(pending) > MAX_AHEAD):
                count, done = pending.popleft()
                yield count, done if isinstance(done, bytes) else done.receive()
        while pending:
            count, done = pending.popleft()
            yield count, done if isinstance(done, bytes) else done.receive()
    finally:
        # Also when stopped early (too many rows, an error, the caller gave up): the workers are told to stop.
        for worker in pool:
            worker.stop()


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


def _write(out: IO[bytes], kind: bytes, payload: bytes) -> None:
    out.write(_HEADER.pack(kind, len(payload)))
    out.write(payload)
    out.flush()


def _read(stream: IO[bytes]) -> tuple[bytes, bytes]:
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        raise EOFError
    kind, size = _HEADER.unpack(header)
    payload = stream.read(size)
    if len(payload) < size:
        raise EOFError
    return kind, payload


class _Worker:
    """One worker process, as seen from the staging process: one chunk at a time."""

    def __init__(self, headers: list[str], mapping: Mapping[str, str]):
        from django.conf import settings

        config = {name: getattr(settings, name) for name in WORKER_SETTINGS}
        # Under override_settings the holder has no module name; the environment still does.
        module = getattr(settings, "SETTINGS_MODULE", None) or os.environ["DJANGO_SETTINGS_MODULE"]
        path = os.pathsep.join(p for p in (str(PROJECT_DIR), os.environ.get("PYTHONPATH", "")) if p)
        self.process = subprocess.Popen(  # noqa: S603 - this interpreter running this module
            [sys.executable, "-m", "onboarding.imports.parallel"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            # It never opens a database connection, so it is not given the real one: without PostgreSQL's driver
            # loaded it holds about 9 MB less.
            env={
                **os.environ,
                "DJANGO_SETTINGS_MODULE": module,
                "PYTHONPATH": path,
                "DATABASE_URL": "sqlite://:memory:",
            },
        )
        self.busy, self.started = False, False
        # Small: it fits the pipe's buffer, so this does not wait for the worker to start.
        _write(self.process.stdin, DATA, pickle.dumps((config, headers, dict(mapping))))

    def _readable(self, wait: float = 0) -> bool:
        # Nothing is ever read ahead of a frame: the worker writes only in answer, so the pipe tells the truth.
        return bool(select.select([self.process.stdout], [], [], wait)[0])

    def ready(self, wait: float = 0) -> bool:
        """Whether it has started (waiting for it up to `wait` seconds)."""
        if not self.started and self._readable(wait):
            try:
                kind, payload = _read(self.process.stdout)
            except EOFError:
                raise RuntimeError(f"a validation worker did not start (exit status {self.process.wait()})") from None
            self._check(kind, payload)
            self.started = True
        return self.started

    def send(self, chunk: list[tuple[int, list]]) -> None:
        _write(self.process.stdin, DATA, pickle.dumps(chunk, protocol=pickle.HIGHEST_PROTOCOL))
        self.busy = True

    def answered(self) -> bool:
        return self.busy and self._readable()

    def receive(self) -> bytes:
        """The prepared chunk (waits for it); the worker's own exception if it failed."""
        try:
            kind, payload = _read(self.process.stdout)
        except EOFError:
            raise RuntimeError(f"a validation worker stopped (exit status {self.process.poll()})") from None
        self.busy = False
        return self._check(kind, payload)

    @staticmethod
    def _check(kind: bytes, payload: bytes) -> bytes:
        if kind == ERROR:
            raise pickle.loads(payload)  # noqa: S301 - from our own worker
        return payload

    def stop(self) -> None:
        for stream in (self.process.stdin, self.process.stdout):
            try:
                stream.close()
            except OSError:
                pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


# -- in the worker processes -------------------------------------------------------------------------------------


def _serve() -> None:
    """Read chunks from stdin, answer each with its prepared rows on stdout, until stdin closes."""
    source = sys.stdin.buffer
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything printed goes to stderr, not into the frames
    _kind, payload = _read(source)
    config, headers, mapping = pickle.loads(payload)  # noqa: S301 - from the process that started this one
    import django
    from django.conf import settings

    django.setup()
    for name, value in config.items():
        setattr(settings, name, value)
    from onboarding.imports.pipeline import RowPreparer

    preparer = RowPreparer(headers, mapping)
    _write(out, READY, b"")
    while True:
        try:
            _kind, payload = _read(source)
        except EOFError:
            return
        try:
            _write(out, DATA, _pickled(preparer, pickle.loads(payload)))  # noqa: S301 - as above
        except Exception as exc:  # noqa: BLE001 - handed back to the staging process, which raises it
            try:
                error = pickle.dumps(exc)
            except Exception:  # noqa: BLE001 - an exception that cannot be pickled is sent as its text
                error = pickle.dumps(RuntimeError(repr(exc)))
            _write(out, ERROR, error)


if __name__ == "__main__":
    _serve()
