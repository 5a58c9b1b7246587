from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from onboarding.models import RecordStatus
from onboarding.selectors import record_status_counts


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    counts = record_status_counts()
    return render(
        request,
        "home.html",
        {"counts": [(s, RecordStatus(s).label, counts[s]) for s in RecordStatus.values]},
    )
