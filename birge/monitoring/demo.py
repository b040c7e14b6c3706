"""Demo data for monitoring: the catalogue is loaded on migrate; here the summaries are built."""

from . import periods, summary


def generate(ctx):
    for period in periods.recent_school_years():
        build = summary.refresh(period)
        ctx.progress(f"monitoring summary {period.code}: {build.learners} learners, {build.rows} rows, {build.seconds:.1f} s")
