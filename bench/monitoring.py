"""Monitoring benchmark: the indicator catalogue and the dashboard at national scale, SQLite and PostgreSQL.

    .venv/bin/python -m bench.monitoring [--db sqlite,postgres] [--requests 150] [--concurrency 4,8]

For each database the ``national`` demo (``birge demo --scale national``:
1.6 million learners from birge/learners/demo.py, with the referrals and the
monitoring summaries) is generated once and reused: SQLite in
``bench/data/monitoring/national.sqlite3``, PostgreSQL in the database
``birge_bench`` on 127.0.0.1:5432. Then, in a process of its own per database:

1. the learner summary of the current school year is rebuilt (timed);
2. the whole catalogue for the current school year, national totals, is computed
   *cold* (result cache empty: every figure from the summary table) and *warm*
   (result cache filled), and again with every indicator's standard
   disaggregations;
3. every indicator × each of its standard disaggregations, cold and warm;
4. E2 once *live* (straight from the records, no summary), to show what the
   summary saves;
5. the dashboard: gunicorn on 127.0.0.1 (2 workers × 4 threads, DEBUG off)
   serves ``/monitoring/`` to the demo ministry analyst, district officer and
   school coordinator; after one request per worker to warm it, a bounded loop
   of requests at each concurrency level gives p50 and p95.

"Cold" means the result cache is empty; the database's own page cache is warm
(the summary was just built). The table is printed and saved to
bench/results/monitoring.md and monitoring.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench" / "data" / "monitoring"
RESULTS = ROOT / "bench" / "results"
PY = str(ROOT / ".venv" / "bin" / "python")
GUNICORN = str(ROOT / ".venv" / "bin" / "gunicorn")
PG_SERVER = "postgres://postgres@127.0.0.1:5432"
DATABASES = {
    "sqlite": f"sqlite:///{DATA / 'national.sqlite3'}",
    "postgres": f"{PG_SERVER}/birge_bench",
}
TARGETS = {"sqlite": 3.0, "postgres": 1.0}  # seconds: the whole catalogue for one period
DASHBOARD_P95_TARGET_MS = 200
USERS = ["demo-ministry-analyst", "demo-district-officer", "demo-school-coordinator"]


def _env(db: str) -> dict:
    env = dict(os.environ)
    env.update({"DATABASE_URL": DATABASES[db], "DEBUG": "False", "BIRGE_ENV": "development", "LOG_LEVEL": "WARNING",
                "DJANGO_SETTINGS_MODULE": "birge.settings", "PYTHONPATH": str(ROOT)})
    return env


def _log(message: str) -> None:
    print(f"[bench.monitoring {dt.datetime.now():%H:%M:%S}] {message}", flush=True)


# --------------------------------------------------------------------------- data

def _ensure_postgres_database() -> None:
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = 'birge_bench'").fetchone():
            conn.execute("CREATE DATABASE birge_bench")


def _learner_count(db: str) -> int:
    code = ("import django; django.setup(); from birge.learners.models import Learner; "
            "from birge.core.models import User; "
            "print(Learner.objects.count() if User.objects.filter(username='demo-system-admin').exists() else 0)")
    out = subprocess.run([PY, "-c", code], env=_env(db), cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        return 0
    return int((out.stdout.strip().splitlines() or ["0"])[-1])


def ensure_dataset(db: str) -> float | None:
    """Generate the national demo into the benchmark database unless it is there. Returns seconds taken."""
    DATA.mkdir(parents=True, exist_ok=True)
    if db == "postgres":
        _ensure_postgres_database()
    subprocess.run([PY, "manage.py", "migrate", "-v", "0"], env=_env(db), cwd=ROOT, check=True)
    if _learner_count(db) >= 1_000_000:
        _log(f"{db}: national demo present, reused")
        return None
    _log(f"{db}: generating the national demo (birge demo --scale national) — this takes a while")
    start = time.perf_counter()
    with open(DATA / f"generate-{db}.log", "w") as log:
        subprocess.run([PY, "manage.py", "demo", "--scale", "national", "--seed", "1"], env=_env(db), cwd=ROOT,
                       check=True, stdout=log, stderr=subprocess.STDOUT)
    return time.perf_counter() - start


# --------------------------------------------------------------------------- measurement (inside Django)

def _timed(fn):
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def measure_catalogue() -> dict:
    """Runs with Django set up against the benchmark database."""
    import django

    django.setup()
    from django.core.cache import cache
    from django.db import connection

    from birge.learners.models import DisabilityStatus, Enrolment, Learner
    from birge.monitoring import engine, periods, scope, summary
    from birge.monitoring.models import Indicator, LearnerCube

    out: dict = {"vendor": connection.vendor}
    period = periods.current_school_year()
    out["period"] = period.code
    out["records"] = {"learners": Learner.objects.count(), "enrolments": Enrolment.objects.count(),
                      "disability_statuses": DisabilityStatus.objects.count()}
    try:
        from birge.referrals.models import Referral

        out["records"]["referrals"] = Referral.objects.count()
    except Exception:  # the referrals app is optional here
        pass
    _log(f"{connection.vendor}: rebuilding the summary of {period.code}")
    seconds, build = _timed(lambda: summary.refresh(period))
    out["refresh"] = {"period": period.code, "seconds": round(seconds, 2), "rows": build.rows, "learners": build.learners}
    built = {}
    current = summary.fingerprint()
    for p in periods.recent_school_years():
        if not summary.state(p, current).fresh:
            s, b = _timed(lambda p=p: summary.refresh(p))
            built[p.code] = round(s, 2)
    out["refresh_other_periods"] = built
    out["summary_rows_total"] = LearnerCube.objects.count()

    inds = list(Indicator.objects.filter(is_active=True))
    available = [i for i in inds if not engine.plan_for(i).unwired()]
    out["indicators"] = {"catalogue": len(inds), "computable": len(available)}
    national = scope.national()

    def catalogue_totals():
        return engine.compute_many(inds, period, [], national)

    def catalogue_standard():
        combos: dict[tuple, list] = {}
        for ind in available:
            for by in ind.standard or [[]]:
                combos.setdefault(tuple(by), []).append(ind)
        n = 0
        for by, group in combos.items():
            n += len(engine.compute_many(group, period, list(by), national))
        return n

    whole = {}
    for name, fn in (("totals", catalogue_totals), ("standard_disaggregations", catalogue_standard)):
        cache.clear()
        cold, _ = _timed(fn)
        warm, _ = _timed(fn)
        whole[name] = {"cold_s": round(cold, 3), "warm_s": round(warm, 3)}
    out["whole_catalogue"] = whole
    results = catalogue_totals()
    out["sources"] = sorted({r.source for r in results.values() if r.ok})
    out["stale"] = any(r.stale for r in results.values())

    rows = []
    for ind in available:
        for by in ind.standard or [[]]:
            cache.clear()
            cold, res = _timed(lambda ind=ind, by=by: engine.compute(ind, period, list(by), national))
            warm, _ = _timed(lambda ind=ind, by=by: engine.compute(ind, period, list(by), national))
            rows.append({"code": ind.code, "by": ",".join(by) or "total", "rows": len(res.rows), "source": res.source,
                         "cold_ms": round(cold * 1000, 1), "warm_ms": round(warm * 1000, 2)})
    out["per_indicator"] = rows
    _log(f"{connection.vendor}: E2 live, straight from the records")
    e2 = Indicator.objects.get(code="E2")
    live, res = _timed(lambda: engine.compute(e2, period, [], national, mode="live"))
    out["live_e2_total_s"] = round(live, 2)
    out["live_e2_value"] = res.rows[0].value if res.rows else None
    return out


def _sessions() -> dict:
    import django

    django.setup()
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from birge.core.models import User

    keys = {}
    for username in USERS:
        user = User.objects.get(username=username)
        s = SessionStore()
        s[SESSION_KEY] = str(user.pk)
        s[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        s[HASH_SESSION_KEY] = user.get_session_auth_hash()
        s.create()
        keys[username] = s.session_key
    return keys


# --------------------------------------------------------------------------- dashboard under load

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(port: int, path: str, cookie: str) -> tuple[float, int]:
    start = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    conn.request("GET", path, headers={"Cookie": f"sessionid={cookie}", "Host": "127.0.0.1"})
    resp = conn.getresponse()
    resp.read()
    conn.close()
    return (time.perf_counter() - start) * 1000, resp.status


def _percentile(values, q):
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1)))))
    return ordered[k]


def measure_dashboard(db: str, sessions: dict, requests: int, concurrency: list[int]) -> dict:
    port = _free_port()
    log = open(DATA / f"gunicorn-{db}.log", "w")
    server = subprocess.Popen([GUNICORN, "birge.wsgi", "-w", "2", "--threads", "4", "-b", f"127.0.0.1:{port}",
                               "--timeout", "600"], env=_env(db), cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        for _ in range(120):
            try:
                if _get(port, "/healthz", "")[1] == 200:
                    break
            except OSError:
                time.sleep(0.5)
        out = {}
        for username, cookie in sessions.items():
            path = "/monitoring/"
            first = [_get(port, path, cookie) for _ in range(4)]  # reach both workers: their first answers are cold
            assert all(status == 200 for _ms, status in first), (username, first)
            row = {"first_ms": round(first[0][0], 1)}
            for c in concurrency:
                with ThreadPoolExecutor(max_workers=c) as pool:
                    start = time.perf_counter()
                    got = list(pool.map(lambda _i: _get(port, path, cookie), range(requests)))
                    elapsed = time.perf_counter() - start
                ms = [m for m, status in got if status == 200]
                row[f"c{c}"] = {"n": len(got), "ok": len(ms), "p50_ms": round(statistics.median(ms), 1),
                                "p95_ms": round(_percentile(ms, 95), 1), "max_ms": round(max(ms), 1),
                                "rps": round(len(got) / elapsed, 1)}
            out[username] = row
        return out
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def _worker(db: str, requests: int, concurrency: list[int]) -> dict:
    out = measure_catalogue()
    sessions = _sessions()
    _log(f"{db}: dashboard under load")
    out["dashboard"] = measure_dashboard(db, sessions, requests, concurrency)
    return out


# --------------------------------------------------------------------------- report

def _markdown(report: dict) -> str:
    lines = [
        "# Monitoring benchmark",
        "",
        f"Run {report['when']} on {report['machine']}. National demo (birge demo --scale national, seed 1). "
        "Cold = result cache empty (figures from the summary table); warm = result cache filled. "
        "Dashboard: gunicorn 2 workers × 4 threads on 127.0.0.1, DEBUG off.",
        "",
    ]
    dbs = [db for db in ("sqlite", "postgres") if db in report["databases"]]
    lines += ["## Summary", "", "| | " + " | ".join(dbs) + " |", "|---|" + "---:|" * len(dbs)]

    def row(label, fn):
        cells = []
        for db in dbs:
            try:
                cells.append(fn(report["databases"][db]))
            except (KeyError, TypeError, ValueError):
                cells.append("—")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")

    row("learners / enrolments", lambda r: f"{r['records']['learners']:,} / {r['records']['enrolments']:,}")
    row("indicators in catalogue / computable", lambda r: f"{r['indicators']['catalogue']} / {r['indicators']['computable']}")
    row("summary rebuild, current year (s)", lambda r: f"{r['refresh']['seconds']:.1f} ({r['refresh']['rows']:,} rows)")
    row("whole catalogue, totals, cold (s)", lambda r: f"{r['whole_catalogue']['totals']['cold_s']:.3f}")
    row("whole catalogue, totals, warm (s)", lambda r: f"{r['whole_catalogue']['totals']['warm_s']:.3f}")
    row("whole catalogue, standard disaggregations, cold (s)",
        lambda r: f"{r['whole_catalogue']['standard_disaggregations']['cold_s']:.3f}")
    row("whole catalogue, standard disaggregations, warm (s)",
        lambda r: f"{r['whole_catalogue']['standard_disaggregations']['warm_s']:.3f}")
    row("target for the whole catalogue (s)", lambda r: f"< {TARGETS[r['db']]:.0f}")
    row("E2 live from the records, no summary (s)", lambda r: f"{r['live_e2_total_s']:.1f}")
    for user in USERS:
        for key in sorted({k for r in report["databases"].values() for k in r.get("dashboard", {}).get(user, {}) if k.startswith("c")}):
            row(f"dashboard {user.replace('demo-', '')}, {key[1:]} concurrent: p50 / p95 (ms)",
                lambda r, u=user, k=key: f"{r['dashboard'][u][k]['p50_ms']:.0f} / {r['dashboard'][u][k]['p95_ms']:.0f}")
        row(f"dashboard {user.replace('demo-', '')}, first request (ms)", lambda r, u=user: f"{r['dashboard'][u]['first_ms']:.0f}")
    lines += ["", f"Dashboard target: p95 < {DASHBOARD_P95_TARGET_MS} ms.", ""]
    lines += ["## Every computable indicator × its standard disaggregations", "",
              "| indicator | by | rows | " + " | ".join(f"{db} cold ms | {db} warm ms" for db in dbs) + " |",
              "|---|---|---:|" + "---:|---:|" * len(dbs)]
    keyed = {db: {(x["code"], x["by"]): x for x in report["databases"][db].get("per_indicator", [])} for db in dbs}
    keys = list(dict.fromkeys(k for db in dbs for k in keyed[db]))
    for key in keys:
        first = next(keyed[db][key] for db in dbs if key in keyed[db])
        cells = []
        for db in dbs:
            x = keyed[db].get(key)
            cells.append(f"{x['cold_ms']:.1f} | {x['warm_ms']:.2f}" if x else "— | —")
        lines.append(f"| {key[0]} | {key[1]} | {first['rows']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.monitoring", description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", default="sqlite,postgres")
    ap.add_argument("--requests", type=int, default=150)
    ap.add_argument("--concurrency", default="4,8")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    concurrency = [int(c) for c in args.concurrency.split(",") if c]
    if args.worker:
        print("BENCH-JSON " + json.dumps(_worker(args.worker, args.requests, concurrency), default=str))
        return 0
    report = {"when": f"{dt.datetime.now():%Y-%m-%d %H:%M}",
              "machine": f"{platform.node()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
              "databases": {}}
    for db in [d for d in args.db.split(",") if d]:
        generated = ensure_dataset(db)
        _log(f"{db}: measuring")
        proc = subprocess.run([PY, "-m", "bench.monitoring", "--worker", db, "--requests", str(args.requests),
                               "--concurrency", args.concurrency], env=_env(db), cwd=ROOT, capture_output=True, text=True)
        if proc.returncode != 0:
            sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-4000:])
            raise SystemExit(f"{db}: measurement failed")
        line = next(x for x in proc.stdout.splitlines() if x.startswith("BENCH-JSON "))
        result = json.loads(line[len("BENCH-JSON "):])
        result["db"] = db
        result["generated_s"] = generated
        report["databases"][db] = result
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "monitoring.json").write_text(json.dumps(report, indent=1, default=str) + "\n", encoding="utf-8")
    text = _markdown(report)
    (RESULTS / "monitoring.md").write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
