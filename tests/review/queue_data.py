"""A realistic review queue: long Mexican names, companies and trusts, and the problems real uploads bring (wrong
check digits, name letters that do not match, a missing surname, duplicates), validated by the app's own rules."""

import datetime
import random
import unicodedata

from onboarding.models import ClientRecord, ClientType, RecordStatus
from onboarding.services.records import record_apply_data
from tests.factories import company_rfc, person_identifiers

PEOPLE = [
    ("María Guadalupe", "Fernanda", "Hernández de la Garza Villaseñor"),
    ("José Francisco Javier", "", "Rodríguez Sánchez-Navarro"),
    ("Ana Sofía", "", "Pérez López"),
    ("Juan Carlos", "", "Martínez Gutiérrez"),
    ("Ximena", "Alejandra", "Ochoa Zúñiga"),
    ("Luis Ángel", "", "Castañeda Ibarra"),
    ("Valeria", "", "Domínguez Echeverría"),
    ("Ricardo", "Emiliano", "Fernández del Castillo Altamirano"),
    ("Patricia", "", "Núñez Arredondo"),
    ("Jorge Eduardo", "", "Villarreal Montemayor"),
    ("Gabriela", "", "Aguilar Cienfuegos"),
    ("Miguel Ángel", "", "Santiago Bautista"),
    ("Leticia", "", "Moreno Cárdenas"),
    ("Diego Armando", "", "Ramírez de Arellano Sotomayor"),
]
COMPANIES = [
    "Comercializadora Internacional de Productos Agroindustriales del Bajío SAPI de CV",
    "Inmobiliaria Paseo de la Reforma 2050 SA de CV",
    "Joyería Fina del Centro Histórico SA de CV",
    "Transportes y Logística Peninsular del Sureste S de RL de CV",
    "Autos Seminuevos Monterrey SA de CV",
]
TRUSTS = ["Fideicomiso Irrevocable de Administración y Garantía F/4087 Banco del Pacífico"]


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().upper()


def _person(i: int, rng: random.Random) -> dict:
    given, middle, last = PEOPLE[i % len(PEOPLE)]
    paterno, _, materno = last.rpartition(" ") if " de " in last else last.partition(" ")
    birth = datetime.date(1955, 1, 1) + datetime.timedelta(days=rng.randint(0, 17000))
    first = (given.split()[0] if not given.startswith(("María", "José")) else given.split()[-1]).replace(" ", "")
    rfc, curp = person_identifiers(
        _ascii(first), _ascii(paterno.split()[-1]), _ascii(materno or "X"), birth, rng.choice("HM"), rng=rng
    )
    data = {"client_type": ClientType.INDIVIDUAL, "name": given, "middle_name": middle}
    data |= {"apellido_paterno": paterno, "apellido_materno": materno}
    data |= {"birth_date": birth, "rfc": rfc, "curp": curp}
    kind = i % 7
    if kind == 1:  # a typo in the check digit
        data["rfc"] = rfc[:-1] + ("1" if rfc[-1] != "1" else "2")
    elif kind == 3:  # the CURP of someone else
        data["curp"] = curp[:4].replace(curp[1], "U" if curp[1] != "U" else "A") + curp[4:]
    elif kind == 5:  # the file had no surname column
        data["apellido_paterno"] = data["apellido_materno"] = ""
    return data


def realistic_records(n: int, *, created_by, updated_by=None, seed: int = 20250601) -> list[ClientRecord]:
    """`n` staged records in review (some approved or rejected), problems computed by the app's validation."""
    rng = random.Random(seed)
    records = []
    for i in range(n):
        if i % 9 == 4:
            name = COMPANIES[i % len(COMPANIES)]
            founded = datetime.date(1985, 1, 1) + datetime.timedelta(days=rng.randint(0, 12000))
            data = {"client_type": ClientType.COMPANY, "name": name, "birth_date": founded}
            data["rfc"] = company_rfc(_ascii(name), founded, rng)
        elif i % 23 == 8:
            name = TRUSTS[0]
            founded = datetime.date(2011, 3, 14)
            data = {"client_type": ClientType.TRUST, "name": name, "birth_date": founded}
            data["rfc"] = company_rfc(_ascii(name), founded, rng)
        else:
            data = _person(i, rng)
        data |= {"nationalities": "MX" if i % 6 else "MX,US", "external_id": f"SUC{i % 17 + 1:02d}-{20250 + i:07d}"}
        record = ClientRecord(
            created_by=created_by,
            updated_by=updated_by or created_by,
            status=RecordStatus.APPROVED if i % 11 == 10 else RecordStatus.IN_REVIEW,
            duplicate_field="external_id" if i % 13 == 6 else "",
        )
        if i % 17 == 12:
            record.status, record.reject_reason = RecordStatus.REJECTED, "incomplete"
        record_apply_data(record, data)
        records.append(record)
    return ClientRecord.objects.bulk_create(records)
