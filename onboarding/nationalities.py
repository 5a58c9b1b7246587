"""Nationalities as people write them ('Mexicana', 'México y Estados Unidos', 'mx; us') turned into ISO 3166-1
alpha-2 codes: the one normaliser of the record form, the review queue's cells and the upload files."""

import re
import unicodedata
from typing import Any

from django_countries import countries


def match_key(value: Any) -> str:
    """Lower case, accents removed, words separated by one space: for matching words, never for storing."""
    text = unicodedata.normalize("NFKD", str(value))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    return " ".join(re.split(r"[^a-z0-9:]+", text)).strip()


# -- words -----------------------------------------------------------------------------------------------

NATIONALITY_WORDS = {
    "MX": ("mexicana", "mexicano", "mexico", "mex", "mexican", "mexicana mexicano"),
    "US": (
        "estadounidense",
        "norteamericana",
        "norteamericano",
        "americana",
        "americano",
        "eeuu",
        "ee uu",
        "eua",
        "usa",
        "estados unidos",
        "estados unidos de america",
        "united states",
        "american",
        "us american",
    ),
    "CA": ("canadiense", "canada", "canadian"),
    "GT": ("guatemalteca", "guatemalteco", "guatemala"),
    "SV": ("salvadorena", "salvadoreno", "el salvador"),
    "HN": ("hondurena", "hondureno", "honduras"),
    "NI": ("nicaraguense", "nicaragua"),
    "CR": ("costarricense", "costa rica"),
    "PA": ("panamena", "panameno", "panama"),
    "CU": ("cubana", "cubano", "cuba"),
    "DO": ("dominicana", "dominicano", "republica dominicana"),
    "CO": ("colombiana", "colombiano", "colombia"),
    "VE": ("venezolana", "venezolano", "venezuela"),
    "EC": ("ecuatoriana", "ecuatoriano", "ecuador"),
    "PE": ("peruana", "peruano", "peru"),
    "BO": ("boliviana", "boliviano", "bolivia"),
    "CL": ("chilena", "chileno", "chile"),
    "AR": ("argentina", "argentino"),
    "UY": ("uruguaya", "uruguayo", "uruguay"),
    "PY": ("paraguaya", "paraguayo", "paraguay"),
    "BR": ("brasilena", "brasileno", "brasil", "brazil", "brazilian"),
    "ES": ("espanola", "espanol", "espana", "spain", "spanish"),
    "FR": ("francesa", "frances", "francia", "france", "french"),
    "DE": ("alemana", "aleman", "alemania", "germany", "german"),
    "IT": ("italiana", "italiano", "italia", "italy", "italian"),
    "GB": ("britanica", "britanico", "reino unido", "inglesa", "ingles", "united kingdom", "uk", "british"),
    "CN": ("china", "chino", "chinese"),
    "JP": ("japonesa", "japones", "japon", "japan", "japanese"),
    "KR": ("coreana", "coreano", "corea del sur", "south korea", "korean"),
    "IN": ("india", "hindu", "indian"),
}
_NATIONALITY_INDEX = {word: code for code, words in NATIONALITY_WORDS.items() for word in words}


def _nationality_code(part: str) -> str:
    key = match_key(part)
    if key in _NATIONALITY_INDEX:
        return _NATIONALITY_INDEX[key]
    upper = part.strip().upper()
    if len(upper) == 2 and upper in countries:
        return upper
    if len(upper) == 3 and upper.isalpha():
        alpha2 = countries.alpha2(upper)
        if alpha2:
            return alpha2
    for language in ("en", "es"):
        code = countries.by_name(part.strip(), language=language)
        if code:
            return code
    # Left as written: the validator names it as not a country code.
    return " ".join(part.split()).upper()


def normalize_nationalities(value: Any) -> str:
    """'Mexicana' → 'MX'; 'México y Estados Unidos' → 'MX,US'; 'mx; us' and 'MX US' → 'MX,US'. Order kept,
    duplicates dropped; what names no country is left upper-cased for the validator to flag."""
    if value in (None, ""):
        return ""
    parts = [str(v) for v in value] if isinstance(value, (list, tuple)) else re.split(r"[,;/|]| y | and ", str(value))
    codes: list[str] = []
    for part in parts:
        for code in _part_codes(part):
            if code not in codes:
                codes.append(code)
    return ",".join(codes)


def _part_codes(part: str) -> list[str]:
    """One listed nationality; 'MX US' (codes separated by spaces, as typed in a form) is two."""
    if not part.strip():
        return []
    code = _nationality_code(part)
    words = part.split()
    if code not in countries and len(words) > 1 and all(len(w) in (2, 3) and w.isalpha() for w in words):
        return [_nationality_code(w) for w in words]
    return [code]
