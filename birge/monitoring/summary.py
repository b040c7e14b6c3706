"""The learner summary table: built set-based from the records, never shown stale as current.

``refresh(period)`` rebuilds ``LearnerCube`` for one period with two
``INSERT … SELECT`` statements (enrolled learners, learners not enrolled) whose
SELECT is the live ORM query of :mod:`birge.monitoring.definitions` grouped by
every disaggregation column and the condition bitmask. No Python loop touches
a learner.

A build is *fresh* while

- no source record was added (the highest primary key of every source table
  is unchanged) or changed (no newer create/update/delete/transition audit
  event on a source record type),
- the definitions are the same (flag layout, sources wired: ``layout``), and
- the period's reference date has not moved (a running period's reference
  date is today).

Otherwise it is *stale*: the engine then computes live when the data are
small, or shows the last build marked "as of <time>, records have changed
since" and queues a refresh.
"""

from __future__ import annotations

import datetime as dt
import logging
import time

from django.apps import apps
from django.db import connection, transaction
from django.db.models import Count, Sum
from django.utils import timezone

from birge.core.models import AuditEvent, ClassifierVersion

from . import sources
from .definitions import LEARNER_COLUMNS, Ctx, enrolled_part, flags_expression, layout_signature, other_part
from .models import LearnerCube, SummaryRefresh
from .periods import Period

log = logging.getLogger(__name__)

CORE_SOURCE_MODELS = ["core.Territory", "core.Organization", "core.Membership"]
CHANGE_ACTIONS = [AuditEvent.Action.CREATE, AuditEvent.Action.UPDATE, AuditEvent.Action.DELETE, AuditEvent.Action.TRANSITION]


def source_models() -> list:
    models = [apps.get_model(label) for label in CORE_SOURCE_MODELS]
    for source in sources.SOURCES.values():
        model = source.model()
        if model is not None and model not in models:
            models.append(model)
    # Related records a source reads (e.g. Learner for every learner-level source).
    for label in ("learners.Learner", "learners.Enrolment", "learners.DisabilityStatus"):
        model = apps.get_model(label)
        if model not in models:
            models.append(model)
    return models


def fingerprint() -> dict:
    """What the source records look like now, in one round trip."""
    models = source_models()
    q = connection.ops.quote_name
    parts = [f"(SELECT MAX({q(m._meta.pk.column)}) FROM {q(m._meta.db_table)})" for m in models]
    types = [f"{m._meta.app_label}.{m._meta.model_name}" for m in models]
    audit = AuditEvent._meta
    parts.append(
        f"(SELECT {q('id')} FROM {q(audit.db_table)} WHERE {q('action')} IN ({', '.join(['%s'] * len(CHANGE_ACTIONS))})"
        f" AND {q('object_type')} IN ({', '.join(['%s'] * len(types))}) ORDER BY {q('id')} DESC LIMIT 1)"
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(parts), [*[str(a) for a in CHANGE_ACTIONS], *types])
        row = cursor.fetchone()
    out = {label: value for label, value in zip(types, row[:-1], strict=True)}
    out["audit"] = row[-1]
    return out


class SummaryState:
    """The latest build of a period and whether it still describes the records."""

    def __init__(self, period: Period, refresh: SummaryRefresh | None, reasons: list[str], running: bool):
        self.period = period
        self.refresh = refresh
        self.reasons = reasons
        self.running = running

    @property
    def fresh(self) -> bool:
        return self.refresh is not None and not self.reasons

    @property
    def stale(self) -> bool:
        return self.refresh is not None and bool(self.reasons)


def latest(period: Period) -> SummaryRefresh | None:
    return SummaryRefresh.objects.filter(period=period.code, status=SummaryRefresh.Status.DONE).order_by("-finished_at", "-pk").first()


def state(period: Period, current: dict | None = None) -> SummaryState:
    refresh = latest(period)
    running = SummaryRefresh.objects.filter(period=period.code, status=SummaryRefresh.Status.RUNNING,
                                            started_at__gte=timezone.now() - dt.timedelta(hours=6)).exists()
    reasons = []
    if refresh is not None:
        if refresh.layout != layout_signature():
            reasons.append("definitions")
        if refresh.reference_date != period.reference or refresh.start != period.start or refresh.end != period.end:
            reasons.append("reference-date")
        if refresh.fingerprint != (current if current is not None else fingerprint()):
            reasons.append("records")
    return SummaryState(period, refresh, reasons, running)


def _classifier_version() -> str:
    cv = ClassifierVersion.objects.order_by("-valid_from").first()
    return cv.code if cv else ""


def _insert_part(refresh_id: int, period: Period, part: str) -> int:
    ctx = Ctx(period, "learner", "live", part=part)
    base = enrolled_part(period) if part == "enrolled" else other_part(period)
    qs = base.annotate(flags=flags_expression(ctx)).values(*LEARNER_COLUMNS, "flags").annotate(n=Count("pk")).order_by()
    sql, params = qs.query.sql_with_params()
    q = connection.ops.quote_name
    cols = [*LEARNER_COLUMNS, "flags", "n"]
    statement = (
        f"INSERT INTO {q(LearnerCube._meta.db_table)} ({q('refresh_id')}, {', '.join(q(c) for c in cols)}) "
        f"SELECT %s, {', '.join('t.' + q(c) for c in cols)} FROM ({sql}) t"
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, [refresh_id, *params])
        return cursor.rowcount


def refresh(period: Period) -> SummaryRefresh:
    """Rebuild the summary of one period; the previous build stays readable until this one is done."""
    started = time.perf_counter()
    build = SummaryRefresh.objects.create(
        period=period.code, start=period.start, end=period.end, reference_date=period.reference,
        layout=layout_signature(), fingerprint=fingerprint(), classifier_version=_classifier_version(),
    )
    try:
        with transaction.atomic():
            for part in ("enrolled", "other"):
                _insert_part(build.pk, period, part)
            totals = LearnerCube.objects.filter(refresh_id=build.pk).aggregate(rows=Count("pk"), learners=Sum("n"))
            build.rows, build.learners = totals["rows"] or 0, totals["learners"] or 0
            build.status = SummaryRefresh.Status.DONE
            build.finished_at = timezone.now()
            build.seconds = round(time.perf_counter() - started, 3)
            build.save()
            older = list(SummaryRefresh.objects.filter(period=period.code).exclude(pk=build.pk)
                         .exclude(status=SummaryRefresh.Status.RUNNING).values_list("pk", flat=True))
            if older:
                stale_rows = LearnerCube.objects.filter(refresh_id__in=older)
                stale_rows._raw_delete(stale_rows.db)
                SummaryRefresh.objects.filter(pk__in=older).delete()
    except Exception as exc:
        SummaryRefresh.objects.filter(pk=build.pk).update(status=SummaryRefresh.Status.FAILED, error=repr(exc)[:2000],
                                                          finished_at=timezone.now())
        log.exception("monitoring summary refresh failed", extra={"period": period.code})
        raise
    log.info("monitoring summary refreshed", extra={"period": period.code, "rows": build.rows, "seconds": build.seconds})
    return build


def refresh_many(periods: list[Period]) -> list[SummaryRefresh]:
    return [refresh(p) for p in periods]
