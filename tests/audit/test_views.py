"""The audit log page: who may open it, filters, htmx swaps, a fixed query count, the event page, verification."""

import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import formats, timezone

from onboarding.models import AuditAction, AuditEvent, AuditVerification, Submission
from onboarding.selectors.audit import RECENT_SUBMISSIONS
from onboarding.services.records import record_update
from tests.audit import last_seq, tamper, write
from tests.factories import ClientRecordFactory

pytestmark = pytest.mark.django_db

ROLES = ["capturista", "oficial", "oficial_live", "auditor", "admin_user", "nobody"]
READERS = {"auditor", "admin_user"}


@pytest.fixture(autouse=True)
def english(settings):
    settings.LANGUAGE_CODE = "en"


def pages():
    event = AuditEvent.objects.order_by("seq").first()
    return {
        "audit:log": reverse("audit:log"),
        "audit:export": reverse("audit:export"),
        "audit:event": reverse("audit:event", args=[event.seq]),
    }


@pytest.mark.parametrize("name", ["audit:log", "audit:export", "audit:event"])
@pytest.mark.parametrize("role", ROLES)
def test_only_auditors_and_administrators_open_the_audit_pages(request, client_as, role, name):
    user = request.getfixturevalue(role)
    response = client_as(user).get(pages()[name])
    assert response.status_code == (200 if role in READERS else 403)


def test_the_audit_pages_ask_for_a_login(client, roles):
    for url in pages().values():
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"]


@pytest.mark.parametrize("name", ["audit:log", "audit:export", "audit:event"])
@pytest.mark.parametrize("role", ROLES)
def test_no_role_can_post_to_the_audit_pages(request, client_as, role, name):
    client = client_as(request.getfixturevalue(role))
    before = AuditEvent.objects.count()
    response = client.post(pages()[name], {"reason": "x", "action": "x"})
    assert response.status_code in (403, 405)
    assert AuditEvent.objects.count() == before


def test_a_row_shows_time_actor_role_action_target_and_changes(client_as, oficial, auditor):
    record = ClientRecordFactory(name="Maria")
    record_update(actor=oficial, record_id=record.pk, version=1, data={"name": "Mariana"}, reason="typo")
    event = AuditEvent.objects.get(action=AuditAction.RECORD_UPDATED)
    html = client_as(auditor).get(reverse("audit:log")).content.decode()
    row = html[html.index(f'id="event-{event.seq}"') :].split("</tr>")[0]
    assert "oficial" in row and "Compliance officer" in row
    assert "Record changed" in row
    assert reverse("records:detail", args=[record.pk]) in row
    assert "<del>Maria</del> → <ins>Mariana</ins>" in row
    assert "typo" in row
    assert timezone.localtime(event.created_at).strftime("%d/%m/%Y %H:%M:%S") in row


def test_ip_address_and_request_id_of_the_request_are_shown(client, client_as, capturista, auditor):
    client.post(
        reverse("login"),
        {"username": "capturista", "password": "a-long-test-password"},
        HTTP_X_REQUEST_ID="req-7c1d",
        REMOTE_ADDR="10.1.2.3",
    )
    event = AuditEvent.objects.get(action=AuditAction.LOGIN)
    html = client_as(auditor).get(reverse("audit:log"), {"action": AuditAction.LOGIN}).content.decode()
    row = html[html.index(f'id="event-{event.seq}"') :].split("</tr>")[0]
    assert "10.1.2.3" in row and "req-7c1d" in row and "Signed in" in row


def test_times_are_shown_in_the_local_time_zone(client_as, auditor, settings, monkeypatch):
    settings.TIME_ZONE = "America/Mexico_City"
    instant = datetime.datetime(2026, 3, 11, 5, 30, tzinfo=datetime.UTC)
    monkeypatch.setattr(timezone, "now", lambda: instant)
    write(auditor)
    monkeypatch.undo()
    html = client_as(auditor).get(reverse("audit:log")).content.decode()
    assert "10/03/2026 23:30:00" in html


def _events_on(day: datetime.date, monkeypatch, **fields) -> AuditEvent:
    # 23:30 local time: already the next day in UTC, so a UTC-based filter would put it on the wrong day.
    local = timezone.make_aware(datetime.datetime.combine(day, datetime.time(23, 30)))
    monkeypatch.setattr(timezone, "now", lambda: local)
    event = write(**fields)
    monkeypatch.undo()
    return event


def shown(client, **params) -> set[int]:
    html = client.get(reverse("audit:log"), params).content.decode()
    return {e.seq for e in AuditEvent.objects.all() if f'id="event-{e.seq}"' in html}


def test_filters_narrow_the_log(client_as, auditor, capturista, oficial, monkeypatch):
    client = client_as(auditor)
    record = ClientRecordFactory()
    by_record = write(oficial, record_id=record.pk)
    by_upload = write(capturista, action=AuditAction.UPLOAD_STAGED, upload_id=41)
    by_submission = write(oficial, action=AuditAction.SUBMISSION_STARTED, submission_id=77)
    early = _events_on(datetime.date(2026, 3, 10), monkeypatch, reason="early")
    late = _events_on(datetime.date(2026, 3, 12), monkeypatch, reason="late")
    params = {"per_page": 200}
    assert shown(client, actor="OFICIAL", **params) == {by_record.seq, by_submission.seq}
    assert shown(client, action=AuditAction.UPLOAD_STAGED, **params) == {by_upload.seq}
    assert shown(client, record=str(record.pk), **params) == {by_record.seq}
    assert shown(client, record=str(record.uuid), **params) == {by_record.seq}
    assert shown(client, upload=41, **params) == {by_upload.seq}
    assert shown(client, submission=77, **params) == {by_submission.seq}
    assert shown(client, date_from="2026-03-10", date_to="2026-03-10", **params) == {early.seq}
    assert shown(client, date_from="2026-03-11", date_to="2026-03-12", **params) == {late.seq}


@pytest.mark.parametrize(
    "params", [{"record": "a\x1bb"}, {"date_from": "2026-03-12", "date_to": "2026-03-10"}, {"upload": "x"}]
)
def test_invalid_filters_say_what_is_wrong_and_show_nothing(client_as, auditor, params):
    response = client_as(auditor).get(reverse("audit:log"), params)
    assert response.status_code == 422
    html = response.content.decode()
    assert 'class="form-errors"' in html and "No events match" in html


def test_a_record_is_found_by_its_external_id_rfc_curp_or_name(client_as, auditor, oficial):
    client = client_as(auditor)
    sofia = ClientRecordFactory(name="Sofía", last_name="Olvera Íñiguez", external_id="SUC01-778")
    other = ClientRecordFactory(name="Sofía", last_name="Núñez Peña", external_id="SUC02-778")
    hers, theirs = write(oficial, record_id=sofia.pk), write(oficial, record_id=other.pk)
    assert shown(client, record="SUC01-778") == {hers.seq}
    assert shown(client, record=sofia.rfc.lower()) == {hers.seq}
    assert shown(client, record=sofia.curp[:10]) == {hers.seq}
    assert shown(client, record="sofia iniguez") == {hers.seq}  # the queue's search: no accents, no case
    assert shown(client, record="SOFÍA") == {hers.seq, theirs.seq}
    assert shown(client, record="sofia ruiz") == set()


def test_a_number_is_the_record_number_or_a_whole_external_id(client_as, auditor, oficial):
    client = client_as(auditor)
    first = ClientRecordFactory(external_id="X-1")
    numbered = ClientRecordFactory(external_id="1234567890123456789012")  # wider than any record number
    by_number = ClientRecordFactory(external_id=str(first.pk * 10))  # starts with the first one's number
    events = {r.pk: write(oficial, record_id=r.pk).seq for r in (first, numbered, by_number)}
    assert shown(client, record=str(first.pk)) == {events[first.pk]}
    assert shown(client, record=str(first.pk * 10)) == {events[by_number.pk]}
    assert shown(client, record="1234567890123456789012") == {events[numbered.pk]}


def test_the_user_filter_lists_the_users_in_the_log(client_as, auditor, oficial, capturista):
    write(oficial)
    oficial.first_name, oficial.last_name = "Óscar", "Peña"
    oficial.save()
    html = client_as(auditor).get(reverse("audit:log")).content.decode()
    select = html[html.index('<select name="actor"') :].split("</select>")[0]
    # capturista has no event; the auditor signed in (client_as), which is an event of theirs.
    assert re.findall(r'<option value="([^"]*)"', select) == ["", "auditor", "oficial"]
    assert "oficial (Óscar Peña)" in select
    assert '<option value="" selected>Anyone</option>' in select


def submission_options(html: str) -> list[tuple[str, str, bool]]:
    """(value, label, selected) of each option of the submission filter."""
    select = re.search(r'<select name="submission"[^>]*>(.*?)</select>', html, flags=re.S)
    assert select, "the submission filter is not a list"
    found = re.findall(r'<option value="([^"]*)"( selected)?>(.*?)</option>', select[1])
    return [(value, label.strip(), bool(selected)) for value, selected, label in found]


def started(user, environment: str = "test", days_ago: int = 0) -> Submission:
    submission = Submission.objects.create(environment=environment, created_by=user)
    when = timezone.now() - datetime.timedelta(days=days_ago)
    Submission.objects.filter(pk=submission.pk).update(created_at=when)
    return Submission.objects.get(pk=submission.pk)


def test_the_submission_filter_lists_recent_submissions_with_environment_date_and_user(client_as, auditor, oficial):
    older = started(oficial, days_ago=3)
    newer = started(oficial, environment="live")
    listed = submission_options(client_as(auditor).get(reverse("audit:log")).content.decode())
    assert [value for value, _label, _selected in listed] == ["", str(newer.pk), str(older.pk)]
    assert listed[0][1:] == ("Any", True)
    when = formats.date_format(timezone.localtime(older.created_at), "SHORT_DATETIME_FORMAT")
    assert listed[2][1] == f"#{older.pk} · Test · {when} · oficial"
    assert listed[1][1].startswith(f"#{newer.pk} · Live · ")


def test_a_submission_older_than_the_list_stays_picked_when_it_is_the_filter(client_as, auditor, oficial):
    oldest = started(oficial, days_ago=90)
    for _ in range(RECENT_SUBMISSIONS):
        started(oficial, days_ago=1)
    by_oldest = write(oficial, action=AuditAction.SUBMISSION_STARTED, submission_id=oldest.pk)
    write(oficial, action=AuditAction.SUBMISSION_STARTED, submission_id=oldest.pk + 1)
    client = client_as(auditor)
    assert str(oldest.pk) not in [value for value, *_ in submission_options(client.get(reverse("audit:log")).text)]
    html = client.get(reverse("audit:log"), {"submission": oldest.pk}).content.decode()
    assert submission_options(html)[-1][::2] == (str(oldest.pk), True)
    assert shown(client, submission=oldest.pk) == {by_oldest.seq}


def test_changing_a_filter_with_htmx_swaps_only_the_table(client_as, auditor):
    response = client_as(auditor).get(
        reverse("audit:log"), {"action": AuditAction.LOGIN}, headers={"HX-Request": "true"}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="audit-table"')
    assert "<html" not in html and 'id="audit-integrity"' not in html
    assert "HX-Request" in response["Vary"]


def test_the_export_link_carries_the_filters_but_not_the_page(client_as, auditor):
    html = client_as(auditor).get(reverse("audit:log"), {"action": AuditAction.LOGIN, "page": 1}).content.decode()
    assert f'href="{reverse("audit:export")}?action=auth.login"' in html


def _fill(n: int, users, records) -> None:
    for i in range(n):
        user, record = users[i % len(users)], records[i % len(records)]
        write(user, record_id=record.pk, changes={"name": [f"a{i}", f"b{i}"]}, reason=f"r{i}")


def test_the_log_costs_the_same_number_of_queries_at_10_and_at_60_rows(client_as, auditor, capturista, oficial):
    client = client_as(auditor)
    users, records = [capturista, oficial, auditor], ClientRecordFactory.create_batch(3)
    client.get(reverse("audit:log"))  # the first request after sign-in loads the session and permissions

    def queries(expected_rows: int) -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(reverse("audit:log"), {"action": AuditAction.RECORD_UPDATED, "per_page": 200})
        assert response.content.decode().count('<tr id="event-') == expected_rows
        return len(ctx.captured_queries)

    _fill(10, users, records)
    at_10 = queries(10)
    _fill(50, users, records)
    assert queries(60) == at_10


def test_the_log_stays_within_a_small_query_budget(client_as, auditor, capturista, django_assert_max_num_queries):
    _fill(60, [capturista, auditor], ClientRecordFactory.create_batch(2))
    client = client_as(auditor)
    with django_assert_max_num_queries(10):
        client.get(reverse("audit:log"), {"per_page": 100})


def test_the_event_page_shows_the_full_stored_event(client_as, auditor, oficial):
    event = write(oficial, changes={"name": ["Maria", "Mariana"]}, reason="typo")
    html = client_as(auditor).get(reverse("audit:event", args=[event.seq])).content.decode()
    assert event.hash in html and event.prev_hash in html
    assert "&quot;changes&quot;: {" in html and "&quot;Mariana&quot;" in html
    assert client_as(auditor).get(reverse("audit:event", args=[event.seq + 1000])).status_code == 404


def test_the_log_shows_the_last_verification(client_as, auditor):
    html = client_as(auditor).get(reverse("audit:log")).content.decode()
    assert "has not been verified yet" in html
    AuditVerification.objects.create(ok=False, events_checked=12, first_bad_seq=7, detail="event #7 was changed")
    html = client_as(auditor).get(reverse("audit:log")).content.decode()
    assert "Broken" in html and "#7" in html and "event #7 was changed" in html


def test_an_auditor_runs_the_verification_from_the_page(client_as, auditor):
    response = client_as(auditor).post(reverse("audit:verify"))
    assert response.status_code == 302 and response["Location"] == reverse("audit:log")
    run = AuditVerification.objects.get()
    assert run.ok and run.events_checked == last_seq() - 1
    event = AuditEvent.objects.get(action=AuditAction.AUDIT_VERIFIED)
    assert event.actor == auditor
    html = client_as(auditor).get(reverse("audit:log")).content.decode()
    assert "The audit chain is intact." in html
    # The anchor to keep outside the system: the last event checked and its hash.
    checked = AuditEvent.objects.get(seq=run.events_checked)
    assert f"{checked.seq}:{checked.hash}" in html and run.head_hash == checked.hash


def test_verification_with_htmx_swaps_the_status_and_reports_a_broken_chain(client_as, auditor, capturista):
    event = write(capturista, reason="original")
    tamper("UPDATE onboarding_auditevent SET reason = 'rewritten' WHERE seq = %s", [event.seq])
    response = client_as(auditor).post(reverse("audit:verify"), headers={"HX-Request": "true"})
    html = response.content.decode()
    assert html.lstrip().startswith('<section class="card" id="audit-integrity"')
    assert "<html" not in html and "Broken" in html and f"#{event.seq}" in html


@pytest.mark.parametrize("role", ["capturista", "oficial", "nobody"])
def test_other_roles_cannot_run_the_verification(request, client_as, role):
    response = client_as(request.getfixturevalue(role)).post(reverse("audit:verify"))
    assert response.status_code == 403
    assert not AuditVerification.objects.exists()


def test_verification_refuses_get(client_as, auditor):
    assert client_as(auditor).get(reverse("audit:verify")).status_code == 405
