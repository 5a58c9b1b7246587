"""Scale-out: two web processes (gunicorn, as deployed) and two workers (`manage.py worker`) on one PostgreSQL
database. Two officers work through both web processes at once, over real HTTP; every record reaches Artu exactly
once, nothing is left half done, both files are staged, and the audit chain stays intact."""

import os
import secrets
import subprocess
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import connection

from onboarding.models import ClientRecord, RecordStatus, Submission, Upload, UploadStatus
from tests.deploy import BASE_DIR, PYTHON, production_env
from tests.deploy.visitor import Visitor, page_forms
from tests.factories import ClientRecordFactory
from tests.fixtures_worker import wait_for
from tests.imports import csv_bytes, person

pytestmark = [
    pytest.mark.django_db(transaction=True),  # the processes read what the test commits
    pytest.mark.postgres_only,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="scale-out needs PostgreSQL: SQLite's one writer cannot be shared by several machines",
    ),
]

PASSWORD = "a-long-test-password"
APPROVED = 800  # four batches of ARTU_BATCH_SIZE (250): several batches per submission, for both workers
UPLOAD_ROWS = 3000
SYNC_MAX_ROWS = "1000"  # below UPLOAD_ROWS: each file is staged by a worker, not inside its request


@pytest.fixture
def media(settings, tmp_path):
    """One media folder for every process, as a shared volume would be."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    return settings.MEDIA_ROOT


@pytest.fixture
def people(capturista, oficial, oficial2):
    """The cast, with passwords the web processes can check (the suite's own hasher is not theirs)."""
    for user in (oficial, oficial2):
        user.password = PBKDF2PasswordHasher().encode(PASSWORD, PBKDF2PasswordHasher().salt())
        user.save(update_fields=["password"])
    return capturista, oficial, oficial2


@pytest.fixture
def cluster(artu, media, web_process, worker_process):
    """Two web processes and two workers, started together. The web processes share one environment file, as two
    machines behind a load balancer would: with a SECRET_KEY each, a session from one is refused by the other."""
    shared = {"SECRET_KEY": secrets.token_urlsafe(50), "MEDIA_ROOT": str(media), "UPLOAD_SYNC_MAX_ROWS": SYNC_MAX_ROWS}
    webs = [web_process(wait=False, **shared) for _ in range(2)]
    workers = [worker_process(ENV_FILE=os.devnull, ARTU_LEASE_SECONDS="10", UPLOAD_LEASE_SECONDS="10") for _ in "12"]
    return [web.wait_ready() for web in webs], workers


def signed_in(web, user) -> Visitor:
    visitor = Visitor(web.url)
    visitor.sign_in(user.username, PASSWORD)
    return visitor


def receive(visitor: Visitor, rows: list[dict], name: str) -> int:
    """Upload a file (received and read at once); returns its id, waiting for its column mapping."""
    files = {"file": (name, csv_bytes(rows), "text/csv")}
    response = visitor.post("/uploads/", {"encoding": ""}, files=files)
    assert response.status_code == 302, response.text[:2000]
    return int(response.headers["Location"].rstrip("/").split("/")[-2])


def start_submission(visitor: Visitor, **choice: str) -> httpx.Response:
    form = visitor.form("/submissions/new/", "submission-form")
    return visitor.post("/submissions/new/", {**form, **choice})


def test_two_web_processes_and_two_workers_send_every_record_exactly_once(people, cluster, artu):
    (web1, web2), workers = cluster
    capturista, oficial, oficial2 = people
    records = ClientRecordFactory.build_batch(APPROVED, status=RecordStatus.APPROVED, created_by=capturista)
    ClientRecord.objects.bulk_create(records)
    ids = list(ClientRecord.objects.order_by("pk").values_list("pk", flat=True))

    with ThreadPoolExecutor(2) as pool:
        officer1, officer2 = pool.map(signed_in, (web1, web2), (oficial, oficial2))
    uploads = [
        receive(officer1, [person(i) for i in range(UPLOAD_ROWS)], "sucursal-norte.csv"),
        receive(officer2, [person(i) for i in range(UPLOAD_ROWS, 2 * UPLOAD_ROWS)], "sucursal-sur.csv"),
    ]
    mappings = [
        page_forms(v.get(f"/uploads/{pk}/mapping/").text)["mapping-form"]
        for v, pk in zip((officer1, officer2), uploads, strict=True)
    ]

    # Everything at once: both officers submit "every approved record" and overlapping selections, each through
    # both web processes (one session, any process), and map their files, which go to the workers.
    selection_a = ",".join(map(str, ids[:300]))
    selection_b = ",".join(map(str, ids[200:500]))
    actions = [
        lambda: start_submission(officer1, what="all"),
        lambda: start_submission(officer2, what="all"),
        lambda: start_submission(officer1.on(web2.url), what="selection", ids=selection_b),
        lambda: start_submission(officer2.on(web1.url), what="selection", ids=selection_a),
        lambda: officer1.post(f"/uploads/{uploads[0]}/mapping/", mappings[0]),
        lambda: officer2.post(f"/uploads/{uploads[1]}/mapping/", mappings[1]),
    ]
    barrier = threading.Barrier(len(actions))

    def together(action):
        barrier.wait()
        return action()

    with ThreadPoolExecutor(len(actions)) as pool:
        answers = list(pool.map(together, actions))

    started = 0
    for answer in answers[:4]:
        if answer.status_code == 302:
            started += 1
        else:  # the others claimed every record first: refused with the page's message, nothing started
            assert answer.status_code == 422 and "There are no approved records" in answer.text, answer.text[-3000:]
    assert started >= 1
    for answer, pk in zip(answers[4:], uploads, strict=True):
        assert answer.status_code == 302 and answer.headers["Location"].endswith(f"/uploads/{pk}/")
    assert Submission.objects.count() == started

    def settled() -> bool:
        return (
            not Submission.objects.filter(finished_at__isnull=True).exists()
            and not Upload.objects.exclude(status__in=(UploadStatus.STAGED, UploadStatus.FAILED)).exists()
        )

    wait_for(settled, timeout=40, what="every submission finished and both files staged", worker=workers[0])

    at_artu = Counter(client["metadata"]["onboardingRecordId"] for client in artu.clients())
    sent = {str(uuid) for uuid in ClientRecord.objects.filter(pk__in=ids).values_list("uuid", flat=True)}
    assert set(at_artu) == sent
    assert set(at_artu.values()) == {1}, "a record reached Artu twice"
    assert sum(Submission.objects.values_list("record_count", flat=True)) == APPROVED
    assert ClientRecord.objects.filter(pk__in=ids).exclude(status=RecordStatus.SENT_TO_TEST).count() == 0
    assert not ClientRecord.objects.filter(status__in=(RecordStatus.APPROVED, RecordStatus.SUBMITTING)).exists()
    for pk in uploads:
        upload = Upload.objects.get(pk=pk)
        assert upload.status == UploadStatus.STAGED, upload.error_message
        assert ClientRecord.objects.filter(upload=upload).count() == UPLOAD_ROWS
    assert all(worker.alive for worker in workers)
    for web in (web1, web2):
        assert '"level": "ERROR"' not in web.log.read_text(), web.log.read_text()[-4000:]

    verify = subprocess.run(
        [PYTHON, "manage.py", "verify_audit"], cwd=BASE_DIR, env=production_env(), capture_output=True, text=True
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
