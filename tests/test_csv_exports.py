"""No CSV the app writes can run a formula, whichever list separator the spreadsheet that opens it uses.

A cell such as `A;=1+1` is one harmless cell to a spreadsheet that splits on `,`, but two to one whose list
separator is `;` (Excel in much of Latin America and Europe), and the second is a formula. Each download is read
here as such a spreadsheet would read it: split on `,`, on `;` and on tabs.
"""

import csv
import io

import pytest
from django.urls import reverse

from onboarding.imports.export import csv_safe
from onboarding.models import ClientRecord, RecordStatus
from onboarding.services.submissions import submission_start
from onboarding.services.uploads import upload_map_columns, upload_receive
from onboarding.validation import FORMULA_PREFIXES
from tests.audit import write
from tests.factories import ClientRecordFactory
from tests.imports import csv_bytes, person, uploaded

pytestmark = pytest.mark.django_db

HOSTILE = [
    "A;=1+1",
    "A,=1+1",
    "A\t=1+1",
    "A\n=1+1",
    "A\r\n+1",
    "A;;-2",
    "A; @SUM(A1)",
    'A;"=1+1',
    'A","=1',
    "A;\t=1",
    '=HYPERLINK("http://x";"y")',
    "+52 55 1234",
    "-1",
    "@cmd",
    "\t=1",
]
SEPARATORS = [",", ";", "\t"]


def formula_cells(text: str) -> list[tuple[str, str]]:
    """Every cell that begins with a formula character (after the spaces and quotes a spreadsheet may strip),
    with the separator the file was split on."""
    found = []
    for separator in SEPARATORS:
        for row in csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""), delimiter=separator):
            found += [(separator, cell) for cell in row if cell.lstrip(' "').startswith(FORMULA_PREFIXES)]
    return found


def test_every_hostile_cell_is_harmless_with_any_separator():
    out = io.StringIO(newline="")
    csv.writer(out).writerows([[csv_safe(cell), csv_safe(cell)] for cell in HOSTILE])
    assert formula_cells(out.getvalue()) == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("A;=1+1", "A;'=1+1"),
        ("=1+1", "'=1+1"),
        ("a=b", "a=b"),
        ("A; -2", "A;' -2"),
        ("Peña, Núñez; García", "Peña, Núñez; García"),
        (-5, "'-5"),
        (None, ""),
        ({"a": "b"}, '{"a": "b"}'),
    ],
)
def test_csv_safe_quotes_only_what_could_start_a_cell(value, expected):
    assert csv_safe(value) == expected


def test_the_problem_rows_file(client_as, auditor, capturista, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    rows = [
        person(i, **{"Nombre(s)": f"Ana {h}", "Fecha de nacimiento": "99/99/1999", "Notas": h})
        for i, h in enumerate(HOSTILE)
    ]
    upload = upload_receive(actor=capturista, file=uploaded(csv_bytes(rows)))
    upload = upload_map_columns(actor=capturista, upload_id=upload.pk, mapping=upload.mapping)
    response = client_as(auditor).get(reverse("uploads:problems", args=[upload.pk]), {"format": "csv"})
    text = b"".join(response.streaming_content).decode()
    assert len(list(csv.reader(io.StringIO(text)))) == len(HOSTILE) + 1
    assert formula_cells(text) == []
    assert "A;'=1+1" in text


def test_the_submission_results_file(client_as, auditor, oficial):
    records = ClientRecordFactory.create_batch(len(HOSTILE), status=RecordStatus.APPROVED)
    submission = submission_start(actor=oficial, environment="test", enqueue=False)
    for record, hostile in zip(records, HOSTILE, strict=True):
        messages = [{"message": f"Artu: {hostile}", "path": hostile}]
        ClientRecord.objects.filter(pk=record.pk).update(external_id=hostile, artu_messages=messages)
    text = client_as(auditor).get(reverse("submissions:results", args=[submission.pk])).content.decode()
    assert formula_cells(text) == []
    assert "A;'=1+1" in text


def test_the_audit_export(client_as, auditor, oficial):
    for hostile in HOSTILE:
        write(oficial, reason=hostile, changes={"name": [hostile, f"x,{hostile}"]})
    response = client_as(auditor).get(reverse("audit:export"))
    text = b"".join(response.streaming_content).decode()
    assert formula_cells(text) == []
    assert "A;'=1+1" in text
