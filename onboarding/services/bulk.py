"""Fast parameterised bulk writes for the hot paths (audit events, submission outcomes, staging).

The ORM's `bulk_create` builds a model instance per row and `bulk_update` a CASE expression per field; for
tens of thousands of rows that costs more than the work around it. These send one statement with
`executemany`, converting each value the way its field would. Identifiers come from the model and are quoted;
every value is a parameter.
"""

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.db import connection, models

CHUNK = 5000
# Fields whose Python value is already what the database driver takes.
PLAIN = (models.CharField, models.TextField, models.IntegerField, models.BooleanField, models.ForeignKey)


def _converter(field: models.Field) -> Callable[[Any], Any]:
    if isinstance(field, PLAIN) and not isinstance(field, models.GenericIPAddressField):
        return lambda value: value
    return lambda value: field.get_db_prep_save(value, connection)


def _run(sql: str, params: list[list[Any]]) -> None:
    with connection.cursor() as cursor:
        for start in range(0, len(params), CHUNK):
            cursor.executemany(sql, params[start:start + CHUNK])


def rows_insert(model: type[models.Model], rows: Sequence[dict[str, Any]]) -> None:
    """INSERT one row per dict (keys are field attnames; every non-primary-key field must be present)."""
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    convert = [(f.attname, _converter(f)) for f in fields]
    quote = connection.ops.quote_name
    sql = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608 (quoted model identifiers; values are parameters)
        quote(model._meta.db_table), ", ".join(quote(f.column) for f in fields), ", ".join(["%s"] * len(fields))
    )
    _run(sql, [[c(row[name]) for name, c in convert] for row in rows])


def objects_update(model: type[models.Model], objects: Iterable[models.Model], field_names: Sequence[str]) -> None:
    """UPDATE the given fields of each object, by primary key, to the values the objects hold."""
    fields = [model._meta.get_field(name) for name in field_names]
    convert = [(f.attname, _converter(f)) for f in fields]
    quote = connection.ops.quote_name
    sql = "UPDATE {} SET {} WHERE {} = %s".format(  # noqa: S608 (quoted model identifiers; values are parameters)
        quote(model._meta.db_table), ", ".join(f"{quote(f.column)} = %s" for f in fields),
        quote(model._meta.pk.column),
    )
    _run(sql, [[c(getattr(obj, name)) for name, c in convert] + [obj.pk] for obj in objects])
