"""The submission pages and the submit_clients command."""

import json

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from onboarding.models import (
    ArtuRecord,
    AuditAction,
    AuditEvent,
    BatchState,
    ClientRecord,
    RecordStatus,
    Submission,
    SubmissionBatch,
    SubmissionStatus,
)
from onboarding.services.submissions import submission_refresh, submission_run, submission_start
from tests.factories import ClientRecordFactory, UserFactory


def approved(n, **fields):
    return ClientRecordFactory.create_batch(n, status=RecordStatus.APPROVED, **fields)


@pytest.fixture(autouse=True)
def english(settings):
    """These tests read the English wording; the Spanish pages are covered by the translation catalogue."""
    settings.LANGUAGE_CODE = "en"


def form_data(**overrides):
    return {"what": "all", "environment": "test", "atomic": "on", "token": "tok-1", "ids": ""} | overrides


def test_the_page_says_how_many_records_and_batches_before_sending(client_as, oficial, settings):
    settings.ARTU_BATCH_SIZE = 2
    approved(5)
    html = client_as(oficial).get(reverse("submissions:create")).content.decode()
    assert "5 approved records will be sent in 3 batches" in " ".join(html.split())


def test_one_record_is_one_batch_in_the_singular_in_both_languages(client_as, oficial):
    approved(1)
    client = client_as(oficial)
    html = " ".join(client.get(reverse("submissions:create")).content.decode().split())
    assert "1 approved record will be sent in 1 batch." in html
    client.cookies["django_language"] = "es-mx"
    html = " ".join(client.get(reverse("submissions:create")).content.decode().split())
    assert "Se enviará 1 registro aprobado en 1 lote." in html


def test_the_page_speaks_the_users_language(client_as, oficial_live):
    approved(5)
    client = client_as(oficial_live)
    client.cookies["django_language"] = "es-mx"
    html = " ".join(client.get(reverse("submissions:create")).content.decode().split())
    assert "Iniciar envío" in html and "Escriba LIVE para confirmar" in html
    client.cookies["django_language"] = "en"
    html = " ".join(client.get(reverse("submissions:create")).content.decode().split())
    assert "Iniciar envío" not in html and "Type LIVE to confirm" in html


def test_starting_queues_the_background_task_and_opens_the_progress_page(
    client_as, oficial, django_capture_on_commit_callbacks
):
    approved(3)
    with django_capture_on_commit_callbacks(execute=True):
        response = client_as(oficial).post(reverse("submissions:create"), form_data())
    submission = Submission.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("submissions:detail", args=[submission.pk])
    task = DBTaskResult.objects.get()
    assert task.task_path.endswith("submission_run_task") and task.args_kwargs["args"] == [submission.pk]
    assert set(ClientRecord.objects.values_list("status", flat=True)) == {RecordStatus.SUBMITTING}


def test_a_double_click_starts_one_submission(client_as, oficial):
    approved(3)
    client = client_as(oficial)
    first = client.post(reverse("submissions:create"), form_data(token="same"))
    second = client.post(reverse("submissions:create"), form_data(token="same"))
    assert Submission.objects.count() == 1
    assert first["Location"] == second["Location"]


def test_nothing_to_submit_is_explained(client_as, oficial):
    response = client_as(oficial).post(reverse("submissions:create"), form_data())
    assert response.status_code == 422
    assert "no approved records" in response.content.decode()


def test_the_start_button_is_disabled_while_nothing_would_be_sent(client_as, oficial):
    import re

    client = client_as(oficial)
    start = re.compile(r"<button[^>]*data-disable-on-submit[^>]*>")

    assert "disabled" in start.search(client.get(reverse("submissions:create")).content.decode()).group()
    approved(2)
    page = client.get(reverse("submissions:create")).content.decode()
    assert "disabled" not in start.search(page).group()
    # The preview the form asks for on every change brings the button along, out of band.
    preview = client.get(reverse("submissions:preview"), form_data()).content.decode()
    assert 'id="submission-actions" hx-swap-oob="true"' in preview
    assert "disabled" not in start.search(preview).group()
    empty = client.get(reverse("submissions:preview"), form_data(what="selection", ids="999999")).content.decode()
    assert "There are no approved records" in empty
    assert "disabled" in start.search(empty).group()


def test_live_needs_the_permission_and_the_typed_word(client_as, oficial, oficial_live):
    approved(1)
    html = client_as(oficial).get(reverse("submissions:create")).content.decode()
    assert 'value="live"' not in html
    response = client_as(oficial_live).post(reverse("submissions:create"), form_data(environment="live"))
    assert response.status_code == 422 and not Submission.objects.exists()
    response = client_as(oficial_live).post(
        reverse("submissions:create"), form_data(environment="live", confirmation="live")
    )
    assert response.status_code == 422 and not Submission.objects.exists()
    assert "type LIVE" in response.content.decode()
    response = client_as(oficial_live).post(
        reverse("submissions:create"), form_data(environment="live", confirmation="LIVE")
    )
    assert response.status_code == 302 and Submission.objects.get().environment == "live"


@pytest.mark.parametrize(
    "role,new,detail",
    [
        ("capturista", 403, 403),
        ("oficial", 200, 200),
        ("auditor", 403, 200),
        ("nobody", 403, 403),
    ],
)
def test_who_sees_what(client_as, request, role, new, detail, oficial):
    approved(1)
    submission = submission_start(actor=oficial, environment="test", enqueue=False)
    client = client_as(request.getfixturevalue(role))
    assert client.get(reverse("submissions:create")).status_code == new
    assert client.get(reverse("submissions:detail", args=[submission.pk])).status_code == detail
    assert client.get(reverse("submissions:progress", args=[submission.pk])).status_code == detail


def test_results_show_artu_ids_and_messages_and_download_is_audited(artu, client_as, oficial, auditor):
    good = approved(2)
    bad = approved(1, rfc="BAD")[0]
    submission = submission_start(actor=oficial, environment="test", atomic=False, enqueue=False)
    submission_run(submission.pk, concurrency=1)
    html = client_as(auditor).get(reverse("submissions:detail", args=[submission.pk])).content.decode()
    for held in ArtuRecord.objects.filter(record__in=good):
        assert str(held.artu_id) in html
    assert "scopeData.MX.rfc" in html
    response = client_as(auditor).get(reverse("submissions:results", args=[submission.pk]))
    rows = response.content.decode("utf-8-sig").splitlines()
    assert len(rows) == 4 and str(bad.uuid) in response.content.decode()
    assert AuditEvent.objects.filter(action=AuditAction.EXPORT, submission_id=submission.pk, actor=auditor).exists()


def test_a_refused_record_can_be_corrected_and_sent_again(artu, oficial, oficial2):
    bad = approved(1, rfc="BAD")[0]
    first = submission_start(actor=oficial, environment="test", atomic=False, enqueue=False)
    submission_run(first.pk, concurrency=1)
    bad.refresh_from_db()
    assert bad.status == RecordStatus.FAILED
    good = ClientRecordFactory.build()
    ClientRecord.objects.filter(pk=bad.pk).update(
        rfc=good.rfc,
        curp=good.curp,
        birth_date=good.birth_date,
        name=good.name,
        apellido_paterno=good.apellido_paterno,
        apellido_materno=good.apellido_materno,
        status=RecordStatus.APPROVED,
    )
    second = submission_start(actor=oficial2, environment="test", enqueue=False)
    assert submission_run(second.pk, concurrency=1).created_count == 1
    assert len(artu.clients("test")) == 1


def test_submit_clients_command_waits_and_reports(artu, oficial, tmp_path, capsys):
    records = approved(3)
    report = tmp_path / "report.jsonl"
    call_command("submit_clients", "--as", oficial.username, "--wait", "--concurrency", "1", "--report", str(report))
    out = capsys.readouterr().out
    assert "created: 3" in out and "submission: " in out
    lines = [json.loads(line) for line in report.read_text().splitlines()]
    assert {line["id"] for line in lines} == {r.pk for r in records}
    assert all(line["status"] == RecordStatus.SENT_TO_TEST and line["artu_id"] for line in lines)


def test_submit_clients_command_fails_when_a_record_fails(artu, oficial):
    approved(1, rfc="BAD")
    with pytest.raises(CommandError, match="not created"):
        call_command("submit_clients", "--as", oficial.username, "--wait", "--no-atomic", "--concurrency", "1")


def test_submit_clients_command_refuses_users_without_the_permission(roles):
    approved(1)
    clerk = UserFactory(username="someone")
    with pytest.raises(CommandError, match="may not submit"):
        call_command("submit_clients", "--as", clerk.username)


@pytest.mark.django_db  # the user fixture is asked for by name, which pytest-django cannot see
@pytest.mark.parametrize(("role", "linked"), [("auditor", True), ("oficial", True), ("capturista", False)])
def test_the_navigation_links_submissions_for_whoever_may_read_them(request, client_as, role, linked):
    client = client_as(request.getfixturevalue(role))
    assert (f'href="{reverse("submissions:list")}"' in client.get(reverse("home")).text) is linked
    assert client.get(reverse("submissions:list")).status_code == (200 if linked else 403)


def given_up(environment, actor):
    """A finished submission whose batch was given up on, its records left waiting (Artu never answered)."""
    approved(2)
    submission = submission_start(actor=actor, environment=environment, confirmation="LIVE", enqueue=False)
    SubmissionBatch.objects.filter(submission=submission).update(state=BatchState.GAVE_UP)
    return submission_refresh(submission.pk)


RESUME_BUTTON = "Check with Artu and continue"


@pytest.mark.parametrize(
    ("environment", "role", "may"),
    [
        ("live", "oficial", False),
        ("live", "oficial_live", True),
        ("test", "oficial", True),
        ("test", "auditor", False),
    ],
)
def test_only_who_may_send_there_sees_and_uses_the_resume_button(
    request, client_as, oficial_live, environment, role, may
):
    submission = given_up(environment, oficial_live)
    client = client_as(request.getfixturevalue(role))
    assert (RESUME_BUTTON in client.get(reverse("submissions:detail", args=[submission.pk])).text) is may
    response = client.post(reverse("submissions:resume", args=[submission.pk]))
    assert response.status_code == (302 if may else 403)
    submission.refresh_from_db()
    assert submission.status == (SubmissionStatus.RUNNING if may else SubmissionStatus.FINISHED_WITH_FAILURES)
    assert AuditEvent.objects.filter(submission_id=submission.pk, changes__resumed=True).exists() is may


def test_an_officer_without_the_live_role_cannot_start_live_from_the_page(client_as, oficial):
    approved(1)
    response = client_as(oficial).post(
        reverse("submissions:create"), form_data(environment="live", confirmation="LIVE")
    )
    assert response.status_code == 422 and not Submission.objects.exists()
    assert set(ClientRecord.objects.values_list("status", flat=True)) == {RecordStatus.APPROVED}


def test_submit_clients_command_refuses_live_without_the_live_role(oficial, oficial_live):
    approved(1)
    with pytest.raises(CommandError, match="may not submit to live"):
        call_command("submit_clients", "--as", oficial.username, "--environment", "live", "--confirm", "LIVE")
    assert not Submission.objects.exists()
    call_command("submit_clients", "--as", oficial_live.username, "--environment", "live", "--confirm", "LIVE")
    assert Submission.objects.get().environment == "live"
