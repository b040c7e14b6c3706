"""``python -m birge.exchange.linkage LEFT.csv RIGHT.csv --out PAIRS.csv [--review REVIEW.csv]``.

The same function, :func:`link_files`, serves ``birge link``. Both files
have the header ``id,pin,last_name,first_name,patronymic,birth_date,sex,
region,district,settlement``; PAIRS gets ``left_id,right_id,score`` for the
linked pairs (each RIGHT record at most once), REVIEW the pairs for clerical
review with the reason and the level and weight of every comparison.
Progress goes to stderr. Exit status: 0 done, 2 unusable input.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from .engine import LinkConfig, LinkInputError, LinkResult, link
from .io import LinkFileError, RegisterFile, write_pairs


class StderrProgress:
    """Progress lines on stderr, at most one every ``every`` seconds (always the last)."""

    STAGES = {"index": "reading and indexing RIGHT", "compare": "reading and comparing LEFT",
              "train": "estimating the model", "done": "done"}

    def __init__(self, stream=None, every: float = 2.0):
        self.stream = stream or sys.stderr
        self.every = every
        self.last = 0.0
        self.t0 = time.monotonic()

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        now = time.monotonic()
        final = total is not None and done >= total
        if not final and now - self.last < self.every:
            return
        self.last = now
        label = self.STAGES.get(stage, stage)
        if total:
            msg = f"linkage: {label}: {min(done, total):,} / {total:,} ({min(done / total, 1):.0%})"
        else:
            msg = f"linkage: {label}: {done:,}"
        print(f"{msg}  [{now - self.t0:.0f} s]", file=self.stream, flush=True)

    def notice(self, text: str) -> None:
        print(f"linkage: {text}", file=self.stream, flush=True)


def link_files(left_path, right_path, out_path, review_path=None, *, config: LinkConfig | None = None,
               progress=None, notice=None, stats_path=None) -> LinkResult:
    """Read two register files, link them, write PAIRS (and REVIEW); nothing is written if input is bad."""
    cfg = config or LinkConfig(workers=0)
    left = RegisterFile(left_path, notice=notice)
    right = RegisterFile(right_path, notice=notice)
    result = link(left, right, cfg, progress=progress, left_total=left.count(), right_total=right.count())
    links = sorted(result.links, key=lambda p: (p.left_id, p.right_id))
    write_pairs(out_path, links)
    if review_path:
        write_pairs(review_path, sorted(result.review, key=lambda p: (p.right_id, -p.score)), with_details=True)
    if stats_path:
        Path(stats_path).write_text(json.dumps(result.stats, indent=1, ensure_ascii=False), encoding="utf-8")
    return result


def _configure_django() -> None:
    """Messages are translatable; outside a Birge process there are no settings, so use the English text."""
    from django.conf import settings

    if settings.configured:
        return
    if os.environ.get("DJANGO_SETTINGS_MODULE"):
        import django

        django.setup()
    else:
        settings.configure(USE_I18N=False)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m birge.exchange.linkage",
        description="Link the records of RIGHT to the records of LEFT (each RIGHT record to at most one LEFT record).")
    p.add_argument("left", help="LEFT register (CSV)")
    p.add_argument("right", help="RIGHT register (CSV)")
    p.add_argument("--out", required=True, help="linked pairs: left_id,right_id,score")
    p.add_argument("--review", help="pairs for clerical review, with per-field levels and weights")
    p.add_argument("--link-threshold", type=float, default=LinkConfig.link_threshold,
                   help="match probability from which a pair is linked (default %(default)s)")
    p.add_argument("--review-threshold", type=float, default=LinkConfig.review_threshold,
                   help="match probability from which a pair goes to review (default %(default)s)")
    p.add_argument("--workers", type=int, default=0, help="processes reading LEFT (default: one per core, at most 4)")
    p.add_argument("--stats", help="write run statistics and the model's weights as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    _configure_django()
    prog = StderrProgress()
    try:
        cfg = LinkConfig(link_threshold=args.link_threshold, review_threshold=args.review_threshold,
                         workers=args.workers)
    except ValueError as err:
        print(f"linkage: {err}", file=sys.stderr)
        return 2
    try:
        result = link_files(args.left, args.right, args.out, args.review, config=cfg,
                            progress=None if args.quiet else prog, notice=prog.notice, stats_path=args.stats)
    except (LinkFileError, LinkInputError) as err:
        print(f"linkage: {err}", file=sys.stderr)
        print("linkage: nothing was written.", file=sys.stderr)
        return 2
    s = result.stats
    if not args.quiet:
        print(f"linkage: {s['exact_links'] + s['probabilistic_links']:,} links ({s['exact_links']:,} on PIN), "
              f"{s['review_records']:,} records for review, {s['seconds']['total']} s", file=sys.stderr)
    return 0
