"""Background refresh of the summary table (django-tasks; ``birge worker`` runs them)."""

from __future__ import annotations

import logging

from django.core.cache import cache
from django.db import transaction
from django_tasks import task

from . import periods, summary

log = logging.getLogger(__name__)
REQUEST_TTL = 15 * 60


@task()
def refresh_summaries(period_codes: list[str]) -> list[int]:
    built = []
    for code in period_codes:
        built.append(summary.refresh(periods.parse(code)).pk)
    return built


def request_refresh(period: periods.Period) -> bool:
    """Queue a rebuild of a period's summary once (a stale or missing summary asks for one)."""
    if not period.is_school_year:
        return False  # custom ranges are built on request by an administrator
    if not cache.add(f"birge:monitoring:refresh-requested:{period.code}", True, REQUEST_TTL):
        return False
    try:
        transaction.on_commit(lambda: refresh_summaries.enqueue([period.code]))
    except Exception:  # the queue is down: the page still answers, marked stale
        log.exception("could not queue a monitoring refresh")
        return False
    return True
