"""Record pages without dead ends: a sent-back draft says why and goes back to review; a stale save is re-applied."""

import json
import re

import pytest
from django.urls import reverse

from onboarding.models import DATA_FIELDS, AuditAction, AuditEvent, ClientRecord, RecordStatus
from onboarding.services.records import record_update
from onboarding.services.review import record_send_back
from tests.factories import ClientRecordFactory

pytestmark = pytest.mark.django_db
REASON = "Falta el segundo apellido; confírmelo con el cliente"


@pytest.fixture
def draft(capturista, oficial):
    record = ClientRecordFactory(created_by=capturista)
    return record_send_back(actor=oficial, record_id=record.pk, comment=REASON)


def send_to_review_url(record):
    return reverse("records:send-to-review", args=[record.pk])


def test_the_records_list_shows_why_a_draft_was_sent_back_and_offers_to_send_it_to_review(client_as, capturista, draft):
    html = client_as(capturista).get(reverse("records:list")).text
    row = html[html.index(f'id="record-{draft.pk}"') :].split("</tr>")[0]
    assert REASON in row and "oficial" in row
    assert f'action="{send_to_review_url(draft)}"' in row


def test_an_auditor_sees_the_reason_but_no_button(client_as, auditor, draft):
    html = client_as(auditor).get(reverse("records:list")).text
    row = html[html.index(f'id="record-{draft.pk}"') :].split("</tr>")[0]
    assert REASON in row and send_to_review_url(draft) not in row


def test_the_record_page_shows_the_reason_and_the_send_to_review_form(client_as, capturista, draft):
    html = client_as(capturista).get(reverse("records:detail", args=[draft.pk])).text
    card = html[html.index('id="send-to-review"') :].split("</section>")[0]
    assert REASON in card and f'action="{send_to_review_url(draft)}"' in card
    assert 'name="comment"' in card


def test_the_edit_form_of_a_draft_shows_what_to_change(client_as, capturista, draft):
    html = client_as(capturista).get(reverse("records:edit", args=[draft.pk])).text
    assert REASON in html


def test_data_entry_sends_a_draft_back_to_review_from_the_list(client_as, capturista, draft):
    back = reverse("records:list") + "?status=draft"
    response = client_as(capturista).post(send_to_review_url(draft), {"comment": "Es correcto", "next": back})
    assert response.status_code == 302 and response.url == back
    draft.refresh_from_db()
    assert draft.status == RecordStatus.IN_REVIEW
    event = AuditEvent.objects.get(action=AuditAction.RECORD_SENT_TO_REVIEW)
    assert event.actor == capturista and event.reason == "Es correcto"


def test_sending_to_review_ignores_a_next_url_elsewhere(client_as, capturista, draft):
    response = client_as(capturista).post(send_to_review_url(draft), {"next": "https://evil.example/"})
    assert response.url == reverse("records:detail", args=[draft.pk])


def test_sending_to_review_needs_a_post_and_the_change_permission(client_as, capturista, auditor, draft):
    assert client_as(capturista).get(send_to_review_url(draft)).status_code == 405
    assert client_as(auditor).post(send_to_review_url(draft)).status_code == 403
    draft.refresh_from_db()
    assert draft.status == RecordStatus.DRAFT


def test_sending_a_record_already_in_review_says_so_and_changes_nothing(client_as, capturista, draft):
    client = client_as(capturista)
    client.post(send_to_review_url(draft))
    response = client.post(send_to_review_url(draft), follow=True)
    assert AuditEvent.objects.filter(action=AuditAction.RECORD_SENT_TO_REVIEW).count() == 1
    assert [m.level_tag for m in response.context["messages"]][-1] == "error"


def test_saving_a_draft_without_changes_says_nothing_changed(client_as, capturista, draft):
    data = form_post(draft)
    response = client_as(capturista).post(reverse("records:edit", args=[draft.pk]), data, follow=True)
    text = [str(m) for m in response.context["messages"]]
    assert any("Nothing was changed" in m or "No se cambió nada" in m for m in text), text
    draft.refresh_from_db()
    assert draft.status == RecordStatus.DRAFT
    assert 'id="send-to-review"' in response.text  # and the way out is right there


# -- stale full-form saves ---------------------------------------------------------------------------------------


def form_post(record, **changes) -> dict:
    """What the edit form posts for `record` as it was opened, with `changes` typed in."""
    values = {f: getattr(record, f) for f in DATA_FIELDS} | changes
    data = {}
    for name, value in values.items():
        if isinstance(value, bool):
            if value:
                data[name] = "on"
        elif name == "birth_date":
            data[name] = value.strftime("%d/%m/%Y") if value else ""
        elif name in ("metadata", "us_scope_data"):
            data[name] = "" if value in (None, {}) else json.dumps(value)
        elif name == "scopes":
            data[name] = list(value)
        else:
            data[name] = value or ""
    data["version"] = record.version
    return data


@pytest.fixture
def opened(capturista):
    return ClientRecordFactory(created_by=capturista, name="Ana", middle_name="", external_id="CLI-1")


def edit(client, record, data):
    return client.post(reverse("records:edit", args=[record.pk]), data)


def test_a_stale_save_shows_what_changed_meanwhile_theirs_and_mine(client_as, oficial, oficial2, opened):
    mine = form_post(opened, middle_name="Sofía", name="Ana María")
    record_update(actor=oficial2, record_id=opened.pk, version=1, data={"name": "Anabel", "external_id": "CLI-9"})
    client = client_as(oficial)
    client.cookies["django_language"] = "en"
    response = edit(client, opened, mine)
    assert response.status_code == 422
    html = response.text
    panel = html[html.index('id="stale-changes"') :].split("</section>")[0]
    name_row = panel[panel.index('id="stale-name"') :].split("</tr>")[0]
    assert "Name(s) or legal name" in name_row and "Anabel" in name_row and "Ana María" in name_row
    assert "oficial2" in name_row and 'class="is-conflict"' in panel
    assert re.search(r'name="choice_name" value="theirs" checked', name_row)
    external = panel[panel.index('id="stale-external_id"') :].split("</tr>")[0]
    assert "CLI-9" in external and 'name="choice_external_id"' not in external
    assert 'id="stale-middle_name"' in panel and "Sofía" in panel
    assert re.search(r'name="onto_version" value="2"', html)
    assert 'name="version" value="1"' in html  # still the version the user's typing started from
    assert 'value="Sofía"' in html  # what the user typed is still in the form


def test_reapplying_a_stale_save_keeps_their_fields_and_applies_mine_in_one_step(client_as, oficial, oficial2, opened):
    mine = form_post(opened, middle_name="Sofía", name="Ana María")
    record_update(actor=oficial2, record_id=opened.pk, version=1, data={"name": "Anabel", "external_id": "CLI-9"})
    client = client_as(oficial)
    assert edit(client, opened, mine).status_code == 422
    response = edit(client, opened, mine | {"onto_version": 2})  # the form as the stale page armed it
    assert response.status_code == 302
    record = ClientRecord.objects.get(pk=opened.pk)
    assert (record.name, record.middle_name, record.external_id) == ("Anabel", "Sofía", "CLI-9")
    assert record.version == 3 and record.updated_by == oficial


def test_the_user_can_keep_their_own_value_where_both_changed(client_as, oficial, oficial2, opened):
    mine = form_post(opened, name="Ana María")
    record_update(actor=oficial2, record_id=opened.pk, version=1, data={"name": "Anabel"})
    response = edit(client_as(oficial), opened, mine | {"onto_version": 2, "choice_name": "mine"})
    assert response.status_code == 302
    assert ClientRecord.objects.get(pk=opened.pk).name == "Ana María"


def test_a_same_user_save_from_another_tab_is_reapplied_too(client_as, oficial, opened):
    tab_one = form_post(opened, middle_name="Sofía")
    tab_two = form_post(opened, external_id="CLI-2")
    client = client_as(oficial)
    assert edit(client, opened, tab_two).status_code == 302
    assert edit(client, opened, tab_one).status_code == 422
    assert edit(client, opened, tab_one | {"onto_version": 2}).status_code == 302
    record = ClientRecord.objects.get(pk=opened.pk)
    assert (record.middle_name, record.external_id) == ("Sofía", "CLI-2")


def test_a_third_save_meanwhile_arms_the_form_with_the_newest_version(client_as, oficial, oficial2, opened):
    mine = form_post(opened, middle_name="Sofía")
    record_update(actor=oficial2, record_id=opened.pk, version=1, data={"name": "Anabel"})
    record_update(actor=oficial2, record_id=opened.pk, version=2, data={"name": "Anabela"})
    response = edit(client_as(oficial), opened, mine | {"onto_version": 2})
    assert response.status_code == 422 and re.search(r'name="onto_version" value="3"', response.text)
    assert "Anabela" in response.text
