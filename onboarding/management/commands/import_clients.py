"""Stage a client file from the command line, through the same services as the upload page."""

import json
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.core.management.base import BaseCommand, CommandError

from onboarding.errors import DomainError
from onboarding.imports.mapping import TARGETS, header_key, mapping_from_saved, mapping_keep_rest, mapping_left_out
from onboarding.models import ClientRecord, SavedMapping, UploadStatus
from onboarding.services.mappings import saved_mappings_offered
from onboarding.services.uploads import upload_map_columns, upload_receive


class Command(BaseCommand):
    help = (
        "Stage a CSV, XLSX or JSON file of clients as USER: prints `upload: <id>` and the counts; exits non-zero "
        "when the file is refused."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="the file to stage")
        parser.add_argument("--user", required=True, help="the username that stages it (needs the upload permission)")
        parser.add_argument(
            "--mapping", default="", help="name of a saved column mapping to use: the user's own, or a shared one"
        )
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="HEADER=FIELD",
            help=(
                "map one column by hand, over the saved or suggested mapping (repeatable); FIELD is a target such "
                "as apellido_paterno or rfc, or empty to leave the column out"
            ),
        )
        parser.add_argument(
            "--keep-other-columns",
            action="store_true",
            help="keep every column mapped to no field in the record's metadata, under its header",
        )
        parser.add_argument("--encoding", default="", help="text encoding of a CSV file (detected when left out)")
        parser.add_argument("--report", default="", help="write one JSON object per source row to this file")
        parser.add_argument(
            "--allow-same-file", action="store_true", help="stage the file even if the very same file was staged before"
        )

    def handle(self, *args, **options):
        path = Path(options["path"])
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        try:
            user = get_user_model().objects.get(username=options["user"])
        except get_user_model().DoesNotExist:
            raise CommandError(f"No such user: {options['user']}") from None
        saved = self._saved_mapping(user, options["mapping"]) if options["mapping"] else None
        by_hand = self._parse_map(options["map"])
        try:
            with path.open("rb") as handle:
                upload = upload_receive(actor=user, file=File(handle, name=path.name), encoding=options["encoding"])
            self.stdout.write(f"upload: {upload.pk}")
            mapping = mapping_from_saved(upload.headers, saved.mapping) if saved else upload.mapping
            mapping = self._apply_map(upload.headers, mapping, by_hand)
            if options["keep_other_columns"]:
                mapping = mapping_keep_rest(mapping)
            elif left_out := mapping_left_out(mapping):
                self.stdout.write(f"not kept (no field, see --keep-other-columns): {', '.join(left_out)}")
            upload = upload_map_columns(
                actor=user,
                upload_id=upload.pk,
                mapping=mapping,
                saved_mapping_id=saved.pk if saved else None,
                allow_same_file=options["allow_same_file"],
                background=False,
            )
        except PermissionDenied:
            raise CommandError(f"User {user.username} may not upload files") from None
        except (ValidationError, DomainError) as exc:
            message = exc.message if isinstance(exc, DomainError) else " ".join(exc.messages)
            raise CommandError(f"refused: {message}") from None
        if upload.status != UploadStatus.STAGED:
            raise CommandError(f"refused: {upload.error_message}")
        self.stdout.write(
            f"rows: {upload.row_count}  ready: {upload.ready_count}  errors: {upload.error_count}  "
            f"warnings: {upload.warning_count}  duplicates: {upload.duplicate_count}  "
            f"new: {upload.new_count}  updated: {upload.updated_count}  unchanged: {upload.unchanged_count}"
        )
        if options["report"]:
            self._report(upload.pk, Path(options["report"]))

    def _saved_mapping(self, user, name: str) -> SavedMapping:
        """The user's own mapping of that name, else the one mapping of that name another user shares."""
        found = list(saved_mappings_offered(user=user).filter(name=name)[:2])
        if not found:
            raise CommandError(f"No saved mapping named {name!r} of {user.username} or shared")
        if len(found) > 1 and found[0].owner_id != user.pk:
            owners = ", ".join(m.owner.username for m in saved_mappings_offered(user=user).filter(name=name))
            raise CommandError(f"Several users share a mapping named {name!r} ({owners}); save one as your own")
        return found[0]

    @staticmethod
    def _parse_map(pairs: list[str]) -> dict[str, tuple[str, str]]:
        """{header key: (header as typed, target)} from HEADER=FIELD pairs."""
        by_hand = {}
        for pair in pairs:
            header, sep, target = pair.partition("=")
            target = target.strip()
            if not sep or not header.strip():
                raise CommandError(f"--map {pair!r}: write it as HEADER=FIELD")
            if target and target not in TARGETS:
                raise CommandError(f"--map {pair!r}: unknown field {target!r}; one of: {', '.join(TARGETS)}")
            by_hand[header_key(header) or header.strip()] = (header.strip(), target)
        return by_hand

    @staticmethod
    def _apply_map(headers: list[str], mapping: dict[str, str], by_hand: dict[str, tuple[str, str]]) -> dict[str, str]:
        """The mapping with the hand-made pairs over it; a header the file does not have is an error."""
        keyed = {header_key(h) or h.strip(): h for h in headers}
        unknown = [typed for key, (typed, _target) in by_hand.items() if key not in keyed]
        if unknown:
            raise CommandError(f"--map: the file has no column {', '.join(unknown)}; its columns: {', '.join(headers)}")
        mapping = dict(mapping)
        for key, (_typed, target) in by_hand.items():
            mapping[keyed[key]] = target
        return mapping

    def _report(self, upload_id: int, target: Path) -> None:
        rows = (
            ClientRecord.objects.filter(upload_id=upload_id)
            .order_by("source_row")
            .values_list(
                "source_row", "external_id", "pk", "error_count", "warning_count", "duplicate_of_id", "problems"
            )
        )
        with target.open("w", encoding="utf-8") as out:
            for source_row, external_id, pk, errors, warnings, duplicate_of, problems in rows.iterator(2000):
                status = "error" if errors else "warning" if warnings else "ready"
                out.write(
                    json.dumps(
                        {
                            "row": source_row,
                            "external_id": external_id,
                            "record": pk,
                            "status": status,
                            "duplicate_of": duplicate_of,
                            "problems": [
                                {"field": p["field"], "code": p["code"], "severity": p["severity"]} for p in problems
                            ],
                        },
                        ensure_ascii=False,
                    )
                    + "\n"
                )
        self.stdout.write(f"report: {target}")
