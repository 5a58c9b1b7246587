"""Upload staging benchmark: a realistic client CSV staged end to end through `services.uploads`, against
django-import-export importing the same file (default settings, dry run).

    .venv/bin/python bench/bench_upload.py                          # SQLite: 10k, 100k, 300k + import-export 100k
    .venv/bin/python bench/bench_upload.py --database-url postgres://postgres@127.0.0.1:5432/onboarding_bench_uploads
    .venv/bin/python bench/bench_upload.py --sizes 100000 --skip-import-export --write-results

Every measurement runs in a fresh process on a freshly migrated, empty database (the PostgreSQL database named in
the URL is dropped and created again), so peak RSS (`getrusage`) is that of one staging only. A measurement
covers what a user waits for: upload_receive (hash, store, detect encoding/delimiter/header, count rows) plus
upload_map_columns → upload_stage (parse, normalise, validate, dedupe, insert records, one audit event per
record). django-import-export needs `pip install django-import-export` in the venv; it is not a dependency of
the project.
"""

import argparse
import datetime
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
CACHE_DIR = Path(tempfile.gettempdir()) / "onboarding-bench"
HEADERS = (
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
    "Usuario AVI",
    "Número de cuenta",
    "Clave sujeto obligado",
)

GIVEN = [
    "María",
    "José",
    "Juan",
    "Guadalupe",
    "Fernanda",
    "Luis",
    "Ana",
    "Carlos",
    "Sofía",
    "Jorge",
    "Ximena",
    "Ángel",
    "Valeria",
    "Miguel",
    "Daniela",
    "Héctor",
    "Lucía",
    "Raúl",
    "Mónica",
    "Iván",
    "Paola",
    "Óscar",
    "Regina",
    "Tomás",
    "Brenda",
    "Efraín",
    "Itzel",
    "Ramón",
    "Yolanda",
    "Saúl",
]
SURNAMES = [
    "García",
    "Hernández",
    "López",
    "Martínez",
    "González",
    "Pérez",
    "Rodríguez",
    "Sánchez",
    "Ramírez",
    "Cruz",
    "Flores",
    "Gómez",
    "Morales",
    "Vázquez",
    "Reyes",
    "Jiménez",
    "Torres",
    "Díaz",
    "Gutiérrez",
    "Ruiz",
    "Mendoza",
    "Aguilar",
    "Ortiz",
    "Moreno",
    "Castillo",
    "Romero",
    "Álvarez",
    "Méndez",
    "Chávez",
    "Rivera",
    "Juárez",
    "Domínguez",
    "Núñez",
    "Peña",
    "Ibarra",
    "Salazar",
    "Orozco",
    "Cervantes",
]
COMPANY_WORDS = [
    "Comercializadora",
    "Servicios",
    "Inmobiliaria",
    "Grupo",
    "Distribuidora",
    "Constructora",
    "Autos",
    "Joyería",
    "Financiera",
    "Consultores",
]
STATES = ["AS", "BC", "DF", "JC", "NL", "PL", "VZ", "YN", "MC", "GT", "CH", "SL", "QT", "OC"]
NATIONALITIES = ["Mexicana"] * 12 + ["mexicano", "MX", "México", "Estadounidense", "Guatemalteca", "Colombiana"]
ACTIVIDADES = ["", "", "", "INM", "VEH", "INM, VEH", "MJR", "AVI", "MPC", "TSC", "JYS", "ARI"]
HOMOCLAVE_1 = "123456789ABCDEFGHJKLMNPQRSTUV"
HOMOCLAVE_2 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZ"


# -- the file ----------------------------------------------------------------------------------------------------


def _ascii(word: str) -> str:
    import unicodedata

    return "".join(c for c in unicodedata.normalize("NFKD", word) if c.isascii()).upper()


def _person_ids(given: str, paterno: str, materno: str, birth: datetime.date, sex: str, rng: random.Random):
    from stdnum.mx import curp as stdnum_curp
    from stdnum.mx import rfc as stdnum_rfc

    g, p, m = _ascii(given), _ascii(paterno), _ascii(materno)
    vowel = next((c for c in p[1:] if c in "AEIOU"), "X")
    stem = p[0] + vowel + m[0] + g[0]
    date = birth.strftime("%y%m%d")
    rfc_base = stem + date + rng.choice(HOMOCLAVE_1) + rng.choice(HOMOCLAVE_2)
    rfc = rfc_base + stdnum_rfc.calc_check_digit(rfc_base)

    def consonant(word: str) -> str:
        return next((c for c in word[1:] if c not in "AEIOU"), "X")

    curp_base = (
        stem
        + date
        + sex
        + rng.choice(STATES)
        + consonant(p)
        + consonant(m)
        + consonant(g)
        + ("0" if birth.year < 2000 else "A")
    )
    return rfc, curp_base + stdnum_curp.calc_check_digit(curp_base)


def _company_rfc(name: str, founded: datetime.date, rng: random.Random) -> str:
    from stdnum.mx import rfc as stdnum_rfc

    stem = "".join(c for c in _ascii(name) if c.isalpha())[:3].ljust(3, "X")
    base = stem + founded.strftime("%y%m%d") + rng.choice(HOMOCLAVE_1) + rng.choice(HOMOCLAVE_2)
    return base + stdnum_rfc.calc_check_digit(" " + base)


def generate_csv(rows: int, seed: int = 5) -> Path:
    """A branch's client export: 85 % persons, 15 % companies, Spanish headers, UTF-8, with realistic defects
    (≈1 % wrong RFC check digit, 0.5 % impossible dates, 0.3 % repeated clients, a few formulas and typos)."""
    import csv

    CACHE_DIR.mkdir(exist_ok=True)
    path = CACHE_DIR / f"clientes-{rows}-{seed}.csv"
    if path.exists():
        return path
    rng = random.Random(seed)
    earlier: list[list[str]] = []
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(HEADERS)
        for i in range(rows):
            defect = rng.random()
            if defect < 0.003 and earlier:
                row = list(rng.choice(earlier))  # the same client sent twice
                writer.writerow(row)
                continue
            if rng.random() < 0.85:
                given = rng.choice(GIVEN) + (f" {rng.choice(GIVEN)}" if rng.random() < 0.3 else "")
                paterno, materno = rng.choice(SURNAMES), rng.choice(SURNAMES)
                birth = datetime.date(1940, 1, 1) + datetime.timedelta(days=rng.randint(0, 23000))
                rfc, curp = _person_ids(given, paterno, materno, birth, rng.choice("HM"), rng)
                kind, name = rng.choice(["Física", "Persona Física", "F"]), given
            else:
                name = f"{rng.choice(COMPANY_WORDS)} {rng.choice(SURNAMES)} SA de CV"
                paterno = materno = curp = ""
                birth = datetime.date(1980, 1, 1) + datetime.timedelta(days=rng.randint(0, 15000))
                rfc, kind = _company_rfc(name, birth, rng), rng.choice(["Moral", "Persona Moral"])
            date = birth.strftime("%d/%m/%Y") if rng.random() < 0.8 else birth.isoformat()
            if 0.003 <= defect < 0.013:
                rfc = rfc[:-1] + ("A" if rfc[-1] != "A" else "B")  # wrong check digit
            elif 0.013 <= defect < 0.018:
                date = f"31/02/{birth.year}"
            elif 0.018 <= defect < 0.019:
                name = '=HYPERLINK("http://x")'
            if rng.random() < 0.3:
                rfc = f"{rfc[:-9].lower()} {rfc[-9:-3]} {rfc[-3:]}"  # typed by hand
            actividad = rng.choice(ACTIVIDADES)
            cnbv = rng.random() < 0.1
            row = [
                f"{i + 1:07d}",
                kind,
                name,
                paterno,
                materno,
                date,
                rng.choice(NATIONALITIES),
                rfc,
                curp,
                actividad,
                f"user{i}" if "AVI" in actividad else "",
                f"{rng.randint(10**9, 10**10 - 1)}" if cnbv else "",
                "TRM-0042" if cnbv else "",
            ]
            writer.writerow(row)
            if len(earlier) < 1000:
                earlier.append(row)
    return path


# -- workers (each in its own process) ---------------------------------------------------------------------------


def _django(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "onboarding.settings")
    sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()


def _user():
    from django.contrib.auth.models import Group, User

    from onboarding.permissions import Role
    from onboarding.services.roles import roles_setup

    roles_setup()
    user, _ = User.objects.get_or_create(username="bench")
    user.groups.add(Group.objects.get(name=Role.DATA_ENTRY))
    return User.objects.get(pk=user.pk)


def _rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


def _cpu_s(who: int = resource.RUSAGE_SELF) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def worker_ours(csv_path: str, database_url: str, media: str) -> dict:
    _django(database_url)
    from django.conf import settings
    from django.core.files import File

    import onboarding.services.uploads as uploads

    settings.MEDIA_ROOT = media
    user = _user()
    baseline = _rss_mb()
    phases = {"prepare": 0.0, "store": 0.0, "audit": 0.0}

    def timed(name, func):
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                phases[name] += time.perf_counter() - start

        return wrapper

    uploads._prepare_rows = timed("prepare", uploads._prepare_rows)
    uploads._store_rows = timed("store", uploads._store_rows)
    uploads.audit_events_write = timed("audit", uploads.audit_events_write)
    cpu_start = _cpu_s()
    start = time.perf_counter()
    with open(csv_path, "rb") as handle:
        upload = uploads.upload_receive(actor=user, file=File(handle, name=Path(csv_path).name))
    received = time.perf_counter()
    upload = uploads.upload_map_columns(actor=user, upload_id=upload.pk, mapping=upload.mapping, background=False)
    done = time.perf_counter()
    assert upload.status == "staged", upload.error_message
    return {
        "rows": upload.row_count,
        "seconds": done - start,
        "receive_s": received - start,
        "stage_s": done - received,
        "prepare_s": phases["prepare"],
        "insert_s": phases["store"] - phases["audit"],
        "audit_s": phases["audit"],
        "rows_per_s": upload.row_count / (done - start),
        "peak_rss_mb": _rss_mb(),
        "baseline_rss_mb": baseline,
        # The validation workers (imports.parallel) are child processes: their CPU and the largest one's peak RSS.
        "cpu_s": _cpu_s() - cpu_start + _cpu_s(resource.RUSAGE_CHILDREN),
        "worker_peak_rss_mb": _rss_mb(resource.RUSAGE_CHILDREN),
        "load_avg": os.getloadavg()[0],
        "ready": upload.ready_count,
        "errors": upload.error_count,
        "warnings": upload.warning_count,
        "duplicates": upload.duplicate_count,
    }


def worker_import_export(csv_path: str, database_url: str, media: str) -> dict:
    _django(database_url)
    import tablib
    from import_export import fields, resources, widgets

    from onboarding.models import ClientRecord

    user = _user()
    baseline = _rss_mb()
    types = {
        "física": "individual",
        "persona física": "individual",
        "f": "individual",
        "moral": "company",
        "persona moral": "company",
    }

    class TypeWidget(widgets.CharWidget):
        def clean(self, value, row=None, **kwargs):
            return types.get(str(value).strip().lower(), value)

    class DayFirstDateWidget(widgets.DateWidget):
        """The file's two date spellings (DD/MM/YYYY and YYYY-MM-DD); the default widget knows one format."""

        def clean(self, value, row=None, **kwargs):
            try:
                return datetime.datetime.strptime(value, "%d/%m/%Y").date()
            except (TypeError, ValueError):
                return super().clean(value, row, **kwargs)

    class ClientRecordResource(resources.ModelResource):
        # Only what a resource must declare to read this file: its column names, the date order, the type words.
        external_id = fields.Field("external_id", "Número de cliente")
        client_type = fields.Field("client_type", "Tipo de persona", widget=TypeWidget())
        name = fields.Field("name", "Nombre(s)")
        last_name = fields.Field("last_name", "Apellido paterno")
        middle_name = fields.Field("middle_name", "Apellido materno")
        birth_date = fields.Field("birth_date", "Fecha de nacimiento", widget=DayFirstDateWidget())
        nationalities = fields.Field("nationalities", "Nacionalidad")
        rfc = fields.Field("rfc", "RFC")
        curp = fields.Field("curp", "CURP")
        avi_username = fields.Field("avi_username", "Usuario AVI")
        cnbv_numero_cuenta = fields.Field("cnbv_numero_cuenta", "Número de cuenta")
        cnbv_clave_sujeto_obligado = fields.Field("cnbv_clave_sujeto_obligado", "Clave sujeto obligado")

        class Meta:
            model = ClientRecord
            # "id" is listed so the default import_id_fields (["id"]) applies: with no id column, every row is new.
            fields = (
                "id",
                "external_id",
                "client_type",
                "name",
                "last_name",
                "middle_name",
                "birth_date",
                "nationalities",
                "rfc",
                "curp",
                "avi_username",
                "cnbv_numero_cuenta",
                "cnbv_clave_sujeto_obligado",
            )

        def before_save_instance(self, instance, row, **kwargs):
            instance.created_by = instance.updated_by = user

    start = time.perf_counter()
    with open(csv_path, encoding="utf-8") as handle:
        dataset = tablib.Dataset().load(handle.read(), format="csv")
    result = ClientRecordResource().import_data(dataset, dry_run=True)
    done = time.perf_counter()
    return {
        "rows": len(dataset),
        "seconds": done - start,
        "rows_per_s": len(dataset) / (done - start),
        "peak_rss_mb": _rss_mb(),
        "baseline_rss_mb": baseline,
        "row_errors": len(result.row_errors()),
        "invalid_rows": len(result.invalid_rows),
        "totals": dict(result.totals),
    }


# -- orchestration -----------------------------------------------------------------------------------------------


def fresh_database(database_url: str | None, label: str) -> str:
    """An empty, migrated database: a new SQLite file, or the PostgreSQL database of the URL dropped and created."""
    if not database_url or database_url.startswith("sqlite"):
        path = CACHE_DIR / f"bench-{label}.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        url = f"sqlite:///{path}"
    else:
        from urllib.parse import urlparse

        import psycopg

        parsed = urlparse(database_url)
        name = parsed.path.lstrip("/")
        admin = parsed._replace(path="/postgres").geturl()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        url = database_url
    env = {**os.environ, "DATABASE_URL": url}
    subprocess.run(
        [sys.executable, str(BASE_DIR / "manage.py"), "migrate", "-v", "0"], check=True, env=env, cwd=BASE_DIR
    )
    return url


def run_worker(kind: str, csv_path: Path, database_url: str) -> dict:
    media = tempfile.mkdtemp(prefix="bench-media-")
    command = [
        sys.executable,
        __file__,
        "--worker",
        kind,
        "--csv",
        str(csv_path),
        "--database-url",
        database_url,
        "--media",
        media,
    ]
    output = subprocess.run(command, check=True, capture_output=True, text=True, cwd=BASE_DIR).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000,300000", help="row counts to stage (comma separated)")
    parser.add_argument("--compare-rows", type=int, default=100_000, help="rows for the django-import-export run")
    parser.add_argument("--database-url", default="", help="PostgreSQL URL (default: a fresh SQLite file)")
    parser.add_argument("--skip-import-export", action="store_true")
    parser.add_argument("--repeat", type=int, default=1, help="runs per size; the fastest is reported")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--csv", help=argparse.SUPPRESS)
    parser.add_argument("--media", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        func = worker_ours if args.worker == "ours" else worker_import_export
        print(json.dumps(func(args.csv, args.database_url, args.media)))
        return
    backend = "postgresql" if args.database_url.startswith("postgres") else "sqlite"
    results = []
    for size in [int(s) for s in args.sizes.split(",") if s]:
        path = generate_csv(size)
        runs = []
        for _ in range(args.repeat):
            url = fresh_database(args.database_url, f"ours-{size}")
            runs.append(run_worker("ours", path, url))
        best = min(runs, key=lambda r: r["seconds"])
        results.append({"tool": "ours", "backend": backend, "file_mb": path.stat().st_size / 1e6, **best})
        print(json.dumps(results[-1]), flush=True)
    if not args.skip_import_export:
        path = generate_csv(args.compare_rows)
        url = fresh_database(args.database_url, "import-export")
        results.append(
            {
                "tool": "django-import-export",
                "backend": backend,
                "file_mb": path.stat().st_size / 1e6,
                **run_worker("import_export", path, url),
            }
        )
        print(json.dumps(results[-1]), flush=True)
    print()
    print(markdown(results, args.compare_rows))


def markdown(results: list[dict], compare_rows: int) -> str:
    """The results as the table in bench/RESULTS.md."""
    lines = [
        "| tool | database | rows | seconds | rows/s | read+validate s | insert s | audit s | peak RSS MB "
        "| worker RSS MB | CPU s | ready / errors / duplicates |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        if r["tool"] == "ours":
            counts = f"{r['ready']:,} / {r['errors']:,} / {r['duplicates']:,}"
            phases = f"{r['receive_s'] + r['prepare_s']:.1f} | {r['insert_s']:.1f} | {r['audit_s']:.1f}"
            extra = f"{r['worker_peak_rss_mb']:.0f} | {r['cpu_s']:.1f}"
        else:
            counts = (
                f"{r['totals'].get('new', 0):,} new / {r['invalid_rows']:,} invalid / {r['row_errors']:,} "
                "errors (dry run)"
            )
            phases = "– | – | –"
            extra = "– | –"
        lines.append(
            f"| {r['tool']} | {r['backend']} | {r['rows']:,} | {r['seconds']:.1f} | {r['rows_per_s']:,.0f} "
            f"| {phases} | {r['peak_rss_mb']:.0f} | {extra} | {counts} |"
        )
    ours = next((r for r in results if r["tool"] == "ours" and r["rows"] == compare_rows), None)
    theirs = next((r for r in results if r["tool"] != "ours"), None)
    if ours and theirs:
        lines.append("")
        lines.append(
            f"Speed ratio at {compare_rows:,} rows: **{theirs['seconds'] / ours['seconds']:.1f}×** "
            f"(django-import-export {theirs['seconds']:.0f} s / ours {ours['seconds']:.1f} s); peak RSS "
            f"{ours['peak_rss_mb']:.0f} MB vs {theirs['peak_rss_mb']:.0f} MB."
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
