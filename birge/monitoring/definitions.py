"""Populations, conditions and disaggregations: each implemented once, as ORM expressions.

An indicator in the catalogue is data: a *population* (who is counted), a list
of *conditions* for the numerator and for the denominator, and an aggregate
kind. This module gives those names their meaning in SQL.

Learners are counted once per period. Every learner of the period yields one
*learner row* with the same columns whichever way it is computed:

    region_id, district_id, organization_id, org_kind, urban, level, form, lang,
    sex, age_band, category

For an enrolled learner the row comes from the *main enrolment* of the period
(the latest-starting enrolment overlapping the observation window): place,
level and form are where the learner studies. A learner registered but not
enrolled in the period (identified through screening or an agency register)
is placed where they live and has no organization, level or form.

Conditions are either filters on those columns (``level:school``,
``age:6-17``, ``disability``) or *flags* (``dropped_out``, ``promoted`` …)
computed from the records with ``Exists`` subqueries. The same definition is
used live (straight from the records) and to build the summary table
(:mod:`birge.monitoring.summary`), where each flag becomes one bit of
``LearnerCube.flags``; the engine reads either, and the tests check they agree.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import reduce

from django.apps import apps
from django.conf import settings
from django.db.models import (
    BigIntegerField, Case, CharField, DateField, Exists, ExpressionWrapper, F, Func, IntegerField, OuterRef, Q,
    SmallIntegerField, Subquery, Value, When,
)
from django.db.models.functions import Cast, Coalesce, ExtractDay, ExtractMonth, ExtractYear
from django.db.models.lookups import Exact, GreaterThan, LessThan, LessThanOrEqual
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from birge.core.roles import EDUCATION_KINDS

from . import conf
from .periods import Period

TRUE = Q(pk__isnull=False)
FALSE = Q(pk__isnull=True)


class DefinitionError(ValueError):
    """A catalogue entry names something this module does not define."""


# --------------------------------------------------------------------------- SQL helpers

def _md(expr):
    return ExtractMonth(expr) * 100 + ExtractDay(expr)


def years_on(birth, on: dt.date):
    """Completed years of a person born ``birth`` (an expression) on the fixed date ``on``."""
    return ExpressionWrapper(
        Value(on.year) - ExtractYear(birth)
        - Case(When(GreaterThan(_md(birth), Value(on.month * 100 + on.day)), then=Value(1)), default=Value(0)),
        output_field=IntegerField(),
    )


def years_between(birth, day):
    """Completed years between two date expressions (portable: no date arithmetic)."""
    return ExpressionWrapper(
        ExtractYear(day) - ExtractYear(birth)
        - Case(When(GreaterThan(_md(birth), _md(day)), then=Value(1)), default=Value(0)),
        output_field=IntegerField(),
    )


class ElapsedDays(Func):
    """Whole days elapsed from ``start`` to ``end`` (timestamps, floored), the same on SQLite and PostgreSQL."""

    output_field = IntegerField()
    arity = 2

    def _parts(self, compiler, connection):
        (start_sql, start_params), (end_sql, end_params) = (compiler.compile(e) for e in self.get_source_expressions())
        return start_sql, end_sql, [*end_params, *start_params]

    def as_sqlite(self, compiler, connection, **extra):
        start, end, params = self._parts(compiler, connection)
        return f"CAST((julianday({end}) - julianday({start})) AS INTEGER)", params

    def as_postgresql(self, compiler, connection, **extra):
        start, end, params = self._parts(compiler, connection)
        return f"FLOOR(EXTRACT(EPOCH FROM (({end})::timestamptz - ({start})::timestamptz)) / 86400)::integer", params

    def as_sql(self, compiler, connection, **extra):
        raise NotImplementedError("ElapsedDays is defined for SQLite and PostgreSQL")


# Age bands (lower bounds, completed years at the start of the period).
AGE_BANDS = [0, 3, 6, 11, 15, 18, 25]


def age_band_label(band: int | None) -> str:
    if band is None:
        return "—"
    i = AGE_BANDS.index(band)
    return f"{band}+" if i == len(AGE_BANDS) - 1 else f"{band}–{AGE_BANDS[i + 1] - 1}"


def age_band(age_expr):
    whens = [When(LessThan(age_expr, Value(AGE_BANDS[i + 1])), then=Value(lo)) for i, lo in enumerate(AGE_BANDS[:-1])]
    return Case(*whens, default=Value(AGE_BANDS[-1]), output_field=SmallIntegerField())


def bands_between(lo: int, hi: int | None) -> list[int]:
    """Age bands making up exactly [lo, hi] (hi None: open-ended). Raises if not aligned."""
    if lo not in AGE_BANDS or (hi is not None and hi + 1 not in AGE_BANDS):
        raise DefinitionError(f"age range {lo}-{hi if hi is not None else ''} does not follow the age bands {AGE_BANDS}")
    return [b for b in AGE_BANDS if b >= lo and (hi is None or b <= hi)]


def _null(output):
    return Cast(Value(None), output)


def _model(label):
    return apps.get_model(label)


# --------------------------------------------------------------------------- windows

def window(period: Period) -> tuple[dt.date, dt.date]:
    return period.start, period.reference


def _end_of(day: dt.date):
    return timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min))


def overlaps(start: dt.date, end: dt.date, prefix: str = "") -> Q:
    """Records (with starts_on / ends_on) in force on some day of [start, end]."""
    return Q(**{f"{prefix}starts_on__lte": end}) & (Q(**{f"{prefix}ends_on__isnull": True}) | Q(**{f"{prefix}ends_on__gte": start}))


def learner_counted(period: Period, prefix: str = "") -> Q:
    """Learners who exist in the period: born by the reference date, not merged, not archived before it."""
    return (
        Q(**{f"{prefix}merged_into__isnull": True, f"{prefix}birth_date__lte": period.reference})
        & (Q(**{f"{prefix}archived_at__isnull": True}) | Q(**{f"{prefix}archived_at__gte": _end_of(period.reference)}))
    )


def valid_statuses(period: Period):
    """Disability statuses valid on the reference date."""
    ref = period.reference
    DisabilityStatus = _model("learners.DisabilityStatus")
    return DisabilityStatus.objects.filter(starts_on__lte=ref).filter(
        Q(indefinite=True) | Q(ends_on__isnull=True) | Q(ends_on__gte=ref)
    ).filter(Q(closed_at__isnull=True) | Q(closed_at__gte=_end_of(ref)))


def _category(period: Period, learner_ref: str):
    return Subquery(
        valid_statuses(period).filter(learner_id=OuterRef(learner_ref)).order_by("-starts_on", "-pk").values("category")[:1],
        output_field=CharField(),
    )


def enrolled_part(period: Period):
    """One row per enrolled learner: their main enrolment of the period, with the learner-row columns."""
    Enrolment = _model("learners.Enrolment")
    start, ref = window(period)
    in_window = overlaps(start, ref)
    later = Enrolment.objects.filter(in_window, learner_id=OuterRef("learner_id")).filter(
        Q(starts_on__gt=OuterRef("starts_on")) | Q(starts_on=OuterRef("starts_on"), pk__gt=OuterRef("pk"))
    )
    lang = Case(
        When(language__gt="", then=F("language")),
        When(~Q(organization__languages__contains=",") & Q(organization__languages__gt=""), then=F("organization__languages")),
        default=_null(CharField()),
        output_field=CharField(),
    )
    return (
        Enrolment.objects.filter(in_window)
        .filter(learner_counted(period, "learner__"))
        .filter(~Exists(later))
        .annotate(
            region_id=F("organization__territory__region_id"),
            district_id=Coalesce(F("organization__territory__district_id"), F("organization__territory__region_id")),
            org_kind=F("organization__kind"),
            urban=F("organization__territory__is_urban"),
            lang=lang,
            sex=F("learner__sex"),
            age_band=age_band(years_on(F("learner__birth_date"), period.start)),
            category=_category(period, "learner_id"),
        )
    )


def other_part(period: Period):
    """One row per learner of the period who is not enrolled in it, placed where they live."""
    Learner = _model("learners.Learner")
    Enrolment = _model("learners.Enrolment")
    start, ref = window(period)
    enrolled = Enrolment.objects.filter(overlaps(start, ref), learner_id=OuterRef("pk"))
    return (
        Learner.objects.filter(learner_counted(period))
        .filter(~Exists(enrolled))
        .annotate(
            region_id=F("territory__region_id"),
            district_id=Coalesce(F("territory__district_id"), F("territory__region_id")),
            organization_id=_null(BigIntegerField()),
            org_kind=_null(CharField()),
            urban=F("territory__is_urban"),
            level=_null(CharField()),
            form=_null(CharField()),
            lang=_null(CharField()),
            age_band=age_band(years_on(F("birth_date"), period.start)),
            category=_category(period, "pk"),
        )
    )


LEARNER_COLUMNS = ["region_id", "district_id", "organization_id", "org_kind", "urban", "level", "form", "lang",
                   "sex", "age_band", "category"]


def organization_rows(period: Period):
    Organization = _model("core.Organization")
    return Organization.objects.filter(is_active=True, kind__in=list(EDUCATION_KINDS)).annotate(
        region_id=F("territory__region_id"),
        district_id=Coalesce(F("territory__district_id"), F("territory__region_id")),
        organization_id=F("pk"),
        org_kind=F("kind"),
        urban=F("territory__is_urban"),
    )


def staff_rows(period: Period):
    Membership = _model("core.Membership")
    ref = period.reference
    return Membership.objects.filter(
        starts_on__lte=ref, organization__kind__in=list(EDUCATION_KINDS), organization__is_active=True
    ).filter(Q(ends_on__isnull=True) | Q(ends_on__gt=ref)).annotate(
        region_id=F("organization__territory__region_id"),
        district_id=Coalesce(F("organization__territory__district_id"), F("organization__territory__region_id")),
        org_kind=F("organization__kind"),
        urban=F("organization__territory__is_urban"),
    )


def _learner_sex(ref: str):
    """The learner's sex as a subquery: no join to the learners table unless a figure is split by sex."""
    return Subquery(_model("learners.Learner").objects.filter(pk=OuterRef(ref)).values("sex")[:1], output_field=CharField())


def referral_rows(period: Period):
    """Referrals to a PMPK that were submitted, placed at the PMPK that received them."""
    Referral = _model("referrals.Referral")
    return Referral.objects.filter(kind="pmpk", submitted_at__isnull=False,
                                   submitted_at__lt=_end_of(period.reference)).annotate(
        region_id=F("receiving_organization__territory__region_id"),
        district_id=Coalesce(F("receiving_organization__territory__district_id"),
                             F("receiving_organization__territory__region_id")),
        organization_id=F("receiving_organization_id"),
        org_kind=F("receiving_organization__kind"),
        urban=F("receiving_organization__territory__is_urban"),
        sex=_learner_sex("learner_id"),
        days=ElapsedDays(F("submitted_at"), F("concluded_at")),
    )


def _start_of(day: dt.date):
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


# --------------------------------------------------------------------------- evaluation context

@dataclass
class Ctx:
    """Where a condition is being evaluated."""

    period: Period
    unit: str  # learner | organization | staff
    mode: str  # live | summary
    part: str = ""  # for live learner rows: enrolled | other
    refresh_id: int | None = None

    @property
    def learner_ref(self) -> str:
        return "learner_id" if self.part == "enrolled" else "pk"


# --------------------------------------------------------------------------- conditions

@dataclass
class Condition:
    name: str
    label: object
    sources: tuple[str, ...]
    units: tuple[str, ...] = ("learner",)
    bit: int | None = None  # flags stored in the summary table
    live: Callable | None = None  # live(ctx, arg) -> Q
    column: Callable | None = None  # column(ctx, arg) -> Q on learner-row columns (same in every mode)
    param: bool = False
    parse_arg: Callable | None = None
    within: str | None = None  # a flag this one implies: evaluated only where that one holds (summary build)

    @property
    def implemented(self) -> bool:
        return self.live is not None or self.column is not None


CONDITIONS: dict[str, Condition] = {}


def condition(name, label, sources, *, bit=None, units=("learner",), param=False, parse_arg=None, kind="flag",
              within=None):
    def decorator(fn):
        CONDITIONS[name] = Condition(
            name, label, tuple(sources), tuple(units), bit,
            live=fn if kind == "flag" else None, column=fn if kind == "column" else None,
            param=param, parse_arg=parse_arg, within=within,
        )
        return fn

    return decorator


def planned(name, label, sources, units=("learner",), param=False):
    """A condition whose records are not in Birge yet: named so the catalogue can use it."""
    CONDITIONS[name] = Condition(name, label, tuple(sources), tuple(units), param=param)


def _choice_list(arg: str) -> list[str]:
    values = [v for v in arg.split("|") if v]
    if not values:
        raise DefinitionError("a list of values is needed, e.g. level:school|kindergarten")
    return values


def _choices_of(label: str, field_name: str) -> set[str]:
    model = _model(label)
    return {c[0] for c in model._meta.get_field(field_name).choices}


def _parse_in(model_label, field_name):
    def parse(arg):
        values = _choice_list(arg)
        allowed = _choices_of(model_label, field_name)
        bad = [v for v in values if v not in allowed]
        if bad:
            raise DefinitionError(f"unknown value {bad} for {field_name}; allowed: {sorted(allowed)}")
        return values

    return parse


def _parse_kind(arg):
    from birge.core.roles import OrgKind

    values = _choice_list(arg)
    bad = [v for v in values if v not in OrgKind.values]
    if bad:
        raise DefinitionError(f"unknown organization kind {bad}")
    return values


def _parse_role(arg):
    from birge.core.roles import Role

    values = _choice_list(arg)
    bad = [v for v in values if v not in Role.values]
    if bad:
        raise DefinitionError(f"unknown role {bad}")
    return values


def _parse_age(arg):
    lo, _sep, hi = arg.partition("-")
    try:
        return bands_between(int(lo), int(hi) if hi else None)
    except ValueError:
        raise DefinitionError(f"age range {arg!r}: write e.g. age:6-17 or age:18-") from None


# Column conditions: filters on learner-row columns, identical live and in the summary.
@condition("disability", _("has a valid disability status on the reference date"), ["disability"], kind="column")
def _disability(ctx, arg):
    return Q(category__isnull=False)


@condition("level", _("main enrolment at level"), ["enrolment"], kind="column", param=True,
           parse_arg=_parse_in("learners.Enrolment", "level"))
def _level(ctx, values):
    return Q(level__in=list(values))


@condition("form", _("form of education"), ["enrolment"], kind="column", param=True,
           parse_arg=_parse_in("learners.Enrolment", "form"))
def _form(ctx, values):
    return Q(form__in=list(values))


@condition("age", _("age at the start of the period"), ["learner"], kind="column", param=True, parse_arg=_parse_age)
def _age(ctx, bands):
    return Q(age_band__in=list(bands))


@condition("sex", _("sex"), ["learner"], kind="column", param=True, parse_arg=_parse_in("learners.Learner", "sex"))
def _sex(ctx, values):
    return Q(sex__in=list(values))


@condition("kind", _("organization kind"), ["organization"], kind="column", param=True, parse_arg=_parse_kind,
           units=("learner", "organization", "staff"))
def _kind(ctx, values):
    return Q(org_kind__in=list(values))


@condition("role", _("staff role"), ["membership"], kind="column", param=True, parse_arg=_parse_role, units=("staff",))
def _role(ctx, values):
    return Q(role__in=list(values))


# Flags: computed from the records, one bit each in the summary table. Bits are never reused.
def _enr():
    return _model("learners.Enrolment")


@condition("enrolled", _("enrolled in the period"), ["enrolment"], bit=0)
def _enrolled(ctx, arg):
    return TRUE if ctx.part == "enrolled" else FALSE


def _identified_before(years):
    def live(ctx, arg):
        known = _model("learners.DisabilityStatus").objects.filter(
            learner_id=OuterRef(ctx.learner_ref), starts_on__lte=ctx.period.reference
        )
        first = known.annotate(age_at=years_between(F("learner__birth_date"), F("starts_on"))).filter(age_at__lt=years)
        return Q(Exists(first))

    return live


for _years, _bit, _label in ((3, 1, _("disability first certified before age 3")),
                             (5, 2, _("disability first certified before age 5"))):
    CONDITIONS[f"identified_before:{_years}"] = Condition(
        f"identified_before:{_years}", _label, ("disability",), ("learner",), _bit, live=_identified_before(_years),
    )


@condition("dropped_out", _("main enrolment ended by dropping out in the period"), ["enrolment"], bit=3)
def _dropped(ctx, arg):
    if ctx.part != "enrolled":
        return FALSE
    start, ref = window(ctx.period)
    return Q(status="dropped-out", ends_on__gte=start, ends_on__lte=ref)


@condition("completed", _("main enrolment completed in the period"), ["enrolment"], bit=4)
def _completed(ctx, arg):
    if ctx.part != "enrolled":
        return FALSE
    start, ref = window(ctx.period)
    return Q(status="completed", ends_on__gte=start, ends_on__lte=ref)


@condition("final_grade", _("in the final school grade"), ["enrolment"], bit=5)
def _final_grade(ctx, arg):
    if ctx.part != "enrolled":
        return FALSE
    return Q(level="school", grade__gte=conf.get("BIRGE_MONITORING_FINAL_GRADE"))


# Promotion and repetition need each learner's grade in consecutive school years. Enrolments keep one
# record per level whose grade is updated in place, so the grade of the previous year is not a record
# yet: these stay planned until a per-year grade history exists. (Bits 6-8 are reserved for them.)
planned("in_school_both_years", _("in school in this and the previous period"), ["enrolment", "grade-history"])
planned("promoted", _("one grade higher than in the previous period"), ["grade-history"])
planned("repeated", _("in the same grade as in the previous period"), ["grade-history"])


def _completed_previous_qs(ctx):
    prev = ctx.period.previous()
    return _enr().objects.filter(learner_id=OuterRef(ctx.learner_ref), status="completed",
                                 ends_on__gte=prev.start, ends_on__lte=prev.end)


@condition("completed_previous", _("completed a level in the previous period"), ["enrolment"], bit=9)
def _completed_previous(ctx, arg):
    return Q(Exists(_completed_previous_qs(ctx)))


@condition("transitioned", _("enrolled at another level after completing one in the previous period"), ["enrolment"], bit=10)
def _transitioned(ctx, arg):
    if ctx.part != "enrolled":
        return FALSE
    return Q(Exists(_completed_previous_qs(ctx).exclude(level=OuterRef("level"))))


@condition("left_boarding", _("left a boarding school in the period for a family-based form"), ["enrolment"], bit=11)
def _left_boarding(ctx, arg):
    if ctx.part != "enrolled":
        return FALSE
    start, ref = window(ctx.period)
    boarding = _enr().objects.filter(learner_id=OuterRef("learner_id"), form="boarding", ends_on__gte=start, ends_on__lte=ref)
    return ~Q(form="boarding") & Q(Exists(boarding))


# PMPK conclusions and individual plans (birge.assessments, birge.plans).
ISSUED_STATES = ("issued", "superseded", "withdrawn")


def conclusions_in_force(period: Period):
    """Conclusions in force on the reference date: issued by then, not withdrawn, expired or superseded by then."""
    Conclusion = _model("assessments.Conclusion")
    ref_end = _end_of(period.reference)
    newer = Conclusion.objects.filter(supersedes_id=OuterRef("pk"), status__in=ISSUED_STATES, issued_at__lt=ref_end)
    return (
        Conclusion.objects.filter(status__in=ISSUED_STATES, issued_at__lt=ref_end)
        .filter(Q(withdrawn_at__isnull=True) | Q(withdrawn_at__gte=ref_end))
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=period.reference))
        .filter(~Exists(newer))
    )


def plans_in_force(period: Period):
    """Individual plans active on the reference date (activated by then and not closed or replaced by then)."""
    IndividualPlan = _model("plans.IndividualPlan")
    ref_end = _end_of(period.reference)
    # A replaced version keeps no closing date: it left force when the version replacing it was put into force.
    replaced = IndividualPlan.objects.filter(previous_id=OuterRef("pk"), activated_at__lt=ref_end)
    return IndividualPlan.objects.filter(activated_at__lt=ref_end).filter(
        Q(closed_at__isnull=True) | Q(closed_at__gte=ref_end)
    ).exclude(state__in=["draft", "proposed", "agreed"]).filter(~Q(state="superseded") | ~Exists(replaced))


@condition("conclusion", _("has a PMPK conclusion in force on the reference date"), ["conclusion"], bit=12)
def _conclusion(ctx, arg):
    return Q(Exists(conclusions_in_force(ctx.period).filter(learner_id=OuterRef(ctx.learner_ref))))


@condition("sen", _("has special educational needs (a valid disability status or a PMPK conclusion in force)"),
           ["disability", "conclusion"], kind="column")
def _sen(ctx, arg):
    return resolve(parse_conditions({"any": ["disability", "conclusion"]}, "learner"), ctx)


@condition("plan_active", _("has an individual education plan in force on the reference date"), ["plan"], bit=13)
def _plan_active(ctx, arg):
    return Q(Exists(plans_in_force(ctx.period).filter(learner_id=OuterRef(ctx.learner_ref))))


def _first_release(outer="pk"):
    Release = _model("assessments.Release")
    return Subquery(Release.objects.filter(conclusion_id=OuterRef(outer)).order_by("released_at", "pk")
                    .values("released_at")[:1])


@condition("released_with_consent", _("released to an organization with the family's consent in the period, its "
                                      "deadline for a plan passed by the reference date"),
           ["conclusion", "consent"], units=("conclusion",))
def _released(ctx, arg):
    start, ref = window(ctx.period)
    days = settings.BIRGE_DEADLINES.get("release_to_plan", 30)
    return Q(first_release__gte=_start_of(start), first_release__lt=_end_of(ref - dt.timedelta(days=days)))


@condition("plan_within_deadline", _("an individual plan came into force within the deadline after the release"),
           ["conclusion", "plan"], units=("conclusion",))
def _plan_in_time(ctx, arg):
    days = settings.BIRGE_DEADLINES.get("release_to_plan", 30)
    IndividualPlan = _model("plans.IndividualPlan")
    plans = IndividualPlan.objects.filter(conclusion_id=OuterRef("pk"), activated_at__isnull=False).annotate(
        days=ElapsedDays(OuterRef("first_release"), F("activated_at"))).filter(days__lte=days)
    return Q(Exists(plans))


def conclusion_rows(period: Period):
    """Issued PMPK conclusions, placed at the PMPK that issued them."""
    Conclusion = _model("assessments.Conclusion")
    return Conclusion.objects.filter(status__in=ISSUED_STATES, issued_at__lt=_end_of(period.reference)).annotate(
        region_id=F("pmpk__territory__region_id"),
        district_id=Coalesce(F("pmpk__territory__district_id"), F("pmpk__territory__region_id")),
        organization_id=F("pmpk_id"),
        org_kind=F("pmpk__kind"),
        urban=F("pmpk__territory__is_urban"),
        sex=_learner_sex("learner_id"),
        first_release=_first_release(),
    )


def service_window(period: Period) -> tuple[dt.date, dt.date]:
    """Days on which planned services run: the period up to the reference date; a school year's summer is left out."""
    start, ref = window(period)
    if period.is_school_year:
        ref = min(ref, dt.date(period.end.year, 5, 31))
    return start, ref


def service_rows(period: Period):
    """Services planned in individual plans, with the minutes planned and delivered in the service window."""
    from django.db.models import IntegerField as _Int
    from django.db.models import Sum as _Sum
    from django.db.models.functions import Greatest, Least, TruncDate

    PlanService = _model("plans.PlanService")
    ServiceSession = _model("support.ServiceSession")
    start, end = service_window(period)
    delivered = ServiceSession.objects.filter(
        plan_service_id=OuterRef("pk"), held_on__gte=start, held_on__lte=end, attendance="attended",
        withdrawn_at__isnull=True,
    ).order_by().values("plan_service_id").annotate(total=_Sum("minutes")).values("total")
    IndividualPlan = _model("plans.IndividualPlan")
    first = Greatest(Coalesce(F("starts_on"), Value(start)), Value(start), Coalesce(F("plan__effective_from"), Value(start)))
    last = Least(Coalesce(F("ends_on"), Value(end)), Value(end), Coalesce(TruncDate("plan__closed_at"), Value(end)))
    # A replaced version (its services are copied into the next one) runs until the day before the version
    # replacing it takes effect: ``replaced_from`` is that first day (exclusive), so no day is planned twice.
    replaced_from = Subquery(IndividualPlan.objects.filter(previous_id=OuterRef("plan_id"), activated_at__isnull=False)
                             .order_by("effective_from", "pk").values("effective_from")[:1], output_field=DateField())

    def per_week(days):
        return ExpressionWrapper(F("minutes_per_week") * days / 7, output_field=_Int())

    planned = Case(
        When(GreaterThan(first, last), then=Value(0)),
        When(Q(replaced_from__isnull=False) & LessThanOrEqual(F("replaced_from"), first), then=Value(0)),
        When(Q(replaced_from__isnull=False) & LessThanOrEqual(F("replaced_from"), last),
             then=per_week(ElapsedDays(first, F("replaced_from")))),
        default=per_week(ElapsedDays(first, last) + 1),
        output_field=_Int(),
    )
    return PlanService.objects.filter(minutes_per_week__isnull=False, plan__activated_at__isnull=False).filter(
        plan__activated_at__lt=_end_of(end)).filter(
        Q(plan__closed_at__isnull=True) | Q(plan__closed_at__gte=_start_of(start))).annotate(
        replaced_from=Case(When(plan__state="superseded", then=replaced_from), default=None, output_field=DateField()),
    ).annotate(
        region_id=F("plan__organization__territory__region_id"),
        district_id=Coalesce(F("plan__organization__territory__district_id"), F("plan__organization__territory__region_id")),
        organization_id=F("plan__organization_id"),
        org_kind=F("plan__organization__kind"),
        urban=F("plan__organization__territory__is_urban"),
        sex=_learner_sex("plan__learner_id"),
        minutes=planned,
        delivered_minutes=Coalesce(Subquery(delivered, output_field=_Int()), Value(0)),
    )


# Referral conditions.
@condition("concluded", _("concluded by the PMPK in the period"), ["referral"], units=("referral",))
def _concluded(ctx, arg):
    start, ref = window(ctx.period)
    return Q(concluded_at__gte=_start_of(start), concluded_at__lt=_end_of(ref))


@condition("submitted", _("submitted in the period"), ["referral"], units=("referral",))
def _submitted(ctx, arg):
    start, ref = window(ctx.period)
    return Q(submitted_at__gte=_start_of(start), submitted_at__lt=_end_of(ref))


@condition("within_deadline", _("concluded within the deadline (days from submission, setting referral_conclude)"),
           ["referral"], units=("referral",))
def _within_deadline(ctx, arg):
    days = settings.BIRGE_DEADLINES.get("referral_conclude", 30)
    return Q(concluded_at__isnull=False, days__lte=days)


# Functioning screening (birge.screening): the learner's latest completed Child Functioning Module of the
# period — interviewed between the start of the period and its reference date, not withdrawn. A later
# screening in the period replaces an earlier one; the result is tri-state (difficulty, none, indeterminate).
def cfm_instruments() -> list[str]:
    """The Child Functioning Module questionnaires (each has its flag below)."""
    return list(INSTRUMENT_BITS)


def _screenings_of(ctx, ref):
    Screening = _model("screening.Screening")
    start, end = window(ctx.period)
    return Screening.objects.filter(learner_id=ref, status="complete", instrument__in=cfm_instruments(),
                                    interview_date__gte=start, interview_date__lte=end)


def latest_screening(ctx):
    """The learner's latest CFM screening of the period, as a queryset of at most one row (for ``Exists``)."""
    newer = _screenings_of(ctx, OuterRef("learner_id")).filter(
        Q(interview_date__gt=OuterRef("interview_date")) | Q(interview_date=OuterRef("interview_date"), pk__gt=OuterRef("pk")))
    return _screenings_of(ctx, OuterRef(ctx.learner_ref)).filter(~Exists(newer))


@condition("cfm_screened", _("has a completed functioning screening (CFM) in the period, whatever its result"),
           ["screening"], bit=14)
def _cfm_screened(ctx, arg):
    return Q(Exists(_screenings_of(ctx, OuterRef(ctx.learner_ref))))


@condition("cfm_difficulty", _("functional difficulty (CFM): yes, in the latest screening of the period"),
           ["screening"], bit=15, within="cfm_screened")
def _cfm_difficulty(ctx, arg):
    return Q(Exists(latest_screening(ctx).filter(functional_difficulty=True)))


@condition("cfm_indeterminate", _("functional difficulty (CFM): indeterminate (answers missing) in the latest "
                                  "screening of the period"), ["screening"], bit=16, within="cfm_screened")
def _cfm_indeterminate(ctx, arg):
    return Q(Exists(latest_screening(ctx).filter(functional_difficulty__isnull=True)))


# One flag per functioning domain (difficulty in it), and one per questionnaire (which domains it asks
# about: the denominator of a domain). Bits are fixed here and never reused: a new domain takes a new bit.
DOMAIN_BITS = {
    "seeing": 17, "hearing": 18, "walking": 19, "fine_motor": 20, "self_care": 21, "communication": 22,
    "learning": 23, "remembering": 24, "concentrating": 25, "accepting_change": 26, "controlling_behaviour": 27,
    "playing": 28, "making_friends": 29, "anxiety": 30, "depression": 31,
}
INSTRUMENT_BITS = {"cfm-2-4": 32, "cfm-5-17": 33}


def _cfm_definitions():
    """The CFM questionnaires as loaded by the screening app (one whose file is gone is left out)."""
    from birge.screening import engine as screening_engine

    for code in cfm_instruments():
        try:
            yield screening_engine.load_instrument(code)
        except screening_engine.UnknownInstrument:
            continue


def domain_label(code: str) -> str:
    """The domain's name in the active language, from the questionnaire that defines it."""
    for instrument in _cfm_definitions():
        if code in instrument.domain_codes:
            return str(instrument.domain(code).label)
    return code


def instruments_asking(domain: str) -> list[str]:
    """The CFM questionnaires that ask about ``domain``."""
    return [instrument.code for instrument in _cfm_definitions() if domain in instrument.domain_codes]


def _domain_flag(code):
    def live(ctx, arg):
        return Q(Exists(latest_screening(ctx).filter(**{f"domains__{code}": True})))

    return live


def _instrument_flag(code):
    def live(ctx, arg):
        return Q(Exists(latest_screening(ctx).filter(instrument=code)))

    return live


for _code, _bit in DOMAIN_BITS.items():
    CONDITIONS[f"domain:{_code}"] = Condition(
        f"domain:{_code}", format_lazy("{}: {}", _("functional difficulty (CFM) in the domain"), lazy(domain_label, str)(_code)),
        ("screening",), ("learner",), _bit, live=_domain_flag(_code), within="cfm_screened")
for _code, _bit in INSTRUMENT_BITS.items():
    CONDITIONS[f"cfm_instrument:{_code}"] = Condition(
        f"cfm_instrument:{_code}", format_lazy("{}: {}", _("the latest CFM screening of the period used"), _code),
        ("screening",), ("learner",), _bit, live=_instrument_flag(_code), within="cfm_screened")


def domain_assessed(code: str):
    """Catalogue syntax for "the latest screening asked about the domain" (its questionnaire has it)."""
    return {"any": [f"cfm_instrument:{i}" for i in instruments_asking(code)]}


# Organization conditions.
@condition("enrols", _("enrols at least one learner who meets the conditions"), ["organization", "enrolment"],
           units=("organization",), param=True, kind="column")
def _enrols(ctx, inner):
    """inner: a parsed condition list evaluated on the organization's enrolled learners."""
    from .models import LearnerCube

    if ctx.mode == "summary":
        learners = LearnerCube.objects.filter(refresh_id=ctx.refresh_id, organization_id=OuterRef("pk"))
        sub = Ctx(ctx.period, "learner", "summary", refresh_id=ctx.refresh_id)
        return Q(Exists(learners.filter(resolve(inner, sub))))
    sub = Ctx(ctx.period, "learner", "live", part="enrolled")
    return Q(Exists(enrolled_part(ctx.period).filter(organization_id=OuterRef("pk")).filter(resolve(inner, sub))))


# Conditions whose records are not in Birge yet. They become real when their app lands.
planned("device_need", _("has an assessed need for an assistive device"), ["device"])
planned("device_met", _("every assessed device need is met"), ["device"])
planned("accommodated", _("sat the national test with accommodations"), ["test-result"])
planned("accessible", _("adapted infrastructure and materials for students with disabilities"), ["accessibility"],
        units=("organization",))
planned("trained", _("trained in inclusive education in the last three years"), ["training"], units=("staff",))
planned("passed", _("reached the threshold score of the national test"), ["test-result"], units=("test",))
planned("delivered", _("the device was delivered"), ["device"], units=("device",))


FLAG_BITS = {c.name: c.bit for c in CONDITIONS.values() if c.bit is not None}
# Raised whenever what a stored flag means changes, so that summaries built before are stale, never current.
# 2: plan_active leaves out a plan version replaced by then. 3: functioning screening flags (bits 14-33).
FLAGS_REVISION = 3
assert len(set(FLAG_BITS.values())) == len(FLAG_BITS), "flag bits must be unique"


# --------------------------------------------------------------------------- parsed condition trees

@dataclass(frozen=True)
class Node:
    op: str  # cond | not | any | all
    name: str = ""
    arg: object = None
    children: tuple = ()


def parse_conditions(items, unit: str) -> Node:
    """Catalogue syntax -> a condition tree.

    A string names a condition (``"disability"``, ``"level:school|kindergarten"``);
    ``{"not": c}``, ``{"any": [c, …]}``, ``{"all": [c, …]}`` combine; for
    organizations ``{"enrols": [c, …]}`` looks at their enrolled learners.
    """
    if isinstance(items, list):
        return Node("all", children=tuple(parse_conditions(i, unit) for i in items))
    if isinstance(items, dict):
        if len(items) != 1:
            raise DefinitionError(f"a combined condition has one key: {items}")
        (op, value), = items.items()
        if op == "not":
            return Node("not", children=(parse_conditions(value, unit),))
        if op in ("any", "all"):
            return Node(op, children=tuple(parse_conditions(v, unit) for v in value))
        if op == "enrols":
            if unit != "organization":
                raise DefinitionError("'enrols' applies to organizations")
            return Node("cond", "enrols", parse_conditions(value, "learner"))
        raise DefinitionError(f"unknown combinator {op!r}")
    if not isinstance(items, str):
        raise DefinitionError(f"a condition is a name, got {items!r}")
    if items in CONDITIONS:
        cond, arg = CONDITIONS[items], None
        if cond.param:
            raise DefinitionError(f"condition {items!r} needs a value, e.g. {items}:…")
    else:
        name, sep, raw = items.partition(":")
        cond = CONDITIONS.get(name)
        if cond is None or not sep:
            raise DefinitionError(f"unknown condition {items!r}")
        if not cond.param:
            raise DefinitionError(f"condition {name!r} takes no value")
        arg = cond.parse_arg(raw) if cond.parse_arg and cond.implemented else raw
    if unit not in cond.units:
        raise DefinitionError(f"condition {cond.name!r} does not apply to {unit} populations")
    if isinstance(arg, list):
        arg = tuple(arg)
    return Node("cond", items if items in CONDITIONS else cond.name, arg)


def node_conditions(node: Node):
    """Every (Condition, arg) in a tree, nested ones included."""
    if node.op == "cond":
        cond = CONDITIONS[node.name]
        yield cond, node.arg
        if node.name == "enrols":
            yield from node_conditions(node.arg)
    for child in node.children:
        yield from node_conditions(child)


def node_sources(node: Node) -> set[str]:
    return {s for cond, _arg in node_conditions(node) for s in cond.sources}


def node_unwired(node: Node) -> list[Condition]:
    return [cond for cond, _arg in node_conditions(node) if not cond.implemented]


def _bit_q(bit: int) -> Q:
    mask = 1 << bit
    return Q(Exact(F("flags").bitand(mask), Value(mask)))


def resolve(node: Node, ctx: Ctx) -> Q:
    """A condition tree as a Q on the rows of ``ctx`` (learner rows, summary rows, organizations, staff)."""
    if node.op == "all":
        return reduce(operator.and_, (resolve(c, ctx) for c in node.children), TRUE)
    if node.op == "any":
        return reduce(operator.or_, (resolve(c, ctx) for c in node.children), FALSE)
    if node.op == "not":
        return ~resolve(node.children[0], ctx)
    cond = CONDITIONS[node.name]
    if not cond.implemented:
        raise DefinitionError(f"condition {cond.name!r} has no source records yet")
    if cond.column is not None:
        return cond.column(ctx, node.arg)
    if ctx.unit == "learner" and ctx.mode == "summary":
        return _bit_q(cond.bit)
    return cond.live(ctx, node.arg)


def stored_flags() -> list[Condition]:
    """The flags the summary stores now: implemented, and their records exist in this installation."""
    from . import sources

    return [c for c in CONDITIONS.values() if c.bit is not None and c.implemented and not sources.missing(c.sources)]


def flags_expression(ctx: Ctx):
    """The bitmask of every implemented flag for live learner rows (used to build the summary).

    A flag ``within`` another is evaluated only where that one holds (its subquery is skipped for the
    learners without, e.g. the screening flags for learners never screened)."""
    flags = stored_flags()
    inner: dict[str, list[Condition]] = {}
    for cond in flags:
        if cond.within:
            inner.setdefault(cond.within, []).append(cond)

    def bit(cond):
        return Case(When(cond.live(ctx, None), then=Value(1 << cond.bit)), default=Value(0), output_field=BigIntegerField())

    terms = []
    for cond in flags:
        if cond.within:
            continue
        if cond.name in inner:
            nested = reduce(operator.add, [bit(c) for c in inner[cond.name]], Value(1 << cond.bit))
            terms.append(Case(When(cond.live(ctx, None), then=nested), default=Value(0), output_field=BigIntegerField()))
        else:
            terms.append(bit(cond))
    return ExpressionWrapper(reduce(operator.add, terms), output_field=BigIntegerField())


_LAYOUTS: dict[tuple, str] = {}


def layout_signature() -> str:
    """Changes when the meaning of the summary's flags changes (new flag, new source wired).

    The flags and sources are fixed once the process has started; the final grade is a setting."""
    key = (FLAGS_REVISION, conf.get("BIRGE_MONITORING_FINAL_GRADE"))
    if key not in _LAYOUTS:
        _LAYOUTS[key] = _layout_signature()
    return _LAYOUTS[key]


def _layout_signature() -> str:
    import hashlib

    from . import sources

    parts = [f"revision:{FLAGS_REVISION}"]
    parts += sorted(f"{c.name}={c.bit}" for c in stored_flags())
    parts += sorted(f"src:{k}" for k, s in sources.SOURCES.items() if s.available)
    parts.append(f"bands:{AGE_BANDS}")
    parts.append(f"final_grade:{conf.get('BIRGE_MONITORING_FINAL_GRADE')}")
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


# --------------------------------------------------------------------------- populations

@dataclass
class Population:
    name: str
    label: object
    unit: str
    conditions: list = field(default_factory=list)
    sources: tuple[str, ...] = ()
    implemented: bool = True
    measures: tuple[str, ...] = ("count",)

    def node(self) -> Node:
        return parse_conditions(self.conditions, self.unit)


POPULATIONS: dict[str, Population] = {
    p.name: p
    for p in [
        Population("learners", _("learners registered in the period"), "learner", [], ("learner",)),
        Population("enrolled", _("learners enrolled in the period"), "learner", ["enrolled"], ("learner", "enrolment")),
        Population("school_age", _("children of school age (6-17)"), "learner", ["age:6-17"], ("learner",)),
        Population("preschool_age", _("children of pre-school age (3-5)"), "learner", ["age:3-5"], ("learner",)),
        Population("with_disability", _("learners with a valid disability status"), "learner", ["disability"],
                   ("learner", "disability")),
        Population("organizations", _("education organizations"), "organization", [], ("organization",)),
        Population("schools", _("schools"), "organization", ["kind:school|special-school|boarding-school"], ("organization",)),
        Population("staff", _("staff of education organizations (memberships, full-time equivalents)"), "staff", [],
                   ("membership",), measures=("count", "fte")),
        Population("referrals", _("referrals to a PMPK submitted by the reference date"), "referral", [], ("referral",),
                   measures=("count", "days")),
        Population("conclusions", _("PMPK conclusions issued by the reference date"), "conclusion", [], ("conclusion",),
                   measures=("count",)),
        Population("planned_services", _("services planned in individual plans in force in the period"), "service", [],
                   ("plan", "service"), measures=("minutes", "delivered_minutes")),
        Population("device_requests", _("assistive device requests"), "device", [], ("device",),
                   implemented=False, measures=("count", "days")),
        Population("test_takers", _("national test (ORT) participants"), "test", [], ("test-result",),
                   implemented=False, measures=("count", "score")),
    ]
}


# --------------------------------------------------------------------------- disaggregations

@dataclass
class Dimension:
    name: str
    label: object
    column: str
    units: tuple[str, ...]
    sources: tuple[str, ...] = ()
    parent: str | None = None  # the dimension whose totals contain this one's (for secondary suppression)
    multi: bool = False  # a learner can fall in several values (not additive)
    implemented: bool = True
    # multi: {value: condition (catalogue syntax)} of the numerator ("num") or denominator ("den") members
    members: Callable | None = None


_ALL = ("learner", "organization", "staff", "referral", "conclusion", "service", "device", "test")
_PEOPLE = ("learner", "referral", "conclusion", "service", "device", "test")
DIMENSIONS: dict[str, Dimension] = {
    d.name: d
    for d in [
        Dimension("region", _("Region"), "region_id", _ALL, ("organization",)),
        Dimension("district", _("District"), "district_id", _ALL, ("organization",), parent="region"),
        Dimension("org_kind", _("Organization kind"), "org_kind", _ALL, ("organization",)),
        Dimension("organization", _("Organization"), "organization_id", _ALL, ("organization",), parent="district"),
        Dimension("urban", _("Urban or rural"), "urban", _ALL, ("organization",)),
        Dimension("level", _("Level of education"), "level", ("learner",), ("enrolment",)),
        Dimension("sex", _("Sex"), "sex", _PEOPLE, ("learner",)),
        Dimension("age_group", _("Age group"), "age_band", ("learner",), ("learner",)),
        Dimension("form", _("Form of education"), "form", ("learner",), ("enrolment",)),
        Dimension("language", _("Language of instruction"), "lang", ("learner",), ("enrolment",)),
        Dimension("category", _("Disability category"), "category", ("learner",), ("disability",)),
        Dimension("disability", _("Disability status"), "disability", ("learner", "test"), ("disability",)),
        Dimension("domain", _("Functioning domain"), "domain", ("learner",), ("screening",), multi=True,
                  members=lambda role: {code: f"domain:{code}" if role == "num" else domain_assessed(code)
                                        for code in DOMAIN_BITS}),
        Dimension("role", _("Staff role"), "role", ("staff",), ("membership",)),
    ]
}


def dimension_annotations(dims: list[str]) -> dict:
    """Derived columns some dimensions need on learner rows (live and summary alike)."""
    out = {}
    if "disability" in dims:
        out["disability"] = Case(When(category__isnull=False, then=Value("yes")), default=Value("no"), output_field=CharField())
    return out


__all__ = [
    "AGE_BANDS", "CONDITIONS", "DIMENSIONS", "POPULATIONS", "Ctx", "DefinitionError", "LEARNER_COLUMNS", "Node",
    "enrolled_part", "flags_expression", "layout_signature", "organization_rows", "other_part", "parse_conditions",
    "resolve", "staff_rows",
]
