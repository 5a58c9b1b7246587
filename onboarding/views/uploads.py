"""Uploading client files: the upload page and list, the mapping step, the result page with its progress bar,
and the download of problem rows."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, path, reverse
from django.utils.http import content_disposition_header, urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseStopPolling
from django_htmx.middleware import HtmxDetails

from onboarding.errors import DomainError
from onboarding.imports.mapping import (
    mapping_check,
    mapping_from_saved,
    mapping_keep_rest,
    mapping_left_out,
    target_choices,
)
from onboarding.models import SavedMapping, Upload, UploadStatus
from onboarding.permissions import PERM_STAGE_UPLOAD, PERM_VIEW_UPLOADS
from onboarding.services.mappings import saved_mapping_delete, saved_mapping_share, saved_mappings_offered
from onboarding.services.upload_discard import DISCARDABLE, upload_discard, upload_may_discard
from onboarding.services.uploads import (
    StagingInterrupted,
    megabytes,
    upload_columns,
    upload_get,
    upload_list,
    upload_map_columns,
    upload_problems_export,
    upload_receive,
    upload_retry_allowed,
    upload_same_file,
    upload_stage_retry,
    upload_stalled,
)

PAGE_SIZE = 25
RUNNING = (UploadStatus.QUEUED, UploadStatus.STAGING)
ENCODINGS = [
    ("", gettext_lazy("Detect automatically")),
    ("utf-8", "UTF-8"),
    ("cp1252", gettext_lazy("Windows / Excel (cp1252)")),
    ("latin-1", "ISO-8859-1 (Latin-1)"),
    ("utf-16", "UTF-16"),
]


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


class UploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("File"),
        allow_empty_file=True,
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.tsv,.xlsx,.json"}),
    )
    encoding = forms.ChoiceField(label=gettext_lazy("Text encoding (CSV)"), choices=ENCODINGS, required=False)


class MappingForm(forms.Form):
    """One select per column of the file, preselected with the suggested or saved target."""

    save_as = forms.CharField(
        label=gettext_lazy("Save this mapping as"),
        required=False,
        max_length=100,
        help_text=gettext_lazy("A later file with the same columns gets it automatically."),
    )
    share = forms.BooleanField(
        label=gettext_lazy("Share it with everyone"),
        required=False,
        help_text=gettext_lazy(
            "Everyone who uploads a file with these columns is offered it; sharing is recorded in the audit trail."
        ),
    )
    saved = forms.IntegerField(required=False, widget=forms.HiddenInput)
    allow_same_file = forms.BooleanField(label=gettext_lazy("Stage it again anyway"), required=False)
    keep_rest = forms.BooleanField(label=gettext_lazy("Keep the other columns in metadata"), required=False)

    def __init__(self, *args, columns: list[dict], **kwargs):
        super().__init__(*args, **kwargs)
        self.columns = columns
        choices = target_choices()
        for column in columns:
            self.fields[f"col_{column['index']}"] = forms.ChoiceField(
                label=column["header"], choices=choices, required=False, initial=column["target"]
            )
            column["field_name"] = f"col_{column['index']}"

    def mapping(self) -> dict[str, str]:
        mapping = {c["header"]: self.cleaned_data.get(c["field_name"]) or "" for c in self.columns}
        return mapping_keep_rest(mapping) if self.cleaned_data.get("keep_rest") else mapping

    def bound_columns(self) -> list[dict]:
        return [{**c, "field": self[c["field_name"]]} for c in self.columns]


DELIMITER_LABELS = {",": gettext_lazy("comma"), ";": gettext_lazy("semicolon"), "\t": gettext_lazy("tab"), "|": "|"}


def _facts(upload: Upload) -> dict:
    """What every upload page shows about the file."""
    return {
        "upload": upload,
        "UploadStatus": UploadStatus,
        "delimiter_label": DELIMITER_LABELS.get(upload.delimiter, upload.delimiter),
    }


def _limits() -> dict:
    return {
        "max_mb": megabytes(settings.UPLOAD_MAX_BYTES),
        "max_rows": f"{settings.UPLOAD_MAX_ROWS:,}",
        "sync_rows": f"{settings.UPLOAD_SYNC_MAX_ROWS:,}",
    }


@require_http_methods(["GET", "POST"])
@permission_required(PERM_VIEW_UPLOADS, raise_exception=True)
def upload_index(request: HttpRequest) -> HttpResponse:
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        if not request.user.has_perm(PERM_STAGE_UPLOAD):
            raise PermissionDenied
        if form.is_valid():
            try:
                upload = upload_receive(
                    actor=request.user, file=form.cleaned_data["file"], encoding=form.cleaned_data["encoding"]
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                return redirect("uploads:mapping", pk=upload.pk)
    page = Paginator(upload_list(), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"form": form, "page": page, "limits": _limits(), "UploadStatus": UploadStatus}
    return render(request, "uploads/list.html", context, status=422 if form.errors else 200)


@require_http_methods(["GET", "POST"])
@permission_required(PERM_STAGE_UPLOAD, raise_exception=True)
def upload_mapping(request: HttpRequest, pk: int) -> HttpResponse:
    upload = _get(pk)
    if upload.status not in (UploadStatus.RECEIVED, UploadStatus.MAPPING):
        return redirect("uploads:detail", pk=pk)
    same_file = upload_same_file(upload=upload).select_related("created_by")
    again = request.method == "POST" or request.GET.get("same_file") == "again"
    if not again and same_file:
        # Before any mapping: the user decides first whether this same file should be staged again at all.
        context = {**_facts(upload), "same_file": same_file, "may_discard": upload_may_discard(request.user, upload)}
        return render(request, "uploads/same_file.html", context)
    offered = list(saved_mappings_offered(user=request.user, headers=upload.headers))
    chosen = _chosen(request, offered)
    mapping = mapping_from_saved(upload.headers, chosen.mapping) if chosen else upload.mapping
    columns = upload_columns(upload=upload, mapping=mapping)
    initial = {"saved": chosen.pk if chosen else None, "allow_same_file": bool(same_file)}
    form = MappingForm(request.POST or None, columns=columns, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            upload = upload_map_columns(
                actor=request.user,
                upload_id=pk,
                mapping=form.mapping(),
                save_as=form.cleaned_data["save_as"],
                share=form.cleaned_data["share"],
                saved_mapping_id=form.cleaned_data["saved"],
                allow_same_file=form.cleaned_data["allow_same_file"],
            )
        except StagingInterrupted as exc:
            return _interrupted(request, upload, exc)
        except (ValidationError, DomainError) as exc:
            form.add_error(None, exc.message if isinstance(exc, DomainError) else exc)
        else:
            return _staged_redirect(request, upload)
    context = {
        **_facts(upload),
        "form": form,
        "same_file": same_file,
        "missing": _mapping_gaps(upload.headers, mapping),
        "left_out": mapping_left_out(form.mapping() if form.is_bound and form.is_valid() else upload.mapping),
        "limits": _limits(),
        "someone_elses": upload.created_by_id != request.user.pk,
        "offered": offered,
        "applied": chosen or upload.saved_mapping,
        "may_discard": upload_may_discard(request.user, upload),
    }
    return render(request, "uploads/mapping.html", context, status=422 if form.errors else 200)


def _chosen(request: HttpRequest, offered: list[SavedMapping]) -> SavedMapping | None:
    """The offered saved mapping the user picked on the page (`saved`), if any."""
    wanted = request.POST.get("saved") or request.GET.get("saved")
    return next((m for m in offered if str(m.pk) == wanted), None)


def _staged_redirect(request: HttpRequest, upload: Upload) -> HttpResponse:
    if upload.status == UploadStatus.STAGED:
        messages.success(request, _("File staged: %(n)s records sent to review.") % {"n": upload.row_count})
    return redirect("uploads:detail", pk=upload.pk)


def _interrupted(request: HttpRequest, upload: Upload, exc: StagingInterrupted) -> HttpResponse:
    """The database stopped answering while staging: say so, from what is in memory (the database may still be
    away), rather than fail with a server error."""
    return render(request, "uploads/detail.html", {**_facts(upload), "interrupted": exc.message}, status=503)


@require_POST
@permission_required(PERM_STAGE_UPLOAD, raise_exception=True)
def upload_retry(request: HttpRequest, pk: int) -> HttpResponse:
    upload = _get(pk)
    try:
        upload = upload_stage_retry(actor=request.user, upload_id=pk)
    except StagingInterrupted as exc:
        return _interrupted(request, upload, exc)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("uploads:detail", pk=pk)
    return _staged_redirect(request, upload)


def _mapping_gaps(headers: list[str], mapping: dict[str, str]) -> list[str]:
    try:
        mapping_check(headers, mapping)
    except ValidationError as exc:
        return exc.messages
    return []


@require_GET
@permission_required(PERM_STAGE_UPLOAD, raise_exception=True)
def mapping_index(request: HttpRequest) -> HttpResponse:
    page = Paginator(saved_mappings_offered(user=request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "uploads/mappings.html", {"page": page})


@require_POST
@permission_required(PERM_STAGE_UPLOAD, raise_exception=True)
def mapping_share(request: HttpRequest, pk: int) -> HttpResponse:
    shared = request.POST.get("shared") == "on"
    try:
        saved = saved_mapping_share(actor=request.user, mapping_id=pk, shared=shared)
    except SavedMapping.DoesNotExist:
        raise Http404 from None
    if saved.shared:
        messages.success(request, _("“%(name)s” is now offered to everyone.") % {"name": saved.name})
    else:
        messages.success(request, _("“%(name)s” is yours alone again.") % {"name": saved.name})
    return redirect("uploads:mappings")


@require_POST
@permission_required(PERM_STAGE_UPLOAD, raise_exception=True)
def mapping_delete(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        saved_mapping_delete(actor=request.user, mapping_id=pk)
    except SavedMapping.DoesNotExist:
        raise Http404 from None
    messages.success(request, _("The saved mapping was deleted."))
    return redirect("uploads:mappings")


@require_GET
@permission_required(PERM_VIEW_UPLOADS, raise_exception=True)
def upload_detail(request: HttpRequest, pk: int) -> HttpResponse:
    upload = _get(pk)
    return render(request, "uploads/detail.html", _detail_context(upload, request.user))


@require_GET
@permission_required(PERM_VIEW_UPLOADS, raise_exception=True)
@vary_on_headers("HX-Request")
def upload_progress(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    if not request.htmx:
        return redirect("uploads:detail", pk=pk)
    upload = _get(pk)
    context = _detail_context(upload, request.user)
    response = render(request, "uploads/detail.html#status", context)
    if upload.status in RUNNING:
        return response
    return HttpResponseStopPolling(response.content)


@require_http_methods(["GET", "POST"])
@permission_required(PERM_VIEW_UPLOADS, raise_exception=True)
def upload_discard_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: what discarding would remove, and the button; POST: discard it (services.upload_discard)."""
    upload = _get(pk)
    if upload.status in DISCARDABLE and not upload_may_discard(request.user, upload):
        raise PermissionDenied
    if request.method == "POST":
        try:
            upload_discard(actor=request.user, upload_id=pk)
        except DomainError as exc:
            messages.error(request, exc.message)
            return redirect("uploads:detail", pk=pk)
        done = _("Upload discarded: %(name)s. Its file was removed.") % {"name": upload.original_name}
        messages.success(request, done)
        return redirect("uploads:list")
    if upload.status not in DISCARDABLE:
        return redirect("uploads:detail", pk=pk)
    return render(request, "uploads/discard.html", _facts(upload))


@require_GET
@permission_required(PERM_VIEW_UPLOADS, raise_exception=True)
def upload_problems(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        export = upload_problems_export(actor=request.user, upload_id=pk, file_format=request.GET.get("format", "csv"))
    except Upload.DoesNotExist:
        raise Http404 from None
    except ValidationError:
        return redirect("uploads:detail", pk=pk)
    response = StreamingHttpResponse(export.chunks, content_type=export.content_type)
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=export.filename)
    return response


def _get(pk: int) -> Upload:
    try:
        return upload_get(pk=pk)
    except Upload.DoesNotExist:
        raise Http404 from None


def _queue_links(upload: Upload) -> dict[str, str]:
    """Links to the upload's records in the review queue, filtered; the records list when there is no queue."""
    try:
        base = reverse("review:queue")
    except NoReverseMatch:
        url = f"{reverse('records:list')}?{urlencode({'upload': upload.pk})}"
        return dict.fromkeys(("all", "ready", "errors", "warnings", "duplicates"), url)
    filters = {
        "all": {},
        "ready": {"has_errors": "no"},
        "errors": {"has_errors": "yes"},
        "warnings": {"warnings": "with"},
        "duplicates": {"duplicate": "yes"},
    }
    return {key: f"{base}?{urlencode({'upload': upload.pk, **extra})}" for key, extra in filters.items()}


def _detail_context(upload: Upload, user) -> dict:
    percent = int(100 * upload.rows_done / upload.row_count) if upload.row_count else 0
    return {
        **_facts(upload),
        "running": upload.status in RUNNING,
        "stalled": upload_stalled(upload),
        "can_retry": user.has_perm(PERM_STAGE_UPLOAD) and upload_retry_allowed(upload),
        "max_attempts": settings.UPLOAD_MAX_ATTEMPTS,
        "percent": min(percent, 100),
        "saving": upload.status == UploadStatus.STAGING and upload.rows_done >= upload.row_count > 0,
        "links": _queue_links(upload) if upload.status == UploadStatus.STAGED else {},
        "may_discard": upload_may_discard(user, upload),
    }


# Mounted at /uploads/ by onboarding/urls.py, namespace "uploads".
patterns = (
    [
        path("", upload_index, name="list"),
        path("<int:pk>/", upload_detail, name="detail"),
        path("<int:pk>/mapping/", upload_mapping, name="mapping"),
        path("<int:pk>/progress/", upload_progress, name="progress"),
        path("<int:pk>/problems/", upload_problems, name="problems"),
        path("<int:pk>/retry/", upload_retry, name="retry"),
        path("<int:pk>/discard/", upload_discard_confirm, name="discard"),
        path("mappings/", mapping_index, name="mappings"),
        path("mappings/<int:pk>/share/", mapping_share, name="mapping-share"),
        path("mappings/<int:pk>/delete/", mapping_delete, name="mapping-delete"),
    ],
    "uploads",
)
