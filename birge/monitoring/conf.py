"""Monitoring settings: Django settings first, then the environment, then the default."""

import environ
from django.conf import settings

_env = environ.Env()

DEFAULTS = {
    "BIRGE_MONITORING_MIN_CELL": 5,  # disclosure threshold: counts of children below it are hidden when published
    "BIRGE_MONITORING_LIVE_LIMIT": 100_000,  # up to this many learners, stale figures are recomputed live
    "BIRGE_MONITORING_TREND_YEARS": 5,  # school years on the dashboards' trends
    "BIRGE_MONITORING_FINAL_GRADE": 11,  # the final school grade (12 once the 12-year school is complete)
    "BIRGE_MONITORING_CACHE_SECONDS": 24 * 3600,  # computed results are cached per summary build
}


def get(name: str) -> int:
    if hasattr(settings, name):
        return getattr(settings, name)
    return _env.int(name, default=DEFAULTS[name])
