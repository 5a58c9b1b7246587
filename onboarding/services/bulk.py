"""Fast parameterised bulk writes for the hot paths (audit events, submission outcomes, staging).

The ORM's `bulk_create` builds a model instance per row and `bulk_update` a CASE expression per field; for
tens of thousands of rows that costs more than the work around it. These send one statement with
`executemany` (or, to insert on PostgreSQL, `COPY ... FROM STDIN`), converting each value the way its field would.
Identifiers come from the model and are quoted; every value is a parameter.
"""

import json
from collections.abc import Callable, Container, Iterable, Mapping, Sequence
from typing import Any

from django.db import connection, models

CHUNK = 5000
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


def _run(sql: str, params: list[Sequence[Any]]) -> None:
    with connection.cursor() as cursor:
        for start in range(0, len(params), CHUNK):
            cursor.executemany(sql, params[start : start + CHUNK])


def _run_values(head: str, params: list[Sequence[Any]], tail: str = "") -> None:
    """`head VALUES (...), (...), ... tail`, up to VALUES_ROWS rows a statement (SQLite).

    As fast as `executemany` alone, and much faster beside busy threads: SQLite lets go of the GIL at every
    statement it runs, and a thread that lets go of it waits up to the interpreter's switch interval (5 ms) to get
    it back, so 250 one-row statements in a write transaction can take a second while a few take milliseconds.
    """
    width = len(params[0])
    per = max(1, min(VALUES_ROWS, connection.features.max_query_params // width))
    row = "(" + ", ".join(["%s"] * width) + ")"
    with connection.cursor() as cursor:
        for start in range(0, len(params), per):
            chunk = params[start : start + per]
            cursor.execute(f"{head} VALUES {', '.join([row] * len(chunk))}{tail}", [v for p in chunk for v in p])


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

    def run(self, only: Container[Any] | None = None) -> None:
        """Send the UPDATEs, or only those of the primary keys in `only`."""
        params = self.params if only is None else [p for p in self.params if p[-1] in only]
        if not params:
            return
        quote = connection.ops.quote_name
        table, pk = quote(self.model._meta.db_table), quote(self.model._meta.pk.column)
        if connection.vendor == "sqlite":
            # One statement per few hundred rows (see `_run_values`): UPDATE ... FROM a VALUES list.
            assignments = ", ".join(f"{quote(f.column)} = v.column{i}" for i, f in enumerate(self.fields, 1))
            head = f"UPDATE {table} SET {assignments} FROM ("  # noqa: S608 (quoted model identifiers)
            _run_values(head, params, f") AS v WHERE {table}.{pk} = v.column{len(self.fields) + 1}")
            return
        assignments = ", ".join(f"{quote(f.column)} = %s" for f in self.fields)
        _run(f"UPDATE {table} SET {assignments} WHERE {pk} = %s", params)  # noqa: S608 (quoted model identifiers)


def objects_update(model: type[models.Model], objects: Iterable[Any], field_names: Sequence[str]) -> PreparedUpdate:
    """The UPDATE of the given fields of each object (anything with `pk` and those attributes), by primary key,
    to the values the objects hold."""
    fields = [model._meta.get_field(name) for name in field_names]
    convert = [(f.attname, _update_converter(f)) for f in fields]
    return PreparedUpdate(model, fields, [[c(getattr(obj, name)) for name, c in convert] + [obj.pk] for obj in objects])
