"""The home page: what waits for the signed-in person, by role, then recent activity and records by status."""

import datetime

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.http import urlencode
from django.views.decorators.http import require_GET

from onboarding.models import RecordStatus
from onboarding.permissions import (
    PERM_ADD_RECORD,
    PERM_REVIEW,
    PERM_SUBMIT,
    PERM_VIEW_AUDIT,
    PERM_VIEW_SUBMISSIONS,
    PERM_VIEW_UPLOADS,
)
from onboarding.selectors import home as selectors
from onboarding.selectors.audit import audit_verification_last
from onboarding.validation import FIELD_LABELS

# The officer's counts, each opening the queue filtered to what it counts (the queue's own URL parameters).
QUEUE_LINKS = {
    "in_review": {"status": RecordStatus.IN_REVIEW, "sort": "created"},
    "warnings": {"status": RecordStatus.IN_REVIEW, "warnings": "unacknowledged"},
    "duplicates": {"status": RecordStatus.IN_REVIEW, "duplicate": "yes"},
    "failed": {"status": RecordStatus.FAILED},
}


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    user, now = request.user, timezone.now()
    today = timezone.localdate(now)
    can = {p: user.has_perm(p) for p in (PERM_REVIEW, PERM_ADD_RECORD, PERM_VIEW_AUDIT, PERM_VIEW_UPLOADS)}
    can_see_submissions = user.has_perm(PERM_VIEW_SUBMISSIONS) or user.has_perm(PERM_SUBMIT)
    links = {name: _queue_url(**params) for name, params in QUEUE_LINKS.items()}
    context = {"today": today, "is_officer": can[PERM_REVIEW], "links": links}
    if can[PERM_REVIEW]:
        context["review"] = selectors.home_review_work(today=today)
        context["bucket_links"] = [
            (b, _queue_url(status=RecordStatus.IN_REVIEW, sort="created", **_days(b)))
            for b in context["review"].buckets
        ]
        context["oldest"] = selectors.home_oldest_in_review()
        context["duplicate_pairs"] = [
            (pair, FIELD_LABELS.get(pair.field, pair.field)) for pair in selectors.home_duplicate_pairs()
        ]
        context["attention"] = selectors.home_submissions_needing_attention(now=now) if can_see_submissions else []
        if can_see_submissions:
            context["send_again"] = send_again = selectors.home_send_again()
            if send_again.submission_id:
                context["links"]["send_again"] = reverse("submissions:detail", args=[send_again.submission_id])
    if can[PERM_ADD_RECORD]:
        context["sent_back"] = list(selectors.home_sent_back(user=user))
        context["sent_back_count"] = selectors.home_sent_back_count(user=user)
        context["sent_back_url"] = _queue_url(status=RecordStatus.DRAFT, created_by=user.get_username())
        context["my_uploads"] = selectors.home_uploads_in_progress(user=user)
    if can[PERM_VIEW_AUDIT]:
        context["verification"] = audit_verification_last()
    if can[PERM_VIEW_UPLOADS]:
        context["recent_uploads"] = selectors.home_recent_uploads(now=now)
    if can_see_submissions:
        context["recent_submissions"] = selectors.home_recent_submissions(now=now)
    chart = selectors.home_status_chart(today=today)
    for day in chart.days:
        day.url = _queue_url(**_days_between(day.day, day.day))
    context["chart"] = chart
    context["legend"] = [
        (code, label, chart.totals[code], _queue_url(status=code, date_from=_shown(chart.date_from)))
        for code, label in RecordStatus.choices
    ]
    return render(request, "home.html", context)


def _queue_url(**params: str) -> str:
    """The review queue filtered by its own URL parameters (status, warnings, duplicate, dates, sort...)."""
    return f"{reverse('review:queue')}?{urlencode(params)}"


def _shown(day: datetime.date) -> str:
    """A date as the queue's filter box shows it, so the box reads the same after following the link."""
    return date_format(day, "SHORT_DATE_FORMAT")


def _days_between(first: datetime.date | None, last: datetime.date) -> dict[str, str]:
    return {**({"date_from": _shown(first)} if first else {}), "date_to": _shown(last)}


def _days(bucket: selectors.AgeBucket) -> dict[str, str]:
    return _days_between(bucket.date_from, bucket.date_to)
