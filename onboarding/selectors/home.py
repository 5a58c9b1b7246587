"""What the home page shows each person: the work waiting for them, recent activity, records by status over 30 days.

Every function costs one query whatever the table's size (the page's total is pinned by tests/views/test_home.py).
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Count, Max, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from onboarding.models import (
    ClientRecord,
    RecordOutcome,
    RecordStatus,
    Submission,
    SubmissionStatus,
    Upload,
    UploadStatus,
)
from onboarding.selectors.submissions import record_outcome

CHART_DAYS = 30
RECENT_DAYS = 7
LIST_SIZE = 5
# Ages in review, in whole local days since the record was staged: (first day back, last day back or None).
AGE_BUCKETS = (("today", 0, 0), ("1-2", 1, 2), ("3-6", 3, 6), ("7+", 7, None))
UPLOADS_IN_PROGRESS = (UploadStatus.RECEIVED, UploadStatus.MAPPING, UploadStatus.QUEUED, UploadStatus.STAGING)
SUBMISSIONS_RUNNING = (SubmissionStatus.QUEUED, SubmissionStatus.RUNNING)


def _start_of(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


@dataclass(frozen=True, slots=True)
class AgeBucket:
    key: str
    count: int
    date_from: datetime.date | None
    date_to: datetime.date


@dataclass(frozen=True, slots=True)
class ReviewWork:
    """An officer's work: records in review by age, warnings to acknowledge, duplicates to settle, failures."""

    buckets: list[AgeBucket]
    in_review: int
    warnings: int
    duplicates: int
    failed: int

    @property
    def total(self) -> int:
        return self.warnings + self.duplicates + self.failed + self.in_review


def home_review_work(*, today: datetime.date) -> ReviewWork:
    """Counts of what waits for an officer, in one pass over the records in review or failed (status index)."""
    bounds = {}
    for key, first, last in AGE_BUCKETS:
        q = Q(created_at__lt=_start_of(today - datetime.timedelta(days=first - 1)))
        if last is not None:
            q &= Q(created_at__gte=_start_of(today - datetime.timedelta(days=last)))
        bounds[key] = Count("pk", filter=Q(status=RecordStatus.IN_REVIEW) & q)
    in_review = Q(status=RecordStatus.IN_REVIEW)
    counts = ClientRecord.objects.filter(status__in=(RecordStatus.IN_REVIEW, RecordStatus.FAILED)).aggregate(
        **bounds,
        in_review=Count("pk", filter=in_review),
        warnings=Count("pk", filter=in_review & Q(warning_count__gt=0, warnings_acknowledged=False)),
        duplicates=Count("pk", filter=in_review & (Q(duplicate_of__isnull=False) | ~Q(duplicate_field=""))),
        failed=Count("pk", filter=Q(status=RecordStatus.FAILED)),
    )
    buckets = [
        AgeBucket(
            key,
            counts[key],
            today - datetime.timedelta(days=last) if last is not None else None,
            today - datetime.timedelta(days=first),
        )
        for key, first, last in AGE_BUCKETS
    ]
    return ReviewWork(buckets, counts["in_review"], counts["warnings"], counts["duplicates"], counts["failed"])


def home_oldest_in_review(*, limit: int = LIST_SIZE) -> list[ClientRecord]:
    """The records waiting longest in review, oldest first, with who staged them (one query)."""
    return list(
        ClientRecord.objects.filter(status=RecordStatus.IN_REVIEW)
        .select_related("created_by")
        .only(
            "pk",
            "name",
            "middle_name",
            "last_name",
            "created_at",
            "created_by__username",
            "error_count",
            "warning_count",
            "warnings_acknowledged",
            "duplicate_of",
            "duplicate_field",
            "status",
        )
        .order_by("created_at", "pk")[:limit]
    )


@dataclass(frozen=True, slots=True)
class DuplicatePair:
    """Two records flagged as possibly the same client, the older first, and the identifier they share."""

    left: ClientRecord
    right: ClientRecord
    field: str


def home_duplicate_pairs(*, limit: int = LIST_SIZE) -> list[DuplicatePair]:
    """Possible duplicates waiting in review, one entry per pair (each record names the other), oldest first. One
    query: the flagged records with the record each names."""
    names = ("name", "middle_name", "last_name", "created_at")
    flagged = (
        ClientRecord.objects.filter(status=RecordStatus.IN_REVIEW, duplicate_of__isnull=False)
        .select_related("duplicate_of")
        .only(*names, "duplicate_field", *(f"duplicate_of__{n}" for n in names))
        .order_by("created_at", "pk")[: limit * 2]
    )
    pairs, seen = [], set()
    for record in flagged:
        other = record.duplicate_of
        if frozenset((record.pk, other.pk)) in seen:
            continue
        seen.add(frozenset((record.pk, other.pk)))
        left, right = sorted((record, other), key=lambda r: (r.created_at, r.pk))
        pairs.append(DuplicatePair(left, right, record.duplicate_field))
    return pairs[:limit]


def home_submissions_needing_attention(*, now: datetime.datetime, limit: int = LIST_SIZE) -> list[Submission]:
    """Submissions of the last week that finished with failures, and running ones with no sign of life for longer
    than a worker's lease (`stalled`, the sweep's business, but a person should know). One query."""
    quiet_since = now - datetime.timedelta(seconds=settings.ARTU_LEASE_SECONDS)
    week = now - datetime.timedelta(days=RECENT_DAYS)
    submissions = (
        Submission.objects.filter(
            Q(status=SubmissionStatus.FINISHED_WITH_FAILURES, created_at__gte=week) | Q(status__in=SUBMISSIONS_RUNNING)
        )
        .select_related("created_by")
        .annotate(
            last_activity=Max("batches__updated_at"),
            # Approved again (not sent, or held back with a refused one): still in this submission's batches.
            to_send_again=Count("batches__records", filter=Q(batches__records__status=RecordStatus.APPROVED)),
        )
        .order_by("-created_at", "-pk")
    )
    found = []
    for submission in submissions[: limit * 4]:
        submission.stalled = submission.status in SUBMISSIONS_RUNNING and (
            (submission.last_activity or submission.started_at or submission.created_at) < quiet_since
        )
        if submission.stalled or submission.status == SubmissionStatus.FINISHED_WITH_FAILURES:
            found.append(submission)
    return found[:limit]


@dataclass(frozen=True, slots=True)
class SendAgain:
    """Records a submission left approved again (never sent, or not created with a refused one of their batch), and
    the latest submission that holds some, whose page has the buttons to send them again."""

    count: int
    submission_id: int | None


def home_send_again() -> SendAgain:
    """One query over the approved records (status index): those a submission gave back (not sent, or not created
    with a refused one), as its page counts them."""
    found = (
        ClientRecord.objects.filter(status=RecordStatus.APPROVED, batch__isnull=False)
        .exclude(artu_messages=[])
        .annotate(outcome=record_outcome())
        .filter(outcome__in=(RecordOutcome.NOT_SENT, RecordOutcome.NOT_CREATED))
        .aggregate(n=Count("pk"), latest=Max("batch__submission_id"))
    )
    return SendAgain(found["n"], found["latest"])


def home_sent_back(*, user, limit: int = 10) -> QuerySet[ClientRecord]:
    """`user`'s records sent back to data entry (drafts they staged), oldest request first, with the reviewer."""
    return (
        ClientRecord.objects.filter(status=RecordStatus.DRAFT, created_by=user)
        .select_related("reviewed_by")
        .order_by("reviewed_at", "pk")[:limit]
    )


def home_sent_back_count(*, user) -> int:
    return ClientRecord.objects.filter(status=RecordStatus.DRAFT, created_by=user).count()


def home_uploads_in_progress(*, user, limit: int = LIST_SIZE) -> list[Upload]:
    """`user`'s uploads not yet staged or refused: waiting for a column mapping, queued or staging."""
    return list(
        Upload.objects.filter(created_by=user, status__in=UPLOADS_IN_PROGRESS).order_by("-created_at", "-pk")[:limit]
    )


def home_recent_uploads(*, now: datetime.datetime, limit: int = LIST_SIZE) -> list[Upload]:
    since = now - datetime.timedelta(days=RECENT_DAYS)
    return list(
        Upload.objects.filter(created_at__gte=since).select_related("created_by").order_by("-created_at", "-pk")[:limit]
    )


def home_recent_submissions(*, now: datetime.datetime, limit: int = LIST_SIZE) -> list[Submission]:
    since = now - datetime.timedelta(days=RECENT_DAYS)
    return list(
        Submission.objects.filter(created_at__gte=since)
        .select_related("created_by")
        .order_by("-created_at", "-pk")[:limit]
    )


# -- chart -------------------------------------------------------------------------------------------------------

CHART_HEIGHT = 100  # SVG units of the tallest day
BAR_STEP, BAR_WIDTH = 10, 8


@dataclass(frozen=True, slots=True)
class Segment:
    status: str
    count: int
    y: float
    height: float


@dataclass
class ChartDay:
    day: datetime.date
    counts: dict[str, int] = field(default_factory=dict)
    x: int = 0
    segments: list[Segment] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True, slots=True)
class StatusChart:
    """Records staged on each of the last days, split by the status they have now; geometry for an SVG bar chart
    (`x`, `y`, `height` in its units) and the same numbers for its table."""

    days: list[ChartDay]
    totals: dict[str, int]
    date_from: datetime.date

    @property
    def width(self) -> int:
        return len(self.days) * BAR_STEP

    @property
    def height(self) -> int:
        return CHART_HEIGHT

    @property
    def bar_width(self) -> int:
        return BAR_WIDTH

    @property
    def total(self) -> int:
        return sum(self.totals.values())

    @property
    def tallest(self) -> int:
        return max((d.total for d in self.days), default=0)


def home_status_chart(*, today: datetime.date, days: int = CHART_DAYS) -> StatusChart:
    """Records staged per local day over the last `days` days, by current status (one GROUP BY query)."""
    first = today - datetime.timedelta(days=days - 1)
    rows = (
        ClientRecord.objects.filter(created_at__gte=_start_of(first))
        .annotate(day=TruncDate("created_at", tzinfo=timezone.get_current_timezone()))
        .values("day", "status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    counts: dict[datetime.date, dict[str, int]] = defaultdict(dict)
    totals = dict.fromkeys(RecordStatus.values, 0)
    for row in rows:
        counts[row["day"]][row["status"]] = row["n"]
        totals[row["status"]] += row["n"]
    chart_days = [ChartDay(first + datetime.timedelta(days=i)) for i in range(days)]
    tallest = max((sum(counts[d.day].values()) for d in chart_days), default=0) or 1
    for i, day in enumerate(chart_days):
        day.counts = {s: counts[day.day].get(s, 0) for s in RecordStatus.values}
        day.x = i * BAR_STEP + (BAR_STEP - BAR_WIDTH) // 2
        top = float(CHART_HEIGHT)
        for status in RecordStatus.values:
            n = day.counts[status]
            if n:
                height = round(n * CHART_HEIGHT / tallest, 2)
                top -= height
                day.segments.append(Segment(status, n, round(top, 2), height))
    return StatusChart(chart_days, totals, first)
