"""Pages, htmx partials and exports hold client data: no browser or proxy may keep a copy (`Cache-Control:
no-store`). Static files stay cacheable."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from onboarding.models import AuditEvent, RecordStatus
from onboarding.services.submissions import submission_start
from onboarding.services.uploads import upload_map_columns, upload_receive
from tests.factories import ClientRecordFactory
from tests.imports import csv_bytes, person, uploaded

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def url_names(resolver: URLResolver = None, namespace: str = "") -> set[str]:
    """Every named URL of the project (the admin's own excepted)."""
    names = set()
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            if entry.namespace != "admin":
                names |= url_names(entry, f"{namespace}{entry.namespace}:" if entry.namespace else namespace)
        elif isinstance(entry, URLPattern) and entry.name:
            names.add(namespace + entry.name)
    return names


@pytest.fixture
def world(settings, tmp_path, admin_user, capturista):
    """One of everything a page can show: a record, an upload with a problem row, a submission, audit events."""
    settings.MEDIA_ROOT = tmp_path / "media"
    record = ClientRecordFactory()
    twin = ClientRecordFactory(rfc=record.rfc)
    upload = upload_receive(
        actor=capturista, file=uploaded(csv_bytes([person(0), person(1, **{"Fecha de nacimiento": "99/99/1999"})]))
    )
    upload = upload_map_columns(actor=capturista, upload_id=upload.pk, mapping=upload.mapping)
    ClientRecordFactory(status=RecordStatus.APPROVED)
    submission = submission_start(actor=admin_user, environment="test", enqueue=False)
    own = upload_receive(actor=admin_user, file=uploaded(csv_bytes([person(2)]), "propio.csv"))
    saved = upload_map_columns(actor=admin_user, upload_id=own.pk, mapping=own.mapping, save_as="Propio").saved_mapping
    pending = upload_receive(actor=capturista, file=uploaded(csv_bytes([person(3)]), "pendiente.csv"))
    return {
        "pending": pending.pk,
        "record": record.pk,
        "twin": twin.pk,
        "upload": upload.pk,
        "submission": submission.pk,
        "event": AuditEvent.objects.last(),
        "saved_mapping": saved.pk,
    }


# (url name, how to request it): method, args from the world, query or form data, htmx.
REQUESTS = [
    ("home", "get", lambda w: [], {}, False),
    ("records:list", "get", lambda w: [], {}, False),
    ("records:create", "get", lambda w: [], {}, False),
    ("records:detail", "get", lambda w: [w["record"]], {}, False),
    ("records:edit", "get", lambda w: [w["record"]], {}, False),
    ("records:send-to-review", "post", lambda w: [w["record"]], {}, False),
    ("uploads:list", "get", lambda w: [], {}, False),
    ("uploads:detail", "get", lambda w: [w["upload"]], {}, False),
    ("uploads:mapping", "get", lambda w: [w["upload"]], {}, False),
    ("uploads:progress", "get", lambda w: [w["upload"]], {}, True),
    ("uploads:problems", "get", lambda w: [w["upload"]], {"format": "csv"}, False),
    ("uploads:problems", "get", lambda w: [w["upload"]], {"format": "xlsx"}, False),
    ("uploads:retry", "post", lambda w: [w["upload"]], {}, False),
    ("uploads:discard", "get", lambda w: [w["pending"]], {}, False),
    ("uploads:discard", "post", lambda w: [w["pending"]], {}, False),
    ("uploads:mappings", "get", lambda w: [], {}, False),
    ("uploads:mapping-share", "post", lambda w: [w["saved_mapping"]], {"shared": "on"}, False),
    ("uploads:mapping-delete", "post", lambda w: [w["saved_mapping"]], {}, False),
    ("review:queue", "get", lambda w: [], {}, False),
    ("review:queue", "get", lambda w: [], {"q": "a"}, True),
    ("review:bulk", "post", lambda w: [], {"bulk_action": "approve", "scope": "filter"}, False),
    ("review:columns", "post", lambda w: [], {"shown": "rfc"}, False),
    ("review:row", "get", lambda w: [w["record"]], {}, True),
    ("review:panel", "get", lambda w: [w["record"]], {}, True),
    ("review:cell", "get", lambda w: [w["record"], "name"], {}, True),
    ("review:action", "get", lambda w: [w["record"], "reject"], {}, True),
    ("duplicates:compare", "get", lambda w: [w["record"], w["twin"]], {}, False),
    ("duplicates:keep", "post", lambda w: [w["record"], w["twin"], w["record"]], {"comment": "x"}, False),
    ("duplicates:not-duplicate", "post", lambda w: [w["record"], w["twin"]], {"comment": "x"}, False),
    ("submissions:list", "get", lambda w: [], {}, False),
    ("submissions:create", "get", lambda w: [], {}, False),
    ("submissions:preview", "get", lambda w: [], {"what": "all", "environment": "test"}, True),
    ("submissions:detail", "get", lambda w: [w["submission"]], {}, False),
    ("submissions:progress", "get", lambda w: [w["submission"]], {}, True),
    ("submissions:resume", "post", lambda w: [w["submission"]], {}, False),
    ("submissions:again", "post", lambda w: [w["submission"]], {"outcome": "not_sent"}, False),
    ("submissions:from-queue", "post", lambda w: [], {"scope": "filter"}, False),
    ("submissions:results", "get", lambda w: [w["submission"]], {}, False),
    ("audit:log", "get", lambda w: [], {}, False),
    ("audit:log", "get", lambda w: [], {"action": "record.created"}, True),
    ("audit:export", "get", lambda w: [], {}, False),
    ("audit:verify", "post", lambda w: [], {}, True),
    ("audit:event", "get", lambda w: [w["event"].seq], {}, False),
    ("login", "get", lambda w: [], {}, False),
    ("logout", "post", lambda w: [], {}, False),
    ("set_language", "post", lambda w: [], {"language": "en", "next": "/"}, False),
    ("healthz", "get", lambda w: [], {}, False),
]


def test_every_url_of_the_project_is_checked_here():
    assert url_names() == {name for name, *_ in REQUESTS}


@pytest.mark.parametrize(
    ("name", "method", "args", "data", "htmx"),
    REQUESTS,
    ids=[
        f"{name}{'-htmx' if htmx else ''}{'-' + data['format'] if 'format' in data else ''}"
        for name, _, _, data, htmx in REQUESTS
    ],
)
def test_every_response_forbids_keeping_a_copy(client_as, admin_user, world, name, method, args, data, htmx):
    client = client_as(admin_user)
    response = getattr(client, method)(reverse(name, args=args(world)), data, headers=HTMX if htmx else {})
    if response.streaming:
        b"".join(response.streaming_content)
    assert response.status_code < 400, (response.status_code, response.content[:300])
    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]


def test_pages_refused_or_not_found_are_not_kept_either(client_as, auditor, client):
    assert "no-store" in client_as(auditor).get(reverse("records:create"))["Cache-Control"]  # 403
    assert "no-store" in client.get("/no-such-page/")["Cache-Control"]


def test_static_files_stay_cacheable(client, settings):
    settings.WHITENOISE_USE_FINDERS = True
    response = client.get("/static/css/app.css")
    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")
