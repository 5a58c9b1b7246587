"""Upload staging benchmark: `manage.py import_clients` staging a realistic client CSV, measured whole, against
django-import-export importing the same file (default settings, dry run), in the same run.

    .venv/bin/python bench/bench_upload.py                  # SQLite: ours 100k x3 and 10k x3, import-export 10k
    .venv/bin/python bench/bench_upload.py --database-url postgres://postgres@127.0.0.1:5432/onboarding_bench_uploads
    .venv/bin/python bench/bench_upload.py --compare-rows 100000 --repeat 1     # import-export on 100k (~3-5 min)
    .venv/bin/python bench/bench_upload.py --skip-import-export --stages        # + each stage alone, CPU per row

Every run is a fresh process on a freshly migrated, empty database (the PostgreSQL database named in the URL is
dropped and created again). Each tool runs as a whole process under `/usr/bin/time -v`: wall and CPU seconds
(Django's start-up included, for both), and its "maximum resident set size", which is that of the largest single
process; the process tree's summed RSS (the staging process and its validation worker together) is sampled every
20 ms beside it. Ours: upload_receive (hash, store, detect encoding/delimiter/header, count rows) plus
upload_map_columns -> upload_stage (parse, normalise, validate, dedupe, insert records, one audit event per
record). Wall times depend on the machine's load (printed with each run); CPU seconds and memory much less.

django-import-export is not a dependency of the project: `.venv/bin/pip install django-import-export` (4.4.3 was
measured) to compare; without it the comparison is skipped with a message.
"""

import argparse
import datetime
import json
import os
import random
import re
import resource
import shutil
import statistics
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
        apellido_paterno = fields.Field("apellido_paterno", "Apellido paterno")
        apellido_materno = fields.Field("apellido_materno", "Apellido materno")
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
                "apellido_paterno",
                "apellido_materno",
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


def worker_stages(csv_path: str, database_url: str, media: str) -> dict:
    """Each stage of a staging alone, in one process (no workers), timed as CPU seconds per row: what each costs,
    apart from the others and from the machine's load. The stages are the pipeline's own functions, run in the
    order staging runs them; the database ones inside one transaction on a fresh database, as staging does."""
    _django(database_url)
    import pickle

    from django.conf import settings
    from django.core.files import File
    from django.db import transaction

    from onboarding.imports import pipeline
    from onboarding.imports.readers import iter_rows
    from onboarding.imports.store import (
        IdReserver,
        RecordInserter,
        StagedRow,
        bulk_write_cache,
        encode_row,
        mark_duplicates,
    )
    from onboarding.models import AuditAction, Upload, UploadStatus
    from onboarding.services import audit
    from onboarding.services.audit import EventSpec, audit_events_write
    from onboarding.services.uploads import CHUNK_ROWS, _file_info, upload_receive

    settings.MEDIA_ROOT = media
    user = _user()
    cpu: dict[str, float] = {}

    def clock(stage: str, start: float) -> float:
        now = time.process_time()
        cpu[stage] = cpu.get(stage, 0.0) + now - start
        return now

    with open(csv_path, "rb") as handle:
        upload = upload_receive(actor=user, file=File(handle, name=Path(csv_path).name))
    Upload.objects.filter(pk=upload.pk).update(status=UploadStatus.STAGING, mapped_by=user)
    upload.refresh_from_db()
    info = _file_info(upload)
    with upload.file.open("rb") as stored:
        start = time.process_time()
        rows = list(iter_rows(stored, info))
        start = clock("read", start)
    validate = pipeline.validate_record
    pipeline.validate_record = lambda values: []  # normalising alone
    preparer = pipeline.RowPreparer(upload.headers, upload.mapping)
    prepared = [(number, preparer.prepare(cells)) for number, cells in rows]
    start = clock("normalise", start)
    pipeline.validate_record = validate
    for _number, (values, _problems, _source) in prepared:
        validate(values)
    start = clock("validate", start)
    preparer = pipeline.RowPreparer(upload.headers, upload.mapping)
    prepared = [(number, preparer.prepare(cells)) for number, cells in rows]
    start = time.process_time()
    encoded = [(number, encode_row(number, *parts)) for number, parts in prepared]
    start = clock("encode", start)
    del prepared, rows
    chunks = [pickle.dumps(encoded[i : i + CHUNK_ROWS]) for i in range(0, len(encoded), CHUNK_ROWS)]
    chunks = [pickle.loads(chunk) for chunk in chunks]  # noqa: S301 - written just above
    start = clock("spool", start)
    del encoded
    ids = []
    with bulk_write_cache(), transaction.atomic(durable=True):
        reserver, inserter = IdReserver(), RecordInserter(upload=upload)
        start = time.process_time()
        for chunk in chunks:
            staged = [StagedRow(*item) for item in chunk]
            for row, pk in zip(staged, reserver.take(len(staged)), strict=True):
                row.id = pk
            start = clock("ids", start)
            mark_duplicates(staged, upload_id=upload.pk)
            start = clock("duplicates", start)
            inserter.insert(staged)
            start = clock("insert", start)
            ids += [(row.id, row.source_row) for row in staged]
        rows_insert = audit.rows_insert

        def timed_insert(*args, **kwargs):
            begun = time.process_time()
            rows_insert(*args, **kwargs)
            clock("audit insert", begun)
            cpu["audit hash"] = cpu.get("audit hash", 0.0) - (time.process_time() - begun)

        audit.rows_insert = timed_insert
        for i in range(0, len(ids), CHUNK_ROWS):
            begun = time.process_time()
            events = [
                EventSpec(
                    AuditAction.RECORD_CREATED,
                    record_id=pk,
                    upload_id=upload.pk,
                    changes={"source": "upload", "row": row, "mapped_by": user.username},
                )
                for pk, row in ids[i : i + CHUNK_ROWS]
            ]
            audit_events_write(actor=user, events=events)
            clock("audit hash", begun)
        audit.rows_insert = rows_insert
        start = time.process_time()
    clock("commit", start)
    return {"rows": len(ids), "cpu": cpu, "floor": insert_floor(), "load_avg": os.getloadavg()[0]}


def insert_floor() -> dict:
    """The database alone: the staged records and their events copied into empty twins (same columns, constraints
    and indexes) in one transaction, by `INSERT INTO twin SELECT ... ORDER BY id`: the same rows, in the key order
    staging inserts them, on a connection set up as staging's, with no Python in between. On SQLite also as the
    issue measured it (no ORDER BY, foreign keys off, as the sqlite3 shell runs): SQLite's transfer optimisation
    then copies whole b-trees, index entries already sorted, which no INSERT of new rows can do."""
    from django.db import connection, transaction

    from onboarding.imports.store import bulk_write_cache

    tables = {"onboarding_clientrecord": "id", "onboarding_auditevent": "seq"}
    sqlite = connection.vendor == "sqlite"
    variants = {"key order, as staging": True}
    if sqlite:
        variants["no ORDER BY, foreign keys off (transfer optimisation)"] = False
    floor = {}
    with connection.cursor() as cursor, bulk_write_cache():
        for label, ordered in variants.items():
            for table in tables:
                _twin(cursor, table, sqlite)
            if sqlite and not ordered:
                cursor.execute("PRAGMA foreign_keys = OFF")
            wall, cpu = time.perf_counter(), time.process_time()
            with transaction.atomic():
                for table, key in tables.items():
                    order = f" ORDER BY {key}" if ordered else ""
                    cursor.execute(f"INSERT INTO twin_{table} SELECT * FROM {table}{order}")  # noqa: S608 - ours
            floor[label] = {"seconds": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu}
            if sqlite:
                cursor.execute("PRAGMA foreign_keys = ON")
        for table in tables:
            cursor.execute(f"DROP TABLE twin_{table}")
        cursor.execute(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND tbl_name IN (%s, %s)"
            if sqlite
            else "SELECT COUNT(*) FROM pg_indexes WHERE tablename IN (%s, %s)",
            list(tables),
        )
        floor["indexes"] = cursor.fetchone()[0]
    return floor


def _twin(cursor, table: str, sqlite: bool) -> None:
    cursor.execute(f"DROP TABLE IF EXISTS twin_{table}")
    if not sqlite:
        cursor.execute(f"CREATE TABLE twin_{table} (LIKE {table} INCLUDING ALL)")
        return
    cursor.execute("SELECT sql FROM sqlite_master WHERE tbl_name = %s AND sql IS NOT NULL ORDER BY type DESC", [table])
    for (sql,) in cursor.fetchall():
        sql = sql.replace(f'"{table}"', f'"twin_{table}"')
        cursor.execute(sql.replace('INDEX "', 'INDEX "twin_', 1))


# -- orchestration -----------------------------------------------------------------------------------------------


_TEMPLATES: dict[str, str] = {}


def fresh_database(database_url: str | None, label: str) -> str:
    """An empty, migrated database with the bench user: a copy of a SQLite file (named after this process, so
    benches of several checkouts do not share it), or the PostgreSQL database of the URL dropped and created
    again. Migrated once per bench, into a template that each run copies."""
    sqlite = not database_url or database_url.startswith("sqlite")
    key = database_url or "sqlite"
    if key not in _TEMPLATES:
        _TEMPLATES[key] = _template(database_url, sqlite)
    template = _TEMPLATES[key]
    if sqlite:
        path = CACHE_DIR / f"bench-{os.getpid()}-{label}.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(template, path)
        return f"sqlite:///{path}"
    _pg_create(database_url, template=template)
    return database_url


def _template(database_url: str | None, sqlite: bool) -> str:
    if sqlite:
        path = CACHE_DIR / f"bench-{os.getpid()}-template.sqlite3"
        drop_database(f"sqlite:///{path}")
        url = f"sqlite:///{path}"
    else:
        url = _pg_create(database_url, suffix="_template")
    env = {**os.environ, "DATABASE_URL": url}
    subprocess.run(
        [sys.executable, str(BASE_DIR / "manage.py"), "migrate", "-v", "0"], check=True, env=env, cwd=BASE_DIR
    )
    subprocess.run([sys.executable, __file__, "--worker", "setup", "--database-url", url], check=True, cwd=BASE_DIR)
    if sqlite:
        import sqlite3

        with sqlite3.connect(path) as db:  # the WAL folded into the file, so that a copy of the file is whole
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return str(path)
    return url.rsplit("/", 1)[1]


def _pg_create(database_url: str, *, suffix: str = "", template: str = "", drop_only: bool = False) -> str:
    from urllib.parse import urlparse

    import psycopg

    parsed = urlparse(database_url)
    name = parsed.path.lstrip("/") + suffix
    admin = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop_only:
            conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    return parsed._replace(path=f"/{name}").geturl()


def drop_database(url: str) -> None:
    if url.startswith("sqlite:///"):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{url.removeprefix('sqlite:///')}{suffix}").unlink(missing_ok=True)


def _tree(pid: int) -> list[int]:
    """The process and its descendants, from /proc."""
    found = [pid]
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as children:
                for child in children.read().split():
                    found += _tree(int(child))
    except OSError:
        pass
    return found


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def timed_process(command: list[str], env: dict) -> dict:
    """Run a command as `/usr/bin/time -v` does and read its figures (wall and CPU seconds, maximum resident set
    size: that of the largest single process); meanwhile, every 20 ms, the summed RSS of the command's whole
    process tree (the staging process and its validation worker together)."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as report:
        have_time = Path("/usr/bin/time").exists()
        wrapped = ["/usr/bin/time", "-v", "-o", report.name, *command] if have_time else command
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        process = subprocess.Popen(wrapped, env=env, cwd=BASE_DIR, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        tree_peak, processes = 0, 0
        while process.poll() is None:
            pids = _tree(process.pid)[1:] if have_time else _tree(process.pid)
            total = sum(_rss_kb(pid) for pid in pids)
            if total > tree_peak:
                tree_peak, processes = total, len(pids)
            time.sleep(0.02)
        wall = time.perf_counter() - started
        out, err = process.communicate()
        if process.returncode:
            raise RuntimeError(f"{' '.join(command)} failed:\n{err.decode()[-3000:]}")
        figures = {"stdout": out.decode(), "tree_rss_mb": tree_peak / 1024, "processes": processes}
        if have_time:
            text = report.read()

            def field(label: str) -> str:
                return next(line.split(": ", 1)[1] for line in text.splitlines() if line.strip().startswith(label))

            clock = [float(part) for part in field("Elapsed (wall clock) time").split(":")]
            figures |= {
                "seconds": sum(part * 60**i for i, part in enumerate(reversed(clock))),
                "cpu_s": float(field("User time")) + float(field("System time")),
                "max_rss_mb": int(field("Maximum resident set size")) / 1024,
            }
        else:
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            figures |= {
                "seconds": wall,
                "cpu_s": after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime,
                "max_rss_mb": after.ru_maxrss / 1024,
            }
    return figures


def run_command(csv_path: Path, database_url: str, label: str) -> dict:
    """`manage.py import_clients` on a fresh database, measured whole: Django's start-up, receiving, staging."""
    url = fresh_database(database_url, label)
    media = tempfile.mkdtemp(prefix="bench-media-")
    env = {**os.environ, "DATABASE_URL": url, "MEDIA_ROOT": media}
    load = os.getloadavg()[0]
    try:
        figures = timed_process(
            [sys.executable, str(BASE_DIR / "manage.py"), "import_clients", str(csv_path), "--user", "bench"], env
        )
    finally:
        shutil.rmtree(media, ignore_errors=True)
    counts = dict(re.findall(r"(\w+): (\d+)", figures.pop("stdout")))
    if database_url.startswith("sqlite") or not database_url:
        drop_database(url)
    return {"load_avg": load, **figures, **{k: int(v) for k, v in counts.items() if k != "upload"}}


def run_import_export(csv_path: Path, database_url: str) -> dict:
    """django-import-export on the same file, in a process of its own, measured the same way."""
    url = fresh_database(database_url, "import-export")
    media = tempfile.mkdtemp(prefix="bench-media-")
    load = os.getloadavg()[0]
    command = [sys.executable, __file__, "--worker", "import_export", "--csv", str(csv_path)]
    try:
        figures = timed_process([*command, "--database-url", url, "--media", media], dict(os.environ))
    finally:
        shutil.rmtree(media, ignore_errors=True)
    inner = json.loads(figures.pop("stdout").strip().splitlines()[-1])
    if database_url.startswith("sqlite") or not database_url:
        drop_database(url)
    return {**inner, "load_avg": load, **figures, "import_s": inner["seconds"]}


def run_worker(kind: str, csv_path: Path, database_url: str) -> dict:
    media = tempfile.mkdtemp(prefix="bench-media-")
    command = [sys.executable, __file__, "--worker", kind, "--csv", str(csv_path), "--database-url", database_url]
    try:
        output = subprocess.run(
            [*command, "--media", media], check=True, capture_output=True, text=True, cwd=BASE_DIR
        ).stdout
    finally:
        shutil.rmtree(media, ignore_errors=True)
    return json.loads(output.strip().splitlines()[-1])


def import_export_missing() -> bool:
    found = subprocess.run([sys.executable, "-c", "import import_export"], capture_output=True, cwd=BASE_DIR)
    return found.returncode != 0


def _median(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100000", help="row counts to stage (comma separated)")
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of ours per size, medians reported (0: none, e.g. with --stages)"
    )
    parser.add_argument(
        "--compare-rows", type=int, default=10_000, help="rows for the django-import-export comparison (10,000: ~1 min)"
    )
    parser.add_argument("--database-url", default="", help="PostgreSQL URL (default: a fresh SQLite file)")
    parser.add_argument("--skip-import-export", action="store_true")
    parser.add_argument("--stages", action="store_true", help="also time each stage alone (CPU seconds per row)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--csv", help=argparse.SUPPRESS)
    parser.add_argument("--media", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker == "setup":
        _django(args.database_url)
        _user()
        return
    if args.worker:
        func = {"stages": worker_stages, "import_export": worker_import_export}[args.worker]
        print(json.dumps(func(args.csv, args.database_url, args.media)))
        return
    backend = "postgresql" if args.database_url.startswith("postgres") else "sqlite"
    print(f"{backend}, {os.cpu_count()} CPUs, load average {os.getloadavg()}", flush=True)
    results = []
    sizes = [int(s) for s in args.sizes.split(",") if s]
    compare = not args.skip_import_export
    if compare and import_export_missing():
        print(
            "django-import-export is not installed, so it is not compared (it is not a dependency of the project; "
            "to compare, install it where this Python finds it: `.venv/bin/pip install django-import-export`)",
            flush=True,
        )
        compare = False
    if compare and args.compare_rows not in sizes:
        sizes.append(args.compare_rows)
    for size in sizes if args.repeat else []:
        path = generate_csv(size)
        runs = [run_command(path, args.database_url, f"ours-{size}") for _ in range(args.repeat)]
        for run in runs:
            print(json.dumps({"tool": "ours", "rows_in_file": size, **run}), flush=True)
        summary = {key: _median(runs, key) for key in ("seconds", "cpu_s", "max_rss_mb", "tree_rss_mb", "load_avg")}
        results.append({"tool": "ours", "backend": backend, "runs": len(runs), **runs[0], **summary})
    if compare:
        path = generate_csv(args.compare_rows)
        theirs = run_import_export(path, args.database_url)
        print(json.dumps({"tool": "django-import-export", **theirs}), flush=True)
        results.append({"tool": "django-import-export", "backend": backend, "runs": 1, **theirs})
    print()
    print(markdown(results, args.compare_rows))
    if args.stages:
        path = generate_csv(max(sizes))
        url = fresh_database(args.database_url, "stages")
        stages = run_worker("stages", path, url)
        drop_database(url)
        print()
        print(stages_markdown(stages))
    for key, template in _TEMPLATES.items():
        if key == "sqlite":
            drop_database(f"sqlite:///{template}")
        else:
            _pg_create(key, suffix="_template", drop_only=True)


def markdown(results: list[dict], compare_rows: int) -> str:
    """The results as the table in bench/RESULTS.md: whole processes, medians of `runs`."""
    lines = [
        "| tool | database | rows | runs | seconds (median) | CPU s | max RSS MB (time -v) | process tree RSS MB "
        "| load avg | outcome |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        if r["tool"] == "ours":
            outcome = f"{r['ready']:,} ready / {r['errors']:,} errors / {r['duplicates']:,} duplicates"
        else:
            outcome = (
                f"{r['totals'].get('new', 0):,} new / {r['invalid_rows']:,} invalid / {r['row_errors']:,} "
                f"errors (dry run; import_data alone {r['import_s']:.1f} s)"
            )
        lines.append(
            f"| {r['tool']} | {r['backend']} | {r['rows']:,} | {r['runs']} | {r['seconds']:.1f} | {r['cpu_s']:.1f} "
            f"| {r['max_rss_mb']:.0f} | {r['tree_rss_mb']:.0f} | {r['load_avg']:.1f} | {outcome} |"
        )
    ours = next((r for r in results if r["tool"] == "ours" and r["rows"] == compare_rows), None)
    theirs = next((r for r in results if r["tool"] != "ours"), None)
    if ours and theirs:
        lines.append("")
        lines.append(
            f"Same run, {compare_rows:,} rows, whole processes: **{theirs['seconds'] / ours['seconds']:.1f}× in wall "
            f"time** (django-import-export {theirs['seconds']:.1f} s / ours {ours['seconds']:.1f} s, median of "
            f"{ours['runs']}), **{theirs['cpu_s'] / ours['cpu_s']:.1f}× in CPU time** ({theirs['cpu_s']:.1f} s / "
            f"{ours['cpu_s']:.1f} s)."
        )
    return "\n".join(lines)


def stages_markdown(stages: dict) -> str:
    rows = stages["rows"]
    total = sum(stages["cpu"].values())
    lines = [f"{rows:,} rows, one process, load average {stages['load_avg']:.1f}", "", "| stage | CPU s | µs per row |"]
    lines.append("|---|---:|---:|")
    for stage, seconds in stages["cpu"].items():
        lines.append(f"| {stage} | {seconds:.2f} | {seconds / rows * 1e6:.0f} |")
    lines.append(f"| **all** | {total:.2f} | {total / rows * 1e6:.0f} |")
    floor = stages["floor"]
    lines.append("")
    lines.append(
        f"Floor: the staged records and events copied by the database alone into empty twins with the same "
        f"{floor['indexes']} indexes (the two tables together), in one transaction:"
    )
    for label, figures in floor.items():
        if label != "indexes":
            lines.append(f"- {label}: {figures['seconds']:.2f} s wall, {figures['cpu_s']:.2f} CPU s of this process")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
