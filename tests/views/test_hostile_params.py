"""Hand-made URLs: every GET endpoint, each of its parameters, hostile values. The answer is a page, a redirect or
the form's message (200, 302, 4xx), never a server error, on SQLite and PostgreSQL alike."""

import pytest
from django.urls import URLResolver, get_resolver, reverse

from onboarding.forms_review import QueueFilterForm
from onboarding.forms_submissions import SubmissionForm
from onboarding.models import RecordStatus
from onboarding.services.submissions import submission_start
from onboarding.services.uploads import upload_receive
from onboarding.views.audit import AuditFilterForm
from tests.audit import write
from tests.factories import ClientRecordFactory
from tests.imports import uploaded

pytestmark = pytest.mark.django_db

# Percent-encoded as they travel in a query string.
HOSTILE = {
    "far-future date": "9999-12-31",
    "first date": "0001-01-01",
    "20-digit integer": "1" * 20,
    "negative 20-digit integer": "-" + "1" * 20,
    "negative integer": "-1",
    "zero": "0",
    "superscript digit": "%C2%B2",  # "²".isdigit() is True, int("²") fails
    "identifier ending before the surrogates": "1abc%ED%9F%BF",  # U+D7FF: the next code point is a surrogate
    "encoded surrogate (not UTF-8)": "abc%ED%A0%80",
    "NUL byte": "a%00b",
    "control characters": "%1B%5B31m%08",
    "very long": "9" * 10_000,
    "float overflow": "1e400",
    "markup": "%3Cscript%3E%27%22",
}

# url name -> (path arguments, parameters read, headers). Form-backed pages take their parameters from the form,
# so a filter added later is tested too.
PAGE = ["page"]
ENDPOINTS = {
    "home": ([], [], {}),
    "login": ([], ["next"], {}),
    "records:list": ([], ["status", *PAGE], {}),
    "records:create": ([], [], {}),
    "records:detail": (["record"], PAGE, {}),
    "records:edit": (["record"], [], {}),
    "uploads:list": ([], PAGE, {}),
    "uploads:detail": (["upload"], [], {}),
    "uploads:mapping": (["upload"], ["saved"], {}),
    "uploads:mappings": ([], PAGE, {}),
    "uploads:progress": (["upload"], [], {"HX-Request": "true"}),
    "uploads:problems": (["upload"], ["format"], {}),
    "uploads:retry": (["upload"], [], {}),
    "uploads:discard": (["upload"], [], {}),
    "review:queue": ([], [*QueueFilterForm.base_fields, *PAGE, "open"], {}),
    "review:row": (["record"], [], {"HX-Request": "true"}),
    "review:panel": (["record"], [], {"HX-Request": "true"}),
    "review:cell": (["record", "rfc"], ["next"], {"HX-Request": "true"}),
    "review:action": (["record", "approve"], ["next"], {}),
    "submissions:list": ([], PAGE, {}),
    "submissions:create": ([], ["ids", "upload", "what", "f-status", "f-upload", "f-date_from", "f-q"], {}),
    "submissions:preview": ([], list(SubmissionForm.base_fields), {}),
    "submissions:detail": (["submission"], ["outcome", *PAGE], {}),
    "submissions:progress": (["submission"], ["outcome", *PAGE], {"HX-Request": "true"}),
    "submissions:results": (["submission"], [], {}),
    "audit:log": ([], [*AuditFilterForm.base_fields, *PAGE], {}),
    "audit:export": ([], list(AuditFilterForm.base_fields), {}),
    "audit:event": (["event"], [], {}),
    "healthz": ([], [], {}),
    "duplicates:compare": (["record", "other_record"], [], {}),
}
# POST only: a GET is refused (405) before any parameter is read; their forms have tests of their own.
POST_ONLY = {
    "logout",
    "set_language",
    "review:bulk",
    "review:columns",
    "audit:verify",
    "submissions:resume",
    "submissions:again",
    "submissions:from-queue",
    "records:send-to-review",
    "uploads:mapping-share",
    "uploads:mapping-delete",
    "duplicates:keep",
    "duplicates:not-duplicate",
}


def _url_names(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            if pattern.namespace != "admin":  # Django's own admin validates its own parameters
                yield from _url_names(
                    pattern.url_patterns, f"{prefix}{pattern.namespace}:" if pattern.namespace else prefix
                )
        elif pattern.name:
            yield prefix + pattern.name


def test_the_table_names_every_endpoint():
    assert set(_url_names(get_resolver().url_patterns)) == set(ENDPOINTS) | POST_ONLY


@pytest.fixture
def objects(oficial, settings, tmp_path):
    """One of each thing a URL can name: a record, an upload waiting for its mapping, a submission, an event."""
    settings.MEDIA_ROOT = tmp_path
    record = ClientRecordFactory(status=RecordStatus.APPROVED)
    other_record = ClientRecordFactory(rfc=record.rfc)
    upload = upload_receive(actor=oficial, file=uploaded(b"RFC,Nombre\nXAXX010101000,Ana\n", "c.csv"), encoding="")
    submission = submission_start(actor=oficial, environment="test", enqueue=False)
    from onboarding.models import AuditEvent

    event = AuditEvent.objects.order_by("-seq").first()
    return {
        "record": record.pk,
        "other_record": other_record.pk,
        "upload": upload.pk,
        "submission": submission.pk,
        "event": event.seq,
    }


def _cases():
    for name, (_args, params, _headers) in ENDPOINTS.items():
        for param in params or [None]:
            yield pytest.param(name, param, id=f"{name}-{param or 'no parameter'}")


@pytest.mark.parametrize(("name", "param"), list(_cases()))
def test_hostile_parameters_never_cause_a_server_error(client, admin_user, objects, name, param):
    args, _params, headers = ENDPOINTS[name]
    url = reverse(name, args=[objects.get(a, a) for a in args])
    if name != "login":
        client.force_login(admin_user)  # a superuser passes every permission check, so each view reads its input
    values = HOSTILE if param else {"none": None}
    failures = []
    for label, value in values.items():
        full = f"{url}?{param}={value}" if param else url
        try:
            response = client.get(full, headers=headers)
            if response.streaming:
                b"".join(response.streaming_content)  # an export fails while streaming, after its status line
        except Exception as exc:  # noqa: BLE001 - every failure is reported, not only the first
            failures.append(f"{label}: {type(exc).__name__}: {exc}"[:300])
            continue
        if response.status_code >= 500:
            failures.append(f"{label}: {response.status_code}")
    assert not failures, "\n".join(failures)


# The findings one by one: what the user gets instead of the server error.


def _codes(form, field):
    return [e.code for e in form.errors.as_data().get(field, [])]


@pytest.mark.parametrize("name", ["review:queue", "audit:log"])
def test_a_date_past_the_range_is_the_filters_message(client_as, admin_user, name):
    response = client_as(admin_user).get(reverse(name), {"date_to": "9999-12-31"})
    assert response.status_code == 422
    assert _codes(response.context["form"], "date_to") == ["date_range"]


def test_the_audit_export_with_a_date_past_the_range_goes_back_to_the_log(client_as, admin_user):
    response = client_as(admin_user).get(reverse("audit:export"), {"date_to": "9999-12-31"}, follow=True)
    assert response.redirect_chain[0][0].startswith(reverse("audit:log"))
    assert _codes(response.context["form"], "date_to") == ["date_range"]


def test_the_last_day_of_the_range_is_accepted(client_as, admin_user):
    response = client_as(admin_user).get(reverse("review:queue"), {"date_from": "1900-01-01", "date_to": "2999-12-31"})
    assert response.status_code == 200


def test_a_search_ending_before_the_surrogates_finds_what_starts_with_it(client_as, admin_user):
    wanted = ClientRecordFactory(external_id="1abc\ud7ffZ")
    ClientRecordFactory(external_id="1abd")
    response = client_as(admin_user).get(reverse("review:queue"), {"q": "1abc\ud7ff"})
    assert response.status_code == 200
    assert [r.pk for r in response.context["rows"]] == [wanted.pk]


@pytest.mark.parametrize("raw", ["abc%ED%A0%80", "abc%00", "abc%1B"], ids=["not UTF-8", "NUL", "escape"])
def test_a_search_with_characters_nobody_types_is_the_filters_message(client_as, admin_user, raw):
    response = client_as(admin_user).get(f"{reverse('review:queue')}?q={raw}")
    assert response.status_code == 422
    assert _codes(response.context["form"], "q") == ["invalid_text"]


@pytest.mark.parametrize(
    ("name", "param"), [("review:queue", "upload"), ("audit:log", "upload"), ("audit:log", "submission")]
)
def test_an_id_wider_than_the_database_is_the_filters_message(client_as, admin_user, name, param):
    response = client_as(admin_user).get(reverse(name), {param: "1" * 20})
    assert response.status_code == 422
    assert _codes(response.context["form"], param) == ["max_value"]


@pytest.mark.parametrize("value", ["1" * 20, "²"])
def test_an_audit_record_reference_too_wide_for_a_record_number_is_looked_up_as_an_external_id(
    client_as, admin_user, value
):
    wanted = ClientRecordFactory(external_id=value)
    event = write(admin_user, record_id=wanted.pk)
    response = client_as(admin_user).get(reverse("audit:log"), {"record": value})
    assert response.status_code == 200
    assert [e.seq for e in response.context["page"]] == [event.seq]


def test_an_audit_record_reference_with_characters_nobody_types_is_the_filters_message(client_as, admin_user):
    response = client_as(admin_user).get(f"{reverse('audit:log')}?record=SUC%1B01")
    assert response.status_code == 422
    assert _codes(response.context["form"], "record") == ["invalid_text"]


def test_a_submission_of_ids_wider_than_the_database_is_refused_with_a_message(client_as, admin_user):
    page = client_as(admin_user).get(reverse("submissions:create"), {"ids": "1" * 20})
    assert page.status_code == 200 and page.context["preview"] is None
    data = {"what": "selection", "ids": f"1,{'1' * 20}", "environment": "test", "token": "t"}
    response = client_as(admin_user).post(reverse("submissions:create"), data)
    assert response.status_code == 422
    assert _codes(response.context["form"], "ids") == ["invalid_id"]


def test_a_bulk_selection_wider_than_the_database_is_refused_with_a_message(client_as, admin_user):
    data = {"bulk_action": "approve", "scope": "selected", "ids": ["1" * 20]}
    response = client_as(admin_user).post(reverse("review:bulk"), data)
    assert response.status_code == 422
    assert _codes(response.context["form"], "ids") == ["invalid_id"]


def test_a_bulk_action_over_a_filter_wider_than_the_database_asks_to_correct_the_filters(client_as, admin_user):
    data = {"bulk_action": "approve", "scope": "filter", "upload": "1" * 20, "expected_count": "1", "confirmed": "on"}
    response = client_as(admin_user).post(reverse("review:bulk"), data)
    assert response.status_code == 422
    assert [e.code for e in response.context["form"].non_field_errors().as_data()] == ["filters_invalid"]
