"""One cast of users and one set of real objects per test module (tests/security/world.py), built once inside
an outer transaction (the one TestCase opens around setUpTestData) and rolled back when the module ends. Each test
runs in its own savepoint inside it, so whatever a request changes is undone before the next test."""

import pytest
from django.conf import settings
from django.test import Client, TestCase, override_settings

from tests.security.world import ANONYMOUS, world_build


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory):
    """The module's users and objects, committed to nothing: rolled back when the module's tests are done."""
    media = override_settings(MEDIA_ROOT=tmp_path_factory.mktemp("media"))
    media.enable()
    with django_db_blocker.unblock():
        # TestCase's own class-wide atomic (what setUpTestData runs in): services may still open durable blocks.
        atomics = TestCase._enter_atomics()
        try:
            built = world_build()
        except BaseException:
            TestCase._rollback_atomics(atomics)
            media.disable()
            raise
    yield built
    with django_db_blocker.unblock():
        TestCase._rollback_atomics(atomics)
    media.disable()


@pytest.fixture
def client_for(db, world):
    """`client_for(role, **client_options)`: a fresh test client, signed in as that role unless anonymous."""

    def make(role: str, **options) -> Client:
        client = Client(**options)
        if role != ANONYMOUS:
            client.cookies[settings.SESSION_COOKIE_NAME] = world.sessions[role]
        return client

    return make
