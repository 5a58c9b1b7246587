"""Uploading a client file: receive it, map its columns, stage its rows as records (all or none), export problems.

Staging has two steps. First every row is read, normalised and validated with the form's rules, outside any
transaction, into a temporary spool, while `Upload.rows_done` shows the progress. Then one durable transaction
reserves ids, links duplicates, inserts every record and writes one `record.created` event per record and one
`upload.staged` with the counts. Whatever fails, nothing of the file is left staged (the upload ends `failed`,
with its message and an `upload.failed` event).

Staging holds a lease, like a submission batch: `heartbeat_at` is the worker's last sign of life and the hold's
token (every write of that worker is conditional on it and renews it, with each progress report). While the rows
are stored the upload's row is locked (PostgreSQL) or the database is (SQLite), so nobody takes it over then. A
staging whose worker died or lost the database shows no sign of life: `upload_requeue_stalled` queues it again,
to start from the beginning, or fails it after UPLOAD_MAX_ATTEMPTS starts; the user may also try it again.
"""

import datetime
import hashlib
import logging
import pickle  # noqa: S403 - a spool this process writes and reads back itself, never from outside
import tempfile
import time
from array import array
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone, translation
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from onboarding.errors import DomainError, InvalidTransition
from onboarding.imports.corrections import Corrections
from onboarding.imports.export import cell_text, csv_chunks, problem_lines, xlsx_chunks
from onboarding.imports.mapping import mapping_check, mapping_from_saved, mapping_suggest
from onboarding.imports.parallel import prepared_chunks, worker_count
from onboarding.imports.readers import inspect_file, iter_rows, sample_rows
from onboarding.imports.store import IdReserver, RecordInserter, StagedRow, bulk_write_cache, mark_duplicates
from onboarding.imports.tables import FileInfo, refuse
from onboarding.models import AuditAction, ClientRecord, Upload, UploadStatus
from onboarding.permissions import PERM_STAGE_UPLOAD, PERM_VIEW_UPLOADS
from onboarding.selectors.duplicates import upload_keys_held_elsewhere
from onboarding.services.audit import EventSpec, audit_event_write, audit_events_write
from onboarding.services.duplicates import FlagChange, duplicates_lock, duplicates_refresh
from onboarding.services.mappings import saved_mapping_write, saved_mappings_offered

logger = logging.getLogger(__name__)

CHUNK_ROWS = 2000
# A sample value on the mapping page is cut here: it shows what a column holds, and a page of 500 columns stays small.
SAMPLE_CHARS = 60
PROGRESS_EVERY_SECONDS = 0.5
ACTIVE = (UploadStatus.QUEUED, UploadStatus.STAGING, UploadStatus.STAGED)


# -- receive -----------------------------------------------------------------------------------------------------


def megabytes(size: int, *, decimals: int = 0) -> str:
    """A size in MB as file browsers count them (1 MB = 1,048,576 bytes): the 52,428,800-byte limit is "50"."""
    return f"{size / 1024**2:,.{decimals}f}"


def upload_receive(*, actor, file: File, encoding: str = "") -> Upload:
    """Read a file's shape (format, encoding, delimiter, headers, rows), store it; suggest or apply a mapping.

    Writes `upload.received`. A file over the size limit is refused before it is read (ValidationError
    `too_large`); any other bad file is recorded as a `failed` upload with an `upload.failed` event, without its
    bytes, then the ValidationError is raised so the caller can show it. A file is stored only with the upload
    row that owns it. Nothing is staged here.
    """
    if not actor.has_perm(PERM_STAGE_UPLOAD):
        raise PermissionDenied
    name = (getattr(file, "name", "") or "upload").rsplit("/", 1)[-1][:255]
    if file.size > settings.UPLOAD_MAX_BYTES:
        raise refuse(
            "too_large",
            _("The file is %(size)s MB; the most one upload may have is %(limit)s MB. Split it into smaller files."),
            size=megabytes(file.size, decimals=1),
            limit=megabytes(settings.UPLOAD_MAX_BYTES),
        )
    digest = hashlib.sha256()
    for chunk in file.chunks():
        digest.update(chunk)
    upload = Upload(
        original_name=name, size=file.size, sha256=digest.hexdigest(), created_by=actor, format=_format_hint(name)
    )
    try:
        info = inspect_file(file, name=name, encoding=encoding)
    except ValidationError as exc:
        _received_refused(upload, exc)
        raise
    upload.format, upload.encoding, upload.delimiter = info.format, info.encoding, info.delimiter
    upload.header_row, upload.headers, upload.row_count = info.header_row, info.headers, info.row_count
    # The uploader's own mapping for these headers, else one another user shares; never another's private one.
    saved = saved_mappings_offered(user=actor, headers=info.headers).first()
    upload.saved_mapping = saved
    upload.mapping = mapping_from_saved(info.headers, saved.mapping) if saved else mapping_suggest(info.headers)
    upload.status = UploadStatus.MAPPING
    file.seek(0)
    upload.file.save(name, file, save=False)
    with _deleted_unless_saved(upload), transaction.atomic(durable=True):
        upload.save()
        audit_event_write(
            actor=actor,
            action=AuditAction.UPLOAD_RECEIVED,
            **_target(upload),
            changes={
                "name": name,
                "size": upload.size,
                "sha256": upload.sha256,
                "format": upload.format,
                "encoding": upload.encoding,
                "delimiter": upload.delimiter,
                "header_row": upload.header_row,
                "rows": upload.row_count,
                "headers": upload.headers,
                "saved_mapping": saved.name if saved else "",
                "saved_mapping_owner": saved.owner.get_username() if saved else "",
                "same_file_as": list(upload_same_file(upload=upload).values_list("pk", flat=True)),
            },
        )
    return upload


@contextmanager
def _deleted_unless_saved(upload: Upload) -> Iterator[None]:
    """The stored file is deleted when its upload row is not saved, whatever stops it: no file without an owner."""
    try:
        yield
    except BaseException:
        upload.file.delete(save=False)
        raise


def _format_hint(name: str) -> str:
    lower = name.lower()
    return "xlsx" if lower.endswith((".xlsx", ".xlsm")) else "json" if lower.endswith(".json") else "csv"


def _target(upload: Upload) -> dict[str, Any]:
    return {"upload_id": upload.pk, "target_type": "upload", "target_id": str(upload.pk)}


def _message(exc: ValidationError) -> str:
    return " ".join(str(m) for m in exc.messages)


def _received_refused(upload: Upload, exc: ValidationError) -> None:
    upload.status, upload.error_code, upload.error_message = UploadStatus.FAILED, exc.code or "", _message(exc)
    upload.finished_at = timezone.now()
    with transaction.atomic(durable=True):
        upload.save()
        audit_event_write(
            actor=upload.created_by,
            action=AuditAction.UPLOAD_FAILED,
            **_target(upload),
            changes={
                "name": upload.original_name,
                "size": upload.size,
                "sha256": upload.sha256,
                "code": upload.error_code,
                "message": upload.error_message,
            },
        )


# -- map ---------------------------------------------------------------------------------------------------------


def upload_map_columns(
    *,
    actor,
    upload_id: int,
    mapping: dict[str, str],
    save_as: str = "",
    share: bool = False,
    saved_mapping_id: int | None = None,
    allow_same_file: bool = False,
    background: bool | None = None,
) -> Upload:
    """Confirm the column mapping and stage the file: at once when it is small (or `background=False`), by the
    background task otherwise. `save_as` saves it as the actor's own mapping (offered to everyone when `share`);
    `saved_mapping_id` names the offered mapping it was taken from. Writes `upload.mapped`. Raises ValidationError
    (`missing_columns`, `mapping_twice`, `same_file` unless `allow_same_file`), InvalidTransition past mapping."""
    if not actor.has_perm(PERM_STAGE_UPLOAD):
        raise PermissionDenied
    save_as = " ".join(save_as.split())[:100]
    with transaction.atomic(durable=True):
        upload = Upload.objects.select_for_update().get(pk=upload_id)
        if upload.status not in (UploadStatus.RECEIVED, UploadStatus.MAPPING):
            raise InvalidTransition(
                _("This upload is %(status)s; its columns can no longer be mapped.")
                % {"status": upload.get_status_display().lower()}
            )
        clean = mapping_check(upload.headers, mapping)
        same = list(upload_same_file(upload=upload).values_list("pk", flat=True))
        if same and not allow_same_file:
            raise ValidationError(
                _(
                    "This same file was already staged (upload %(uploads)s). Tick “stage it again” to stage it "
                    "anyway: rows of records still in review change nothing, the others are flagged as duplicates."
                ),
                code="same_file",
                params={"uploads": ", ".join(f"#{pk}" for pk in same)},
            )
        if save_as:
            upload.saved_mapping = saved_mapping_write(
                actor=actor, name=save_as, headers=upload.headers, mapping=clean, shared=share, upload_id=upload.pk
            )
        elif saved_mapping_id is not None:
            offered = saved_mappings_offered(user=actor, headers=upload.headers)
            upload.saved_mapping = offered.filter(pk=saved_mapping_id).first() or upload.saved_mapping
        upload.mapping, upload.status, upload.rows_done = clean, UploadStatus.QUEUED, 0
        upload.mapped_by = actor  # the mapping decides the records' data: the mapper is one of their makers
        upload.save(update_fields=["mapping", "saved_mapping", "status", "rows_done", "mapped_by"])
        if background is None:
            background = upload.row_count > settings.UPLOAD_SYNC_MAX_ROWS
        audit_event_write(
            actor=actor,
            action=AuditAction.UPLOAD_MAPPED,
            **_target(upload),
            changes={
                "mapping": clean,
                "saved_as": save_as,
                "saved_mapping": upload.saved_mapping.name if upload.saved_mapping else "",
                "same_file_as": same,
                "background": background,
            },
        )
        if background:
            from onboarding.tasks import upload_stage_task

            transaction.on_commit(partial(upload_stage_task.enqueue, upload_id=upload.pk))
    if background:
        return upload
    return upload_stage(upload_id=upload.pk)


# -- stage -------------------------------------------------------------------------------------------------------


@dataclass
class StageCounts:
    rows: int = 0
    ready: int = 0
    errors: int = 0
    warnings: int = 0
    duplicates: int = 0
    # Rows that corrected a record of an earlier upload (imports.corrections), and rows that matched one unchanged.
    updated: int = 0
    unchanged: int = 0

    def add(self, row: StagedRow) -> None:
        errors = row.error_count
        self.rows += 1
        self.ready += not errors
        self.errors += bool(errors)
        self.warnings += bool(row.warning_count)
        self.duplicates += bool(row.duplicate_of)

    def reflagged(self, change: FlagChange) -> None:
        """Count a row again after `duplicates_refresh` changed its flags."""
        was_error, is_error = change.errors[0] > 0, change.errors[1] > 0
        self.ready += was_error - is_error
        self.errors += is_error - was_error
        self.duplicates += change.flagged[1] - change.flagged[0]


class StagingInterrupted(DomainError):
    default_message = gettext_lazy(
        "The database stopped answering while the file was being staged, so nothing was staged. It will be staged "
        "again from the beginning, automatically, within a few minutes; this upload's page shows its progress."
    )


class StagingTakenOver(Exception):
    """This worker's lease ran out and the staging was queued again: it stops and writes nothing more."""


def upload_stage(*, upload_id: int) -> Upload:
    """Stage every row of a queued upload as records in review, all or none, as the user who uploaded it.

    Writes one `record.created` per record and `upload.staged` with the counts; on any failure, `upload.failed`
    and nothing else. Idempotent: an upload that is not queued is returned untouched. A file-level refusal
    (ValidationError) leaves the upload `failed` with its message; an unexpected error does too, and is re-raised.
    A lost database raises StagingInterrupted and leaves the staging to be started again once its lease expires.
    """
    try:
        claimed = Upload.objects.filter(pk=upload_id, status=UploadStatus.QUEUED).update(
            status=UploadStatus.STAGING,
            rows_done=0,
            staging_attempts=F("staging_attempts") + 1,
            heartbeat_at=timezone.now(),
        )
        upload = Upload.objects.select_related("created_by").get(pk=upload_id)
    except (OperationalError, InterfaceError) as exc:
        raise StagingInterrupted() from exc  # queued or staging: the sweep starts it (again)
    if not claimed:
        return upload
    try:
        with tempfile.TemporaryFile() as spool:
            rows = _prepare_rows(upload, spool)
            with bulk_write_cache(), transaction.atomic(durable=True):
                # Locked until this transaction ends: the sweep skips the upload however long the INSERTs take.
                if not _held(upload).select_for_update(no_key=True).exists():
                    raise StagingTakenOver(upload.pk)
                counts = _store_rows(upload, spool)
                _staged(upload, counts, rows)
    except StagingTakenOver:
        logger.warning("upload %s: the staging was taken over after this worker's lease ran out", upload.pk)
    except ValidationError as exc:
        _stage_failed(upload, exc)
    except (OperationalError, InterfaceError) as exc:
        logger.warning("upload %s: the database stopped answering while staging (%s)", upload.pk, exc)
        raise StagingInterrupted() from exc
    except Exception:
        _stage_failed(
            upload,
            ValidationError(
                _(
                    "Staging stopped on an unexpected error; nothing was staged. Try "
                    "again, or ask an administrator to look at the log."
                ),
                code="internal",
            ),
        )
        raise
    upload.refresh_from_db()
    return upload


def _file_info(upload: Upload) -> FileInfo:
    return FileInfo(
        upload.format,
        upload.headers,
        upload.header_row,
        upload.row_count,
        encoding=upload.encoding,
        delimiter=upload.delimiter,
    )


def _prepare_rows(upload: Upload, spool: IO[bytes]) -> int:
    """Read, normalise and validate every row into `spool`, in chunks (by worker processes when the file is large,
    see `imports.parallel`); returns the number of rows."""
    limit = settings.UPLOAD_MAX_ROWS
    done, last_report = 0, time.monotonic()
    with upload.file.open("rb") as stored:
        rows = iter_rows(stored, _file_info(upload))
        chunks = prepared_chunks(
            rows, upload.headers, upload.mapping, chunk_rows=CHUNK_ROWS, workers=worker_count(upload.row_count)
        )
        try:
            for count, pickled in chunks:
                spool.write(pickled)
                done += count
                if done > limit:
                    raise refuse(
                        "too_many_rows",
                        _(
                            "The file has more than %(limit)s data rows, the most one "
                            "upload may have. Split it into smaller files."
                        ),
                        limit=f"{limit:,}",
                    )
                if time.monotonic() - last_report >= PROGRESS_EVERY_SECONDS:
                    _renew(upload, rows_done=done)
                    last_report = time.monotonic()
        finally:
            chunks.close()
            rows.close()
    if not done:
        raise refuse("no_rows", _("The file has no data rows under its header."))
    _renew(upload, rows_done=done, row_count=done)
    return done


def _held(upload: Upload) -> QuerySet[Upload]:
    """The upload, as long as this worker still holds its staging: `heartbeat_at` is the hold's token."""
    return Upload.objects.filter(pk=upload.pk, status=UploadStatus.STAGING, heartbeat_at=upload.heartbeat_at)


def _renew(upload: Upload, **fields: Any) -> None:
    """Write progress and renew the lease; StagingTakenOver if the staging was queued again meanwhile."""
    now = timezone.now()
    if not _held(upload).update(heartbeat_at=now, **fields):
        raise StagingTakenOver(upload.pk)
    upload.heartbeat_at = now


def _spooled_chunks(spool: IO[bytes]) -> Iterator[list[tuple]]:
    spool.seek(0)
    while True:
        try:
            yield pickle.load(spool)  # noqa: S301 - written by _prepare_rows in this same call
        except EOFError:
            return


def _store_rows(upload: Upload, spool: IO[bytes]) -> StageCounts:
    """Inside the staging transaction: ids, duplicate links, the INSERTs, then one `record.created` per record."""
    reserver, inserter, counts = IdReserver(), RecordInserter(upload=upload), StageCounts()
    ids, source_rows, held_twice = array("q"), array("q"), set()
    corrections = Corrections(upload=upload)

    def store(rows: list[StagedRow]) -> None:
        nonlocal held_twice
        for row, pk in zip(rows, reserver.take(len(rows)), strict=True):
            row.id = pk
        held_twice |= mark_duplicates(rows, upload_id=upload.pk)
        inserter.insert(rows)
        for row in rows:
            counts.add(row)
            ids.append(row.id)
            source_rows.append(row.source_row)

    for chunk in _spooled_chunks(spool):
        store(corrections.take([StagedRow(*item) for item in chunk]))
    _apply_corrections(corrections, counts, store)
    _flag_earlier_holders(upload, held_twice | corrections.keys, counts)
    # The events go last: writing them locks the audit chain's head, which every audited action of every user
    # needs, so it is held for the events only, not for the whole insert.
    mapped_by = _mapper_name(upload)
    for start in range(0, len(ids), CHUNK_ROWS):
        audit_events_write(
            actor=upload.created_by,
            events=[
                EventSpec(
                    action=AuditAction.RECORD_CREATED,
                    record_id=pk,
                    upload_id=upload.pk,
                    changes={"source": "upload", "row": row, "mapped_by": mapped_by},
                )
                for pk, row in zip(
                    ids[start : start + CHUNK_ROWS], source_rows[start : start + CHUNK_ROWS], strict=True
                )
            ],
        )
    audit_events_write(actor=upload.created_by, events=corrections.events)
    return counts


def _apply_corrections(corrections: Corrections, counts: StageCounts, store) -> None:
    """The rows that correct records of earlier uploads change them (imports.corrections); a row whose record was
    approved or rejected meanwhile is staged as a new record after all."""
    late = corrections.apply()
    if late:
        store(late)
    for row in corrections.corrected_rows:
        counts.add(row)
    counts.updated, counts.unchanged = corrections.updated, corrections.unchanged


def _flag_earlier_holders(upload: Upload, held_twice: set, counts: StageCounts) -> None:
    """The other side of each duplicate: the record staged before, or the earlier row of this file, is flagged too.

    The every-value lock is taken only now, so a long file does not hold up other saves while it is read in. On
    PostgreSQL a record committed meanwhile was not seen by the chunks: the values this upload shares with any
    other record are looked up again under the lock (on SQLite nobody else could commit since the transaction
    began)."""
    duplicates_lock(every=True)
    if connection.vendor == "postgresql":
        held_twice = held_twice | upload_keys_held_elsewhere(upload_id=upload.pk)
    flagged = duplicates_refresh(keys=held_twice, silent_upload=upload.pk)
    audit_events_write(actor=upload.created_by, events=flagged.events)
    for change in flagged.changes.values():
        if change.upload_id == upload.pk:
            counts.reflagged(change)


def _staged(upload: Upload, counts: StageCounts, rows: int) -> None:
    updated = _held(upload).update(
        status=UploadStatus.STAGED,
        row_count=rows,
        rows_done=rows,
        ready_count=counts.ready,
        error_count=counts.errors,
        warning_count=counts.warnings,
        duplicate_count=counts.duplicates,
        updated_count=counts.updated,
        unchanged_count=counts.unchanged,
        finished_at=timezone.now(),
        error_code="",
        error_message="",
    )
    if updated != 1:
        raise InvalidTransition(_("The upload changed state while it was being staged."))
    audit_event_write(
        actor=upload.created_by,
        action=AuditAction.UPLOAD_STAGED,
        **_target(upload),
        changes={
            "rows": rows,
            "ready": counts.ready,
            "errors": counts.errors,
            "warnings": counts.warnings,
            "duplicates": counts.duplicates,
            "updated": counts.updated,
            "unchanged": counts.unchanged,
            "sha256": upload.sha256,
            "mapping": upload.mapping,
            "uploaded_by": upload.created_by.get_username(),
            "mapped_by": _mapper_name(upload),
        },
    )


def _mapper_name(upload: Upload) -> str:
    return upload.mapped_by.get_username() if upload.mapped_by_id else ""


def _stage_failed(upload: Upload, exc: ValidationError) -> None:
    with transaction.atomic(durable=True):
        _fail(upload, exc, actor=upload.created_by)


def _fail(upload: Upload, exc: ValidationError, *, actor, **changes: Any) -> None:
    """The staging this worker holds ends `failed` with its message and `upload.failed` (in the caller's
    transaction); nothing is written if another worker holds it now."""
    message = _message(exc)
    failed = _held(upload).update(
        status=UploadStatus.FAILED,
        error_code=exc.code or "",
        error_message=message,
        rows_done=0,
        finished_at=timezone.now(),
    )
    if failed:
        audit_event_write(
            actor=actor,
            action=AuditAction.UPLOAD_FAILED,
            **_target(upload),
            changes={"code": exc.code or "", "message": message, **changes},
        )


# -- stalled stagings --------------------------------------------------------------------------------------------

RETRYABLE_CODES = ("stalled", "internal")


def upload_stalled(upload: Upload) -> bool:
    """Staging, but its worker has shown no sign of life for UPLOAD_LEASE_SECONDS."""
    stale = timezone.now() - datetime.timedelta(seconds=settings.UPLOAD_LEASE_SECONDS)
    return upload.status == UploadStatus.STAGING and (upload.heartbeat_at is None or upload.heartbeat_at < stale)


def upload_retry_allowed(upload: Upload) -> bool:
    """A staging that stopped without finishing (stalled, or failed on something else than the file) may be
    started again; a refused file may not."""
    if upload.status == UploadStatus.FAILED:
        return upload.error_code in RETRYABLE_CODES
    return upload_stalled(upload)


def _restart(upload: Upload, *, actor, attempts: int, **changes: Any) -> None:
    """Back to `queued`, to be staged from the beginning, counting `attempts` starts so far (in the caller's
    transaction); writes `upload.restarted` with the starts that came before."""
    changes = {"status": [upload.status, UploadStatus.QUEUED], "attempts": upload.staging_attempts, **changes}
    upload.status, upload.staging_attempts, upload.rows_done = UploadStatus.QUEUED, attempts, 0
    upload.heartbeat_at, upload.error_code, upload.error_message, upload.finished_at = timezone.now(), "", "", None
    upload.save(
        update_fields=[
            "status",
            "staging_attempts",
            "rows_done",
            "heartbeat_at",
            "error_code",
            "error_message",
            "finished_at",
        ]
    )
    audit_event_write(actor=actor, action=AuditAction.UPLOAD_RESTARTED, **_target(upload), changes=changes)


def upload_requeue_stalled() -> list[int]:
    """Start again each staging whose worker has shown no sign of life for UPLOAD_LEASE_SECONDS (`upload.restarted`),
    or fail it once it was started UPLOAD_MAX_ATTEMPTS times (`upload.failed`, code `stalled`); queue the task again
    for queued uploads no task waits for. Returns the ids of the uploads queued again."""
    from onboarding.tasks import task_runs_abandon, task_subjects_waiting, upload_stage_task

    stale = timezone.now() - datetime.timedelta(seconds=settings.UPLOAD_LEASE_SECONDS)
    lost = Q(status=UploadStatus.STAGING) & (Q(heartbeat_at__lt=stale) | Q(heartbeat_at__isnull=True))
    orphans = Q(status=UploadStatus.QUEUED) & ~Q(pk__in=task_subjects_waiting(upload_stage_task))
    if not Upload.objects.filter(lost | orphans).exists():
        return []  # the usual case, without taking SQLite's one write lock
    queued, failed = [], []
    with transaction.atomic(durable=True):
        # A staging storing its rows holds its row's lock (PostgreSQL): skipped, however old its heartbeat.
        for upload in Upload.objects.filter(lost | orphans).select_for_update(skip_locked=True, no_key=True):
            if upload.status == UploadStatus.QUEUED:
                queued.append(upload.pk)
            elif upload.staging_attempts >= settings.UPLOAD_MAX_ATTEMPTS:
                failed.append(upload.pk)
                message = _(
                    "Staging was started %(n)s times and each time stopped before it finished (the worker "
                    "stopped or lost the database); nothing was staged. Try again, or ask an administrator to "
                    "look at the log."
                ) % {"n": upload.staging_attempts}
                _fail(upload, ValidationError(message, code="stalled"), actor=None, attempts=upload.staging_attempts)
            else:
                queued.append(upload.pk)
                last = upload.heartbeat_at.isoformat() if upload.heartbeat_at else None
                _restart(upload, actor=None, attempts=upload.staging_attempts, last_sign_of_life=last)
        task_runs_abandon(upload_stage_task, {*queued, *failed})
        for pk in queued:
            transaction.on_commit(partial(upload_stage_task.enqueue, upload_id=pk))
    return queued


def upload_stage_retry(*, actor, upload_id: int) -> Upload:
    """Start a staging that stopped without finishing again, from the beginning: in this call when the file is
    small, by the background task otherwise. Writes `upload.restarted`; InvalidTransition if there is nothing to
    try again (staged, still alive, or a refused file)."""
    if not actor.has_perm(PERM_STAGE_UPLOAD):
        raise PermissionDenied
    from onboarding.tasks import upload_stage_task

    with transaction.atomic(durable=True):
        upload = Upload.objects.select_for_update(no_key=True).get(pk=upload_id)
        if not upload_retry_allowed(upload):
            raise InvalidTransition(
                _("This upload is %(status)s; there is nothing to try again.")
                % {"status": upload.get_status_display().lower()}
            )
        _restart(upload, actor=actor, attempts=0, retried=True)
        background = upload.row_count > settings.UPLOAD_SYNC_MAX_ROWS
        if background:
            transaction.on_commit(partial(upload_stage_task.enqueue, upload_id=upload.pk))
    return upload if background else upload_stage(upload_id=upload.pk)


# -- problem rows ------------------------------------------------------------------------------------------------


@dataclass
class ProblemExport:
    filename: str
    content_type: str
    chunks: Iterator[bytes]


EXPORT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def upload_problems_export(*, actor, upload_id: int, file_format: str) -> ProblemExport:
    """The upload's rows with errors or warnings, original cells plus one column of messages in the active
    language, as CSV or XLSX; cells a spreadsheet would run as formulas are neutralised. Writes `data.export`."""
    if not actor.has_perm(PERM_VIEW_UPLOADS):
        raise PermissionDenied
    if file_format not in EXPORT_TYPES:
        raise ValidationError(_("Unknown file format."), code="format")
    upload = Upload.objects.get(pk=upload_id)
    rows = upload_problem_records(upload_id=upload.pk)
    with transaction.atomic(durable=True):
        count = rows.count()
        audit_event_write(
            actor=actor,
            action=AuditAction.EXPORT,
            **_target(upload),
            changes={
                "what": "upload_problem_rows",
                "format": file_format,
                "rows": count,
            },
        )
    language = translation.get_language()
    lines = problem_lines(headers=upload.headers, rows=rows, language=language)
    chunks = csv_chunks(lines) if file_format == "csv" else xlsx_chunks(lines)
    stem = upload.original_name.rsplit(".", 1)[0][:80] or "upload"
    return ProblemExport(f"{stem}-problems-{upload.pk}.{file_format}", EXPORT_TYPES[file_format], chunks)


# -- reads -------------------------------------------------------------------------------------------------------


def upload_list() -> QuerySet[Upload]:
    """Uploads newest first, with who uploaded them."""
    return Upload.objects.select_related("created_by", "saved_mapping")


def upload_get(*, pk: int) -> Upload:
    return Upload.objects.select_related("created_by", "mapped_by", "saved_mapping__owner").get(pk=pk)


def upload_same_file(*, upload: Upload) -> QuerySet[Upload]:
    """Other uploads of the very same bytes that were staged or are being staged."""
    return Upload.objects.filter(sha256=upload.sha256, status__in=ACTIVE).exclude(pk=upload.pk).order_by("pk")


def upload_problem_records(*, upload_id: int) -> QuerySet[ClientRecord]:
    return (
        ClientRecord.objects.filter(upload_id=upload_id)
        .filter(Q(error_count__gt=0) | Q(warning_count__gt=0))
        .order_by("source_row", "pk")
    )


def upload_columns(*, upload: Upload, mapping: dict[str, str] | None = None, samples: int = 3) -> list[dict[str, Any]]:
    """Each column with its target (in `mapping`, else the upload's current one) and up to `samples` example
    values, for the mapping step."""
    mapping = upload.mapping if mapping is None else mapping
    with upload.file.open("rb") as stored:
        rows = sample_rows(stored, _file_info(upload), n=samples)
    columns = []
    for index, header in enumerate(upload.headers):
        values = [
            Truncator(cell_text(r[index])).chars(SAMPLE_CHARS)
            for r in rows
            if index < len(r) and r[index] not in (None, "")
        ]
        columns.append({"index": index, "header": header, "target": mapping.get(header, ""), "samples": values})
    return columns
