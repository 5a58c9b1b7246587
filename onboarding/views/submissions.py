"""Submission pages: choose and start, follow the progress, read and download the results."""

import csv

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from onboarding.forms_submissions import SubmissionForm
from onboarding.models import RecordStatus, Submission
from onboarding.permissions import PERM_SUBMIT, PERM_VIEW_SUBMISSIONS, may_submit_to
from onboarding.selectors.submissions import (
    submission_batches,
    submission_by_token,
    submission_get,
    submission_list,
    submission_records,
    uploads_with_approved_records,
)
from onboarding.services.submissions import (
    LIVE_CONFIRMATION,
    SubmissionRefused,
    submission_preview,
    submission_progress,
    submission_results_export,
    submission_resume,
    submission_start,
)

PAGE_SIZE = 50


def _submission_or_404(pk: int) -> Submission:
    try:
        return submission_get(pk=pk)
    except Submission.DoesNotExist:
        raise Http404 from None


@require_GET
@permission_required(PERM_VIEW_SUBMISSIONS, raise_exception=True)
def submission_index(request: HttpRequest) -> HttpResponse:
    page = Paginator(submission_list(), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "submissions/list.html", {"page": page})


@require_http_methods(["GET", "POST"])
@permission_required(PERM_SUBMIT, raise_exception=True)
def submission_new(request: HttpRequest) -> HttpResponse:
    uploads = uploads_with_approved_records()
    chosen = {"what": "all", "environment": "test", "atomic": "on", "ids": request.GET.get("ids", "")}
    if chosen["ids"]:
        chosen["what"] = "selection"
    if request.GET.get("upload"):
        chosen.update(what="upload", upload=request.GET["upload"])
    form = SubmissionForm(
        request.POST if request.method == "POST" else None, initial=chosen, user=request.user, uploads=uploads
    )
    if request.method == "POST" and form.is_valid():
        token = form.cleaned_data.get("token")
        try:
            submission = submission_by_token(token) or submission_start(
                actor=request.user,
                environment=form.cleaned_data["environment"],
                atomic=form.cleaned_data["atomic"],
                scope=form.scope(),
                confirmation=form.cleaned_data.get("confirmation", ""),
            )
        except SubmissionRefused as exc:
            if not (submission := submission_by_token(token)):  # the first click won meanwhile
                form.add_error(None, exc.message)
        if not form.errors:
            records, batches = submission.record_count, submission.batch_count
            messages.success(
                request,
                " ".join(
                    (
                        ngettext("Submission started: %(n)s record", "Submission started: %(n)s records", records)
                        % {"n": records},
                        ngettext("in %(n)s batch.", "in %(n)s batches.", batches) % {"n": batches},
                    )
                ),
            )
            return redirect("submissions:detail", pk=submission.pk)
    preview_form = form if form.is_bound else SubmissionForm(chosen, user=request.user, uploads=uploads)
    preview = (
        submission_preview(preview_form.scope(), environment=preview_form.cleaned_data["environment"])
        if preview_form.is_valid()
        else None
    )
    context = {"form": form, "preview": preview, "live_word": LIVE_CONFIRMATION}
    return render(request, "submissions/new.html", context, status=422 if form.errors else 200)


@require_GET
@permission_required(PERM_SUBMIT, raise_exception=True)
def submission_preview_partial(request: HttpRequest) -> HttpResponse:
    form = SubmissionForm(request.GET, user=request.user, uploads=uploads_with_approved_records())
    form.is_valid()
    preview = (
        submission_preview(form.scope(), environment=form.cleaned_data["environment"]) if not form.errors else None
    )
    # The start button comes along (out of band), disabled when there is nothing to send.
    return render(request, "submissions/new.html#preview", {"preview": preview, "form": form, "oob": True})


def _detail_context(submission: Submission, request: HttpRequest) -> dict:
    status = request.GET.get("status") or None
    page = Paginator(submission_records(submission, status=status), PAGE_SIZE).get_page(request.GET.get("page"))
    return {
        "submission": submission,
        "progress": submission_progress(submission),
        "batches": submission_batches(submission),
        "page": page,
        "status": status,
        "statuses": [
            (s, label)
            for s, label in RecordStatus.choices
            if s
            in (
                RecordStatus.SENT_TO_TEST,
                RecordStatus.SUBMITTED,
                RecordStatus.FAILED,
                RecordStatus.SUBMITTING,
                RecordStatus.APPROVED,
            )
        ],
        "can_resume": may_submit_to(request.user, submission.environment),
    }


@require_GET
@permission_required(PERM_VIEW_SUBMISSIONS, raise_exception=True)
def submission_detail(request: HttpRequest, pk: int) -> HttpResponse:
    submission = _submission_or_404(pk)
    return render(request, "submissions/detail.html", _detail_context(submission, request))


@require_GET
@permission_required(PERM_VIEW_SUBMISSIONS, raise_exception=True)
def submission_progress_partial(request: HttpRequest, pk: int) -> HttpResponse:
    submission = _submission_or_404(pk)
    response = render(request, "submissions/detail.html#progress", _detail_context(submission, request))
    if submission.finished_at:
        response["HX-Refresh"] = "true"  # show the final results table once
    return response


@require_POST
@permission_required(PERM_SUBMIT, raise_exception=True)
def submission_resume_view(request: HttpRequest, pk: int) -> HttpResponse:
    submission = _submission_or_404(pk)
    submission_resume(actor=request.user, submission_id=submission.pk)
    messages.info(request, _("The submission goes on: records left waiting are checked with Artu first."))
    return redirect("submissions:detail", pk=submission.pk)


@require_GET
@permission_required(PERM_VIEW_SUBMISSIONS, raise_exception=True)
def submission_results(request: HttpRequest, pk: int) -> HttpResponse:
    submission = _submission_or_404(pk)
    rows = submission_results_export(actor=request.user, submission=submission)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(True, f"submission-{submission.pk}-results.csv")
    response.write("\ufeff")
    csv.writer(response).writerows(rows)
    return response


patterns = (
    [
        path("", submission_index, name="list"),
        path("new/", submission_new, name="create"),
        path("new/preview/", submission_preview_partial, name="preview"),
        path("<int:pk>/", submission_detail, name="detail"),
        path("<int:pk>/progress/", submission_progress_partial, name="progress"),
        path("<int:pk>/resume/", submission_resume_view, name="resume"),
        path("<int:pk>/results.csv", submission_results, name="results"),
    ],
    "submissions",
)
