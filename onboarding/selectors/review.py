"""Read queries of the review workspace: the filtered, sorted queue, its counts per status, changes since a version."""

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from django.contrib.auth import get_user_model
from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import Count, F, Func, IntegerField, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from onboarding.models import (
    AV_FIELDS,
    AuditAction,
    AuditEvent,
    ClientRecord,
    RecordStatus,
    ReviewQueueColumns,
    search_fold,
)
from onboarding.selectors.artu import with_environments
from onboarding.validation import FIELD_LABELS

# Sort keys offered by the queue (`?sort=name`, `?sort=-name`) and the columns behind them; every ordering ends
# with the primary key so pages never overlap. 0004_review_indexes backs each one with an index, alone and after
# `status`, so a page is read in index order instead of sorting up to 100,000 rows.
SORT_FIELDS: dict[str, tuple[str, ...]] = {
    "created": ("created_at",),
    "updated": ("updated_at",),
    "name": ("name",),
    "last_name": ("last_name",),
    "rfc": ("rfc",),
    "external_id": ("external_id",),
    "problems": ("error_count", "warning_count"),
}
DEFAULT_SORT = "-created"
NAME_FIELDS = ("name", "middle_name", "last_name")
MAX_SEARCH_TERMS = 5
IDENTIFIER_MARKS = "-_/.#:"
# When the rows up to the end of the page are more than 1/SCAN_RATIO of the matching records, a page is sorted after
# filtering rather than read in index order: walking an index to find scattered matches then reads much of the
# table in random order, slower than one pass over it. SQLite reads rows at random far slower than PostgreSQL
# (measured with bench/bench_queue.py: 360 matches out of 100,000, walk 47 ms vs pass 25 ms on SQLite, 19 ms vs
# 50 ms on PostgreSQL), and SQLite always prefers the walk.
SCAN_RATIO = {"sqlite": 16}
DEFAULT_SCAN_RATIO = 4


class WarningsFilter:
    ANY = ""
    WITH = "with"
    UNACKNOWLEDGED = "unacknowledged"
    WITHOUT = "without"


def review_queue_filter(
    *,
    status: str | None = None,
    upload_id: int | None = None,
    has_errors: bool | None = None,
    warnings: str = WarningsFilter.ANY,
    duplicate: bool | None = None,
    client_type: str = "",
    actividad: str = "",
    created_by: str = "",
    date_from: datetime.date | None = None,
    date_to: datetime.date | None = None,
    q: str = "",
) -> QuerySet[ClientRecord]:
    """Records matching every given filter, unordered and without joins (for counts and bulk actions)."""
    qs = ClientRecord.objects.all()
    if status:
        qs = qs.filter(status=status)
    if upload_id is not None:
        qs = qs.filter(upload_id=upload_id)
    if has_errors is not None:
        qs = qs.filter(error_count__gt=0) if has_errors else qs.filter(error_count=0)
    if warnings == WarningsFilter.WITH:
        qs = qs.filter(warning_count__gt=0)
    elif warnings == WarningsFilter.UNACKNOWLEDGED:
        qs = qs.filter(warning_count__gt=0, warnings_acknowledged=False)
    elif warnings == WarningsFilter.WITHOUT:
        qs = qs.filter(warning_count=0)
    if duplicate is not None:
        is_duplicate = Q(duplicate_of__isnull=False) | ~Q(duplicate_field="")
        qs = qs.filter(is_duplicate) if duplicate else qs.exclude(is_duplicate)
    if client_type:
        qs = qs.filter(client_type=client_type)
    if actividad in AV_FIELDS:
        qs = qs.filter(**{AV_FIELDS[actividad]: True})
    if created_by:
        # A subquery, not a join: the database reads the creator's records from the created_by index.
        qs = qs.filter(created_by__in=get_user_model().objects.filter(username__iexact=created_by).values("pk"))
    if date_from:
        qs = qs.filter(created_at__gte=_start_of_day(date_from))
    if date_to:
        qs = qs.filter(created_at__lt=_start_of_day(date_to + datetime.timedelta(days=1)))
    if terms := q.split()[:MAX_SEARCH_TERMS]:
        # One subquery for every term: the database finds the matching ids from the narrow search index (a covering
        # index on SQLite, trigrams on PostgreSQL; migration 0021) rather than from the wide rows, then reads only
        # the rows it needs for the counts and the page.
        qs = qs.filter(pk__in=ClientRecord.objects.filter(*map(_search_term, terms)).values("pk"))
    return qs


def _search_term(term: str) -> Q:
    """A term is looked for without accents or case anywhere in the names, RFC, CURP and external id: "sofia"
    finds Sofía, "iniguez" Íñiguez. That reads `search_text`, one column, on every row (PostgreSQL's statistics on it
    tell how many match, so a page of a common surname is still read in index order). A term with a digit is the
    start of an RFC, CURP or external id instead, read from their indexes (a few rows whatever the table's size)."""
    anywhere = Q(search_text__contains=search_fold(term))
    if not any(ch.isdigit() or ch in IDENTIFIER_MARKS for ch in term):
        return anywhere
    upper = term.upper()  # RFC and CURP are stored upper-case; external ids as typed
    found = _starts_with("rfc", upper) | _starts_with("curp", upper)
    for variant in {term, upper, term.lower()}:
        found |= _starts_with("external_id", variant)
    # A separator without a digit may be a name too: García-López.
    return found if any(ch.isdigit() for ch in term) else found | anywhere


def _starts_with(field: str, prefix: str) -> Q:
    """`field` starts with `prefix`, as a range both databases read from the field's index (their LIKE 'x%' cannot:
    SQLite's ignores case, PostgreSQL's needs the C collation); `startswith` keeps it exact under any collation."""
    if prefix[-1] == chr(0x10FFFF):  # no character after it: the index cannot bound the range
        return Q(**{f"{field}__startswith": prefix})
    following = ord(prefix[-1]) + 1
    # Surrogates cannot be stored or even encoded: after U+D7FF comes U+E000.
    after = prefix[:-1] + chr(0xE000 if 0xD800 <= following <= 0xDFFF else following)
    return Q(**{f"{field}__gte": prefix, f"{field}__lt": after, f"{field}__startswith": prefix})


def review_queue_ordering(sort: str, *, few: bool = False) -> list:
    """The ORDER BY of a sort key (an unknown key falls back to newest first). With `few`, the sort columns are
    wrapped so no index can serve the order: the database filters first, then sorts the few rows left."""
    key = sort.removeprefix("-")
    if key not in SORT_FIELDS:
        return review_queue_ordering(DEFAULT_SORT, few=few)
    descending = sort.startswith("-")
    if few:
        columns = [Coalesce(F(name), F(name)) for name in SORT_FIELDS[key]]
        return [c.desc() if descending else c.asc() for c in columns] + ["-id" if descending else "id"]
    prefix = "-" if descending else ""
    return [prefix + name for name in (*SORT_FIELDS[key], "id")]


def review_queue(*, sort: str = DEFAULT_SORT, **filters: Any) -> QuerySet[ClientRecord]:
    """The queue's rows in order, with the people each row shows and the environments of Artu holding each record
    (no per-row queries)."""
    return with_environments(
        review_queue_filter(**filters)
        .select_related("created_by", "updated_by")
        .only(*QUEUE_FIELDS, "created_by__username", "updated_by__username")
        .order_by(*review_queue_ordering(sort))
    )


# The columns a queue row shows or decides on; the rest (original cells, Artu's answer...) stays in the database.
# A row that touched another field would cost a query per row: tests/review pins the page's query count.
QUEUE_FIELDS = (
    "status",
    "client_type",
    "name",
    "middle_name",
    "apellido_paterno",
    "apellido_materno",
    "last_name",
    "birth_date",
    "rfc",
    "curp",
    "external_id",
    "nationalities",
    "problems",
    "error_count",
    "warning_count",
    "warnings_acknowledged",
    "duplicate_of",
    "duplicate_field",
    "created_by",
    "updated_by",
    "mapped_by",
    "created_at",
    "upload",
    "version",
    "reject_reason",
)


def review_status_counts(**filters: Any) -> dict[str, int]:
    """{status: count} of the records matching the filters other than status, zeros included; one query."""
    filters.pop("status", None)
    records = review_queue_filter(**filters)
    if not any(v not in (None, "") for v in filters.values()):
        # Nothing to test per row: one COUNT(*) per status as a scalar subquery, each a range of the status index;
        # about twice as fast as one GROUP BY over the whole index (6 vs 15 ms on SQLite, 14 vs 20 ms on PostgreSQL
        # for 100,000 records). An empty table has no row to carry them, and every count is 0.
        per_status = {
            s: Subquery(records.filter(status=s).order_by().annotate(n=_CountAll()).values("n"))
            for s in RecordStatus.values
        }
        counts = next(iter(ClientRecord.objects.order_by().values(**per_status)[:1]), {})
    else:
        # One COUNT per status in a single pass: GROUP BY would make SQLite walk the status index and fetch every
        # row at random to test the filters, several times slower than reading the table once.
        counts = records.aggregate(**{s: Count("pk", filter=Q(status=s)) for s in RecordStatus.values})
    return {s: counts.get(s) or 0 for s in RecordStatus.values}


class _CountAll(Func):
    """COUNT(*) that Django does not take for an aggregate, so its subquery gets no GROUP BY (slower on SQLite)."""

    template = "COUNT(*)"
    output_field = IntegerField()


class _QueuePaginator(Paginator):
    """Pages of the queue. Told its count (derived from the counts per status, not a second COUNT), and it reads a
    page as a "deferred join": first the page's keys in order, from the filter alone (an index walk with no join,
    cheap even at the last page), then those rows with their people. One statement either way."""

    def __init__(self, rows: QuerySet[ClientRecord], per_page: int, *, count: int, keys: Callable[[bool], QuerySet]):
        super().__init__(rows, per_page)
        self.keys, self._known_count = keys, count

    @cached_property
    def count(self) -> int:
        return self._known_count

    def page(self, number) -> Page:
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = min(bottom + self.per_page, self.count)
        ratio = SCAN_RATIO.get(connection.vendor, DEFAULT_SCAN_RATIO)
        keys = self.keys(top * ratio > self.count).values("pk")[bottom:top]
        return self._get_page(self.object_list.filter(pk__in=keys), number, self)


@dataclass(frozen=True)
class QueuePage:
    page: Page
    counts: dict[str, int]
    total: int

    @property
    def all_count(self) -> int:
        return sum(self.counts.values())

    @property
    def tabs(self) -> list[tuple[str, str, int]]:
        return [(code, label, self.counts.get(code, 0)) for code, label in RecordStatus.choices]


def review_queue_page(*, filters: dict[str, Any], sort: str, page: Any, per_page: int) -> QueuePage:
    """One page of the queue plus the counts per status, in two queries whatever the page size."""
    counts = review_status_counts(**filters)
    status = filters.get("status")
    total = counts.get(status, 0) if status else sum(counts.values())
    # Only filters beyond status make matches scattered along the sort index (status leads its composite indexes).
    scattered = any(v not in (None, "") for k, v in filters.items() if k != "status")

    def keys(few: bool) -> QuerySet[ClientRecord]:
        return review_queue_filter(**filters).order_by(*review_queue_ordering(sort, few=few and scattered))

    paginator = _QueuePaginator(review_queue(sort=sort), per_page, count=total, keys=keys)
    return QueuePage(page=paginator.get_page(page), counts=counts, total=total)


def review_row_get(*, pk: int) -> ClientRecord:
    """One queue row with what it shows; raises ClientRecord.DoesNotExist."""
    return with_environments(ClientRecord.objects.select_related("created_by", "updated_by")).get(pk=pk)


def record_changes_since(*, record_id: int, version: int) -> list[dict[str, Any]]:
    """Data changes saved after `version`, one entry per field: label, value then, value now, who and when last."""
    events = (
        AuditEvent.objects.filter(record_id=record_id, action=AuditAction.RECORD_UPDATED)
        .order_by("-seq")
        .values("changes", "actor_username", "created_at")[:50]
    )
    merged: dict[str, dict[str, Any]] = {}
    for event in events:  # newest first
        changes = event["changes"] or {}
        if "version" not in changes:  # review state only (not a duplicate): no data changed, the walk goes on
            continue
        from_version = changes["version"][0]
        if from_version < version:
            break
        for field, (old, new) in ((f, v) for f, v in changes.items() if f not in ("version", "status")):
            entry = merged.setdefault(
                field,
                {
                    "field": field,
                    "label": str(FIELD_LABELS.get(field, field)),
                    "new": new,
                    "by": event["actor_username"],
                    "at": event["created_at"],
                },
            )
            entry["old"] = old
    return list(merged.values())


def review_columns_hidden(*, user) -> list[str] | None:
    """The queue columns `user` hid, or None when they never chose (the defaults apply); one query by key."""
    return next(iter(ReviewQueueColumns.objects.filter(user=user.pk).values_list("hidden", flat=True)), None)


def _start_of_day(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
