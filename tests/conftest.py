"""Shared fixtures: the role cast, a client signed in as each role, and the Artu sandbox."""

import pytest
from django.contrib.auth.models import Group
from django.db import connections

from onboarding.permissions import Role
from onboarding.services.roles import roles_setup
from tests.factories import UserFactory

pytest_plugins = ["tests.fixtures_artu", "tests.fixtures_browser", "tests.fixtures_worker"]


def pytest_configure(config):
    # Tests render pages without running collectstatic first: serve static files unhashed.
    from django.conf import settings

    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    # Test users sign in many times; a fast hasher keeps the suite in minutes, not tens of minutes.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _flushed_after(request: pytest.FixtureRequest) -> bool:
    """Whether pytest-django empties the database with TRUNCATE after this test (a TransactionTestCase)."""
    marker = request.node.get_closest_marker("django_db")
    if marker and (marker.kwargs.get("transaction") or marker.kwargs.get("reset_sequences")):
        return True
    return not {"transactional_db", "live_server", "django_db_reset_sequences"}.isdisjoint(request.fixturenames)


@pytest.fixture(autouse=True)
def audit_truncate_for_the_flush(request):
    """On PostgreSQL the audit tables refuse TRUNCATE unless their owner sets `onboarding.audit_truncate` (migration
    0010). pytest-django empties the database with TRUNCATE after a transactional test: set it, for the session,
    just before that flush. Django closes the connection right after the flush, so the setting never outlives it."""
    if not _flushed_after(request):
        yield
        return
    # Set up here, so that its teardown (the flush) runs after this fixture's.
    request.getfixturevalue("transactional_db")
    yield
    for alias in connections:
        if connections[alias].vendor == "postgresql":
            with connections[alias].cursor() as cursor:
                cursor.execute("SET onboarding.audit_truncate = 'allowed'")


@pytest.fixture
def roles(db):
    roles_setup()
    return {role: Group.objects.get(name=role) for role in Role.values}


def _user_with(roles, username, *role_names, **extra):
    user = UserFactory(username=username, **extra)
    user.groups.set([roles[r] for r in role_names])
    return user


@pytest.fixture
def capturista(roles):
    return _user_with(roles, "capturista", Role.DATA_ENTRY)


@pytest.fixture
def capturista2(roles):
    return _user_with(roles, "capturista2", Role.DATA_ENTRY)


@pytest.fixture
def oficial(roles):
    return _user_with(roles, "oficial", Role.OFFICER)


@pytest.fixture
def oficial2(roles):
    return _user_with(roles, "oficial2", Role.OFFICER)


@pytest.fixture
def oficial_live(roles):
    return _user_with(roles, "oficial_live", Role.OFFICER, Role.LIVE_SUBMITTER)


@pytest.fixture
def auditor(roles):
    return _user_with(roles, "auditor", Role.AUDITOR)


@pytest.fixture
def admin_user(roles):
    return UserFactory(username="admin", is_staff=True, is_superuser=True)


@pytest.fixture
def nobody(roles):
    """Signed in but with no role at all."""
    return UserFactory(username="nobody")


@pytest.fixture
def client_as(client):
    """`client_as(user)` returns the test client signed in as that user."""

    def sign_in(user):
        client.force_login(user)
        return client

    return sign_in
