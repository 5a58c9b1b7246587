"""Shared fixtures: the role cast, a client signed in as each role, and the Artu sandbox."""

import pytest
from django.contrib.auth.models import Group

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
