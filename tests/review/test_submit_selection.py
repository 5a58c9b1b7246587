"""From the review queue to Artu: the ticked rows, or every record of the queue's filter, go to the submission page,
which counts the approved ones before anything is sent, and sends only those."""

import re

import pytest
from django.urls import reverse
from django.utils.http import urlencode

from onboarding.models import AuditAction, AuditEvent, ClientRecord, RecordStatus, Submission
from tests.factories import ClientRecordFactory


@pytest.fixture(autouse=True)
def english(settings):
    settings.LANGUAGE_CODE = "en"


def text(response) -> str:
    return " ".join(response.content.decode().split())


def test_the_queue_offers_the_officer_to_submit_the_selection(client_as, oficial, auditor):
    ClientRecordFactory(status=RecordStatus.APPROVED)
    html = text(client_as(oficial).get(reverse("review:queue")))
    assert f'formaction="{reverse("submissions:from-queue")}" id="bulk-submit"' in html
    assert "bulk-submit" not in text(client_as(auditor).get(reverse("review:queue")))


def test_ticked_rows_reach_the_submission_page_which_counts_the_approved_ones(client_as, oficial):
    ready = ClientRecordFactory.create_batch(2, status=RecordStatus.APPROVED)
    waiting = ClientRecordFactory(status=RecordStatus.IN_REVIEW)
    ClientRecordFactory(status=RecordStatus.APPROVED)  # approved, but not ticked
    client = client_as(oficial)
    ticked = [r.pk for r in (*ready, waiting)]

    response = client.post(reverse("submissions:from-queue"), {"scope": "selected", "ids": ticked, "status": ""})
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('submissions:create')}?{urlencode({'ids': ','.join(map(str, ticked))})}"
    html = text(client.get(response["Location"]))
    assert re.search(r'<input type="radio" name="what" value="selection" [^>]*checked', html)
    assert "2 approved records will be sent in 1 batch." in html
    assert "2 of the 3 records selected are approved; only approved records are sent." in html

    form = {"what": "selection", "ids": ",".join(map(str, ticked)), "environment": "test", "atomic": "on"}
    client.post(reverse("submissions:create"), form | {"token": "sel-1"})
    submission = Submission.objects.get()
    assert set(ClientRecord.objects.filter(batch__submission=submission).values_list("pk", flat=True)) == {
        r.pk for r in ready
    }
    started = AuditEvent.objects.get(action=AuditAction.SUBMISSION_STARTED)
    assert started.changes["scope"]["record_ids"] == ticked and started.actor == oficial


def test_the_queues_filter_reaches_the_submission_page_named_and_counted(client_as, oficial):
    mine = ClientRecordFactory.create_batch(3, status=RecordStatus.APPROVED, external_id="SUC-7")
    ClientRecordFactory(status=RecordStatus.APPROVED, external_id="OTRA-1")
    ClientRecordFactory(status=RecordStatus.IN_REVIEW, external_id="SUC-8")
    client = client_as(oficial)

    response = client.post(reverse("submissions:from-queue"), {"scope": "filter", "q": "SUC", "ids": [mine[0].pk]})
    assert response["Location"] == f"{reverse('submissions:create')}?what=filter&f-q=SUC"
    html = text(client.get(response["Location"]))
    assert 'The review queue\'s filter: <span class="active-filter">Search: <strong>“SUC”</strong>' in html
    assert "3 approved records will be sent in 1 batch." in html
    assert f'href="{reverse("review:queue")}?q=SUC"' in html  # back to the same filter

    form = {"what": "filter", "f-q": "SUC", "environment": "test", "atomic": "on", "token": "flt-1"}
    assert client.post(reverse("submissions:create"), form).status_code == 302
    submission = Submission.objects.get()
    assert submission.record_count == 3 and submission.scope["queue_filter"] == {"q": "SUC"}
    assert set(ClientRecord.objects.filter(batch__submission=submission).values_list("pk", flat=True)) == {
        r.pk for r in mine
    }


def test_nothing_ticked_goes_back_to_the_queue_with_its_filter_and_a_message(client_as, oficial):
    response = client_as(oficial).post(reverse("submissions:from-queue"), {"scope": "selected", "status": "approved"})
    assert response["Location"] == f"{reverse('review:queue')}?status=approved"
    html = text(client_as(oficial).get(response["Location"]))
    assert "Tick at least one record, or choose every record matching the filter." in html


def test_the_selection_choice_is_no_dead_end(client_as, oficial):
    html = text(client_as(oficial).get(reverse("submissions:create")))
    assert f'<a href="{reverse("review:queue")}">Select records in the review queue</a>' in html


def test_only_an_officer_who_may_submit_reaches_the_submission_page_from_the_queue(client_as, capturista, auditor):
    for user in (capturista, auditor):
        assert client_as(user).post(reverse("submissions:from-queue"), {"scope": "filter"}).status_code == 403
