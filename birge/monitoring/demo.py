"""Demo data for monitoring: the catalogue is loaded on migrate; here the summaries are built."""

from django.db import connection

from . import periods, summary


def generate(ctx):
    if connection.vendor == "postgresql":
        # Millions of rows were just loaded: without fresh statistics PostgreSQL's planner takes the
        # tables for empty and builds the summaries with nested loops (hours instead of a minute).
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    for period in periods.recent_school_years():
        build = summary.refresh(period)
        ctx.progress(f"monitoring summary {period.code}: {build.learners} learners, {build.rows} rows, {build.seconds:.1f} s")
