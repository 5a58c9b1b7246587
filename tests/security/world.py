"""The cast and the objects every security test module works on: one user per role, and a record, uploads,
submissions with batches, audit events, a verification and a background task, so every URL's arguments name
something that exists."""

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.test import Client, TestCase
from django.urls import reverse

from onboarding.models import (
    AuditEvent,
    AuditVerification,
    BatchState,
    ClientRecord,
    RecordStatus,
    Submission,
    SubmissionBatch,
    Upload,
)
from onboarding.permissions import Role
from onboarding.services.audit import audit_chain_verify_and_record
from onboarding.services.roles import roles_setup
from onboarding.services.submissions import Scope, submission_start
from onboarding.services.uploads import upload_map_columns, upload_receive
from onboarding.tasks import submission_run_task
from tests.factories import ClientRecordFactory, UserFactory
from tests.imports import csv_bytes, person, uploaded

ANONYMOUS = "anonymous"
# The cast, as README's "Roles" names them; `nobody` is signed in and holds no role.
ROLE_GROUPS: dict[str, tuple[str, ...]] = {
    "capturista": (Role.DATA_ENTRY,),
    "oficial": (Role.OFFICER,),
    "oficial_live": (Role.OFFICER, Role.LIVE_SUBMITTER),
    "auditor": (Role.AUDITOR,),
    "admin": (),
    "nobody": (),
}
ROLES = (ANONYMOUS, *ROLE_GROUPS)
# Second users for the checks between two people of the same role.
EXTRA_USERS = {"capturista2": (Role.DATA_ENTRY,), "oficial2": (Role.OFFICER,)}


@dataclass
class World:
    """The module's objects. They are shared by its tests while each test's changes are rolled back, so take ids
    from them and read a row again before relying on a field a request may change."""

    users: dict[str, Any]
    record: ClientRecord
    upload: Upload  # staged, with a row that has a problem
    upload_unmapped: Upload  # received, waiting for its column mapping
    submission: Submission  # to Artu test
    live_submission: Submission  # to Artu live, one batch given up on
    event: AuditEvent
    verification: AuditVerification
    task_id: str
    record_content_type: int
    sessions: dict[str, str]  # a signed-in session cookie per user: signing in is paid once per module
    sign_in_attempt: int  # django-axes' rows for one failed sign-in
    sign_in_failure: int
    sign_in_log: int


@contextmanager
def rolled_back():
    """Undo whatever happens inside: TestCase's own savepoint, so the services may still open durable blocks."""
    atomics = TestCase._enter_atomics()
    try:
        yield
    finally:
        TestCase._rollback_atomics(atomics)


def world_build() -> World:
    """Build the cast and the objects (inside whatever transaction the caller holds)."""
    roles_setup()
    groups = {g.name: g for g in Group.objects.all()}
    users = {}
    for username, role_names in {**ROLE_GROUPS, **EXTRA_USERS}.items():
        superuser = username == "admin"
        user = UserFactory(username=username, is_staff=superuser, is_superuser=superuser)
        user.groups.set([groups[r] for r in role_names])
        users[username] = user
    capturista, oficial2 = users["capturista"], users["oficial2"]

    record = ClientRecordFactory(created_by=capturista)
    for _ in range(2):
        ClientRecordFactory(created_by=capturista, status=RecordStatus.APPROVED, reviewed_by=oficial2)
    submission = submission_start(actor=users["oficial"], environment="test", enqueue=False)
    approved = ClientRecordFactory(created_by=capturista, status=RecordStatus.APPROVED, reviewed_by=oficial2)
    live = submission_start(
        actor=users["oficial_live"],
        environment="live",
        confirmation="LIVE",
        scope=Scope(record_ids=(approved.pk,)),
        enqueue=False,
    )
    # A batch the worker gave up on: what "resume" sends again.
    SubmissionBatch.objects.filter(submission=live).update(state=BatchState.GAVE_UP)

    rows = [person(0), person(1), person(2, RFC="PENM971117RT4")]
    staged = upload_receive(actor=capturista, file=uploaded(csv_bytes(rows), "clientes.csv"))
    staged = upload_map_columns(actor=capturista, upload_id=staged.pk, mapping=staged.mapping, background=False)
    unmapped = upload_receive(actor=capturista, file=uploaded(csv_bytes([person(3)]), "otros.csv"))

    task = submission_run_task.enqueue(submission.pk)
    verification_report = audit_chain_verify_and_record(actor=users["auditor"])
    assert verification_report.ok
    Client().post(reverse("login"), {"username": "nobody", "password": "not-the-password"})
    # Those two logs are off (sign-ins and failures are audited), but the admin still lists them: a row to open.
    where = {"username": "nobody", "ip_address": "127.0.0.1", "user_agent": "", "path_info": reverse("login")}
    AccessLog.objects.create(**where)
    AccessFailureLog.objects.create(**where)
    sessions = {}
    for username, user in users.items():
        client = Client()
        client.force_login(user)
        sessions[username] = client.cookies[settings.SESSION_COOKIE_NAME].value
    return World(
        users=users,
        record=record,
        upload=staged,
        upload_unmapped=unmapped,
        submission=submission,
        live_submission=live,
        event=AuditEvent.objects.order_by("seq").last(),
        verification=AuditVerification.objects.latest("ran_at"),
        task_id=str(task.id),
        record_content_type=ContentType.objects.get_for_model(ClientRecord).pk,
        sessions=sessions,
        sign_in_attempt=AccessAttempt.objects.get().pk,
        sign_in_failure=AccessFailureLog.objects.get().pk,
        sign_in_log=AccessLog.objects.get().pk,
    )
