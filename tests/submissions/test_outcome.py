"""A failed submission says what happened, in the reader's language: why (a cause, never an exception's name), when
the next attempt comes, what became of each record (created, refused by Artu, not created with a refused one, not
sent), and offers to send the last two again through the same start service, audited, with the live rules."""

import re

import httpx
import pytest
from django.urls import reverse
from django.utils import timezone

from onboarding.artu.client import ArtuClient, ArtuError
from onboarding.models import (
    AuditAction,
    AuditEvent,
    BatchState,
    ClientRecord,
    RecordOutcome,
    RecordStatus,
    SendCause,
    Submission,
    SubmissionBatch,
)
from onboarding.selectors.home import home_send_again
from onboarding.services.submissions import submission_progress, submission_run
from onboarding.services.submissions.outcome import error_cause
from tests.deploy import free_port
from tests.submissions.test_submission_service import approved, fast_retries, start_and_run  # noqa: F401


@pytest.fixture
def unreachable(artu, settings, fast_retries):  # noqa: F811
    """Artu at a loopback port nobody listens on: every call fails to connect (nothing is ever sent)."""
    settings.ARTU_API_URL = f"http://127.0.0.1:{free_port()}"
    settings.ARTU_CONNECT_TIMEOUT = 0.5
    settings.ARTU_MAX_ATTEMPTS = 2
    return artu


def page_text(client, url: str, language: str) -> str:
    client.cookies["django_language"] = language
    return " ".join(client.get(url).content.decode().split())


def given_up_unreachable(oficial, settings, n=3):
    settings.ARTU_GIVE_UP_AFTER = 0  # no pause: given up at once, for a person
    records = approved(n)
    return start_and_run(oficial), records


def test_a_paused_submission_says_why_and_when_it_is_tried_again_in_spanish(unreachable, oficial, client_as):
    approved(2)
    submission = start_and_run(oficial)

    batch = SubmissionBatch.objects.get(submission=submission)
    assert (batch.state, batch.cause) == (BatchState.PAUSED, SendCause.UNREACHABLE)
    assert "ConnectError" in batch.last_error  # the detail, for whoever runs the worker
    html = page_text(client_as(oficial), reverse("submissions:detail", args=[submission.pk]), "es-mx")
    assert "No se pudo contactar a Artu." in html
    when = timezone.localtime(batch.next_attempt_at).strftime("%H:%M:%S")
    assert f"1 lote en pausa tras errores repetidos de Artu; se reintenta solo a las {when}." in html
    assert "ConnectError" not in html and "could not be reached" not in html


def test_a_batch_waiting_to_retry_shows_the_cause_and_the_next_attempt_time(artu, oficial, client_as):
    approved(2)
    submission = start_and_run(oficial)  # created; then shown as if its batch waited for a retry
    next_at = SubmissionBatch.objects.get(submission=submission).updated_at.replace(microsecond=0)
    SubmissionBatch.objects.filter(submission=submission).update(
        state=BatchState.RETRY_WAIT, cause=SendCause.RATE_LIMITED, next_attempt_at=next_at
    )
    Submission.objects.filter(pk=submission.pk).update(finished_at=None)

    url = reverse("submissions:detail", args=[submission.pk])
    html = page_text(client_as(oficial), url, "es-mx")
    assert "Artu pidió bajar el ritmo (demasiadas solicitudes)." in html
    assert f"próximo intento a las {timezone.localtime(next_at):%H:%M:%S}" in html
    html = page_text(client_as(oficial), url, "en")
    assert "Artu asked to slow down (too many requests)." in html


def test_records_artu_never_received_are_not_sent_not_refused(unreachable, oficial, settings):
    submission, records = given_up_unreachable(oficial, settings)

    progress = submission_progress(submission)
    assert (progress["created"], progress["failed"], progress["not_sent"], progress["waiting"]) == (0, 0, 3, 0)
    assert progress["cause"] == SendCause.UNREACHABLE
    for record in ClientRecord.objects.filter(pk__in=[r.pk for r in records]):
        assert record.status == RecordStatus.APPROVED
        assert [(m["outcome"], m["cause"]) for m in record.artu_messages] == [("not_sent", "unreachable")]
    actions = list(AuditEvent.objects.filter(record__isnull=False, submission_id=submission.pk).values_list("action"))
    assert actions == [(AuditAction.RECORD_NOT_SENT,)] * 3  # never "refused by Artu": Artu never had them
    assert unreachable.clients("test") == []


def test_the_page_groups_not_sent_records_apart_from_created_ones_in_the_readers_language(
    unreachable, oficial, settings, client_as
):
    submission, records = given_up_unreachable(oficial, settings)
    client = client_as(oficial)
    url = reverse("submissions:detail", args=[submission.pk])

    html = page_text(client, url, "es-mx")
    tile = re.search(
        r'<a class="count-tile outcome-not_sent" href="\?outcome=not_sent#records" id="count-not_sent">'
        r'<span class="count-n">(\d+)</span><span class="count-label">([^<]+)</span>',
        html,
    )
    assert tile and tile.groups() == ("3", "No enviado")
    assert "status-approved" not in html  # no green for records that were not sent
    assert "Por qué no se enviaron registros: No se pudo contactar a Artu." in html
    assert "No enviado: No se pudo contactar a Artu. El registro vuelve a estar aprobado" in html
    assert "ConnectError" not in html and "could not be reached" not in html
    assert "Reintentar los 3 registros no enviados" in html
    listed = page_text(client, f"{url}?outcome=not_sent", "es-mx")
    assert all(f"/records/{r.pk}/" in listed for r in records)
    assert "/records/" not in page_text(client, f"{url}?outcome=created", "es-mx").split('id="records"')[1]

    html = page_text(client, url, "en")
    assert "Not sent: Artu could not be reached. The record is approved again" in html
    assert "Retry the 3 records not sent" in html


def test_history_and_audit_say_not_sent_not_refused(unreachable, oficial, auditor, settings, client_as):
    submission, records = given_up_unreachable(oficial, settings, n=1)
    client = client_as(oficial)
    html = page_text(client, reverse("records:detail", args=[records[0].pk]), "es-mx")
    assert "Registro no enviado a Artu" in html and "No enviado a Artu" in html
    assert "Registro rechazado por Artu" not in html and "Artu rechazó este registro" not in html
    assert "ConnectError" not in html
    html = page_text(client_as(auditor), reverse("audit:log") + "?action=record.not_sent", "es-mx")
    assert "Registro no enviado a Artu" in html


def test_retrying_the_not_sent_records_starts_an_audited_submission_of_them_only(
    unreachable, oficial, settings, client_as, django_capture_on_commit_callbacks
):
    submission, records = given_up_unreachable(oficial, settings)
    ClientRecord.objects.filter(pk=records[0].pk).update(status=RecordStatus.IN_REVIEW)  # changed since: stays out
    settings.ARTU_API_URL = unreachable.url  # Artu is back

    with django_capture_on_commit_callbacks(execute=True):
        response = client_as(oficial).post(
            reverse("submissions:again", args=[submission.pk]), {"outcome": "not_sent", "token": "again-1"}
        )
    again = Submission.objects.exclude(pk=submission.pk).get()
    assert response["Location"] == reverse("submissions:detail", args=[again.pk])
    assert again.record_count == 2 and again.environment == "test"
    started = AuditEvent.objects.get(action=AuditAction.SUBMISSION_STARTED, submission_id=again.pk)
    assert started.actor == oficial
    assert {"from_submission": submission.pk, "outcome": "not_sent"}.items() <= started.changes["scope"].items()
    assert sorted(started.changes["records"]) == sorted(r.pk for r in records[1:])

    assert submission_run(again.pk, concurrency=1).created_count == 2
    assert len(unreachable.clients("test")) == 2
    html = page_text(client_as(oficial), reverse("submissions:detail", args=[submission.pk]), "en")
    assert f'href="{reverse("submissions:detail", args=[again.pk])}"' in html  # where they went
    assert "Retry the" not in html  # nothing left to retry


def test_a_double_click_on_retry_starts_one_submission(unreachable, oficial, settings, client_as):
    submission, _ = given_up_unreachable(oficial, settings)
    client = client_as(oficial)
    for _ in range(2):
        client.post(reverse("submissions:again", args=[submission.pk]), {"outcome": "not_sent", "token": "tok"})
    assert Submission.objects.count() == 2


def test_resubmitting_the_others_leaves_the_refused_record_out(artu, oficial, client_as, fast_retries):  # noqa: F811
    good = approved(3)
    bad = approved(1, nationalities="XXX", name="Rosa", last_name="Ávila")[0]
    submission = start_and_run(oficial, atomic=True)
    progress = submission_progress(submission)
    assert (progress["failed"], progress["not_created"], progress["not_sent"]) == (1, 3, 0)
    events = AuditEvent.objects.filter(submission_id=submission.pk, record__isnull=False)
    assert sorted(events.values_list("action", flat=True)) == sorted(
        [AuditAction.RECORD_SUBMISSION_FAILED] + [AuditAction.RECORD_NOT_CREATED] * 3
    )

    client = client_as(oficial)
    html = page_text(client, reverse("submissions:detail", args=[submission.pk]), "en")
    assert "Resubmit the 3 others, without the refused ones" in html
    client.post(reverse("submissions:again", args=[submission.pk]), {"outcome": "not_created", "token": "t2"})
    again = Submission.objects.exclude(pk=submission.pk).get()
    assert again.atomic and again.record_count == 3
    assert set(ClientRecord.objects.filter(batch__submission=again).values_list("pk", flat=True)) == {
        r.pk for r in good
    }
    assert submission_run(again.pk, concurrency=1).created_count == 3
    bad.refresh_from_db()
    assert bad.status == RecordStatus.FAILED


def test_each_record_of_an_atomic_refusal_says_its_own_part_on_the_submission_page(
    artu,
    oficial,
    client_as,
    fast_retries,  # noqa: F811
):
    sibling = approved(1)[0]
    bad = approved(1, nationalities="XXX", name="Rosa", last_name="Ávila")[0]
    submission = start_and_run(oficial, atomic=True)
    client = client_as(oficial)
    url = reverse("submissions:detail", args=[submission.pk])

    html = page_text(client, url, "es-mx")
    rows = dict(re.findall(r'<tr id="record-(\d+)">(.*?)</tr>', html))
    link = f'<a href="{reverse("records:detail", args=[bad.pk])}">Rosa Ávila</a>'
    assert f"No se creó: Artu rechazó el registro {link} del mismo lote." in rows[str(sibling.pk)]
    assert "Nacionalidades" in rows[str(bad.pk)] and "Expected an ISO 3166-1 alpha-2 code" in rows[str(bad.pk)]
    assert "Expected an ISO" not in rows[str(sibling.pk)]  # never the other record's message as its own
    assert 'class="badge outcome-not_created"' in rows[str(sibling.pk)]
    assert 'class="badge outcome-refused"' in rows[str(bad.pk)]


def test_sending_again_to_live_needs_the_live_role_and_the_word(artu, oficial, oficial_live, settings, client_as):
    settings.ARTU_API_KEY = "sk_test_wrong"  # the key is refused: nothing created, every record not sent
    approved(2)
    submission = start_and_run(oficial_live, environment="live", confirmation="LIVE")
    assert submission_progress(submission)["not_sent"] == 2
    settings.ARTU_API_KEY = artu.token
    url = reverse("submissions:again", args=[submission.pk])

    assert client_as(oficial).post(url, {"outcome": "not_sent", "token": "a"}).status_code == 403
    client = client_as(oficial_live)
    client.post(url, {"outcome": "not_sent", "token": "b", "confirmation": "live"})
    assert Submission.objects.count() == 1  # lower case is not the word
    client.post(url, {"outcome": "not_sent", "token": "c", "confirmation": "LIVE"})
    again = Submission.objects.exclude(pk=submission.pk).get()
    assert again.environment == "live" and again.created_by == oficial_live


def test_only_records_not_created_can_be_sent_again(artu, oficial, client_as, fast_retries):  # noqa: F811
    approved(1)
    submission = start_and_run(oficial)
    client_as(oficial).post(reverse("submissions:again", args=[submission.pk]), {"outcome": "created"})
    assert Submission.objects.count() == 1


def test_the_home_page_counts_the_records_to_send_again_and_links_to_them(unreachable, oficial, settings, client_as):
    submission, _ = given_up_unreachable(oficial, settings, n=2)
    html = page_text(client_as(oficial), reverse("home"), "es-mx")
    detail = reverse("submissions:detail", args=[submission.pk])
    assert re.search(
        rf'<a href="{detail}" id="home-send-again"><span class="home-n">2</span> registros no enviados a Artu', html
    )
    assert f'<a class="badge outcome-not_sent" href="{detail}#progress">2 por enviar de nuevo</a>' in html


@pytest.mark.parametrize("outcome", RecordOutcome.values)
def test_every_outcome_tab_lists_only_its_records(artu, oficial, client_as, fast_retries, outcome):  # noqa: F811
    approved(1)
    bad = approved(1, nationalities="XXX")[0]
    submission = start_and_run(oficial, atomic=True)
    html = page_text(
        client_as(oficial), reverse("submissions:detail", args=[submission.pk]) + f"?outcome={outcome}", "en"
    )
    rows = re.findall(r'<tr id="record-(\d+)">', html)
    expected = {"refused": [str(bad.pk)], "not_created": [str(bad.pk - 1)]}.get(outcome, [])
    assert rows == expected


def test_a_dropped_connection_is_worded_without_the_transports_name(artu, oficial, settings, client_as, fast_retries):  # noqa: F811
    """The sandbox drops every connection: the batch is given up with its records waiting (Artu may hold them)."""
    settings.ARTU_MAX_ATTEMPTS = 2
    settings.ARTU_GIVE_UP_AFTER = 0
    settings.ARTU_LOOKUP_ATTEMPTS = 2
    approved(2)
    artu.set_faults(next=[{"fault": "drop", "count": 50}])
    submission = start_and_run(oficial)

    batch = SubmissionBatch.objects.get(submission=submission)
    assert (batch.state, batch.cause) == (BatchState.GAVE_UP, SendCause.NO_ANSWER)
    html = page_text(client_as(oficial), reverse("submissions:detail", args=[submission.pk]), "es-mx")
    assert "Artu no respondió a tiempo, o se cortó la conexión" in html
    assert "Verificar con Artu y continuar" in html
    assert not re.search(r"\((RemoteProtocolError|ReadError|ConnectError|ReadTimeout)\)", html)
    assert "Reintentar" not in html  # waiting records are looked up first, never blindly sent again


@pytest.mark.parametrize(
    ("status", "cause"),
    [
        (None, SendCause.UNREACHABLE),
        (429, SendCause.RATE_LIMITED),
        (503, SendCause.SERVER_ERROR),
        (401, SendCause.KEY_REFUSED),
        (403, SendCause.KEY_FORBIDDEN),
        (422, SendCause.REFUSED),
    ],
)
def test_each_failure_has_its_cause(artu, status, cause):
    if status is None:
        client = ArtuClient(base_url=f"http://127.0.0.1:{free_port()}", connect_timeout=0.5)
    else:
        answer = httpx.Response(status, json={"error": {"message": "no"}}, headers={"Retry-After": "1"})
        client = ArtuClient(base_url="https://api.artu.test", transport=httpx.MockTransport(lambda request: answer))
    with client, pytest.raises(ArtuError) as raised:
        client.create_clients([{"name": "x"}])
    assert error_cause(raised.value) == cause


def test_the_failed_tab_counts_and_lists_every_record_not_created(unreachable, oficial, settings, client_as):
    submission, records = given_up_unreachable(oficial, settings)
    url = reverse("submissions:detail", args=[submission.pk])
    html = page_text(client_as(oficial), url, "es-mx")
    assert re.search(
        r'href="\?outcome=failed#records" class="tab-failed"[^>]*>Fallido <span class="count">3</span>', html
    )
    html = page_text(client_as(oficial), f"{url}?outcome=failed", "es-mx")
    assert re.findall(r'<tr id="record-(\d+)">', html) == [str(r.pk) for r in records]


def test_a_refused_record_corrected_and_approved_since_is_not_counted_as_not_sent(artu, oficial, fast_retries):  # noqa: F811
    bad = approved(1, nationalities="XXX")[0]
    submission = start_and_run(oficial)
    ClientRecord.objects.filter(pk=bad.pk).update(status=RecordStatus.APPROVED, nationalities="MX")  # as corrected

    progress = submission_progress(submission)
    assert (progress["failed"], progress["not_sent"], progress["elsewhere"]) == (0, 0, 1)
    assert home_send_again().count == 0


def test_the_list_of_submissions_counts_the_records_not_created_and_links_to_them(
    unreachable, oficial, settings, client_as
):
    submission, _ = given_up_unreachable(oficial, settings, n=2)
    html = page_text(client_as(oficial), reverse("submissions:list"), "es-mx")
    detail = reverse("submissions:detail", args=[submission.pk])
    assert "<th>No creados</th>" in html
    assert f'<a class="badge outcome-not_sent" href="{detail}?outcome=failed#records">2</a>' in html
