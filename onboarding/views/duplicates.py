"""Two possible duplicates side by side: officers keep one (the other is rejected as its duplicate) or declare them
different clients; whoever may read records may look."""

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from onboarding.errors import DomainError
from onboarding.forms_review import DuplicateDecisionForm
from onboarding.models import ClientRecord, RecordStatus
from onboarding.permissions import PERM_REVIEW, PERM_VIEW_RECORDS
from onboarding.selectors.duplicates import duplicate_comparison
from onboarding.services.review import (
    ActionOption,
    ReviewAction,
    duplicate_pair_open,
    record_duplicate_dismiss,
    record_duplicate_keep,
    review_availability,
)
from onboarding.validation import ID_MAX


def _pair_or_404(*ids: int) -> None:
    """Numbers past a database id (a hand-made URL) name no record; an `IN` lookup would not say so by itself."""
    if not all(1 <= pk <= ID_MAX for pk in ids):
        raise Http404


def _page(request: HttpRequest, left: int, right: int, form: DuplicateDecisionForm | None = None) -> HttpResponse:
    _pair_or_404(left, right)
    try:
        comparison = duplicate_comparison(left_id=left, right_id=right)
    except ClientRecord.DoesNotExist:
        raise Http404 from None
    a, b = comparison.left, comparison.right
    versions = {"left_version": a.version, "right_version": b.version}
    if form is None:
        form = DuplicateDecisionForm(initial=versions)
    else:  # after a refusal: the comment stays, the versions become the ones now shown
        form.data = form.data.copy()
        for name, version in versions.items():
            form.data[name] = str(version)
    context = {
        "comparison": comparison,
        "sides": [(a, "left"), (b, "right")],
        "form": form,
        "can_decide": request.user.has_perm(PERM_REVIEW),
        # Keeping one rejects the other: offered while the one kept is not rejected and the other may be.
        "keep_left": _keep_option(request, kept=a, other=b),
        "keep_right": _keep_option(request, kept=b, other=a),
        "can_dismiss": bool(comparison.open) and duplicate_pair_open(a, b),
    }
    return render(request, "review/duplicates.html", context, status=422 if form.errors else 200)


def _keep_option(request: HttpRequest, *, kept: ClientRecord, other: ClientRecord) -> ActionOption | None:
    if kept.status == RecordStatus.REJECTED:
        return None
    return review_availability(record=other, user=request.user)[ReviewAction.REJECT]


@require_GET
@permission_required(PERM_VIEW_RECORDS, raise_exception=True)
def compare(request: HttpRequest, left: int, right: int) -> HttpResponse:
    return _page(request, left, right)


def _decide(request: HttpRequest, left: int, right: int, decision: Callable[[dict], Any], done: str) -> HttpResponse:
    """Bind the form, call the service with its data, and come back to the pair: with `done`, or with the refusal."""
    _pair_or_404(left, right)
    form = DuplicateDecisionForm(request.POST)
    if form.is_valid():
        try:
            decision(form.cleaned_data)
        except ClientRecord.DoesNotExist:
            raise Http404 from None
        except (ValidationError, DomainError) as exc:
            form.add_error(None, exc.message if isinstance(exc, DomainError) else exc)
        else:
            messages.success(request, done)
            return redirect("duplicates:compare", left=left, right=right)
    return _page(request, left, right, form)


@require_POST
@permission_required(PERM_REVIEW, raise_exception=True)
def keep(request: HttpRequest, left: int, right: int, kept: int) -> HttpResponse:
    if kept not in (left, right):
        raise Http404
    other, side = (right, "right") if kept == left else (left, "left")

    def decision(data: dict) -> None:
        record_duplicate_keep(
            actor=request.user, record_id=kept, other_id=other, comment=data["comment"], version=data[f"{side}_version"]
        )

    done = _("Record #%(kept)s kept; #%(other)s rejected as its duplicate.") % {"kept": kept, "other": other}
    return _decide(request, left, right, decision, done)


@require_POST
@permission_required(PERM_REVIEW, raise_exception=True)
def not_duplicate(request: HttpRequest, left: int, right: int) -> HttpResponse:
    def decision(data: dict) -> None:
        record_duplicate_dismiss(
            actor=request.user, record_id=left, other_id=right, comment=data["comment"], version=data["left_version"]
        )

    done = _("Marked as different clients; neither is flagged for the other any more.")
    return _decide(request, left, right, decision, done)


# Mounted at /review/duplicates/ by onboarding/urls.py, namespace "duplicates".
patterns = (
    [
        path("<int:left>/<int:right>/", compare, name="compare"),
        path("<int:left>/<int:right>/keep/<int:kept>/", keep, name="keep"),
        path("<int:left>/<int:right>/not-duplicate/", not_duplicate, name="not-duplicate"),
    ],
    "duplicates",
)
