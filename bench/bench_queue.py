"""Review queue benchmark: server time of `review:queue` over 100,000 records, SQLite and PostgreSQL.

Run it against a database of its own (it creates tables and rows there, never in the app's database):

    .venv/bin/python bench/bench_queue.py --database-url sqlite:////tmp/bench_review_queue.sqlite3
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/onboarding_bench_review .venv/bin/python bench/bench_queue.py

It migrates, fills the table once with realistic records (bulk_create; kept between runs, `--reset` to rebuild),
runs ANALYZE (VACUUM ANALYZE on PostgreSQL), then times each scenario in-process with Django's test Client signed
in as an officer: the time from request to rendered response (middleware, view, queries, template), no network.
Median and p95 over `--requests` runs per scenario (after warm-up) go to bench/RESULTS.md under "## Review queue",
one subsection per database, with the median CPU time of this process (on SQLite the whole request, the database
included; on PostgreSQL without the server's share): steadier than wall time when other work shares the cores.
"""

import argparse
import datetime
import os
import random
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "RESULTS.md"
TARGET_P95_MS = 150


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"), help="a dedicated database")
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=60, help="timed requests per scenario (>= 50)")
    parser.add_argument("--reset", action="store_true", help="delete the records and create them again")
    parser.add_argument("--no-write", action="store_true", help="print only; leave bench/RESULTS.md alone")
    args = parser.parse_args()
    if not args.database_url:
        parser.error("give --database-url (or DATABASE_URL) pointing at a database used only for this benchmark")
    if "onboarding.sqlite3" in args.database_url:
        parser.error("refusing to fill the app's own database; use a dedicated one")
    return args


def setup_django(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "onboarding.settings")
    os.environ.setdefault("SECRET_KEY", "bench-only-not-secret")
    import django
    from django.conf import settings

    django.setup()
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    # The page links static files; without collectstatic the manifest storage would refuse to render.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


GIVEN = [
    "MARIA",
    "JOSE",
    "JUAN",
    "GUADALUPE",
    "FERNANDA",
    "LUIS",
    "ANA",
    "CARLOS",
    "SOFIA",
    "JORGE",
    "MIGUEL",
    "ALEJANDRA",
    "DIEGO",
    "VALERIA",
    "RICARDO",
    "PATRICIA",
    "ROBERTO",
    "GABRIELA",
    "FRANCISCO",
    "LETICIA",
]
SURNAMES = [
    "GARCIA",
    "HERNANDEZ",
    "LOPEZ",
    "MARTINEZ",
    "GONZALEZ",
    "PEREZ",
    "RODRIGUEZ",
    "SANCHEZ",
    "RAMIREZ",
    "CRUZ",
    "FLORES",
    "GOMEZ",
    "MORALES",
    "VAZQUEZ",
    "REYES",
    "JIMENEZ",
    "TORRES",
    "DIAZ",
    "GUTIERREZ",
    "RUIZ",
    "MENDOZA",
    "AGUILAR",
    "ORTIZ",
    "CASTILLO",
    "ROMERO",
    "ALVAREZ",
    "CHAVEZ",
    "RIVERA",
    "OLVERA",
    "INIGUEZ",
]
# How people type them by hand; branch exports usually drop the accents (both kinds are in the table).
ACCENTED = {
    "MARIA": "María",
    "JOSE": "José",
    "SOFIA": "Sofía",
    "GARCIA": "García",
    "HERNANDEZ": "Hernández",
    "LOPEZ": "López",
    "MARTINEZ": "Martínez",
    "GONZALEZ": "González",
    "PEREZ": "Pérez",
    "RODRIGUEZ": "Rodríguez",
    "SANCHEZ": "Sánchez",
    "RAMIREZ": "Ramírez",
    "GOMEZ": "Gómez",
    "VAZQUEZ": "Vázquez",
    "JIMENEZ": "Jiménez",
    "DIAZ": "Díaz",
    "GUTIERREZ": "Gutiérrez",
    "ALVAREZ": "Álvarez",
    "CHAVEZ": "Chávez",
    "INIGUEZ": "Íñiguez",
}
COMPANIES = [
    "Comercializadora",
    "Inmobiliaria",
    "Grupo",
    "Servicios",
    "Transportes",
    "Distribuidora",
    "Joyería",
    "Autos",
    "Constructora",
    "Inversiones",
]
PLACES = ["del Norte", "del Bajío", "Azteca", "Monterrey", "Jalisco", "Peninsular", "del Pacífico", "Mexicana"]
STATUS_WEIGHTS = {"in_review": 60, "approved": 15, "rejected": 6, "draft": 5, "submitted": 12, "failed": 2}
ERROR = {"field": "rfc", "code": "rfc_checksum", "severity": "error", "params": {"value": ""}}
WARNING = {"field": "curp", "code": "rfc_curp_mismatch", "severity": "warning", "params": {}}


def fill(n: int, reset: bool) -> None:
    """Create `n` records (5 data-entry users, 20 uploads, six months of staging) unless they are there already."""
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from onboarding.models import ClientRecord, Upload
    from onboarding.permissions import Role
    from onboarding.services.roles import roles_setup
    from tests.factories import company_rfc, person_identifiers

    User = get_user_model()
    roles_setup()
    from django.contrib.auth.models import Group

    officer, _ = User.objects.get_or_create(username="bench_oficial")
    officer.groups.set([Group.objects.get(name=Role.OFFICER)])
    entry = []
    for i in range(5):
        user, _ = User.objects.get_or_create(username=f"bench_capturista{i}")
        user.groups.set([Group.objects.get(name=Role.DATA_ENTRY)])
        entry.append(user)
    if reset:
        ClientRecord.objects.all().delete()
    have = ClientRecord.objects.count()
    if have >= n:
        print(f"{have} records already there")
        return
    uploads = list(Upload.objects.filter(original_name__startswith="bench-"))
    while len(uploads) < 20:
        uploads.append(
            Upload.objects.create(
                file=f"uploads/bench-{len(uploads)}.csv",
                original_name=f"bench-{len(uploads)}.csv",
                sha256=f"{len(uploads):064d}",
                format="csv",
                created_by=random.choice(entry),
            )
        )
    rng = random.Random(20250601)
    statuses = [s for s, w in STATUS_WEIGHTS.items() for _ in range(w)]
    now = datetime.datetime.now(datetime.UTC)
    fields = {f: ClientRecord._meta.get_field(f) for f in ("created_at", "updated_at")}
    fields["created_at"].auto_now_add = fields["updated_at"].auto_now = False  # keep our spread of dates
    started = time.perf_counter()
    batch = []
    for i in range(have, n):
        batch.append(make_record(i, rng, entry, uploads, statuses, now, person_identifiers, company_rfc))
        if len(batch) == 5000:
            with transaction.atomic():
                ClientRecord.objects.bulk_create(batch, batch_size=1000)
            batch = []
    if batch:
        with transaction.atomic():
            ClientRecord.objects.bulk_create(batch, batch_size=1000)
    print(f"created {n - have} records in {time.perf_counter() - started:.1f} s")


def make_record(i, rng, entry, uploads, statuses, now, person_identifiers, company_rfc):
    from onboarding.models import ClientRecord, record_search_text

    created = now - datetime.timedelta(minutes=rng.randint(0, 180 * 24 * 60))
    creator = rng.choice(entry)
    status = rng.choice(statuses)
    roll = rng.random()
    problems = [ERROR] if roll < 0.08 else [WARNING] if roll < 0.2 else []
    common = {
        "status": status,
        "external_id": f"SUC{rng.randint(1, 60):02d}-{i:07d}",
        "created_by": creator,
        "updated_by": creator if rng.random() < 0.8 else rng.choice(entry),
        "created_at": created,
        "updated_at": created + datetime.timedelta(hours=rng.randint(0, 72)),
        "upload": rng.choice(uploads) if rng.random() < 0.7 else None,
        "source_row": i % 5000 + 2,
        "problems": problems,
        "error_count": sum(p["severity"] == "error" for p in problems),
        "warning_count": sum(p["severity"] == "warning" for p in problems),
        "warnings_acknowledged": bool(problems) and rng.random() < 0.3,
        "nationalities": "MX",
        "duplicate_field": "rfc" if rng.random() < 0.02 else "",
        "av_inm": rng.random() < 0.1,
        "av_avi": rng.random() < 0.05,
        "av_veh": rng.random() < 0.08,
        "scopes": ["MX"],
        "metadata": {"sucursal": f"{rng.randint(1, 60):02d}"},
    }
    if rng.random() < 0.85:
        given, paterno, materno = rng.choice(GIVEN), rng.choice(SURNAMES), rng.choice(SURNAMES)
        birth = datetime.date(1950, 1, 1) + datetime.timedelta(days=rng.randint(0, 20000))
        rfc, curp = person_identifiers(given, paterno, materno, birth, rng.choice("HM"), rng=rng)
        typed = rng.random() < 0.5  # by hand, with accents
        given, paterno, materno = (ACCENTED.get(w, w) if typed else w for w in (given, paterno, materno))
        record = ClientRecord(
            client_type="individual",
            name=given.title(),
            apellido_paterno=paterno.title(),
            apellido_materno=materno.title(),
            birth_date=birth,
            rfc=rfc,
            curp=curp,
            **common,
        )
    else:
        name = f"{rng.choice(COMPANIES)} {rng.choice(PLACES)} SA de CV"
        founded = datetime.date(1970, 1, 1) + datetime.timedelta(days=rng.randint(0, 18000))
        rfc = company_rfc(name, founded, rng)
        record = ClientRecord(client_type="company", name=name, birth_date=founded, rfc=rfc, **common)
    record.search_text = record_search_text(vars(record))  # as the services write it
    return record


def scenarios() -> list[tuple[str, dict, dict]]:
    from onboarding.models import ClientRecord, Upload

    sample = ClientRecord.objects.filter(client_type="individual").order_by("pk").values("rfc", "curp")[500]
    upload = Upload.objects.filter(original_name__startswith="bench-").order_by("pk").first()
    today = datetime.date.today()
    hx = {"HX-Request": "true"}
    return [
        ("default: newest first, page 1", {}, {}),
        ("status=in_review, page 1", {"status": "in_review"}, {}),
        ("status=in_review, sort=name, page 50", {"status": "in_review", "sort": "name", "page": 50}, {}),
        ("sort=-last_name, page 500 (deep offset)", {"sort": "-last_name", "page": 500}, {}),
        ("last page, newest first", {"page": -(-ClientRecord.objects.count() // 50)}, {}),
        ("search: surname 'mendoza'", {"q": "mendoza"}, {}),
        ("search: two words 'ana ruiz'", {"q": "ana ruiz"}, {}),
        ("search: accent-free 'sofia olvera'", {"q": "sofia olvera"}, {}),
        ("search: accent-free surname 'iniguez'", {"q": "iniguez"}, {}),
        ("search: RFC", {"q": sample["rfc"]}, {}),
        ("search: CURP prefix", {"q": sample["curp"][:10].lower()}, {}),
        ("has_errors=yes, sort=-problems", {"has_errors": "yes", "sort": "-problems"}, {}),
        (
            "warnings=unacknowledged, type=individual, AVI",
            {"warnings": "unacknowledged", "type": "individual", "actividad": "AVI"},
            {},
        ),
        ("duplicate=yes, status=in_review", {"duplicate": "yes", "status": "in_review"}, {}),
        ("upload + status=in_review, sort=rfc", {"upload": upload.pk, "status": "in_review", "sort": "rfc"}, {}),
        (
            "created_by + last 30 days",
            {"created_by": "bench_capturista3", "date_from": (today - datetime.timedelta(days=30)).isoformat()},
            {},
        ),
        ("htmx table partial, sort=external_id, page 20", {"sort": "external_id", "page": 20}, hx),
        ("per_page=100, status=approved", {"per_page": 100, "status": "approved"}, {}),
    ]


def measure(requests: int) -> list[dict]:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    client = Client()
    client.force_login(get_user_model().objects.get(username="bench_oficial"))
    url = reverse("review:queue")
    rows = []
    for label, params, headers in scenarios():
        for _ in range(3):  # warm-up: caches, connection, compiled templates
            response = client.get(url, params, headers=headers)
            assert response.status_code == 200, (label, response.status_code)
        times, cpu = [], []
        for _ in range(requests):
            started, started_cpu = time.perf_counter(), time.process_time()
            client.get(url, params, headers=headers)
            times.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - started_cpu) * 1000)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url, params, headers=headers)
        shown = len(re.findall(rb'class="review-row"', response.content))
        total = re.search(rb'data-total="(\d+)"', response.content)  # the bulk bar's count of matching records
        times.sort()
        rows.append(
            {
                "label": label,
                "median": statistics.median(times),
                "p95": times[max(0, round(0.95 * len(times)) - 1)],
                "max": times[-1],
                "cpu": statistics.median(cpu),
                "queries": len(queries.captured_queries),
                "rows": shown,
                "matches": int(total.group(1)) if total else None,
            }
        )
        print(
            f"{label:50} median {rows[-1]['median']:7.1f} ms  p95 {rows[-1]['p95']:7.1f} ms  "
            f"CPU {rows[-1]['cpu']:6.1f} ms  queries {rows[-1]['queries']}  rows {shown}  matches {rows[-1]['matches']}"
        )
    return rows


def write(rows: list[dict], vendor: str, args: argparse.Namespace, database_version: str, load: str) -> None:
    worst = max(r["p95"] for r in rows)
    verdict = "meets" if worst <= TARGET_P95_MS else "MISSES"
    url = re.sub(r"//[^@/]*@", "//…@", args.database_url)
    lines = [
        f"### {vendor}",
        "",
        f"{datetime.date.today().isoformat()} · {database_version} · Python {sys.version.split()[0]} · "
        f"{args.records:,} records · {args.requests} timed requests per scenario after 3 warm-ups · "
        f"{os.cpu_count()} CPUs, load average {load} during the run · "
        f"worst p95 {worst:.1f} ms: {verdict} the {TARGET_P95_MS} ms target.",
        "",
        "```",
        f".venv/bin/python bench/bench_queue.py --database-url {url} --records {args.records} "
        f"--requests {args.requests}",
        "```",
        "",
        "| scenario | median ms | p95 ms | max ms | CPU median ms | queries | rows | matches |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
        *(
            f"| {r['label']} | {r['median']:.1f} | {r['p95']:.1f} | {r['max']:.1f} | {r['cpu']:.1f} | {r['queries']} "
            f"| {r['rows']} | {r['matches'] if r['matches'] is not None else '–'} |"
            for r in rows
        ),
        "",
    ]
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    section = re.search(r"^## Review queue\n(.*?)(?=^## |\Z)", text, flags=re.S | re.M)
    intro = (
        "## Review queue\n\n"
        "Server time of the review queue page (`review:queue`), measured in-process with Django's test Client as a "
        "signed-in officer: middleware, view, SQL and template rendering, no network. The query count is the same "
        "for every page size (session, user, two permission reads, the user's queue columns, the filters' lists of "
        "users and uploads, counts per status, the page of rows; an htmx swap of the results reads no list). "
        "Produced by `bench/bench_queue.py`; each database's subsection is rewritten by its own run, and the "
        "Verdict subsection is written by hand (runs keep it).\n\n"
    )
    body = section.group(1) if section else ""
    subsections = dict(re.findall(r"^### (\S+)\n(.*?)(?=^### |\Z)", body, flags=re.S | re.M))
    subsections[vendor] = "\n".join(lines[1:]) + "\n"
    new = intro + "".join(f"### {k}\n{v}" for k, v in sorted(subsections.items(), key=lambda kv: kv[0] != "SQLite"))
    text = text[: section.start()] + new + text[section.end() :] if section else text.rstrip() + "\n\n" + new
    RESULTS.write_text(text)
    print(f"wrote {RESULTS.relative_to(ROOT)}")


def main() -> None:
    args = parse_args()
    setup_django(args.database_url)
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0, interactive=False)
    fill(args.records, args.reset)
    with connection.cursor() as cursor:
        # Statistics (and on PostgreSQL the visibility map, which autovacuum would set after a bulk load) as a
        # table in service has them.
        cursor.execute("VACUUM ANALYZE onboarding_clientrecord" if connection.vendor == "postgresql" else "ANALYZE")
        if connection.vendor == "postgresql":
            cursor.execute("SHOW server_version")
            version = f"PostgreSQL {cursor.fetchone()[0].split()[0]}"
        else:
            cursor.execute("select sqlite_version()")
            version = f"SQLite {cursor.fetchone()[0]}"
    rows = measure(args.requests)
    load = "/".join(f"{x:.1f}" for x in os.getloadavg())
    if not args.no_write:
        write(rows, "PostgreSQL" if connection.vendor == "postgresql" else "SQLite", args, version, load)


if __name__ == "__main__":
    main()
