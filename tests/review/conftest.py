"""Helpers for the review tests: records staged by a data-entry user, ready for an officer."""

import pytest

from tests.factories import ClientRecordFactory


@pytest.fixture
def staged(capturista):
    """`staged(**fields)` creates an in-review record created and last changed by `capturista`."""

    def make(**fields):
        fields.setdefault("created_by", capturista)
        return ClientRecordFactory(**fields)

    return make
