"""Reads behind possible duplicates: who holds an identifier value, the pairs settled as different clients, and
two records side by side. The rule that uses them is `services.duplicates`."""

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from django.db import connection
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from onboarding.models import ClientRecord, DuplicateDismissal, RecordStatus
from onboarding.validation import FIELD_LABELS, GENERIC_RFCS

DUPLICATE_FIELDS = ("external_id", "rfc", "curp")
IN_CHUNKS_OF = 1000

Key = tuple[str, str]  # (field, value): one identifier value


class Holder(NamedTuple):
    pk: int
    upload_id: int | None
    source_row: int | None


def comparable(field: str, value: str) -> bool:
    """Whether two records holding `value` in `field` may be one client (the generic RFCs are shared by design)."""
    return bool(value) and not (field == "rfc" and value in GENERIC_RFCS)


def duplicate_keys(values: Mapping[str, Any]) -> set[Key]:
    """The identifier values of a record (or of its data) that could make it a duplicate."""
    return {(f, v) for f in DUPLICATE_FIELDS if comparable(f, v := values.get(f) or "")}


def record_duplicate_keys(record: ClientRecord) -> set[Key]:
    return duplicate_keys({f: getattr(record, f) for f in DUPLICATE_FIELDS})


def _chunks(items: Sequence, size: int = IN_CHUNKS_OF) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def duplicate_groups(keys: Iterable[Key]) -> dict[Key, list[Holder]]:
    """{key: holders, oldest first} of every record not rejected that holds each value (absent: no holder)."""
    by_field: dict[str, list[str]] = defaultdict(list)
    for field, value in set(keys):
        by_field[field].append(value)
    groups: dict[Key, list[Holder]] = {}
    quote = connection.ops.quote_name
    for field, values in by_field.items():
        if field not in DUPLICATE_FIELDS:
            raise ValueError(field)
        for chunk in _chunks(sorted(values)):
            # Plain SQL: the ORM spends longer preparing a 2,000-value IN list than the database takes to answer it.
            sql = "SELECT {0}, {1}, {2}, {3} FROM {4} WHERE {0} IN ({5}) AND {6} <> %s ORDER BY {1}".format(  # noqa: S608
                quote(field),
                quote("id"),
                quote("upload_id"),
                quote("source_row"),
                quote(ClientRecord._meta.db_table),
                ", ".join(["%s"] * len(chunk)),
                quote("status"),
            )
            with connection.cursor() as cursor:
                cursor.execute(sql, [*chunk, RecordStatus.REJECTED])
                for value, pk, upload, row in cursor.fetchall():
                    groups.setdefault((field, value), []).append(Holder(pk, upload, row))
    return groups


def duplicate_dismissals(pks: Iterable[int]) -> set[tuple[int, int, str, str]]:
    """(older pk, newer pk, field, value) of every not-a-duplicate decision whose older record is among `pks`."""
    found = set()
    for chunk in _chunks(sorted(set(pks))):
        rows = DuplicateDismissal.objects.filter(first_id__in=chunk)
        found.update(rows.values_list("first_id", "second_id", "field", "value"))
    return found


def upload_keys_held_elsewhere(*, upload_id: int) -> set[Key]:
    """Identifier values of an upload's records that another record not rejected also holds (one query a field)."""
    quote = connection.ops.quote_name
    table = quote(ClientRecord._meta.db_table)
    found = set()
    for field in DUPLICATE_FIELDS:
        column = quote(field)
        sql = (
            f"SELECT DISTINCT r.{column} FROM {table} r WHERE r.{quote('upload_id')} = %s AND r.{column} <> '' "  # noqa: S608
            f"AND EXISTS (SELECT 1 FROM {table} o WHERE o.{column} = r.{column} AND o.{quote('id')} <> r.{quote('id')} "
            f"AND o.{quote('status')} <> %s)"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [upload_id, RecordStatus.REJECTED])
            found.update((field, value) for (value,) in cursor.fetchall() if comparable(field, value))
    return found


# -- side by side ------------------------------------------------------------------------------------------------

# What the comparison shows, in the record page's order; identifiers first, since they are why the pair is here.
COMPARED_FIELDS = (
    "external_id",
    "rfc",
    "curp",
    "client_type",
    "name",
    "middle_name",
    "apellido_paterno",
    "apellido_materno",
    "birth_date",
    "nationalities",
    "actividades",
    "avi_username",
    "cnbv_numero_cuenta",
    "cnbv_clave_sujeto_obligado",
    "scopes",
    "metadata",
)
COMPARED_LABELS = {**FIELD_LABELS, "actividades": _("Actividades vulnerables")}
MONO_FIELDS = {"external_id", "rfc", "curp", "nationalities", "scopes", "metadata", "cnbv_numero_cuenta"}


@dataclass(frozen=True, slots=True)
class ComparedField:
    field: str
    label: str
    left: str
    right: str
    shared_identifier: bool  # a value the two hold in common that makes them possible duplicates
    settled: bool  # that value was declared not to make them one client
    mono: bool

    @property
    def same(self) -> bool:
        return self.left == self.right


@dataclass(frozen=True, slots=True)
class DuplicateComparison:
    left: ClientRecord
    right: ClientRecord
    fields: list[ComparedField]
    shared: list[Key]  # identifier values the two hold in common
    open: list[Key]  # ...not yet declared not to make them one client

    @property
    def differences(self) -> int:
        return sum(not f.same for f in self.fields)

    @property
    def shared_labels(self) -> list[tuple[str, str]]:
        return [(str(FIELD_LABELS.get(field, field)), value) for field, value in self.shared]


def _display(record: ClientRecord, field: str) -> str:
    if field == "client_type":
        return record.get_client_type_display()
    if field == "birth_date":
        return date_format(record.birth_date, "d/m/Y") if record.birth_date else ""
    if field == "actividades":
        return ", ".join(record.actividades_vulnerables)
    if field == "scopes":
        return ", ".join(record.scopes or [])
    if field == "metadata":
        return ", ".join(f"{k}={v}" for k, v in sorted((record.metadata or {}).items()))
    value = getattr(record, field)
    return "" if value is None else str(value)


def _in_field_order(key: Key) -> tuple[int, str]:
    return DUPLICATE_FIELDS.index(key[0]), key[1]


def duplicate_comparison(*, left_id: int, right_id: int) -> DuplicateComparison:
    """Two records field by field, with the identifier values they share; raises ClientRecord.DoesNotExist."""
    records = ClientRecord.objects.select_related("created_by", "updated_by", "upload", "reviewed_by")
    found = {r.pk: r for r in records.filter(pk__in=[left_id, right_id])}
    if left_id == right_id or len(found) != 2:
        raise ClientRecord.DoesNotExist
    left, right = found[left_id], found[right_id]
    first, second = sorted((left_id, right_id))
    settled = {(f, v) for _a, b, f, v in duplicate_dismissals([first]) if b == second}
    shared = sorted(record_duplicate_keys(left) & record_duplicate_keys(right), key=_in_field_order)
    fields = []
    for name in COMPARED_FIELDS:
        values = (_display(left, name), _display(right, name))
        key = (name, values[0])
        fields.append(
            ComparedField(
                field=name,
                label=str(COMPARED_LABELS.get(name, name)),
                left=values[0],
                right=values[1],
                shared_identifier=key in shared,
                settled=key in settled,
                mono=name in MONO_FIELDS,
            )
        )
    return DuplicateComparison(left, right, fields, shared, [k for k in shared if k not in settled])
