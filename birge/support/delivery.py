"""Planned versus delivered minutes, per learner, organization or district, in set-based queries.

Planned minutes of a service in a period are ``minutes_per_week × days / 7`` over the days the
service runs inside the period (from the later of its start and its plan version's effective date,
to the earlier of its end and the period's end), while its version was in force (a replaced version
until its successor took effect, a closed one until it closed). Delivered minutes are the
sessions held and attended (withdrawn entries do not count). Both sides are computed in the
database (one grouped query each) under the access policy: each user sees the totals of the records
they may read.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Case, Count, DateField, F, IntegerField, OuterRef, Q, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce, Greatest, Least, TruncDate
from django.db.models.expressions import Func
from django.utils.translation import gettext_lazy as _

from birge.core.models import Organization, Territory
from birge.learners.models import Learner
from birge.plans.models import IN_FORCE, IndividualPlan, PlanService, PlanState

from .models import ServiceSession

GROUPS = {
    "learner": (_("Learner"), "plan__learner_id", "learner_id"),
    "organization": (_("Organization"), "plan__organization_id", "organization_id"),
    "district": (_("District"), "plan__organization__territory__district_id", "organization__territory__district_id"),
}


class DaysBetween(Func):
    """Whole days from the second date to the first (``end - start``) on PostgreSQL and SQLite."""

    arity = 2
    output_field = IntegerField()

    def as_sql(self, compiler, connection, **extra):
        return super().as_sql(compiler, connection, template="(%(expressions)s)", arg_joiner=" - ", **extra)

    def as_sqlite(self, compiler, connection, **extra):
        return super().as_sql(compiler, connection, template="CAST(julianday(%(expressions)s) AS INTEGER)",
                              arg_joiner=") - julianday(", **extra)


def _date(value: dt.date):
    return Value(value, output_field=DateField())


def planned_services(user, date_from: dt.date, date_to: dt.date):
    """Planned services of the versions that were in force in the period and that the user may see, annotated
    with the days they run in it.

    A version in force runs to the period's end; a version an amendment (or a handover) replaced runs until
    the day before its successor took effect; a closed version until the day before it closed. So an
    amendment or a closing inside the period does not drop the planned minutes of the days before it.
    """
    start = Greatest(Coalesce("starts_on", "plan__effective_from"), "plan__effective_from", _date(date_from))
    end = Least(Coalesce("ends_on", _date(date_to)), _date(date_to))
    successor_from = Subquery(IndividualPlan.objects.filter(previous_id=OuterRef("plan_id"), activated_at__isnull=False)
                              .order_by("effective_from").values("effective_from")[:1], output_field=DateField())
    # The first day the version was no longer in force (exclusive), or null while it is in force.
    cut = Case(When(plan__state=PlanState.SUPERSEDED, then=successor_from),
               When(plan__state=PlanState.CLOSED, then=TruncDate("plan__closed_at")),
               default=None, output_field=DateField())
    run_days = DaysBetween(F("run_end"), F("run_start")) + 1
    return (PlanService.objects.visible_to(user)
            .filter(plan__state__in=[*IN_FORCE, PlanState.SUPERSEDED, PlanState.CLOSED], plan__activated_at__isnull=False,
                    minutes_per_week__isnull=False, plan__effective_from__lte=date_to)
            .filter(Q(ends_on__isnull=True) | Q(ends_on__gte=date_from))
            .annotate(run_start=start, run_end=end, cut=cut)
            .annotate(days=Case(
                When(run_end__lt=F("run_start"), then=Value(0)),
                When(cut__isnull=True, then=run_days),
                When(cut__lte=F("run_start"), then=Value(0)),
                When(cut__lte=F("run_end"), then=DaysBetween(F("cut"), F("run_start"))),
                default=run_days, output_field=IntegerField())))


@dataclass
class Row:
    key: int | None
    label: str
    planned: int
    delivered: int
    sessions: int
    missed: int

    @property
    def gap(self) -> int:
        return max(self.planned - self.delivered, 0)

    @property
    def share(self) -> int | None:
        return round(100 * self.delivered / self.planned) if self.planned else None


def planned_vs_delivered(user, *, date_from: dt.date, date_to: dt.date, group: str = "learner",
                         organization=None, district=None) -> list[Row]:
    label, plan_key, session_key = GROUPS[group]
    planned = planned_services(user, date_from, date_to)
    sessions = ServiceSession.objects.visible_to(user).filter(withdrawn_at__isnull=True, held_on__gte=date_from,
                                                              held_on__lte=date_to)
    if organization is not None:
        planned = planned.filter(plan__organization=organization)
        sessions = sessions.filter(organization=organization)
    if district is not None:
        planned = planned.filter(plan__organization__territory__district=district)
        sessions = sessions.filter(organization__territory__district=district)
    planned_rows = planned.values(plan_key).annotate(minute_days=Sum(F("minutes_per_week") * F("days"))).order_by()
    delivered_rows = sessions.values(session_key).annotate(
        delivered=Coalesce(Sum("minutes", filter=Q(attendance=ServiceSession.Attendance.ATTENDED)), 0),
        held=Count("pk", filter=Q(attendance=ServiceSession.Attendance.ATTENDED)),
        missed=Count("pk", filter=Q(attendance=ServiceSession.Attendance.MISSED))).order_by()
    rows: dict = {}
    for r in planned_rows:
        rows.setdefault(r[plan_key], [0, 0, 0, 0])[0] = round((r["minute_days"] or 0) / 7)
    for r in delivered_rows:
        acc = rows.setdefault(r[session_key], [0, 0, 0, 0])
        acc[1], acc[2], acc[3] = r["delivered"], r["held"], r["missed"]
    labels = _labels(group, [k for k in rows if k is not None])
    out = [Row(key, labels.get(key, str(_("Not known"))), *values) for key, values in rows.items()]
    return sorted(out, key=lambda r: (-r.gap, r.label))


def _labels(group: str, keys) -> dict:
    if group == "learner":
        return {lr.pk: lr.full_name for lr in Learner.objects.filter(pk__in=keys)}
    if group == "organization":
        return {o.pk: str(o) for o in Organization.objects.filter(pk__in=keys)}
    return {t.pk: t.name for t in Territory.objects.filter(pk__in=keys)}


def totals(rows: list[Row]) -> Row:
    return Row(None, str(_("Total")), sum(r.planned for r in rows), sum(r.delivered for r in rows),
               sum(r.sessions for r in rows), sum(r.missed for r in rows))
