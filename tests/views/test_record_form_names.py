"""The record form reads nationalities as the upload files do: names and demonyms become ISO codes."""

import pytest
from django.urls import reverse

from onboarding.imports.normalize import parse_nationalities
from onboarding.models import ClientRecord
from onboarding.validation import normalize_nationalities
from tests.views.test_records import valid_post

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("typed", "stored"),
    [("Mexicana", "MX"), ("México", "MX"), ("Mexicana, Estadounidense", "MX,US"), ("MX US", "MX,US")],
)
def test_the_form_accepts_nationalities_as_files_do(client_as, capturista, typed, stored):
    data, _rfc, _curp = valid_post(nationalities=typed)
    response = client_as(capturista).post(reverse("records:create"), data)
    assert response.status_code == 302, response.text
    assert ClientRecord.objects.get().nationalities == stored


def test_one_normaliser_serves_the_form_and_the_files():
    assert normalize_nationalities is parse_nationalities
