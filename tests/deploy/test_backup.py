"""Backups kept as the law requires (LFPIORPI art. 18 fr. IV: ten years): scripts/backup takes the database and the
uploaded files with the audit anchor of the moment, and scripts/restore brings them back into an empty database
where the chain still verifies against that anchor and the audit tables still refuse changes."""

import hashlib
import re
import subprocess
from pathlib import Path

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection

from onboarding.models import ClientRecord, RecordStatus, Upload, UploadStatus
from onboarding.services.records import record_create
from onboarding.services.review import record_approve
from onboarding.services.submissions import submission_run, submission_start
from onboarding.services.uploads import upload_map_columns, upload_receive
from tests.audit import record_data
from tests.deploy import BASE_DIR, PYTHON, production_env
from tests.imports import csv_bytes, person, uploaded

pytestmark = pytest.mark.django_db(transaction=True)  # pg_dump reads what the test has committed
needs_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="scripts/backup and scripts/restore use pg_dump and pg_restore"
)
ANCHOR = re.compile(r"^head: (\d+:[0-9a-f]{64})$", re.M)


def admin_connection() -> psycopg.Connection:
    db = connection.settings_dict
    return psycopg.connect(
        dbname="postgres", user=db["USER"], password=db["PASSWORD"], host=db["HOST"], port=db["PORT"], autocommit=True
    )


def url_of(name: str) -> str:
    return re.sub(r"/[^/]+$", f"/{name}", production_env()["DATABASE_URL"])


@pytest.fixture
def empty_database():
    """A new, empty database next to the test database, dropped at the end."""
    name = f"{connection.settings_dict['NAME']}_restored"
    with admin_connection() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    yield name
    with admin_connection() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def populated(capturista, oficial, artu, media):
    """A desk in use, every change made through its services: a typed record approved and submitted to Artu, and a
    file staged. Returns the upload."""
    record = record_create(actor=capturista, data=record_data())
    record_approve(actor=oficial, record_id=record.pk)
    submission = submission_start(actor=oficial, environment="test", enqueue=False)
    submission_run(submission.pk)
    upload = upload_receive(actor=capturista, file=uploaded(csv_bytes([person(i) for i in range(20)])))
    upload = upload_map_columns(actor=capturista, upload_id=upload.pk, mapping=upload.mapping)
    assert upload.status == UploadStatus.STAGED
    assert ClientRecord.objects.get(pk=record.pk).status == RecordStatus.SENT_TO_TEST
    return upload


def run(script: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [f"scripts/{script}", *args],
        cwd=BASE_DIR,
        env=production_env(PYTHON=PYTHON, **env),
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.postgres_only
@needs_postgresql
def test_a_backup_restores_into_an_empty_database_with_its_files_and_verifies_against_the_anchor(
    populated, empty_database, media, tmp_path, capsys
):
    call_command("verify_audit")
    anchor = ANCHOR.search(capsys.readouterr().out).group(1)

    backup = run("backup", str(tmp_path / "backups"), MEDIA_ROOT=str(media))
    assert backup.returncode == 0, backup.stdout + backup.stderr
    (manifest,) = (tmp_path / "backups").glob("onboarding-*.manifest")
    assert re.search(r"^audit chain: intact$", manifest.read_text(), re.M)
    backed_up_anchor = re.search(r"^anchor: (\S+)$", manifest.read_text(), re.M).group(1)
    assert int(backed_up_anchor.split(":")[0]) >= int(anchor.split(":")[0])
    assert {p.name.removeprefix(manifest.stem) for p in manifest.parent.iterdir()} == {
        ".dump",
        ".media.tar.gz",
        ".manifest",
        ".sha256",
    }

    restored_media = tmp_path / "restored-media"
    target = {"DATABASE_URL": url_of(empty_database), "MEDIA_ROOT": str(restored_media)}
    restore = run("restore", str(manifest), **target)
    assert restore.returncode == 0, restore.stdout + restore.stderr
    assert "audit chain intact" in restore.stdout and "1 anchor(s) match" in restore.stdout

    verify = subprocess.run(
        [PYTHON, "manage.py", "verify_audit", "--anchor", anchor],
        cwd=BASE_DIR,
        env=production_env(**target),
        capture_output=True,
        text=True,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr

    stored = restored_media / populated.file.name
    assert hashlib.sha256(stored.read_bytes()).hexdigest() == populated.sha256
    with psycopg.connect(url_of(empty_database), autocommit=True) as restored:
        counts = restored.execute(
            "SELECT (SELECT count(*) FROM onboarding_clientrecord), (SELECT count(*) FROM onboarding_upload)"
        ).fetchone()
        assert counts == (ClientRecord.objects.count(), Upload.objects.count())
        # The append-only guards came back with the rows.
        for statement in ("UPDATE onboarding_auditevent SET action = action", "TRUNCATE onboarding_auditevent"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                restored.execute(statement)


@pytest.mark.postgres_only
@needs_postgresql
def test_restore_refuses_a_database_that_is_not_empty(populated, media, tmp_path):
    backup = run("backup", str(tmp_path / "backups"), MEDIA_ROOT=str(media))
    assert backup.returncode == 0, backup.stderr
    (manifest,) = (tmp_path / "backups").glob("onboarding-*.manifest")
    before = ClientRecord.objects.count()

    restore = run("restore", str(manifest), MEDIA_ROOT=str(tmp_path / "elsewhere"))  # the test database itself
    assert restore.returncode != 0
    assert "is not empty" in restore.stderr
    assert ClientRecord.objects.count() == before


@pytest.mark.postgres_only
@needs_postgresql
def test_restore_refuses_an_archive_that_does_not_match_its_checksum(populated, empty_database, media, tmp_path):
    backup = run("backup", str(tmp_path / "backups"), MEDIA_ROOT=str(media))
    assert backup.returncode == 0, backup.stderr
    (manifest,) = (tmp_path / "backups").glob("onboarding-*.manifest")
    dump = manifest.with_suffix(".dump")
    dump.write_bytes(dump.read_bytes()[:-10])

    target = {"DATABASE_URL": url_of(empty_database), "MEDIA_ROOT": str(tmp_path / "restored-media")}
    restore = run("restore", str(manifest), **target)
    assert restore.returncode != 0
    assert "do not match their checksums" in restore.stderr
    with psycopg.connect(url_of(empty_database)) as restored:
        assert restored.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone() == (0,)


def test_backup_needs_postgresql(tmp_path):
    backup = run("backup", str(tmp_path / "backups"), DATABASE_URL=f"sqlite:///{tmp_path}/db.sqlite3")
    assert backup.returncode != 0
    assert "not PostgreSQL" in backup.stderr
    assert not list(Path(tmp_path / "backups").glob("*.dump"))
