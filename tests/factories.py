"""Factories whose defaults are valid, realistic Mexican client records."""

import datetime
import random

import factory
from django.contrib.auth import get_user_model
from stdnum.mx import curp as stdnum_curp
from stdnum.mx import rfc as stdnum_rfc

from onboarding.identifiers import last_name_split
from onboarding.models import SEARCH_FIELDS, ClientRecord, ClientType, RecordStatus, record_search_text

GIVEN = ["MARIA", "JOSE", "JUAN", "GUADALUPE", "FERNANDA", "LUIS", "ANA", "CARLOS", "SOFIA", "JORGE"]
SURNAMES = ["GARCIA", "HERNANDEZ", "LOPEZ", "MARTINEZ", "GONZALEZ", "PEREZ", "RODRIGUEZ", "SANCHEZ", "RAMIREZ"]
STATES = ["AS", "BC", "DF", "JC", "NL", "PL", "VZ", "YN", "MC", "GT"]
VOWELS = "AEIOU"
HOMOCLAVE_1 = "123456789ABCDEFGHJKLMNPQRSTUV"  # SAT: the first homoclave character is 1-9 or A-V
HOMOCLAVE_2 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZ"


def _first_inner_vowel(word: str) -> str:
    return next((c for c in word[1:] if c in VOWELS), "X")


def _first_inner_consonant(word: str) -> str:
    return next((c for c in word[1:] if c not in VOWELS), "X")


def person_identifiers(
    given: str, paterno: str, materno: str, birth: datetime.date, sex: str = "H", rng: random.Random | None = None
) -> tuple[str, str]:
    """A valid RFC (13) and CURP (18) with correct check digits for these names and birth date."""
    rng = rng or random.Random()
    stem = (paterno[0] + _first_inner_vowel(paterno) + materno[0] + given[0]).upper()
    date = birth.strftime("%y%m%d")
    homoclave = rng.choice(HOMOCLAVE_1) + rng.choice(HOMOCLAVE_2)
    rfc_base = stem + date + homoclave
    rfc = rfc_base + stdnum_rfc.calc_check_digit(rfc_base)
    century = "0" if birth.year < 2000 else "A"
    curp_base = (
        stem
        + date
        + sex
        + rng.choice(STATES)
        + _first_inner_consonant(paterno)
        + _first_inner_consonant(materno)
        + _first_inner_consonant(given)
        + century
    )
    curp = curp_base + stdnum_curp.calc_check_digit(curp_base)
    return rfc, curp


def company_rfc(name: str, founded: datetime.date, rng: random.Random | None = None) -> str:
    rng = rng or random.Random()
    stem = "".join(c for c in name.upper() if c.isalpha())[:3].ljust(3, "X")
    base = stem + founded.strftime("%y%m%d") + rng.choice(HOMOCLAVE_1) + rng.choice(HOMOCLAVE_2)
    return base + stdnum_rfc.calc_check_digit(" " + base)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("a-long-test-password")


class ClientRecordFactory(factory.django.DjangoModelFactory):
    """An individual with a valid RFC and CURP, staged and in review. No audit event (use services for that)."""

    class Meta:
        model = ClientRecord

    class Params:
        given = factory.Faker("random_element", elements=GIVEN)
        paterno = factory.Faker("random_element", elements=SURNAMES)
        materno = factory.Faker("random_element", elements=SURNAMES)
        # Both apellidos as one value ("García López"), cut as migration 0018 cuts them; None: paterno and materno.
        last_name = None

    client_type = ClientType.INDIVIDUAL
    name = factory.LazyAttribute(lambda o: o.given.title())
    apellido_paterno = factory.LazyAttribute(
        lambda o: o.paterno.title() if o.last_name is None else last_name_split(o.last_name)[0]
    )
    apellido_materno = factory.LazyAttribute(
        lambda o: o.materno.title() if o.last_name is None else last_name_split(o.last_name)[1]
    )
    birth_date = factory.Faker(
        "date_between_dates", date_start=datetime.date(1950, 1, 1), date_end=datetime.date(2004, 12, 31)
    )
    nationalities = "MX"
    external_id = factory.Sequence(lambda n: f"CLI-{n:06d}")
    rfc = factory.LazyAttribute(lambda o: person_identifiers(o.given, o.paterno, o.materno, o.birth_date)[0])
    curp = factory.LazyAttribute(lambda o: person_identifiers(o.given, o.paterno, o.materno, o.birth_date)[1])
    scopes = ["MX"]
    status = RecordStatus.IN_REVIEW
    created_by = factory.SubFactory(UserFactory)
    updated_by = factory.SelfAttribute("created_by")
    # As the services write it (record_apply_data, upload staging), from the fields given.
    search_text = factory.LazyAttribute(lambda o: record_search_text({f: getattr(o, f, "") for f in SEARCH_FIELDS}))
