"""Writing prepared rows as ClientRecords, fast: duplicate look-ups and one bulk write per chunk.

Called only inside the staging transaction (`services.uploads.upload_stage`). Rows go in with `executemany`
(SQLite) or `COPY` (PostgreSQL) over values already in database form: building 100,000 model instances and letting
`bulk_create` compile them costs more than parsing, validating and inserting together (bench/RESULTS.md). Ids are
reserved up front so duplicate links and audit events can name a record before it is inserted.
"""

import json
import uuid
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.db.models import JSONField
from django.utils import timezone

from onboarding.models import DATA_FIELDS, ClientRecord, RecordStatus, Upload, record_search_text
from onboarding.selectors.duplicates import DUPLICATE_FIELDS, Holder, Key, comparable, duplicate_groups
from onboarding.services.duplicates import duplicate_problem


def encode_row(
    source_row: int, values: dict[str, Any], problems: list[dict[str, Any]], source_data: dict[str, Any]
) -> tuple:
    """A prepared row's columns in database form (`ENCODED` order), the same on SQLite and PostgreSQL: JSON as
    text, dates ISO, the uuid as hex, the queue's search text. Pure, so the worker processes that validate can do
    it (imports.parallel)."""
    data = list(_data(values))
    for i in _JSON_AT:
        if data[i] is not None:
            data[i] = _dumps_common(data[i])
    for i in _DATE_AT:
        if data[i] is not None:
            data[i] = data[i].isoformat()
    errors = sum(1 for p in problems if p["severity"] == "error")
    return (
        uuid.uuid4().hex,
        _dumps(problems) if problems else "[]",
        errors,
        len(problems) - errors,
        source_row,
        _dumps(source_data),
        *data,
        record_search_text(values),
    )


# The columns `encode_row` fills, in its order; then the ones staging sets (RecordInserter).
ENCODED = ("uuid", "problems", "error_count", "warning_count", "source_row", "source_data", *DATA_FIELDS, "search_text")
_DATA_START = ENCODED.index(DATA_FIELDS[0])
# Generated columns (`last_name`) are the database's to fill.
_FIELDS = {f.attname: f for f in ClientRecord._meta.concrete_fields if not f.generated}
_data = itemgetter(*DATA_FIELDS)
_JSON_AT = [i for i, name in enumerate(DATA_FIELDS) if isinstance(_FIELDS[name], JSONField)]
_DATE_AT = [i for i, name in enumerate(DATA_FIELDS) if _FIELDS[name].get_internal_type() == "DateField"]


@dataclass(slots=True)
class StagedRow:
    source_row: int
    encoded: tuple
    id: int = 0
    duplicate_of: int | None = None
    duplicate_field: str = ""

    @property
    def error_count(self) -> int:
        return self.encoded[2]

    @property
    def warning_count(self) -> int:
        return self.encoded[3]

    def add_problems(self, added: list[dict[str, Any]]) -> None:
        problems = [*json.loads(self.encoded[1]), *added]
        errors = sum(1 for p in problems if p["severity"] == "error")
        self.encoded = (self.encoded[0], _dumps(problems), errors, len(problems) - errors, *self.encoded[4:])


# -- duplicates --------------------------------------------------------------------------------------------------


def mark_duplicates(rows: Sequence[StagedRow], *, upload_id: int) -> set[Key]:
    """Flag each row against the oldest other record holding each of its identifier values (staged before, or
    earlier in this file; rejected records do not count): the rule of `services.duplicates` for a record newer than
    every other holder, applied before the INSERT. Returns the values found held twice, whose earlier holders
    `duplicates_refresh` flags in turn. One query per field."""
    at = {name: _DATA_START + DATA_FIELDS.index(name) for name in DUPLICATE_FIELDS}
    keys = {(name, v) for r in rows for name in DUPLICATE_FIELDS if comparable(name, v := r.encoded[at[name]])}
    oldest = {key: holders[0] for key, holders in duplicate_groups(keys).items()}
    found = set()
    for row in rows:
        flags = []
        for name in DUPLICATE_FIELDS:
            key = (name, row.encoded[at[name]])
            if key not in keys:
                continue
            other = oldest.get(key)
            if other:
                flags.append(duplicate_problem(*key, other, upload_id=upload_id))
                row.duplicate_of, row.duplicate_field = row.duplicate_of or other.pk, row.duplicate_field or name
                found.add(key)
            else:  # later rows of this chunk see this one as their earlier record
                oldest[key] = Holder(row.id, upload_id, row.source_row)
        if flags:
            row.add_problems(flags)
    return found


@contextmanager
def bulk_write_cache(megabytes: int = 32):
    """SQLite: a larger page cache for this connection while staging (the default 2 MB cannot hold the indexes a
    100,000-row insert walks; with it, inserts slow down as the table grows). No-op on PostgreSQL."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        previous = cursor.fetchone()[0]
        cursor.execute(f"PRAGMA cache_size = {-1024 * int(megabytes)}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {int(previous)}")


# -- ids and INSERT ----------------------------------------------------------------------------------------------


class IdReserver:
    """Hands out ClientRecord ids inside the staging transaction."""

    def __init__(self):
        self.table = ClientRecord._meta.db_table
        self.next_id: int | None = None

    def take(self, count: int) -> list[int]:
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [self.table, count]
                )
                return [r[0] for r in cursor.fetchall()]
        if connection.vendor != "sqlite":
            raise NotImplementedError(connection.vendor)
        if self.next_id is None:
            # SQLite: the staging transaction holds the database's write lock (BEGIN IMMEDIATE), so no other
            # writer can take these ids before the INSERT. AUTOINCREMENT's counter is honoured too.
            quoted = connection.ops.quote_name(self.table)
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT MAX(id) FROM {quoted}")  # noqa: S608 - table name from the model
                highest = cursor.fetchone()[0] or 0
                cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [self.table])
                seq = cursor.fetchone()
            self.next_id = max(highest, seq[0] if seq else 0) + 1
        ids = list(range(self.next_id, self.next_id + count))
        self.next_id += count
        return ids


class RecordInserter:
    """Inserts StagedRows as whole ClientRecord rows: the encoded columns, the staging ones, then those equal for
    every row.

    SQLite gets one `executemany` per chunk; PostgreSQL gets `COPY ... FROM STDIN`, which is several times faster
    than any INSERT. Values are in database form already (`encode_row`), as Django would send them.
    """

    STAGING = ("id", "duplicate_of_id", "duplicate_field")

    def __init__(self, *, upload: Upload):
        now = timezone.now()
        ops = connection.ops
        constant = {
            "status": RecordStatus.IN_REVIEW,
            "created_by_id": upload.created_by_id,
            "updated_by_id": upload.created_by_id,
            "mapped_by_id": upload.mapped_by_id,
            "upload_id": upload.pk,
            "created_at": now,
            "updated_at": now,
        }
        rest = [name for name in _FIELDS if name not in (*ENCODED, *self.STAGING)]
        constants = []
        for name in rest:
            value = constant[name] if name in constant else _FIELDS[name].get_default()
            if isinstance(_FIELDS[name], JSONField):
                constants.append(None if value is None else _dumps(value))
            else:
                constants.append(_FIELDS[name].get_db_prep_save(value, connection))
        self.constants = tuple(constants)
        self.postgres = connection.vendor == "postgresql"
        columns = ", ".join(ops.quote_name(_FIELDS[name].column) for name in (*ENCODED, *self.STAGING, *rest))
        table = ops.quote_name(ClientRecord._meta.db_table)
        placeholders = ", ".join(["%s"] * len(_FIELDS))
        self.insert_sql = f"INSERT INTO {table} ({columns}) VALUES ({placeholders})"  # noqa: S608 - model names
        self.copy_sql = f"COPY {table} ({columns}) FROM STDIN"

    def insert(self, rows: Iterable[StagedRow]) -> None:
        constants = self.constants
        params = [(*r.encoded, r.id, r.duplicate_of, r.duplicate_field, *constants) for r in rows]
        if not params:
            return
        with connection.cursor() as cursor:
            if self.postgres:
                with cursor.cursor.copy(self.copy_sql) as copy:
                    for values in params:
                        copy.write_row(values)
            else:
                cursor.executemany(self.insert_sql, params)


_ENCODER = DjangoJSONEncoder(separators=(",", ":"))


def _dumps(value: Any) -> str:
    return _ENCODER.encode(value)


_COMMON: dict[tuple, str] = {}


def _dumps_common(value: Any) -> str:
    """Empty values and scope lists repeat on most rows: each distinct one is encoded once."""
    if isinstance(value, (list, dict)) and not value:
        key: tuple = (type(value),)
    elif isinstance(value, list) and len(value) < 12 and all(isinstance(v, str) for v in value):
        key = (list, *value)
    else:
        return _dumps(value)
    text = _COMMON.get(key)
    if text is None:
        text = _dumps(value)
        if len(_COMMON) < 1000:
            _COMMON[key] = text
    return text
