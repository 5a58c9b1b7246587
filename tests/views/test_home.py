"""The home page says what waits for the person signed in, by role, in a fixed number of queries."""

import datetime
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse
from django.utils import timezone

from onboarding.models import ClientRecord, RecordStatus, Submission, SubmissionStatus, Upload, UploadStatus
from onboarding.services.audit import audit_chain_verify_and_record
from onboarding.services.records import record_create
from onboarding.services.review import record_duplicate_keep, record_send_back
from tests.factories import ClientRecordFactory, UserFactory, person_identifiers
from tests.review.test_duplicates import person_data

pytestmark = pytest.mark.django_db


def staged_days_ago(days: int, **fields) -> ClientRecord:
    record = ClientRecordFactory(**fields)
    when = timezone.now() - datetime.timedelta(days=days)
    ClientRecord.objects.filter(pk=record.pk).update(created_at=when)
    record.created_at = when
    return record


def section(html: str, section_id: str) -> str:
    start = html.index(f'id="{section_id}"')
    return html[start : html.index("</section>", start)]


def link_params(html: str, anchor_id: str) -> dict[str, list[str]]:
    href = re.search(rf'<a href="([^"]+)" id="{anchor_id}"', html).group(1).replace("&amp;", "&")
    assert urlsplit(href).path == reverse("review:queue")
    return parse_qs(urlsplit(href).query)


def queue_shows(client, href: str) -> set[int]:
    html = client.get(href.replace("&amp;", "&")).text
    return {int(pk) for pk in re.findall(r'<tr id="record-(\d+)" class="review-row', html)}


@pytest.fixture
def officer_world(capturista):
    """Records in review of several ages, one with warnings, one duplicate, one refused by Artu."""
    return {
        "today": staged_days_ago(0, created_by=capturista),
        "two_days": staged_days_ago(2, created_by=capturista),
        "five_days": staged_days_ago(5, created_by=capturista, warning_count=1, warnings_acknowledged=False),
        "old": staged_days_ago(12, created_by=capturista, duplicate_field="rfc"),
        "failed": staged_days_ago(3, created_by=capturista, status=RecordStatus.FAILED),
        "approved": staged_days_ago(1, created_by=capturista, status=RecordStatus.APPROVED),
    }


def test_an_officer_sees_records_in_review_by_age_oldest_first(client_as, oficial, officer_world):
    html = client_as(oficial).get(reverse("home")).text
    review = section(html, "home-review")
    counts = [int(n) for n in re.findall(r'<span class="age-n">(\d+)</span>', review)]
    assert counts == [1, 1, 1, 1]  # today, 1–2 days, 3–6 days, a week or more
    names = re.findall(r'href="/records/(\d+)/"', review)
    assert [int(pk) for pk in names][:2] == [officer_world["old"].pk, officer_world["five_days"].pk]


def test_each_age_bucket_opens_the_queue_on_exactly_its_records(client_as, oficial, officer_world):
    client = client_as(oficial)
    review = section(client.get(reverse("home")).text, "home-review")
    hrefs = re.findall(r'<a href="([^"]+)" class="age-bucket', review)
    expected = [{"today"}, {"two_days"}, {"five_days"}, {"old"}]
    for href, keys in zip(hrefs, expected, strict=True):
        assert queue_shows(client, href) == {officer_world[k].pk for k in keys}, href


def test_warnings_duplicates_and_failures_link_to_the_filtered_queue(client_as, oficial, officer_world):
    client = client_as(oficial)
    html = client.get(reverse("home")).text
    assert link_params(html, "home-warnings") == {"status": ["in_review"], "warnings": ["unacknowledged"]}
    assert link_params(html, "home-duplicates") == {"status": ["in_review"], "duplicate": ["yes"]}
    assert link_params(html, "home-failed") == {"status": ["failed"]}
    checks = section(html, "home-checks")
    for anchor, key in (("home-warnings", "five_days"), ("home-duplicates", "old"), ("home-failed", "failed")):
        href = re.search(rf'<a href="([^"]+)" id="{anchor}"', checks).group(1)
        assert queue_shows(client, href) == {officer_world[key].pk}


def alone() -> dict:
    """Another person: a name, birth date, RFC and CURP of her own."""
    born = datetime.date(1990, 7, 2)
    rfc, curp = person_identifiers("ANA", "PEREZ", "GOMEZ", born, sex="M")
    return {"name": "Ana", "last_name": "Pérez Gómez", "birth_date": born, "rfc": rfc, "curp": curp}


def test_duplicate_pairs_open_their_side_by_side_comparison(client_as, oficial, capturista):
    first = record_create(actor=capturista, data=person_data(external_id="SUC-0001"))
    second = record_create(actor=capturista, data=person_data(external_id="SUC-0417", name="Jorge Alberto"))
    third = record_create(actor=capturista, data=person_data(**alone(), external_id="SUC-0417"))
    client = client_as(oficial)
    client.cookies["django_language"] = "en"
    checks = section(client.get(reverse("home")).text, "home-checks")
    pairs = re.findall(r'<a href="/review/duplicates/(\d+)/(\d+)/">([^<]+)</a>', checks)
    assert [(int(a), int(b)) for a, b, _name in pairs] == [(first.pk, second.pk), (second.pk, third.pk)]
    assert pairs[0][2] == "Jorge Hernández López and Jorge Alberto Hernández López"
    assert "RFC in common: #" in checks and "External id in common: #" in checks
    comparison = client.get(f"/review/duplicates/{first.pk}/{second.pk}/")
    assert comparison.status_code == 200 and f"Keep #{first.pk}" in comparison.text
    record_duplicate_keep(actor=oficial, record_id=first.pk, other_id=second.pk, comment="Misma persona.", version=None)
    assert "/review/duplicates/" not in section(client.get(reverse("home")).text, "home-checks")


def test_an_officer_sees_failed_and_stalled_submissions(client_as, oficial, settings):
    now = timezone.now()
    failed = Submission.objects.create(
        environment="test", created_by=oficial, status=SubmissionStatus.FINISHED_WITH_FAILURES, finished_at=now
    )
    stalled = Submission.objects.create(environment="test", created_by=oficial, status=SubmissionStatus.RUNNING)
    Submission.objects.filter(pk=stalled.pk).update(created_at=now - datetime.timedelta(hours=2))
    Submission.objects.filter(pk=stalled.pk).update(started_at=now - datetime.timedelta(hours=2))
    running = Submission.objects.create(environment="test", created_by=oficial, status=SubmissionStatus.RUNNING)
    Submission.objects.filter(pk=running.pk).update(started_at=now)
    done = Submission.objects.create(environment="test", created_by=oficial, status=SubmissionStatus.FINISHED)
    attention = section(client_as(oficial).get(reverse("home")).text, "home-checks")
    for submission in (failed, stalled):
        assert reverse("submissions:detail", args=[submission.pk]) in attention
    for submission in (running, done):
        assert reverse("submissions:detail", args=[submission.pk]) not in attention


def test_data_entry_sees_their_drafts_sent_back_with_the_reasons(client_as, capturista, capturista2, oficial):
    mine = ClientRecordFactory(created_by=capturista)
    theirs = ClientRecordFactory(created_by=capturista2)
    record_send_back(actor=oficial, record_id=mine.pk, comment="Adjunte la CURP correcta")
    record_send_back(actor=oficial, record_id=theirs.pk, comment="Otro motivo")
    html = client_as(capturista).get(reverse("home")).text
    sent_back = section(html, "home-sent-back")
    assert "Adjunte la CURP correcta" in sent_back and "oficial" in sent_back
    assert reverse("records:detail", args=[mine.pk]) in sent_back and "Otro motivo" not in sent_back
    assert 'id="home-review"' not in html  # data entry reviews nothing


def test_data_entry_sees_their_uploads_in_progress(client_as, capturista, capturista2):
    waiting = Upload.objects.create(
        original_name="sucursal-norte.csv", created_by=capturista, format="csv", status=UploadStatus.MAPPING
    )
    Upload.objects.create(original_name="listo.csv", created_by=capturista, format="csv", status=UploadStatus.STAGED)
    Upload.objects.create(original_name="ajeno.csv", created_by=capturista2, format="csv", status=UploadStatus.QUEUED)
    mine = section(client_as(capturista).get(reverse("home")).text, "home-my-uploads")
    assert "sucursal-norte.csv" in mine and reverse("uploads:detail", args=[waiting.pk]) in mine
    assert "listo.csv" not in mine and "ajeno.csv" not in mine


def test_an_auditor_sees_the_last_verification_and_its_anchor(client_as, auditor, capturista):
    ClientRecordFactory(created_by=capturista)
    report = audit_chain_verify_and_record(actor=auditor)
    html = client_as(auditor).get(reverse("home")).text
    audit = section(html, "home-audit")
    assert f"{report.head_seq}:{report.head_hash}" in audit
    assert 'id="home-review"' not in html and 'id="home-sent-back"' not in html


def test_an_auditor_is_told_when_the_chain_was_never_verified(client_as, auditor):
    client = client_as(auditor)
    client.cookies["django_language"] = "en"
    audit = section(client.get(reverse("home")).text, "home-audit")
    assert "has not been verified yet" in audit and reverse("audit:log") in audit


def test_the_chart_counts_records_staged_per_day_by_status_with_a_table(client_as, oficial, officer_world):
    html = client_as(oficial).get(reverse("home")).text
    chart = section(html, "home-chart")
    assert 'role="img"' in chart and "<table" in chart
    assert chart.count('class="seg seg-') == 6  # one segment per (day, status) with records
    today = timezone.localdate()
    row = chart[chart.index(today.strftime("%d/%m/%Y") + "</a>") :].split("</tr>")[0]
    assert re.findall(r"<td>(\d+)</td>", row)[-1] == "1"
    legend = re.search(r'<a href="([^"]+)">[^<]*: 4</a>', chart)  # four in review over the 30 days
    assert legend and "status=in_review" in legend.group(1)


def test_the_recent_uploads_and_submissions_of_the_last_days(client_as, oficial, capturista):
    Upload.objects.create(original_name="hoy.csv", created_by=capturista, format="csv", status=UploadStatus.STAGED)
    old = Upload.objects.create(original_name="viejo.csv", created_by=capturista, format="csv")
    Upload.objects.filter(pk=old.pk).update(created_at=timezone.now() - datetime.timedelta(days=20))
    Submission.objects.create(environment="test", created_by=oficial, status=SubmissionStatus.FINISHED)
    recent = section(client_as(oficial).get(reverse("home")).text, "home-recent")
    assert "hoy.csv" in recent and "viejo.csv" not in recent
    assert "/submissions/" in recent


@pytest.mark.parametrize("role", ["oficial", "capturista", "auditor", "admin_user"])
def test_the_home_page_costs_the_same_queries_with_many_records(
    request, client_as, role, capturista, django_assert_max_num_queries
):
    user = request.getfixturevalue(role)
    client = client_as(user)
    client.get(reverse("home"))  # sessions and permission caches warmed like any later page
    with django_assert_max_num_queries(15) as few:
        assert client.get(reverse("home")).status_code == 200
    other = UserFactory(username="otra")
    for days in range(0, 40, 2):
        staged_days_ago(days, created_by=capturista)
        staged_days_ago(days, created_by=other, status=RecordStatus.APPROVED)
    for record in ClientRecord.objects.filter(created_by=capturista)[:8]:
        ClientRecord.objects.filter(pk=record.pk).update(status=RecordStatus.DRAFT, reviewed_by=other)
    for n in range(8):
        Upload.objects.create(original_name=f"f{n}.csv", created_by=capturista, format="csv")
        Submission.objects.create(environment="test", created_by=other, status=SubmissionStatus.RUNNING)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(reverse("home")).status_code == 200
