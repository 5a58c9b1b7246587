"""RFC and CURP name letters against their holder's own name: no warning on valid people, a warning on typos."""

import datetime
import random

import pytest
from stdnum.mx import curp as stdnum_curp
from stdnum.mx import rfc as stdnum_rfc

from onboarding.identifiers import (
    CURP_INCONVENIENT,
    RFC_INCONVENIENT,
    Mismatch,
    company_rfc_mismatch,
    last_name_split,
    person_curp_mismatch,
    person_rfc_mismatch,
    rfc_company_letters,
)
from onboarding.validation import validate_record

# Keys worked out by hand from the SAT and RENAPO rules, as their offices would issue them.
KNOWN_PERSONS = [
    # given names, last names, RFC letters, CURP letters, CURP consonants
    ("Rosa", ("Ávila", ""), "AVRO", "AIXR", "VXS"),  # one surname
    ("Juan", ("Pérez", "García"), "PEGJ", "PEGJ", "RRN"),
    ("José Luis", ("Hernández", "López"), "HELL", "HELL", "RPS"),  # José skipped
    ("María de los Ángeles", ("Ruiz", "Díaz"), "RUDA", "RUDA", "ZZN"),  # María and the particles skipped
    ("Ma. Fernanda", ("Núñez", "Peña"), "NUPF", "NUPF", "XXR"),  # Ñ is X in a CURP
    ("Ana", ("De la Fuente", "Ramírez"), "FURA", "FURA", "NMN"),  # particles of the surname skipped
    ("Alberto", ("Puente", "Torres"), "PUTX", "PXTA", "NRL"),  # inconvenient words
    ("Ignacio", ("Ye", "Chávez"), "YCIG", "YECI", "XHG"),  # a paterno of two letters
    ("Luis", ("", "Ochoa"), "OCLU", "OOXL", "CXS"),  # one surname, typed as the materno
    ("Juan", ("Pérez García", ""), "PEGJ", "PEGJ", "RRN"),  # both apellidos typed in the paterno
]


@pytest.mark.parametrize(("given", "last", "rfc", "curp", "consonants"), KNOWN_PERSONS)
def test_known_keys_are_derived_as_issued(given, last, rfc, curp, consonants):
    holder = {"given_names": [given], "paterno": last[0], "materno": last[1]}
    assert person_rfc_mismatch(f"{rfc}900101AB1", **holder) is None
    assert person_curp_mismatch(f"{curp}900101HDF{consonants}09", **holder) is None
    # One letter off is named, with what the name gives.
    wrong = ("Q" if rfc[3] != "Q" else "W") + rfc[1:]
    assert person_rfc_mismatch(f"{wrong}900101AB1", **holder).found == wrong
    assert person_curp_mismatch(f"{curp}900101HDFQQQ09", **holder).found == "QQQ"


def test_company_letters_follow_the_razon_social():
    assert "CNO" in rfc_company_letters("Comercializadora del Norte, S.A. de C.V.")
    assert "ABC" in rfc_company_letters("Aceros Bajío Centro S. de R.L. de C.V.")
    assert "SOL" in rfc_company_letters("Soluciones SAPI de CV")
    assert "PIB" in rfc_company_letters("Promotora Inmobiliaria del Bajío SA")


# -- an independent generator of valid people, written from the rules rather than from the module -------------------

FIRST = ["Rosa", "Juan", "Sofía", "Iñaki", "Óscar", "Úrsula", "Eduardo", "Ximena", "Yolanda", "Ángel", "Ulises"]
COMPOUND = ["José Luis", "María José", "Ma. Guadalupe", "J. Jesús", "María de los Ángeles", "Luis Ángel", "Ana Sofía"]
SURNAMES = [
    "García",
    "Hernández",
    "Núñez",
    "Peña",
    "Muñoz",
    "Ávila",
    "Olvera",
    "Íñiguez",
    "Ochoa",
    "Ye",
    "Ek",
    "Puente",
    "Torres",
    "Quintero",
    "Urrutia",
    "Zúñiga",
    "Castañeda",
    "Bustos",
    "Llamas",
    "Sosa",
    "Ríos",
    "Yáñez",
]
PARTICLE_SURNAMES = ["de la Fuente", "del Río", "de los Santos", "Van der Berg", "Mac Gregor", "de León"]
STATES = ["AS", "BC", "DF", "JC", "NL", "PL", "VZ", "YN", "MC", "GT"]
HOMOCLAVE = "123456789ABCDEFGHJKLMNPQRSTUV"


def _plain(text):
    table = str.maketrans("ÁÉÍÓÚÜáéíóúü", "AEIOUUaeiouu")
    return text.translate(table).upper().replace(".", "")


def _meaningful(words, skip=("DE", "LA", "LOS", "DEL", "VAN", "DER", "MAC", "Y", "LAS")):
    kept = [w for w in words if w not in skip]
    return kept or words


def _expected(given, paterno, materno):
    g = _meaningful(_plain(given).split())
    first = g[1] if len(g) > 1 and g[0] in ("JOSE", "MARIA", "MA", "J") else g[0]
    p = _meaningful(_plain(paterno).split())[0] if paterno else ""
    m = _meaningful(_plain(materno).split())[0] if materno else ""
    vowel = next((c for c in p[1:] if c in "AEIOU"), "X")
    if not m:
        rfc = p[:2] + first[:2]
    elif len(p) <= 2:
        rfc = p[0] + m[0] + first[:2]
    else:
        rfc = p[0] + vowel + m[0] + first[0]
    rfc = rfc[:3] + "X" if rfc in RFC_INCONVENIENT else rfc
    cp, cm, cg = (x.replace("Ñ", "X") for x in (p, m, first))
    stem = cp[0] + next((c for c in cp[1:] if c in "AEIOU"), "X") + (cm[:1] or "X") + cg[0]
    if stem in CURP_INCONVENIENT:
        stem = stem[0] + "X" + stem[2:]

    def consonant(word):
        return next((c for c in word[1:] if c not in "AEIOU"), "X") if word else "X"

    return rfc, stem, consonant(cp) + consonant(cm) + consonant(cg)


def _person(rng):
    given = rng.choice(FIRST + COMPOUND)
    paterno = rng.choice(SURNAMES + PARTICLE_SURNAMES)
    materno = "" if rng.random() < 0.15 else rng.choice(SURNAMES + PARTICLE_SURNAMES)
    if rng.random() < 0.03:  # names that give an inconvenient word
        given, paterno, materno = rng.choice(
            [("Alberto", "Puente", "Torres"), ("Omar", "Pérez", "Domínguez"), ("Armando", "Cabrera", "Castro")]
        )
    birth = datetime.date(1940, 1, 1) + datetime.timedelta(days=rng.randrange(365 * 80))
    rfc4, curp4, consonants = _expected(given, paterno, materno)
    date = birth.strftime("%y%m%d")
    rfc_base = rfc4 + date + rng.choice(HOMOCLAVE) + rng.choice(HOMOCLAVE)
    rfc = rfc_base + stdnum_rfc.calc_check_digit(rfc_base)
    century = "0" if birth.year < 2000 else "A"
    curp_base = curp4 + date + rng.choice("HM") + rng.choice(STATES) + consonants + century
    curp = curp_base + stdnum_curp.calc_check_digit(curp_base)
    return {
        "client_type": "individual",
        "name": given,
        "apellido_paterno": paterno,
        "apellido_materno": materno,
        "birth_date": birth,
        "rfc": rfc,
        "curp": curp,
        "nationalities": "MX",
    }


COMPANY_WORDS = [
    "Aceros",
    "Bajío",
    "Comercializadora",
    "Norte",
    "Servicios",
    "Logística",
    "Peña",
    "Alimentos",
    "Transportes",
    "Golfo",
    "Ñandú",
    "Ópticas",
    "Integrales",
]
LEGAL_FORMS = ["S.A. de C.V.", "S. de R.L. de C.V.", "SAPI de CV", "S.C.", "A.C.", "SA de CV", ""]


def _company(rng):
    words = rng.sample(COMPANY_WORDS, rng.choice([1, 2, 3, 3]))
    joined = [rng.choice(["", "del", "de la", "y"]) if i else "" for i in range(len(words))]
    name = " ".join(f"{j} {w}".strip() for j, w in zip(joined, words, strict=True))
    plain = [_plain(w) for w in words]
    letters = (
        plain[0][0] + plain[1][0] + plain[2][0]
        if len(plain) == 3
        else plain[0][0] + plain[1][:2]
        if len(plain) == 2
        else plain[0][:3]
    )
    founded = datetime.date(1960, 1, 1) + datetime.timedelta(days=rng.randrange(365 * 60))
    base = letters + founded.strftime("%y%m%d") + rng.choice(HOMOCLAVE) + rng.choice(HOMOCLAVE)
    rfc = base + stdnum_rfc.calc_check_digit(" " + base)
    return {
        "client_type": "company",
        "name": f"{name} {rng.choice(LEGAL_FORMS)}".strip(),
        "birth_date": founded,
        "rfc": rfc,
        "nationalities": "MX",
    }


def _typo(key, positions, rng):
    position = rng.choice(positions)
    letter = rng.choice([c for c in "BCDFGHJKLMNPQRSTVWZ" if c != key[position]])
    return key[:position] + letter + key[position + 1 :]


def _codes(values):
    return {p.code for p in validate_record(values)}


def test_five_thousand_valid_people_and_companies_get_no_name_warning():
    rng = random.Random(20261207)
    population = [_person(rng) for _ in range(4000)] + [_company(rng) for _ in range(1000)]

    flagged = [v for v in population if _codes(v) & {"rfc_name_mismatch", "curp_name_mismatch"}]

    assert flagged == []
    assert not [v for v in population if any(p.severity == "error" for p in validate_record(v))]


def test_typos_in_either_keys_name_letters_are_flagged():
    rng = random.Random(7)
    caught = total = 0
    for _ in range(500):
        person = _person(rng)
        rfc = _typo(person["rfc"], [0, 2, 3], rng)
        rfc = rfc[:12] + stdnum_rfc.calc_check_digit(rfc[:12])
        curp = _typo(person["curp"], [0, 2, 3, 13, 14, 15], rng)
        curp = curp[:17] + stdnum_curp.calc_check_digit(curp[:17])
        for field, value in (("rfc", rfc), ("curp", curp)):
            codes = _codes(person | {field: value})
            if codes & {"rfc_format", "curp_format", "curp_component"}:
                continue  # an inconvenient word the format check already refuses
            total += 1
            caught += f"{field}_name_mismatch" in codes
    # A typo can only pass unnoticed where it happens to give another valid reading of the same name.
    assert total > 900 and caught / total > 0.97


def test_the_warning_names_the_key_and_what_the_name_gives():
    person = _person(random.Random(3)) | {"name": "Rosa", "apellido_paterno": "Ávila", "apellido_materno": ""}
    person["rfc"] = "AVRA" + person["rfc"][4:12]
    person["rfc"] += stdnum_rfc.calc_check_digit(person["rfc"])

    problem = next(p for p in validate_record(person) if p.code == "rfc_name_mismatch")

    assert (problem.field, problem.severity) == ("rfc", "warning")
    assert problem.params == {"found": "AVRA", "expected": "AVRO"}


def test_mismatch_functions_stay_quiet_without_a_name():
    assert person_rfc_mismatch("GARJ900101AB1", given_names=["Juan"], paterno="", materno="") is None
    assert person_curp_mismatch("GARJ900101HDFRRN09", given_names=[None], paterno="García") is None
    assert company_rfc_mismatch("ABC900101AB1", legal_name="Grupo 3 Hermanos") is None


def test_apellidos_kept_apart_are_read_as_given():
    # "Ponce de León" is the paterno: the RFC is PORA; read as paterno "Ponce", materno "de León Ruiz" it is POLA.
    holder = {"given_names": ["Ana"], "paterno": "Ponce de León", "materno": "Ruiz"}
    assert person_rfc_mismatch("PORA900101AB1", **holder) is None
    assert person_rfc_mismatch("POLA900101AB1", **holder) == Mismatch(found="POLA", expected="PORA")


@pytest.mark.parametrize(
    ("joined", "keys", "expected"),
    [
        ("de la Garza Pérez", {}, ("de la Garza", "Pérez")),
        ("García López Portillo", {}, ("García", "López Portillo")),
        ("López Portillo García", {"rfc": "LOGL900101AB1"}, ("López Portillo", "García")),
        ("López Portillo García", {"curp": "LOGL900101HDFPRS09"}, ("López Portillo", "García")),
        ("Ponce de León Ruiz", {"rfc": "POLL900101AB1"}, ("Ponce", "de León Ruiz")),
        ("Ponce de León Ruiz", {"rfc": "PORL900101AB1"}, ("Ponce de León", "Ruiz")),
        ("Ávila", {}, ("Ávila", "")),
        ("de la", {}, ("de la", "")),
        ("", {}, ("", "")),
    ],
)
def test_a_joined_last_name_is_cut_where_the_keys_say(joined, keys, expected):
    assert last_name_split(joined, given_names=["Luis"], **keys) == expected
