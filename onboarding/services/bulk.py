"""Fast parameterised bulk writes for the hot paths (audit events, submission outcomes, staging).

The ORM's `bulk_create` builds a model instance per row and `bulk_update` a CASE expression per field; for
tens of thousands of rows that costs more than the work around it. These send multi-row statements (`INSERT ...
VALUES` and `UPDATE ... FROM (VALUES ...)`, or, to insert on PostgreSQL, `COPY ... FROM STDIN`), converting each
value the way its field would.
Identifiers come from the model and are quoted; every value is a parameter.
"""

import contextlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from django.db import connection, models

VALUES_ROWS = 500
# Fields whose Python value is already what the database driver takes.
PLAIN = (models.CharField, models.TextField, models.IntegerField, models.BooleanField, models.ForeignKey)


def _converter(field: models.Field) -> Callable[[Any], Any]:
    if isinstance(field, PLAIN) and not isinstance(field, models.GenericIPAddressField):
        return lambda value: value
    return lambda value: field.get_db_prep_save(value, connection)


def _update_converter(field: models.Field) -> Callable[[Any], Any]:
    """As `_converter`; on SQLite, JSON becomes its text through one encoder for every row (PostgreSQL's driver
    needs the field's own adaptation)."""
    if isinstance(field, models.JSONField) and connection.vendor == "sqlite":
        return _insert_converter(field)
    return _converter(field)


def _insert_converter(field: models.Field) -> Callable[[Any], Any]:
    """As `_converter`, but JSON becomes its text through one encoder for every row (what SQLite is sent, and what
    COPY reads on PostgreSQL) and an address stays text (COPY reads text)."""
    if isinstance(field, models.JSONField):
        encode = (field.encoder or json.JSONEncoder)().encode
        return lambda value: None if value is None else encode(value)
    if isinstance(field, models.GenericIPAddressField):
        return lambda value: field.get_prep_value(value) or None
    return _converter(field)


@contextlib.contextmanager
def _values_cursor():
    """Django's cursor; on PostgreSQL a plain psycopg cursor on the same connection (and transaction) instead.

    Django's binds parameters on the client, quoting each of a VALUES list's thousands of values in Python; psycopg's
    own sends them apart from the statement, converted in C, and prepares a statement it sees repeatedly."""
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            yield cursor
        return
    import psycopg

    connection.ensure_connection()
    # Django's error classes (IntegrityError, ...) as its own cursor would raise them.
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        yield cursor


def _run_values(head: str, params: list[Sequence[Any]], tail: str = "", tail_params: Sequence[Any] = ()) -> list:
    """`head VALUES (...), (...), ... tail`, up to VALUES_ROWS rows a statement; the rows any RETURNING gives.

    On SQLite as fast as `executemany` alone, and much faster beside busy threads: SQLite lets go of the GIL at
    every statement it runs, and a thread that lets go of it may wait the interpreter's switch interval (5 ms) to
    get it back. On PostgreSQL, one round trip and one statement instead of hundreds.
    """
    width = len(params[0])
    most = connection.features.max_query_params or 65535  # PostgreSQL: none set; its protocol's limit
    per = max(1, min(VALUES_ROWS, (most - len(tail_params)) // width))
    row = "(" + ", ".join(["%s"] * width) + ")"
    returned = []
    with _values_cursor() as cursor:
        for start in range(0, len(params), per):
            chunk = params[start : start + per]
            values = [v for p in chunk for v in p]
            cursor.execute(f"{head} VALUES {', '.join([row] * len(chunk))}{tail}", [*values, *tail_params])
            if cursor.description:
                returned += cursor.fetchall()
    return returned


def rows_insert(
    model: type[models.Model], rows: Sequence[dict[str, Any]], *, same: Mapping[str, Any] | None = None
) -> None:
    """INSERT one row per dict (keys are field attnames; every non-primary-key field must be in the row or in
    `same`, the values every row shares, converted once)."""
    same = same or {}
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    varying = [f for f in fields if f.attname not in same]
    shared = [f for f in fields if f.attname in same]
    convert = [(f.attname, _insert_converter(f)) for f in varying]
    constants = tuple(_insert_converter(f)(same[f.attname]) for f in shared)
    params = [(*[c(row[name]) for name, c in convert], *constants) for row in rows]
    if not params:
        return
    quote = connection.ops.quote_name
    table, columns = quote(model._meta.db_table), ", ".join(quote(f.column) for f in (*varying, *shared))
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as out:
            for values in params:
                out.write_row(values)
        return
    _run_values(f"INSERT INTO {table} ({columns})", params)


class PreparedUpdate:
    """UPDATEs by primary key, their values converted ahead of time (outside any lock); `run` sends them."""

    def __init__(self, model: type[models.Model], fields: Sequence[models.Field], params: list[list[Any]]) -> None:
        self.model, self.fields, self.params = model, fields, params

    def run(self, where: Mapping[str, Any] | None = None) -> set:
        """Send the UPDATEs to the rows that also match `where` ({attname: value}); the primary keys updated.

        One `UPDATE ... FROM (VALUES ...) RETURNING` per few hundred rows on both databases: the condition is
        checked as each row is written (on PostgreSQL, again after waiting for another transaction's lock on it),
        so no separate locking read is needed to know which rows changed."""
        if not self.params:
            return set()
        quote, meta = connection.ops.quote_name, self.model._meta
        table, pk = quote(meta.db_table), quote(meta.pk.column)
        columns = [*self.fields, meta.pk]

        def cast(i: int, field: models.Field) -> str:
            # PostgreSQL types a VALUES list from its values: each column is cast to its field's type, except text,
            # which is assigned as it is (a CAST to varchar(n) would cut a value that is too long; assigning it
            # raises an error).
            if connection.vendor == "postgresql" and not isinstance(field, (models.CharField, models.TextField)):
                return f"CAST(v.column{i} AS {field.db_type(connection)})"
            return f"v.column{i}"

        assignments = ", ".join(f"{quote(f.column)} = {cast(i, f)}" for i, f in enumerate(self.fields, 1))
        where = where or {}
        conditions = [f"{table}.{pk} = {cast(len(columns), meta.pk)}"] + [
            f"{table}.{quote(meta.get_field(name).column)} = %s" for name in where
        ]
        head = f"UPDATE {table} SET {assignments} FROM ("  # noqa: S608 (quoted model identifiers)
        tail = f") AS v WHERE {' AND '.join(conditions)} RETURNING {table}.{pk}"
        return {row[0] for row in _run_values(head, self.params, tail, list(where.values()))}


def objects_update(model: type[models.Model], objects: Iterable[Any], field_names: Sequence[str]) -> PreparedUpdate:
    """The UPDATE of the given fields of each object (anything with `pk` and those attributes), by primary key,
    to the values the objects hold."""
    fields = [model._meta.get_field(name) for name in field_names]
    convert = [(f.attname, _update_converter(f)) for f in fields]
    return PreparedUpdate(model, fields, [[c(getattr(obj, name)) for name, c in convert] + [obj.pk] for obj in objects])
