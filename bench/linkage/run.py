"""Linkage benchmark: Birge's engine and Splink (DuckDB) on the same synthetic registers.

    .venv/bin/python -m bench.linkage.run [--sizes small|full] [--seed 1] [--no-splink]

``small`` runs 100 k × 10 k; ``full`` (the default) also 1 M × 100 k. Data are
generated once per size and seed under bench/data/ (git-ignored) with ground
truth; each engine runs in its own process, timed from start to the written
pairs file, with peak memory measured as the summed proportional set size
(PSS) of the process and its workers. The table is printed and saved to
bench/results/linkage-<sizes>.md and .json.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "bench" / "data"
RESULTS = ROOT / "bench" / "results"
SIZES = {"small": [(100_000, 10_000)], "full": [(100_000, 10_000), (1_000_000, 100_000)]}
# Both engines link one-to-one at match probability ≥ 0.5 (the decision point of a
# calibrated model, and what docs/linkage.md's earlier measurements used). The table
# also counts the links under 0.9, which Birge's default thresholds (link ≥ 0.9,
# review ≥ 0.3) would send to clerical review instead.
LINK_THRESHOLD = 0.5
DEFAULT_LINK = 0.9


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def _pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class MemorySampler(threading.Thread):
    """Peak of the summed PSS of a process tree, sampled every 0.2 s."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peak_kb, self.stop = pid, 0, threading.Event()

    def run(self):
        self.max_load = 0.0
        while not self.stop.is_set():
            total = sum(_pss_kb(p) for p in _descendants(self.pid))
            self.peak_kb = max(self.peak_kb, total)
            self.max_load = max(self.max_load, os.getloadavg()[0])
            self.stop.wait(0.2)


def run_engine(engine: str, left: Path, right: Path, out: Path, stats: Path, workers: int) -> dict:
    cmd = [sys.executable, "-m", "bench.linkage.run", "--engine", engine, "--left", str(left), "--right", str(right),
           "--out", str(out), "--stats", str(stats), "--workers", str(workers)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stderr=subprocess.PIPE, text=True)
    sampler = MemorySampler(proc.pid)
    sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    sampler.stop.set()
    sampler.join()
    err = proc.stderr.read()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{engine} failed ({proc.returncode}):\n{err[-3000:]}")
    info = json.loads(stats.read_text()) if stats.exists() else {}
    return {"seconds": round(seconds, 1), "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 1),
            "peak_pss_gb": round(sampler.peak_kb / 1e6, 2),
            "max_rss_gb": round(usage.ru_maxrss / 1e6, 2), "max_load": round(sampler.max_load, 1), "info": info}


def evaluate(pairs: Path, truth: Path) -> dict:
    with open(truth, encoding="utf-8") as f:
        true = {tuple(r) for r in list(csv.reader(f))[1:]}
    with open(pairs, encoding="utf-8") as f:
        rows = list(csv.reader(f))[1:]
    got = [tuple(r[:2]) for r in rows]
    below = [tuple(r[:2]) for r in rows if float(r[2]) < DEFAULT_LINK]
    right_ids = [r for _, r in got]
    assert len(right_ids) == len(set(right_ids)), "a RIGHT record was linked twice"
    tp = len(set(got) & true)
    precision = tp / len(got) if got else 0.0
    recall = tp / len(true) if true else 0.0
    f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
    in_left = {r for _, r in true}
    absent_linked = sum(1 for _, r in got if r not in in_left)
    auto = set(got) - set(below)
    tp_auto = len(auto & true)
    return {"links": len(got), "true_pairs": len(true), "true_links": tp, "links_below_default": len(below),
            "absent_linked": absent_linked,
            "precision_at_default": round(tp_auto / len(auto), 4) if auto else 0.0,
            "recall_at_default": round(tp_auto / len(true), 4) if true else 0.0,
            "precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}


def _fmt_size(n: int) -> str:
    return f"{n // 1_000_000} M" if n >= 1_000_000 else f"{n // 1000} k"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.linkage.run", description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", choices=sorted(SIZES), default="full")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-splink", action="store_true", help="run Birge's engine only")
    ap.add_argument("--workers", type=int, default=min(os.cpu_count() or 1, 4))
    ap.add_argument("--reuse", action="store_true", help="report the last measured runs again, without running")
    # internal: run one engine in this process
    ap.add_argument("--engine", choices=["birge", "splink"], help=argparse.SUPPRESS)
    ap.add_argument("--left", help=argparse.SUPPRESS)
    ap.add_argument("--right", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    ap.add_argument("--stats", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.engine:
        return _engine_main(args)

    from . import generate

    meta = _meta(args)  # before the runs: the load average then
    rows = []
    for n_left, n_right in SIZES[args.sizes]:
        d = DATA / f"linkage-{n_left}x{n_right}-s{args.seed}"
        t = time.perf_counter()
        data = generate.generate(d, n_left, n_right, seed=args.seed)
        print(f"data {_fmt_size(n_left)} × {_fmt_size(n_right)}: {data['true_pairs']:,} true pairs, "
              f"{data['right_only']:,} RIGHT records not in LEFT ({data['twin_of_right_only_in_left']} of them with "
              f"a twin in LEFT) [{time.perf_counter() - t:.0f} s]", file=sys.stderr)
        engines = ["birge"] + ([] if args.no_splink else ["splink"])
        for engine in engines:
            out = d / f"pairs-{engine}.csv"
            stats = d / f"stats-{engine}.json"
            measured = d / f"run-{engine}.json"
            if args.reuse and out.exists() and measured.exists():
                res = json.loads(measured.read_text())
            else:
                for p in (out, stats, measured):
                    p.unlink(missing_ok=True)
                print(f"  {engine} …", file=sys.stderr, flush=True)
                res = run_engine(engine, d / "left.csv", d / "right.csv", out, stats, args.workers)
                measured.write_text(json.dumps(res, indent=1, ensure_ascii=False))
            q = evaluate(out, d / "truth.csv")
            row = {"left": n_left, "right": n_right, "engine": engine, **q,
                   **{k: v for k, v in res.items() if k != "info"}, "details": res["info"]}
            rows.append(row)
            print(f"  {engine}: P {q['precision']:.4f} R {q['recall']:.4f} F1 {q['f1']:.4f} "
                  f"{res['seconds']} s {res['peak_pss_gb']} GB", file=sys.stderr, flush=True)

    table = _table(rows, args, meta)
    print(table)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"linkage-{args.sizes}.md").write_text(table, encoding="utf-8")
    (RESULTS / f"linkage-{args.sizes}.json").write_text(json.dumps({"rows": rows, "meta": meta}, indent=1,
                                                                    ensure_ascii=False), encoding="utf-8")
    return 0


def _meta(args) -> dict:
    import importlib.metadata as md

    def ver(p):
        try:
            return md.version(p)
        except md.PackageNotFoundError:
            return None

    try:
        load = round(os.getloadavg()[0], 1)
    except OSError:
        load = None
    return {"date": dt.datetime.now().isoformat(timespec="seconds"), "python": platform.python_version(),
            "cpus": os.cpu_count(), "workers": args.workers, "seed": args.seed, "load_before": load,
            "splink": ver("splink"), "duckdb": ver("duckdb"), "rapidfuzz": ver("rapidfuzz")}


def _table(rows, args, meta) -> str:
    max_load = max((r.get("max_load") or 0) for r in rows) if rows else None
    head = (f"Linkage benchmark ({meta['date']}, {meta['cpus']} CPUs, {meta['workers']} workers/threads, "
            f"seed {args.seed}; Splink {meta['splink']}, DuckDB {meta['duckdb']})"
            + (" — re-reported from the last measured runs (--reuse); the load figures are the reporting "
               "time's" if args.reuse else "") + "\n\n")
    lines = ["| LEFT × RIGHT | engine | precision | recall | F1 | time (s) | CPU (s) | CPU on the critical path (s) "
             "| peak memory (GB, PSS) "
             "| links / true pairs | absent from LEFT but linked | links with p < 0.9 |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        crit = (r.get("details") or {}).get("cpu_seconds", {}).get("critical_path", "—")
        lines.append(f"| {_fmt_size(r['left'])} × {_fmt_size(r['right'])} | {r['engine']} | {r['precision']:.4f} | "
                     f"{r['recall']:.4f} | {r['f1']:.4f} | {r['seconds']} | {r['cpu_seconds']} | {crit} | "
                     f"{r['peak_pss_gb']} | "
                     f"{r['links']:,} / {r['true_pairs']:,} | {r['absent_linked']:,} | {r['links_below_default']:,} |")
    notes = (f"\nOne-to-one links at match probability ≥ {LINK_THRESHOLD}. Time: wall clock from process start to the "
             "written pairs file (reading, preparing, blocking, training, scoring); CPU: user + system seconds of the "
             "process and its workers or threads; CPU on the critical path (Birge): the main process's CPU plus the "
             "busiest worker's, i.e. the wall time on an otherwise idle machine (the machine is shared: wall time "
             "depends on what else runs; "
             f"load average before the run {meta['load_before']}, during it up to {max_load}). 'Absent from LEFT but "
             "linked': RIGHT records of children who are not in LEFT at all, linked to someone (an out-of-school "
             "child marked as enrolled). The last column: "
             f"links Birge's default thresholds (link ≥ {DEFAULT_LINK}) would "
             "send to clerical review instead.\n")
    return head + "\n".join(lines) + "\n" + notes


def _engine_main(args) -> int:
    from birge.exchange.linkage.cli import _configure_django

    _configure_django()
    if args.engine == "birge":
        from birge.exchange.linkage import LinkConfig, link_files

        cfg = LinkConfig(workers=args.workers, link_threshold=LINK_THRESHOLD, review_threshold=LINK_THRESHOLD)
        res = link_files(args.left, args.right, args.out, config=cfg)
        info = {k: v for k, v in res.stats.items()}
    else:
        from . import splink_engine

        info = splink_engine.run(args.left, args.right, args.out, link_threshold=LINK_THRESHOLD,
                                 review_threshold=LINK_THRESHOLD, workers=args.workers)
    Path(args.stats).write_text(json.dumps(info, indent=1, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
