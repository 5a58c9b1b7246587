"""Builders of client files (CSV in any encoding and delimiter, XLSX, JSON) with valid Mexican identifiers."""

import csv
import datetime
import io
import json
import random

from django.core.files.uploadedfile import SimpleUploadedFile

from tests.factories import company_rfc, person_identifiers

SPANISH_HEADERS = (
    "Número de cliente",
    "Tipo de persona",
    "Nombre(s)",
    "Apellido paterno",
    "Apellido materno",
    "Fecha de nacimiento",
    "Nacionalidad",
    "RFC",
    "CURP",
    "Actividad vulnerable",
)
PEOPLE = [
    # given (as written), paterno, materno, ASCII forms for the identifiers
    ("María José", "Peña", "Núñez", "JOSE", "PEXA", "NUXEZ"),  # José: SAT and RENAPO skip María; Ñ is X
    ("Juan", "García", "López", "JUAN", "GARCIA", "LOPEZ"),
    ("Guadalupe", "Hernández", "Martínez", "GUADALUPE", "HERNANDEZ", "MARTINEZ"),
    ("Luis Ángel", "Ramírez", "Sánchez", "LUIS", "RAMIREZ", "SANCHEZ"),
    ("Sofía", "González", "Pérez", "SOFIA", "GONZALEZ", "PEREZ"),
]


def person(i: int, rng: random.Random | None = None, **overrides) -> dict[str, str]:
    """One row of a branch's spreadsheet, Spanish headers, valid RFC and CURP (RFC typed lowercase with spaces)."""
    rng = rng or random.Random(i)
    given, paterno, materno, g, p, m = PEOPLE[i % len(PEOPLE)]
    birth = datetime.date(1960, 1, 1) + datetime.timedelta(days=rng.randint(0, 15000))
    rfc, curp = person_identifiers(g, p, m, birth, sex=rng.choice("HM"), rng=rng)
    row = {
        "Número de cliente": f"C-{i:05d}",
        "Tipo de persona": "Física",
        "Nombre(s)": given,
        "Apellido paterno": paterno,
        "Apellido materno": materno,
        "Fecha de nacimiento": birth.strftime("%d/%m/%Y"),
        "Nacionalidad": "Mexicana",
        "RFC": f"{rfc[:4].lower()} {rfc[4:10]} {rfc[10:]}",
        "CURP": curp,
        "Actividad vulnerable": "INM, VEH" if i % 2 else "",
    }
    row.update(overrides)
    return row


def company(i: int, **overrides) -> dict[str, str]:
    founded = datetime.date(2001, 5, 17)
    row = {
        "Número de cliente": f"E-{i:05d}",
        "Tipo de persona": "Moral",
        "Nombre(s)": f"Comercializadora {i} SA de CV",
        "Apellido paterno": "",
        "Apellido materno": "",
        "Fecha de nacimiento": founded.strftime("%d/%m/%Y"),
        "Nacionalidad": "MX",
        "RFC": company_rfc("COM", founded, rng=random.Random(i)),
        "CURP": "",
        "Actividad vulnerable": "MPC",
    }
    row.update(overrides)
    return row


def csv_bytes(
    rows: list[dict],
    *,
    encoding: str = "utf-8",
    delimiter: str = ",",
    title_rows: tuple[str, ...] = (),
    trailing_blank: int = 0,
    headers: tuple[str, ...] | None = None,
) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    for title in title_rows:
        writer.writerow([title])
    headers = headers or tuple(rows[0]) if rows else headers or SPANISH_HEADERS
    writer.writerow(headers)
    for row in rows:
        writer.writerow([row.get(h, "") for h in headers])
    for _ in range(trailing_blank):
        writer.writerow([""] * len(headers))
    return out.getvalue().encode(encoding)


def xlsx_bytes(rows: list[list], *, formats: dict[tuple[int, int], str] | None = None) -> bytes:
    """A workbook whose first sheet holds `rows` (first row the header); `formats` sets number formats by (row, col)."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    for (r, c), number_format in (formats or {}).items():
        sheet.cell(row=r, column=c).number_format = number_format
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def artu_item(i: int, **overrides) -> dict:
    """A client object in Artu's own `/clients/batch` shape."""
    row = person(i)
    item = {
        "type": "individual",
        "name": row["Nombre(s)"],
        "lastName": f"{row['Apellido paterno']} {row['Apellido materno']}",
        "birthDate": datetime.datetime.strptime(row["Fecha de nacimiento"], "%d/%m/%Y").date().isoformat(),
        "nationalities": "MX",
        "externalId": row["Número de cliente"],
        "metadata": {"branch": "Norte"},
        "scopeData": {
            "MX": {
                "rfc": row["RFC"].replace(" ", "").upper(),
                "curp": row["CURP"],
                "actividadVulnerable": {"AVI": {"username": f"user{i}"}, "INM": {}},
            }
        },
    }
    item.update(overrides)
    return item


def json_bytes(items) -> bytes:
    return json.dumps(items, ensure_ascii=False).encode("utf-8")


def uploaded(data: bytes, name: str = "clientes.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data)


ARTU_HEADERS = (
    "externalId",
    "type",
    "name",
    "middleName",
    "lastName",
    "secondLastName",
    "birthDate",
    "nationalities",
    "rfc",
    "curp",
    "actividadVulnerable",
    "transmisorNumeroCuenta",
    "transmisorClaveSujetoObligado",
)


def artu_row(i: int, **overrides) -> dict[str, str]:
    """One row of a file whose columns carry Artu's own field names, the two surnames apart."""
    row = person(i)
    out = {
        "externalId": row["Número de cliente"],
        "type": "individual",
        "name": row["Nombre(s)"],
        "middleName": "",
        "lastName": row["Apellido paterno"],
        "secondLastName": row["Apellido materno"],
        "birthDate": datetime.datetime.strptime(row["Fecha de nacimiento"], "%d/%m/%Y").date().isoformat(),
        "nationalities": "MX",
        "rfc": row["RFC"].replace(" ", "").upper(),
        "curp": row["CURP"],
        "actividadVulnerable": row["Actividad vulnerable"],
        "transmisorNumeroCuenta": f"0{i:09d}",
        "transmisorClaveSujetoObligado": "TRX-001",
    }
    out.update(overrides)
    return out
