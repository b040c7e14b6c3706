"""``birge link LEFT.csv RIGHT.csv --out PAIRS.csv [--review REVIEW.csv]``: link two register files.

The analysts' and benchmarks' command line over the linkage engine
(``birge.exchange.linkage.link_files``, the same function as ``python -m
birge.exchange.linkage``). Both files have the header ``id,pin,last_name,
first_name,patronymic,birth_date,sex,region,district,settlement`` (UTF-8;
``birth_date`` ISO or ``DD.MM.YYYY``; ``sex`` ``F``/``M``; ``pin`` may be
empty). PAIRS gets ``left_id,right_id,score`` for the linked pairs, each
RIGHT record at most once; REVIEW the pairs between the thresholds, with the
reason and every comparison's level and weight. Progress goes to stderr.
A file that cannot be used stops the command with exit status 2 and a
message naming the file, the line and the column; nothing is written then.

The thresholds default to ``settings.BIRGE_LINKAGE`` (see ``birge.exchange.conf``).
No database is used.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from birge.exchange import conf
from birge.exchange.linkage import LinkConfig, LinkFileError, LinkInputError, link_files
from birge.exchange.linkage.cli import StderrProgress


class _Stream:
    """A file-like view of the command's stderr for the progress lines (print() writes the newline)."""

    def __init__(self, wrapper):
        self.wrapper = wrapper

    def write(self, text):
        self.wrapper.write(text, ending="")

    def flush(self):
        self.wrapper.flush()


class Command(BaseCommand):
    help = ("Link the records of RIGHT to the records of LEFT (each RIGHT record to at most one LEFT record) "
            "and write the linked pairs, and optionally the pairs for clerical review.")
    requires_system_checks: list = []  # a file-to-file tool: it works without the database

    def add_arguments(self, parser):
        parser.add_argument("left", help="LEFT register (CSV)")
        parser.add_argument("right", help="RIGHT register (CSV)")
        parser.add_argument("--out", required=True, help="linked pairs: left_id,right_id,score")
        parser.add_argument("--review", help="pairs for clerical review, with per-field levels and weights")
        parser.add_argument("--link-threshold", type=float, default=None,
                            help="match probability from which a pair is linked (default: settings.BIRGE_LINKAGE, 0.9)")
        parser.add_argument("--review-threshold", type=float, default=None,
                            help="match probability from which a pair goes to review (default: settings.BIRGE_LINKAGE, 0.3)")
        parser.add_argument("--workers", type=int, default=0,
                            help="processes reading LEFT (default 0: one per core, at most 4)")
        parser.add_argument("--stats", help="write run statistics and the model's weights as JSON")
        parser.add_argument("--quiet", action="store_true", help="no progress on stderr")

    def handle(self, *args, **options):
        link_threshold = options["link_threshold"]
        review_threshold = options["review_threshold"]
        try:
            cfg = LinkConfig(
                link_threshold=conf.linkage("link_threshold") if link_threshold is None else link_threshold,
                review_threshold=conf.linkage("review_threshold") if review_threshold is None else review_threshold,
                workers=max(options["workers"], 0),
            )
        except ValueError as err:
            raise CommandError(str(err), returncode=2) from None
        progress = StderrProgress(stream=_Stream(self.stderr))
        try:
            result = link_files(options["left"], options["right"], options["out"], options["review"], config=cfg,
                                progress=None if options["quiet"] else progress, notice=progress.notice,
                                stats_path=options["stats"])
        except (LinkFileError, LinkInputError) as err:
            raise CommandError(f"{err}\nnothing was written.", returncode=2) from None
        except OSError as err:  # an output that cannot be written
            raise CommandError(f"{err.filename or ''}: {err.strerror}", returncode=2) from None
        if not options["quiet"]:
            s = result.stats
            self.stderr.write(
                f"linkage: {s['exact_links'] + s['probabilistic_links']:,} links ({s['exact_links']:,} on PIN), "
                f"{s['review_records']:,} records for review, {s['seconds']['total']} s")
