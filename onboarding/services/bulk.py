"""Fast parameterised bulk writes for the hot paths (audit events, submission outcomes, staging).

The ORM's `bulk_create` builds a model instance per row and `bulk_update` a CASE expression per field; for
tens of thousands of rows that costs more than the work around it. These send one statement with
`executemany` (or, to insert on PostgreSQL, `COPY ... FROM STDIN`), converting each value the way its field would.
Identifiers come from the model and are quoted; every value is a parameter.
"""

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from django.db import connection, models

CHUNK = 5000
# Fields whose Python value is already what the database driver takes.
PLAIN = (models.CharField, models.TextField, models.IntegerField, models.BooleanField, models.ForeignKey)


def _converter(field: models.Field) -> Callable[[Any], Any]:
    if isinstance(field, PLAIN) and not isinstance(field, models.GenericIPAddressField):
        return lambda value: value
    return lambda value: field.get_db_prep_save(value, connection)


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
    placeholders = ", ".join(["%s"] * len(fields))
    _run(f"INSERT INTO {table} ({columns}) VALUES ({placeholders})", params)  # noqa: S608 (quoted model names)


def objects_update(model: type[models.Model], objects: Iterable[models.Model], field_names: Sequence[str]) -> None:
    """UPDATE the given fields of each object, by primary key, to the values the objects hold."""
    fields = [model._meta.get_field(name) for name in field_names]
    convert = [(f.attname, _converter(f)) for f in fields]
    quote = connection.ops.quote_name
    sql = "UPDATE {} SET {} WHERE {} = %s".format(  # noqa: S608 (quoted model identifiers; values are parameters)
        quote(model._meta.db_table),
        ", ".join(f"{quote(f.column)} = %s" for f in fields),
        quote(model._meta.pk.column),
    )
    _run(sql, [[c(getattr(obj, name)) for name, c in convert] + [obj.pk] for obj in objects])
