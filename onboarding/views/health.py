from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from onboarding.health import health_report


@login_not_required
@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """For the load balancer and monitoring: 200 when healthy, 503 otherwise; no personal data."""
    report = health_report()
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)
