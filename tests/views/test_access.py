"""Every page asks for a login, and each role reaches exactly the pages its permissions allow."""

import pytest
from django.urls import reverse

from tests.factories import ClientRecordFactory

pytestmark = pytest.mark.django_db

ROLES = ["capturista", "oficial", "oficial_live", "auditor", "admin_user", "nobody"]

# url name -> roles that may open it (GET).
ALLOWED = {
    "home": set(ROLES),
    "records:list": {"capturista", "oficial", "oficial_live", "auditor", "admin_user"},
    "records:create": {"capturista", "oficial", "oficial_live", "admin_user"},
    "records:detail": {"capturista", "oficial", "oficial_live", "auditor", "admin_user"},
    "records:edit": {"capturista", "oficial", "oficial_live", "admin_user"},
    "admin:index": {"admin_user"},
}


def _url(name, record):
    return reverse(name, args=[record.pk]) if name in ("records:detail", "records:edit") else reverse(name)


@pytest.mark.parametrize("name", sorted(ALLOWED))
def test_every_page_asks_for_a_login(client, name, roles):
    record = ClientRecordFactory()
    response = client.get(_url(name, record))
    assert response.status_code == 302
    assert "/login/" in response["Location"]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", sorted(ALLOWED))
def test_role_page_access(request, client_as, role, name):
    user = request.getfixturevalue(role)
    record = ClientRecordFactory()
    response = client_as(user).get(_url(name, record))
    if role in ALLOWED[name]:
        assert response.status_code == 200
    elif name == "admin:index":
        assert response.status_code == 302  # the admin sends non-staff to its own login
    else:
        assert response.status_code == 403


def test_auditor_cannot_post_a_new_record(client_as, auditor):
    response = client_as(auditor).post(reverse("records:create"), {"client_type": "individual", "name": "X"})
    assert response.status_code == 403


def test_login_page_is_served_and_signs_in(client, capturista):
    page = client.get(reverse("login"))
    assert page.status_code == 200
    assert b'name="username"' in page.content
    response = client.post(reverse("login"), {"username": "capturista", "password": "a-long-test-password"})
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 200


def test_language_switch_changes_the_interface(client_as, capturista):
    c = client_as(capturista)
    c.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert "Sign out" in c.get(reverse("home")).content.decode()
    c.post(reverse("set_language"), {"language": "es-mx", "next": "/"})
    assert "Cerrar sesión" in c.get(reverse("home")).content.decode()
