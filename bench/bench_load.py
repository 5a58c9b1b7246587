"""Load benchmark: 20 officers at once against gunicorn over loopback HTTP, on 100,000 records in PostgreSQL.

    .venv/bin/python bench/bench_load.py --database-url postgres://postgres@127.0.0.1:5432/onboarding_bench_load

Run it against a database of its own (it creates tables and rows there). It migrates and fills the records table
once through bench_queue's bulk path (kept between runs), runs collectstatic, starts gunicorn with
deploy/gunicorn.conf.py and production settings (DEBUG off, a real secret key, 2 workers) on a free loopback port,
and signs in `--users` officers (sessions made in the database as a sign-in makes them; the sign-in page itself,
PBKDF2 by design, is not a scenario). Each simulated user then loops for `--duration` seconds, at most
`--max-requests` requests, pausing `--think` seconds (±50 %) between actions: the review queue with filters, search,
sort and pages (full page or its htmx partial), a record's page, an in-place edit of a cell (the form, then the save)
and an approval. Maker-checker holds: every officer approves only records that others staged and nobody in the run
edited, and edits only records of its own that nobody approves, so no request is refused by design.

It prints, and appends to bench/RESULTS.md under "## Load", the throughput, p50/p95/p99/max per scenario and the
errors (any status other than the one the page answers, or no answer), and where the CPU went: the load generator,
gunicorn, the PostgreSQL backends and everything else on the machine.
"""

import argparse
import datetime
import logging
import os
import random
import re
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "RESULTS.md"
TARGET_P95_MS = 300
CLOCK = os.sysconf("SC_CLK_TCK")
VERSION = re.compile(r'name="version" value="(\d+)"')
ACCESS_MS = re.compile(r'HTTP/1.1\\" \d{3} \d+ (\d+)ms rid=')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"), help="a dedicated PostgreSQL db")
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    parser.add_argument("--think", type=float, default=1.0, help="mean pause between a user's actions, seconds")
    parser.add_argument("--max-requests", type=int, default=5000, help="per user, whatever the duration")
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn processes")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-write", action="store_true", help="print only; leave bench/RESULTS.md alone")
    args = parser.parse_args()
    if not args.database_url or not args.database_url.startswith("postgres"):
        parser.error("give --database-url (or DATABASE_URL): a PostgreSQL database used only for this benchmark")
    return args


# -- set-up -------------------------------------------------------------------------------------------------------


def production_env(args: argparse.Namespace, static_root: str, port: int) -> dict[str, str]:
    """deploy/onboarding.env.example's settings, on loopback: gunicorn refuses to start otherwise."""
    keep = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    return keep | {
        "ENV_FILE": os.devnull,
        "DEBUG": "False",
        "SECRET_KEY": os.environ["SECRET_KEY"],
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": args.database_url,
        "ARTU_API_URL": "https://api.artu.example",
        "ARTU_API_KEY": f"sk_live_{secrets.token_hex(12)}",
        "STATIC_ROOT": static_root,
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": str(args.web_workers),
    }


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(args: argparse.Namespace, workdir: Path) -> tuple[subprocess.Popen, str, Path]:
    static_root = str(workdir / "static")
    port = free_port()
    env = production_env(args, static_root, port)
    python = sys.executable
    subprocess.run([python, "manage.py", "collectstatic", "--no-input", "-v", "0"], cwd=ROOT, env=env, check=True)
    log = workdir / "gunicorn.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [python, "-m", "gunicorn", "--config", "deploy/gunicorn.conf.py"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    import httpx

    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"{url}/accounts/login/", timeout=5)  # /healthz would fail: no task worker runs here
            break
        except httpx.TransportError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise SystemExit(f"gunicorn did not start; see {log}") from None
            time.sleep(0.2)
    return process, url, log


def officers(count: int) -> list:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from onboarding.permissions import Role

    group = Group.objects.get(name=Role.OFFICER)
    users = []
    for i in range(count):
        user, _ = get_user_model().objects.get_or_create(username=f"bench_load_oficial{i:02d}")
        user.groups.set([group])
        users.append(user)
    return users


def session_cookie(user) -> str:
    """A signed-in session in the database, as the sign-in page would make it (the audit event included)."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client.cookies[settings.SESSION_COOKIE_NAME].value


@dataclass
class Work:
    """What one simulated user may touch: records to approve (staged by others, edited by nobody in the run) and
    records to edit (approved by nobody in the run)."""

    approve: list[tuple[int, int]]  # (pk, version), as the queue row shows them
    edit: list[int]


def share_out(users: int, per_user: int) -> list[Work]:
    from django.db.models import Q

    from onboarding.models import ClientRecord, RecordStatus

    in_review = ClientRecord.objects.filter(status=RecordStatus.IN_REVIEW)
    approvable = in_review.filter(error_count=0, duplicate_field="").filter(
        Q(warning_count=0) | Q(warnings_acknowledged=True)
    )
    approve = list(approvable.order_by("pk").values_list("pk", "version")[: users * per_user])
    taken = [pk for pk, _ in approve]
    edit = list(in_review.exclude(pk__in=taken).order_by("-pk").values_list("pk", flat=True)[: users * per_user])
    return [Work(approve[i::users], edit[i::users]) for i in range(users)]


# -- the load -----------------------------------------------------------------------------------------------------


@dataclass
class Sample:
    scenario: str
    ms: float
    ok: bool


@dataclass
class User:
    index: int
    cookie: str
    work: Work
    samples: list[Sample] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@dataclass
class Clock:
    """Started once every user has its first page: the timed window and the CPU snapshot before it."""

    duration: float
    gunicorn_pid: int
    database: str
    started: float = 0.0
    stop: float = 0.0
    before: dict = field(default_factory=dict)

    def start(self) -> None:
        self.before = snapshot(self.gunicorn_pid, self.database)
        self.started = time.monotonic()
        self.stop = self.started + self.duration


def run_user(user: User, url: str, args: argparse.Namespace, queue_mix: list, pks: list[int], start) -> None:
    import httpx

    from tests.deploy.visitor import Visitor

    rng = random.Random(args.seed * 1000 + user.index)
    visitor = Visitor(url, timeout=30, cookies=httpx.Cookies({"sessionid": user.cookie}))
    hx = {"HX-Request": "true"}

    def call(scenario: str, expected: int, method: str, path: str, **kwargs) -> str:
        started = time.perf_counter()
        try:
            if method == "GET":
                response = visitor.get(path, **kwargs)
            else:
                response = visitor.post(path, **kwargs)
            ok = response.status_code == expected
            text = response.text
            if not ok:
                user.errors.append(f"{scenario}: {method} {path} answered {response.status_code}")
        except httpx.HTTPError as exc:
            ok, text = False, ""
            user.errors.append(f"{scenario}: {method} {path}: {type(exc).__name__}")
        user.samples.append(Sample(scenario, (time.perf_counter() - started) * 1000, ok))
        return text

    call("queue: full page", 200, "GET", "/review/")  # the CSRF cookie, as the first page of the day sets it
    user.samples.clear()
    clock = start()
    approve, edit = list(user.work.approve), list(user.work.edit)
    while time.monotonic() < clock.stop and len(user.samples) < args.max_requests:
        roll = rng.random()
        if roll < 0.5:
            label, params, headers = rng.choice(queue_mix)
            scenario = "queue: htmx partial" if headers else "queue: full page"
            call(scenario, 200, "GET", "/review/", params=params, headers=headers)
        elif roll < 0.7:
            call("record page", 200, "GET", f"/records/{rng.choice(pks)}/")
        elif roll < 0.85 and edit:
            pk = rng.choice(edit)
            form = call("edit in place: cell form", 200, "GET", f"/review/{pk}/cell/external_id/", headers=hx)
            if version := VERSION.search(form):
                data = {"value": f"LOAD-{user.index:02d}-{pk}-{rng.randrange(10**6)}", "version": version.group(1)}
                call("edit in place: save", 200, "POST", f"/review/{pk}/cell/external_id/", data=data, headers=hx)
        elif approve:  # the row's Approve button
            pk, version = approve.pop()
            call("approve", 200, "POST", f"/review/{pk}/approve/", data={"version": version, "from": "row"}, headers=hx)
        time.sleep(args.think * rng.uniform(0.5, 1.5))
    visitor.close()


# -- CPU accounting from /proc ------------------------------------------------------------------------------------


def cpu_seconds(pid: int, *, reaped: bool = False) -> float:
    """CPU time of the process, or (`reaped`) of the children it has waited for: PostgreSQL's parallel workers and
    short-lived backends end up in the postmaster's."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    first = 13 if reaped else 11  # cutime + cstime, or utime + stime
    return (int(fields[first]) + int(fields[first + 1])) / CLOCK


def processes() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, command line) of every process."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        found[int(stat.parent.name)] = (parent, cmdline)
    return found


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return (sum(values) - idle) / CLOCK, sum(values) / CLOCK


def snapshot(gunicorn_pid: int, database: str) -> dict:
    procs = processes()
    web = [gunicorn_pid] + [pid for pid, (parent, _) in procs.items() if parent == gunicorn_pid]
    backends = [pid for pid, (_, cmd) in procs.items() if cmd.startswith("postgres: ") and f" {database} " in cmd]
    # The whole server: the postmaster, every process it started, and those it has reaped.
    postmaster = procs[backends[0]][0] if backends else None
    server = [pid for pid, (parent, _) in procs.items() if postmaster and parent == postmaster]
    busy, total = machine_busy()
    usage = os.times()
    return {
        "generator": usage.user + usage.system,
        "gunicorn": {pid: cpu_seconds(pid) for pid in web},
        "postgres": {pid: cpu_seconds(pid) for pid in backends},
        "server": {pid: cpu_seconds(pid) for pid in server}
        | ({postmaster: cpu_seconds(postmaster) + cpu_seconds(postmaster, reaped=True)} if postmaster else {}),
        "busy": busy,
        "total": total,
    }


def cpu_used(before: dict, after: dict) -> dict[str, float]:
    def delta(kind: str) -> float:
        return sum(after[kind][pid] - before[kind].get(pid, 0.0) for pid in after[kind])

    used = {"generator": after["generator"] - before["generator"], "gunicorn": delta("gunicorn")}
    used["postgres"] = delta("postgres")
    used["server"] = max(used["postgres"], delta("server"))
    used["machine"] = after["busy"] - before["busy"]
    used["others"] = max(0.0, used["machine"] - used["generator"] - used["gunicorn"] - used["server"])
    used["capacity"] = after["total"] - before["total"]
    return used


def gunicorn_times(log_lines: list[str], users: int) -> tuple[float, float]:
    """p50 and p95 of the time gunicorn's access log gives each request, the users' first pages left out."""
    times = [float(m.group(1)) for line in log_lines if (m := ACCESS_MS.search(line))][users:]
    times.sort()
    return (percentile(times, 0.5), percentile(times, 0.95)) if times else (0.0, 0.0)


# -- report -------------------------------------------------------------------------------------------------------


def percentile(sorted_ms: list[float], q: float) -> float:
    return sorted_ms[min(len(sorted_ms) - 1, max(0, round(q * len(sorted_ms)) - 1))]


def summarise(users: list[User], elapsed: float) -> list[dict]:
    by_scenario: dict[str, list[Sample]] = defaultdict(list)
    for user in users:
        for sample in user.samples:
            by_scenario[sample.scenario].append(sample)
    by_scenario = dict(sorted(by_scenario.items()))
    by_scenario["**all**"] = [s for user in users for s in user.samples]
    rows = []
    for scenario, samples in by_scenario.items():
        ms = sorted(s.ms for s in samples)
        rows.append(
            {
                "scenario": scenario,
                "count": len(samples),
                "rate": len(samples) / elapsed,
                "p50": percentile(ms, 0.50),
                "p95": percentile(ms, 0.95),
                "p99": percentile(ms, 0.99),
                "max": ms[-1],
                "errors": sum(not s.ok for s in samples),
            }
        )
    return rows


def report(
    args, rows: list[dict], cpu: dict[str, float], elapsed: float, version: str, load: str, server_ms: tuple
) -> list[str]:
    worst = max(r["p95"] for r in rows)
    errors = rows[-1]["errors"]
    verdict = "meets" if worst <= TARGET_P95_MS and not errors else "MISSES"
    url = re.sub(r"//[^@/]*@", "//…@", args.database_url)
    share = {k: 100 * v / cpu["capacity"] for k, v in cpu.items() if k != "capacity"}
    cores = cpu["capacity"] / elapsed
    per_request = 1000 * (cpu["gunicorn"] + cpu["postgres"]) / max(1, rows[-1]["count"])
    lines = [
        f"### {datetime.date.today().isoformat()}: {args.users} users, think {args.think:g} s, {elapsed:.0f} s",
        "",
        f"{version} · Python {sys.version.split()[0]} · {args.records:,} records · gunicorn {args.web_workers} "
        f"workers (DEBUG off) · {os.cpu_count()} CPUs, load average {load} at the end · worst p95 "
        f"{worst:.0f} ms, {errors} errors: {verdict} the target (p95 ≤ {TARGET_P95_MS} ms, 0 errors).",
        "",
        "```",
        f".venv/bin/python bench/bench_load.py --database-url {url} --records {args.records} --users {args.users} "
        f"--duration {args.duration:g} --think {args.think:g} --web-workers {args.web_workers}",
        "```",
        "",
        "| scenario | requests | per s | p50 ms | p95 ms | p99 ms | max ms | errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
        *(
            f"| {r['scenario']} | {r['count']} | {r['rate']:.1f} | {r['p50']:.0f} | {r['p95']:.0f} | {r['p99']:.0f} "
            f"| {r['max']:.0f} | {r['errors']} |"
            for r in rows
        ),
        "",
        f"CPU during the run ({cores:.0f} cores × {elapsed:.0f} s = {cpu['capacity']:.0f} CPU-s): "
        f"load generator {cpu['generator']:.1f} s ({share['generator']:.0f} %), gunicorn {cpu['gunicorn']:.1f} s "
        f"({share['gunicorn']:.0f} %), PostgreSQL {cpu['postgres']:.1f} s in this database's backends and "
        f"{cpu['server']:.1f} s in the whole server ({share['server']:.0f} %; other databases on it and parallel "
        f"workers included), every other process on the machine {cpu['others']:.1f} s ({share['others']:.0f} %); "
        f"idle {100 - share['machine']:.0f} %. Server CPU per request: {per_request:.0f} ms (gunicorn and this "
        f"database's backends), so {cores:.0f} cores of our own would serve about "
        f"{cores * 1000 / per_request:.0f} requests/s; {rows[-1]['rate']:.1f}/s were served. Time in gunicorn "
        f"(its access log, request read to answer written): p50 {server_ms[0]:.0f} ms, p95 {server_ms[1]:.0f} ms.",
        "",
    ]
    return lines


def write(lines: list[str]) -> None:
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    intro = (
        "## Load\n\n"
        "Simulated officers over loopback HTTP against gunicorn (deploy/gunicorn.conf.py, DEBUG off) on 100,000 "
        "records in PostgreSQL: the review queue (filters, search, sort, pages; full page and htmx partial), record "
        "pages, in-place edits and approvals (maker-checker respected), each user pausing between actions. Times are "
        "the client's, request sent to answer read. Produced by `bench/bench_load.py`; each run adds a subsection, "
        "and the Verdict subsection is written by hand.\n\n"
    )
    section = re.search(r"^## Load\n(.*?)(?=^## |\Z)", text, flags=re.S | re.M)
    if section:
        body = section.group(1)
        verdict = body.find("### Verdict")
        body = body[:verdict] + "\n".join(lines) + "\n" + body[verdict:] if verdict >= 0 else body + "\n".join(lines)
        text = text[: section.start(1)] + body + text[section.end(1) :]
    else:
        text = text.rstrip() + "\n\n" + intro + "\n".join(lines) + "\n"
    RESULTS.write_text(text)
    print(f"wrote {RESULTS.relative_to(ROOT)}")


def main() -> None:
    args = parse_args()
    os.environ["SECRET_KEY"] = secrets.token_urlsafe(50)  # shared with gunicorn: its sessions are ours
    os.environ["ENV_FILE"] = os.devnull
    from bench.bench_queue import fill, scenarios, setup_django

    setup_django(args.database_url)
    logging.disable(logging.INFO)  # the sign-ins' log lines
    from django.core.management import call_command
    from django.db import connection

    from onboarding.models import ClientRecord

    call_command("migrate", verbosity=0, interactive=False)
    fill(args.records, reset=False)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE onboarding_clientrecord")
        cursor.execute("SHOW server_version")
        version = f"PostgreSQL {cursor.fetchone()[0].split()[0]}"
    queue_mix = scenarios()
    per_user = max(1, int(args.duration / args.think)) + 10
    users = [
        User(i, session_cookie(officer), work)
        for i, (officer, work) in enumerate(zip(officers(args.users), share_out(args.users, per_user), strict=True))
    ]
    pks = list(ClientRecord.objects.values_list("pk", flat=True))
    database = connection.settings_dict["NAME"]
    connection.close()

    with tempfile.TemporaryDirectory(prefix="bench-load-") as workdir:
        process, url, log = start_gunicorn(args, Path(workdir))
        try:
            print(f"gunicorn on {url}; {args.users} users for {args.duration:g} s")
            clock = Clock(args.duration, process.pid, database)
            barrier = threading.Barrier(len(users), action=clock.start)

            def start() -> Clock:
                barrier.wait()
                return clock

            threads = [
                threading.Thread(target=run_user, args=(user, url, args, queue_mix, pks, start)) for user in users
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.monotonic() - clock.started
            cpu = cpu_used(clock.before, snapshot(process.pid, database))
            log_lines = log.read_text().splitlines()
            server_errors = [line for line in log_lines if '"level": "ERROR"' in line]
        finally:
            process.terminate()
            process.wait(timeout=60)
    rows = summarise(users, elapsed)
    load = "/".join(f"{x:.1f}" for x in os.getloadavg())
    lines = report(args, rows, cpu, elapsed, version, load, gunicorn_times(log_lines, args.users))
    print("\n".join(lines))
    for error in sorted({e for user in users for e in user.errors})[:20]:
        print("error:", error)
    for line in server_errors[:5]:
        print("server:", line[:300])
    if not args.no_write:
        write(lines)


if __name__ == "__main__":
    main()
