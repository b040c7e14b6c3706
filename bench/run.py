"""``make bench``: run every benchmark present and print one table of where the results are.

    .venv/bin/python -m bench.run [--only monitoring,linkage]

Each benchmark writes its own markdown and JSON under bench/results/; this
runner calls them in turn (monitoring: ``bench.monitoring``; record linkage:
``bench.linkage.run`` when that package is present) and writes
bench/results/README.md with every result file's table.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
# name -> (module, function, result files it writes)
BENCHMARKS = {
    "monitoring": ("bench.monitoring", "main", ["monitoring.md"]),
    "linkage": ("bench.linkage.run", "main", ["linkage-full.md", "linkage-small.md"]),
}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", default=",".join(BENCHMARKS))
    args = ap.parse_args(argv)
    ran = []
    for name in [n for n in args.only.split(",") if n]:
        module_name, function, files = BENCHMARKS[name]
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                print(f"[bench] {name}: not present, skipped")
                continue
            raise
        print(f"[bench] {name}: running {module_name}")
        start = time.perf_counter()
        code = getattr(module, function)([])
        ran.append((name, code, time.perf_counter() - start, files))
    RESULTS.mkdir(parents=True, exist_ok=True)
    lines = ["# Benchmark results", "", f"Last `make bench`: {dt.datetime.now():%Y-%m-%d %H:%M}.", "",
             "| benchmark | exit | minutes | results |", "|---|---:|---:|---|"]
    for name, code, seconds, files in ran:
        present = [f for f in files if (RESULTS / f).exists()]
        lines.append(f"| {name} | {code} | {seconds / 60:.1f} | {', '.join(present) or '—'} |")
    lines.append("")
    for name, _code, _s, files in ran:
        for f in files:
            if (RESULTS / f).exists():
                lines += [f"<!-- {f} -->", (RESULTS / f).read_text(encoding="utf-8"), ""]
    (RESULTS / "README.md").write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines[:6 + len(ran)]))
    return max((code or 0 for _n, code, _s, _f in ran), default=0)


if __name__ == "__main__":
    raise SystemExit(main())
