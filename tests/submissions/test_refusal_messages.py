"""When Artu refuses an all-or-nothing batch, each record says its own part: the refused one Artu's message at its
field, the others that they were not created because of it, with a link to it."""

import httpx
import pytest
from django.urls import reverse

from onboarding.artu.client import ArtuClient
from onboarding.models import ClientRecord, RecordStatus
from onboarding.services.submissions import batch_process, submission_start
from onboarding.services.submissions.start import _batch_claim
from tests.submissions.test_submission_service import approved, start_and_run


def refused_by_pointer(index: int):
    """An Artu that refuses every batch, naming the item at `index` with a JSON Pointer (`/items/19/...`)."""

    def handler(request: httpx.Request) -> httpx.Response:
        error = {"path": f"/items/{index}/nationalities", "code": "invalid_string", "message": "Invalid country code"}
        body = {"error": {"code": "validation_error", "message": "Invalid request", "validationErrors": [error]}}
        return httpx.Response(422, json=body)

    return ArtuClient(base_url="https://api.artu.test", api_key="sk_unit", transport=httpx.MockTransport(handler))


def test_an_atomic_refusal_blames_only_the_item_its_json_pointer_names(oficial):
    approved(20)
    submission = submission_start(actor=oficial, environment="test", enqueue=False)
    records = list(ClientRecord.objects.filter(batch__submission=submission).order_by("pk"))

    with refused_by_pointer(19) as artu:
        batch_process(artu, *_batch_claim(submission.pk))

    refused = ClientRecord.objects.get(pk=records[19].pk)
    assert refused.status == RecordStatus.FAILED
    assert [(m["field"], m["message"]) for m in refused.artu_messages] == [("nationalities", "Invalid country code")]
    for sibling in ClientRecord.objects.filter(pk__in=[r.pk for r in records[:19]]):
        assert sibling.status == RecordStatus.APPROVED  # not refused: it can be submitted again as it is
        assert [m.get("refused_record") for m in sibling.artu_messages] == [refused.pk]
        assert "Invalid country code" not in str(sibling.artu_messages)


def test_the_refused_record_has_artus_message_at_its_field_and_its_siblings_name_it(artu, oficial, settings):
    settings.LANGUAGE_CODE = "en"  # the language the worker writes its messages in
    good = approved(3)
    bad = approved(1, nationalities="XXX", name="Rosa", last_name="Ávila Cruz")[0]

    start_and_run(oficial, atomic=True)

    bad.refresh_from_db()
    assert bad.status == RecordStatus.FAILED
    assert [(m["field"], m["path"], m["code"]) for m in bad.artu_messages] == [
        ("nationalities", "nationalities", "invalid_string")
    ]
    artu_problems = [p for p in bad.problems if p["code"] == "artu_refused"]
    assert [(p["field"], p["severity"]) for p in artu_problems] == [("nationalities", "error")]
    assert bad.error_count == 1  # approval waits for the correction
    for record in ClientRecord.objects.filter(pk__in=[r.pk for r in good]):
        assert record.status == RecordStatus.APPROVED and record.problems == []
        [message] = record.artu_messages
        assert message["message"] == "Not created: record Rosa Ávila Cruz in the same batch was refused."
        assert (message["refused_record"], message["refused_others"]) == (bad.pk, 0)
    assert artu.clients("test") == []


def test_a_second_refusal_replaces_the_first_ones_problem_and_keeps_the_records_own(artu, oficial, settings):
    bad = approved(1, nationalities="XXX")[0]
    ClientRecord.objects.filter(pk=bad.pk).update(
        problems=[{"field": "apellido_paterno", "code": "last_name_missing", "severity": "warning", "params": {}}]
    )
    start_and_run(oficial)
    ClientRecord.objects.filter(pk=bad.pk).update(status=RecordStatus.APPROVED, rfc="BAD")
    start_and_run(oficial)

    bad.refresh_from_db()
    assert sorted((p["field"], p["code"]) for p in bad.problems) == [
        ("apellido_paterno", "last_name_missing"),
        ("nationalities", "artu_refused"),
        ("rfc", "artu_refused"),
    ]
    assert bad.error_count == 2


@pytest.mark.parametrize(
    ("language", "sentence", "field"),
    [
        ("en", "Not created: record {link} in the same batch was refused.", "Nationalities"),
        ("es-mx", "No se creó: Artu rechazó el registro {link} del mismo lote.", "Nacionalidades"),
    ],
)
def test_the_record_page_links_a_sibling_to_the_refused_record_in_the_readers_language(
    artu, oficial, client_as, language, sentence, field
):
    sibling = approved(1)[0]
    bad = approved(1, nationalities="XXX", name="Rosa", last_name="Ávila")[0]
    start_and_run(oficial, atomic=True)
    client = client_as(oficial)
    client.cookies["django_language"] = language

    html = " ".join(client.get(reverse("records:detail", args=[sibling.pk])).content.decode().split())

    link = f'<a href="{reverse("records:detail", args=[bad.pk])}">Rosa Ávila</a>'
    assert sentence.format(link=link) in html
    html = " ".join(client.get(reverse("records:detail", args=[bad.pk])).content.decode().split())
    assert f"{field}: Expected an ISO 3166-1 alpha-2 code" in html  # the problem, at our field's name
