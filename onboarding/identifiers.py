"""The name letters of an RFC and a CURP, derived from the holder's own name, and the check that compares them.

RFC (persons): SAT, "Instructivo para la formación de la clave del Registro Federal de Contribuyentes", rules 1-10
and Anexo IV (inconvenient words). RFC (companies): the same instructivo, rules for personas morales. CURP: RENAPO,
"Instructivo Normativo para la Asignación de la Clave Única de Registro de Población", sections 6.1-6.2 and Anexo 2.

A record keeps its apellido paterno and materno apart. When only the paterno is filled (a joined "Apellidos" put in
it, or one surname), every split of it is tried; a key is accepted when any reading of the name its holder gave
produces it. Typos in the key's name letters match none of them. `last_name_split` cuts a joined "paterno materno"
(a file's one "Apellidos" column, the records staged before the two were kept apart) where the holder's keys say.
"""

import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache

VOWELS = frozenset("AEIOU")
# Words skipped in names (SAT rule 8, RENAPO 6.1.3): prepositions, conjunctions, articles and contractions.
PARTICLES = frozenset("DA DAS DE DEL DER DI DIE DD EL LA LAS LE LES LOS MAC MC VAN VON Y".split())
# Given names skipped when another follows (SAT rule 6, RENAPO 6.1.4: José and María, and their abbreviations).
SKIPPED_GIVEN = frozenset({"JOSE", "J", "MARIA", "MA", "M"})
# SAT Anexo IV: the fourth letter becomes X.
RFC_INCONVENIENT = frozenset(
    """BUEI BUEY CACA CACO CAGA CAGO CAKA CAKO COGE COJA COJE COJI COJO CULO FETO GUEY JOTO KACA KACO KAGA KAGO
    KAKA KOGE KOJO KULO MAME MAMO MEAR MEAS MEON MION MOCO MULA PEDA PEDO PENE PUTA PUTO QULO RATA RUIN""".split()
)
# RENAPO Anexo 2: the second letter becomes X.
CURP_INCONVENIENT = frozenset(
    """BACA BAKA BUEI BUEY CACA CACO CAGA CAGO CAKA CAKO COGE COGI COJA COJE COJI COJO COLA CULO FALO FETO GETA
    GUEI GUEY JETA JOTO KACA KACO KAGA KAGO KAKA KAKO KOGE KOGI KOJA KOJE KOJI KOJO KOLA KULO LILO LOCA LOCO LOKA
    LOKO MAME MAMO MEAR MEAS MEON MIAR MION MOCO MOKO MULA MULO NACA NACO PEDA PEDO PENE PIPI PITO POPO PUTA PUTO
    QULO RATA ROBA ROBE ROBO RUIN SENO TETA VACA VAGA VAGO VAKA VUEI VUEY WUEI WUEY""".split()
)
# Words of a razón social that SAT leaves out: the legal form and its abbreviations, and linking words.
COMPANY_SKIPPED = PARTICLES | frozenset(
    """SA CV RL SC AC SAB SAPI SPR SRL SNC SCL SCS SENC EN C S A V R L B P I DE CIA COMPANIA COMPAÑIA SOCIEDAD
    ANONIMA CAPITAL VARIABLE RESPONSABILIDAD LIMITADA COOPERATIVA CIVIL ASOCIACION PROMOTORA INVERSION BURSATIL
    THE OF AND CO INC LTD LLC CORP""".split()
)


@dataclass(frozen=True)
class Mismatch:
    """The part of a key that its holder's data does not produce: what the key says and what the name gives."""

    found: str
    expected: str


# Names repeat from row to row of a file (a few hundred given names and surnames make most of them): each word
# list and each reading of a surname or given name is worked out once, for up to this many distinct values.
CACHED_NAMES = 4096


@lru_cache(maxsize=CACHED_NAMES)
def name_words(value: str | None) -> tuple[str, ...]:
    """Upper-case words of a name, accents dropped (Ñ kept), punctuation and digits as separators."""
    text = unicodedata.normalize("NFD", (value or "").upper().replace("Ñ", "\0"))
    text = "".join(c for c in text if not unicodedata.combining(c)).replace("\0", "Ñ")
    return tuple(re.findall(r"[A-ZÑ&]+", text))


def _without_particles(words: tuple[str, ...], skipped: frozenset[str] = PARTICLES) -> tuple[str, ...]:
    kept = tuple(w for w in words if w not in skipped)
    return kept or words


def _inner(word: str, vowels: bool) -> str:
    """The first vowel (or consonant) after the first letter; X when there is none (RFC rule 1, RENAPO 6.1.1)."""
    for letter in word[1:]:
        if letter.isalpha() and (letter in VOWELS) == vowels:
            return letter
    return "X"


@lru_cache(maxsize=CACHED_NAMES)
def _given_readings(given: tuple[str, ...]) -> tuple[str, ...]:
    words = _without_particles(given)
    if len(words) > 1 and words[0] in SKIPPED_GIVEN:
        return words[0], words[1]
    return (words[0],)


@lru_cache(maxsize=CACHED_NAMES)
def _surname_readings(last_names: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """(paterno, materno) for every split of the joined last names, particles left out of each part."""
    return tuple(_surname_splits(last_names))


def _surname_splits(last_names: tuple[str, ...]) -> Iterator[tuple[str, str]]:
    for cut in range(1, len(last_names) + 1):
        paterno = _without_particles(last_names[:cut])
        materno = _without_particles(last_names[cut:]) if cut < len(last_names) else ()
        if all(w in PARTICLES for w in last_names[:cut]) and cut < len(last_names):
            continue
        yield paterno[0], (materno[0] if materno else "")


def rfc_person_letters(paterno: str, materno: str, given: str) -> str:
    """The four name letters of a person's RFC (SAT rules 1-4, 7 and Anexo IV)."""
    if not paterno or not materno:
        surname = paterno or materno
        letters = surname[:2] + given[:2]  # rule 7: one surname
    elif len(paterno) <= 2:
        letters = paterno[0] + materno[0] + given[:2]  # rule 4: a paterno of one or two letters
    else:
        letters = paterno[0] + _inner(paterno, vowels=True) + materno[0] + given[0]
    return letters[:3] + "X" if letters in RFC_INCONVENIENT else letters


def curp_person_letters(paterno: str, materno: str, given: str) -> tuple[str, str]:
    """The first four letters and the three inner consonants of a CURP (RENAPO 6.1 and 6.2, Anexo 2)."""
    paterno, materno, given = (part.replace("Ñ", "X") for part in (paterno, materno, given))
    initial = paterno[:1] or "X"
    stem = initial + _inner(paterno, vowels=True) + (materno[:1] or "X") + (given[:1] or "X")
    if stem in CURP_INCONVENIENT:
        stem = stem[0] + "X" + stem[2:]
    consonants = "".join(_inner(part, vowels=False) if part else "X" for part in (paterno, materno, given))
    return stem, consonants


def rfc_company_letters(legal_name: str) -> set[str]:
    """The three name letters of a company's RFC from its razón social (SAT, personas morales), every reading."""
    readings = set()
    for skipped in (COMPANY_SKIPPED, PARTICLES):
        words = _without_particles(name_words(legal_name), skipped)
        if len(words) >= 3:
            letters = words[0][0] + words[1][0] + words[2][0]
        elif len(words) == 2:
            letters = words[0][0] + words[1][:2]
        else:
            letters = words[0][:3] if words else ""
        readings.add(letters.ljust(3, "X"))
    return readings


def _person_readings(
    given_names: Iterable[str | None], paterno: str | None, materno: str | None
) -> Iterator[tuple[str, str, str]]:
    given = tuple(w for part in given_names for w in name_words(part))
    paterno_words, materno_words = name_words(paterno), name_words(materno)
    if not given or not (paterno_words or materno_words):
        return
    if paterno_words and materno_words:
        surnames = [(_without_particles(paterno_words)[0], _without_particles(materno_words)[0])]
    else:
        surnames = list(_surname_readings(paterno_words or materno_words))
    for first in _given_readings(given):
        for surname_p, surname_m in surnames:
            yield surname_p, surname_m, first


def last_name_split(
    last_name: str, *, given_names: Iterable[str | None] = (), rfc: str = "", curp: str = ""
) -> tuple[str, str]:
    """(apellido paterno, apellido materno) of a joined "paterno materno", as written: the first cut whose letters
    the holder's RFC and CURP both carry, else one of them, else after the first surname with its particles
    ("de la Garza Pérez": "de la Garza", "Pérez"). One word, or only particles, stays whole in the paterno."""
    words = last_name.split()
    cuts = [
        cut
        for cut in range(1, len(words))
        if not all(w in PARTICLES for w in name_words(" ".join(words[:cut])))
        and not all(w in PARTICLES for w in name_words(" ".join(words[cut:])))
        and not (name_words(words[cut - 1]) and name_words(words[cut - 1])[-1] in PARTICLES)
    ]
    if not cuts:
        return last_name.strip(), ""
    given = list(given_names)
    rfc, curp = (rfc or "").upper(), (curp or "").upper()

    def agrees(cut: int) -> tuple[bool, bool]:
        paterno, materno = " ".join(words[:cut]), " ".join(words[cut:])
        readings = list(_person_readings(given, paterno, materno))
        rfc_ok = len(rfc) == 13 and any(rfc[:4] in _rfc_alternatives(rfc_person_letters(*r)) for r in readings)
        curp_ok = len(curp) == 18 and (curp[:4], curp[13:16]) in [curp_person_letters(*r) for r in readings]
        return rfc_ok, curp_ok

    scored = [(cut, agrees(cut)) for cut in cuts]
    best = next((c for c, ok in scored if all(ok)), None) or next((c for c, ok in scored if any(ok)), cuts[0])
    return " ".join(words[:best]), " ".join(words[best:])


def _rfc_alternatives(letters: str) -> set[str]:
    # An RFC may keep Ñ or write X for it; SAT's own keys show both.
    return {letters, letters.replace("Ñ", "X")}


def person_rfc_mismatch(
    rfc: str, *, given_names: Iterable[str | None], paterno: str | None, materno: str | None = ""
) -> Mismatch | None:
    """Whether a person's 13-character RFC carries name letters its holder's name does not produce."""
    readings = [rfc_person_letters(*r) for r in _person_readings(given_names, paterno, materno)]
    if not readings or any(rfc[:4] in _rfc_alternatives(r) for r in readings):
        return None
    return Mismatch(found=rfc[:4], expected=readings[0])


def person_curp_mismatch(
    curp: str, *, given_names: Iterable[str | None], paterno: str | None, materno: str | None = ""
) -> Mismatch | None:
    """Whether a CURP carries name letters (positions 1-4 and 14-16) its holder's name does not produce."""
    readings = [curp_person_letters(*r) for r in _person_readings(given_names, paterno, materno)]
    key = (curp[:4], curp[13:16])
    if not readings or key in readings:
        return None
    expected = readings[0]
    if curp[:4] in {stem for stem, _ in readings}:
        return Mismatch(found=curp[13:16], expected=next(c for s, c in readings if s == curp[:4]))
    return Mismatch(found=curp[:4], expected=expected[0])


def company_rfc_mismatch(rfc: str, *, legal_name: str | None) -> Mismatch | None:
    """Whether a company's 12-character RFC carries letters its razón social does not produce."""
    # Figures are spelt out in words by SAT's rules; a name with digits is not judged.
    if not legal_name or re.search(r"\d", legal_name):
        return None
    readings = rfc_company_letters(legal_name)
    if not readings or any(rfc[:3] in _rfc_alternatives(r) for r in readings):
        return None
    return Mismatch(found=rfc[:3], expected=sorted(readings)[0])
