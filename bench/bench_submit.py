"""Benchmark: submit 10,000 approved records to the Artu sandbox with 200 ms of latency per call.

Each run of ours (`submission_run`, the task worker's service: claims, outcomes, audit events) is paired with a
run of a plain httpx client that sends the same batches to the same sandbox at the same concurrency, with no
database at all; the figure that matters is ours ÷ plain, for concurrency 1, 4 and 8. The floor is batches ×
latency ÷ concurrency (the time the calls alone must take). Runs on a database of its own (a SQLite file under
bench/out, or the PostgreSQL database named by DATABASE_URL, which it empties first) and a sandbox process of its
own, emptied before every run.

    .venv/bin/python bench/bench_submit.py [--records 10000] [--latency-ms 200] [--concurrency 1 4 8] [--record]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/onboarding_bench .venv/bin/python bench/bench_submit.py
"""

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
sys.path.insert(0, str(ROOT))
OUT.mkdir(parents=True, exist_ok=True)
os.environ.setdefault("DATABASE_URL", f"sqlite:///{OUT / 'submit.sqlite3'}")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "onboarding.settings")
os.environ["ARTU_SANDBOX_TOKEN"] = os.environ["ARTU_API_KEY"] = "sk_test_bench"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_sandbox(latency_ms: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "artu_sandbox", "--port", str(port), "--latency-ms", str(latency_ms)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return proc, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the sandbox did not start")


def cpu_seconds(pid: int | None = None) -> float:
    """User + system CPU time of this process (pid None) or of another one, from /proc."""
    if pid is None:
        t = os.times()
        return t.user + t.system
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_cpu_seconds() -> float:
    """CPU time of every PostgreSQL server process on this machine, the exited backends included (their time is
    added to the postmaster's children's time when it reaps them)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        name, fields = text[text.index("(") + 1 : text.rindex(")")], text.rsplit(")", 1)[1].split()
        if name == "postgres":
            total += sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
    return total / os.sysconf("SC_CLK_TCK")


def plain_send(url: str, token: str, batches: list[list[dict]], concurrency: int) -> float:
    """Seconds a plain httpx client takes to send `batches` (no database, no bookkeeping), `concurrency` calls in
    flight at once over as many pooled connections; each answer is read as JSON, as any client would."""
    import httpx

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"Authorization": f"Bearer {token}", "X-Environment": "test"}
    with httpx.Client(base_url=url, headers=headers, limits=limits, timeout=60) as http:

        def send(items: list[dict]) -> int:
            response = http.post("/clients/batch", json={"items": items, "atomic": True})
            response.raise_for_status()
            return len(response.json()["data"])

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            created = sum(pool.map(send, batches))
        elapsed = time.perf_counter() - started
    assert created == sum(len(batch) for batch in batches), created
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--latency-ms", type=int, default=200)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--runs", type=int, default=3, help="runs per concurrency, each; the medians are reported")
    parser.add_argument("--record", action="store_true", help="append the figures to bench/RESULTS.md")
    args = parser.parse_args()

    import django
    import httpx

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from onboarding.artu.payload import record_to_item
    from onboarding.models import ClientRecord, RecordStatus
    from onboarding.services.roles import roles_setup
    from onboarding.services.submissions import submission_run, submission_start
    from tests.factories import ClientRecordFactory, UserFactory

    if connection.vendor == "sqlite":
        connection.close()
        Path(settings.DATABASES["default"]["NAME"]).unlink(missing_ok=True)
    else:
        # The audit tables refuse TRUNCATE (migration 0010) unless their owner asks for it, as here on a database
        # the benchmark owns; the setting lasts for the flush only.
        with connection.cursor() as cursor:
            cursor.execute("SET onboarding.audit_truncate = 'allowed'")
        call_command("flush", "--no-input", verbosity=0)
        with connection.cursor() as cursor:
            cursor.execute("RESET onboarding.audit_truncate")
    call_command("migrate", "--no-input", verbosity=0)
    roles_setup()
    from django.contrib.auth.models import Group

    officer = UserFactory(username="bench_officer")
    officer.groups.add(Group.objects.get(name="Compliance officer"))
    entry = UserFactory(username="bench_entry")

    sandbox, url = start_sandbox(args.latency_ms)
    settings.ARTU_API_URL = url
    settings.ARTU_API_KEY = "sk_test_bench"
    batches = -(-args.records // settings.ARTU_BATCH_SIZE)
    template = [
        ClientRecordFactory.build(created_by=entry, updated_by=entry, status=RecordStatus.APPROVED)
        for _ in range(args.records)
    ]
    fields = [
        f.attname for f in ClientRecord._meta.concrete_fields if f.attname not in ("id", "uuid") and not f.generated
    ]
    items = [record_to_item(r) for r in template]
    size = settings.ARTU_BATCH_SIZE
    plain_batches = [items[start : start + size] for start in range(0, len(items), size)]
    results = []
    try:
        for concurrency in args.concurrency:
            times, cpu, plain, plain_cpu = [], [], [], []
            for _ in range(args.runs):
                httpx.post(f"{url}/_sandbox/reset", timeout=10).raise_for_status()
                before = cpu_seconds()
                plain.append(plain_send(url, "sk_test_bench", plain_batches, concurrency))
                plain_cpu.append(cpu_seconds() - before)
                ClientRecord.objects.filter(status=RecordStatus.APPROVED).delete()
                ClientRecord.objects.bulk_create(
                    [ClientRecord(**{f: getattr(r, f) for f in fields}) for r in template], batch_size=1000
                )
                httpx.post(f"{url}/_sandbox/reset", timeout=10).raise_for_status()
                submission = submission_start(actor=officer, environment="test", enqueue=False)
                server = postgres_cpu_seconds() if connection.vendor == "postgresql" else None
                started, ours, theirs = time.perf_counter(), cpu_seconds(), cpu_seconds(sandbox.pid)
                submission = submission_run(submission.pk, concurrency=concurrency)
                elapsed = time.perf_counter() - started
                connection.close()  # the server's backends of this run exit, and their time is counted
                time.sleep(0.2)
                db_cpu = None if server is None else postgres_cpu_seconds() - server
                cpu.append((cpu_seconds() - ours, cpu_seconds(sandbox.pid) - theirs, db_cpu))
                assert submission.created_count == args.records, submission.created_count
                times.append(elapsed)
                ClientRecord.objects.filter(batch__submission=submission).update(status=RecordStatus.DRAFT)
            floor = batches * args.latency_ms / 1000 / concurrency
            median, plain_median = statistics.median(times), statistics.median(plain)
            app_cpu = statistics.median(c[0] for c in cpu)
            sandbox_cpu = statistics.median(c[1] for c in cpu)
            db_cpu = None if cpu[0][2] is None else statistics.median(c[2] for c in cpu)
            plain_app_cpu = statistics.median(plain_cpu)
            results.append(
                (concurrency, floor, plain_median, plain, median, times, plain_app_cpu, app_cpu, sandbox_cpu, db_cpu)
            )
            print(
                f"concurrency {concurrency}: floor {floor:.2f} s; plain httpx {plain_median:.2f} s "
                f"({', '.join(f'{t:.2f}' for t in plain)}); ours {median:.2f} s "
                f"({', '.join(f'{t:.2f}' for t in times)}); ours ÷ plain {median / plain_median:.2f}, "
                f"ours ÷ floor {median / floor:.2f}; CPU plain {plain_app_cpu:.2f} s, app {app_cpu:.2f} s, "
                f"sandbox {sandbox_cpu:.2f} s" + ("" if db_cpu is None else f", PostgreSQL {db_cpu:.2f} s"),
                flush=True,
            )
    finally:
        sandbox.terminate()
        sandbox.wait()

    if args.record:
        db = "PostgreSQL" if connection.vendor == "postgresql" else "SQLite"
        lines = [
            f"\n### {db}, {args.records} records, {batches} batches, {args.latency_ms} ms per call "
            f"({time.strftime('%Y-%m-%d')})\n",
            f"`{'DATABASE_URL=… ' if db == 'PostgreSQL' else ''}.venv/bin/python bench/bench_submit.py "
            f"{' '.join(sys.argv[1:])}` "
            f"(load average {os.getloadavg()[0]:.1f} at the end)\n",
            "| concurrency | floor (s) | plain httpx (s) | plain runs (s) | ours (s) | our runs (s) | ours ÷ plain "
            "| ours ÷ floor | CPU plain (s) | CPU ours (s) | CPU sandbox (s) | CPU PostgreSQL (s) |",
            "|---:|---:|---:|---|---:|---|---:|---:|---:|---:|---:|---:|",
        ]
        lines += [
            f"| {c} | {f:.2f} | {pm:.2f} | {', '.join(f'{t:.2f}' for t in pts)} | {m:.2f} "
            f"| {', '.join(f'{t:.2f}' for t in ts)} | {m / pm:.2f} | {m / f:.2f} | {pc:.2f} | {a:.2f} | {b:.2f} "
            f"| {'–' if d is None else f'{d:.2f}'} |"
            for c, f, pm, pts, m, ts, pc, a, b, d in results
        ]
        with open(ROOT / "bench" / "RESULTS.md", "a", encoding="utf-8") as out:
            out.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
