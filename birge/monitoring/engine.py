"""Computing indicators: set-based aggregates through the ORM, live or from the summary table.

``compute(indicator, period, by, scope)`` gives a :class:`Result` of raw rows
(numerator, denominator, value per combination of disaggregation values).
Figures leave Birge only through :mod:`birge.monitoring.disclosure`.

Every measure is one conditional aggregate (``COUNT``/``SUM … FILTER``) over
the rows of its population; all learner measures asked for at once with the
same disaggregations share a single query (``compute_many``), so the whole
catalogue for a period is a handful of scans.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field

from django.core.cache import cache
from django.db.models import Count, F, Sum, Value, Window
from django.db.models.functions import RowNumber
from django.utils import timezone
from django.utils.translation import gettext as _

from . import conf, sources, summary
from .definitions import (
    DIMENSIONS, POPULATIONS, Ctx, DefinitionError, Node, dimension_annotations, enrolled_part, organization_rows,
    conclusion_rows, other_part, parse_conditions, referral_rows, resolve, service_rows, staff_rows,
)
from .models import Indicator, LearnerCube
from .periods import Period
from .scope import Scope

log = logging.getLogger(__name__)
MAX_BY = 4


class ByError(ValueError):
    """A disaggregation the indicator does not support."""


# --------------------------------------------------------------------------- plans

@dataclass(frozen=True)
class Side:
    population: str
    unit: str
    node: Node
    measure: str
    conditions: tuple

    @property
    def counts_children(self) -> bool:
        """Whether the side counts children (checked by disclosure control): learners, or their referrals."""
        return self.unit in ("learner", "referral", "conclusion") and self.measure in ("count", "days")


def _freeze(value):
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    return value


def parse_side(spec: dict) -> Side:
    if not isinstance(spec, dict) or "population" not in spec:
        raise DefinitionError("a numerator or denominator names its population")
    population = POPULATIONS.get(spec["population"])
    if population is None:
        raise DefinitionError(f"unknown population {spec['population']!r}")
    measure = spec.get("measure", "count")
    if measure not in population.measures:
        raise DefinitionError(f"population {population.name!r} has no measure {measure!r}")
    conditions = list(population.conditions) + list(spec.get("conditions", []))
    node = parse_conditions(conditions, population.unit) if population.implemented else Node("all")
    return Side(population.name, population.unit, node, measure, _freeze(spec.get("conditions", [])))


def side_sources(side: Side) -> set[str]:
    from .definitions import node_sources

    pop = POPULATIONS[side.population]
    return set(pop.sources) | (node_sources(side.node) if pop.implemented else set())


@dataclass(frozen=True)
class Plan:
    code: str
    kind: str
    numerator: Side
    denominator: Side | None
    share_of: tuple
    allowed: tuple
    sources: frozenset
    nested: bool

    def side_dims(self, side: Side, by: list[str]) -> list[str]:
        dims = [d for d in by if side.unit in DIMENSIONS[d].units]
        if side is self.denominator:
            dims = [d for d in dims if d not in self.share_of]
        return dims

    def sides(self):
        return [s for s in (self.numerator, self.denominator) if s is not None]

    def unwired(self) -> list[str]:
        """Record types this indicator needs that are missing, or present but not yet connected."""
        from .definitions import node_unwired

        missing = set(sources.missing(self.sources))
        for side in self.sides():
            pop = POPULATIONS[side.population]
            if not pop.implemented:
                missing.update(sources.missing(pop.sources) or pop.sources)
            for cond in node_unwired(side.node):
                missing.update(sources.missing(cond.sources) or cond.sources)
        return sorted(missing)


_PLANS: dict[tuple, Plan] = {}


def plan_for(indicator: Indicator) -> Plan:
    key = (indicator.code, indicator.updated_at, json.dumps([indicator.numerator, indicator.denominator,
                                                             indicator.share_of, indicator.kind], sort_keys=True))
    plan = _PLANS.get(key)
    if plan is None:
        num = parse_side(indicator.numerator)
        den = parse_side(indicator.denominator) if indicator.denominator else None
        derived = set()
        for side in (num, den):
            if side is not None:
                derived.update(side_sources(side))
        nested = bool(
            den is not None and num.population == den.population and num.unit == "learner"
            and all(c in num.conditions for c in den.conditions) and not indicator.share_of
            and indicator.kind in (Indicator.Kind.PERCENT, Indicator.Kind.PARITY)
        )
        plan = Plan(indicator.code, indicator.kind, num, den, tuple(indicator.share_of), tuple(indicator.disaggregations),
                    frozenset(derived | set(indicator.sources)), nested)
        _PLANS[key] = plan
    return plan


def validate_by(indicator: Indicator, by: list[str]) -> list[str]:
    """The disaggregations asked for, checked against the catalogue. Raises ByError."""
    seen = []
    for name in by:
        if name not in DIMENSIONS:
            raise ByError(_("Unknown disaggregation: %(name)s. Known: %(known)s.")
                          % {"name": name, "known": ", ".join(DIMENSIONS)})
        if name not in indicator.disaggregations:
            raise ByError(_("Indicator %(code)s cannot be disaggregated by %(name)s. It can by: %(allowed)s.")
                          % {"code": indicator.code, "name": name, "allowed": ", ".join(indicator.disaggregations) or "—"})
        if name in seen:
            raise ByError(_("%(name)s is given twice.") % {"name": name})
        seen.append(name)
    if len(seen) > MAX_BY:
        raise ByError(_("At most %(n)s disaggregations at once.") % {"n": MAX_BY})
    return seen


# --------------------------------------------------------------------------- results

@dataclass
class Row:
    key: tuple
    numerator: float | None
    denominator: float | None
    value: float | None
    extra: dict = field(default_factory=dict)


@dataclass
class Result:
    indicator: Indicator
    period: Period
    by: list[str]
    scope: Scope
    status: str = "ok"  # ok | unavailable | not-computed
    message: str = ""
    missing: list[str] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    split: list[Row] = field(default_factory=list)  # parity: the rows by disability status behind each index
    source: str = ""  # live | summary
    as_of: object = None
    stale: bool = False
    stale_reasons: list[str] = field(default_factory=list)
    refresh_id: int | None = None
    plan: Plan | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


# --------------------------------------------------------------------------- where the figures come from

@dataclass
class Source:
    mode: str | None  # live | summary | None: not computed yet
    refresh_id: int | None = None
    as_of: object = None
    stale: bool = False
    reasons: list = field(default_factory=list)
    running: bool = False


def _needs_summary(plan: Plan) -> bool:
    """Learner measures (and organizations' "enrols") read the learner summary; staff and referrals are small."""
    return any(side.unit in ("learner", "organization") for side in plan.sides())


def _small() -> bool:
    from django.apps import apps

    Learner = apps.get_model("learners", "Learner")
    top = Learner.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    return top <= conf.get("BIRGE_MONITORING_LIVE_LIMIT")


def choose_source(period: Period, mode: str = "auto", current: dict | None = None) -> Source:
    if mode == "live":
        return Source("live", as_of=timezone.now())
    st = summary.state(period, current)
    if mode == "summary":
        if st.refresh is None:
            return Source(None, running=st.running)
        return Source("summary", st.refresh.pk, st.refresh.finished_at, st.stale, st.reasons, st.running)
    if st.fresh:
        return Source("summary", st.refresh.pk, st.refresh.finished_at)
    if _small():
        return Source("live", as_of=timezone.now())
    from .tasks import request_refresh

    request_refresh(period)
    if st.refresh is not None:
        return Source("summary", st.refresh.pk, st.refresh.finished_at, True, st.reasons, True)
    return Source(None, running=True)


# --------------------------------------------------------------------------- aggregation

def _number(v):
    if v is None:
        return 0
    return float(v) if not isinstance(v, int) else v


def _grouped(qs, cols, aggs):
    """One row per group; with no disaggregation one aggregate row (``values()`` with no field would group by every column)."""
    if not cols:  # grouped by a constant: no GROUP BY, one row, and no subquery wrapping (unlike aggregate())
        return qs.annotate(_total=Value(1)).values("_total").annotate(**aggs).order_by()
    return qs.values(*cols).annotate(**aggs).order_by()


def _collect(rows, cols, names, out):
    """Add grouped sums into ``out``. A group whose measure is zero is kept only for the total: groups
    come from the whole population, so a zero elsewhere may just mean "not in this measure's population"."""
    for r in rows:
        key = tuple(r[c] for c in cols)
        for i, name in enumerate(names):
            value = _number(r[name])
            if value or not key or key in out[i]:
                out[i][key] = out[i].get(key, 0) + value


def aggregate(unit: str, measures: list[tuple[Node, str]], dims: list[str], period: Period, scope: Scope,
              src: Source) -> list[dict]:
    """One grouped query per unit (two for live learner rows): {group key: value} per measure."""
    cols = [DIMENSIONS[d].column for d in dims]
    names = [f"m{i}" for i in range(len(measures))]
    out = [dict() for _ in measures]
    if unit == "learner":
        if src.mode == "summary":
            ctx = Ctx(period, "learner", "summary", refresh_id=src.refresh_id)
            qs = LearnerCube.objects.filter(refresh_id=src.refresh_id).filter(scope.q()).annotate(**dimension_annotations(dims))
            aggs = {n: Sum("n", filter=resolve(node, ctx)) for n, (node, _m) in zip(names, measures, strict=True)}
            _collect(_grouped(qs, cols, aggs), cols, names, out)
        else:
            for part, base in (("enrolled", enrolled_part(period)), ("other", other_part(period))):
                ctx = Ctx(period, "learner", "live", part=part)
                qs = base.filter(scope.q()).annotate(**dimension_annotations(dims))
                aggs = {n: Count("pk", filter=resolve(node, ctx)) for n, (node, _m) in zip(names, measures, strict=True)}
                _collect(_grouped(qs, cols, aggs), cols, names, out)
        return out
    if unit == "organization":
        ctx = Ctx(period, "organization", src.mode or "live", refresh_id=src.refresh_id)
        qs = organization_rows(period).filter(scope.q())
        aggs = {n: Count("pk", filter=resolve(node, ctx)) for n, (node, _m) in zip(names, measures, strict=True)}
        _collect(_grouped(qs, cols, aggs), cols, names, out)
        return out
    if unit == "staff":
        ctx = Ctx(period, "staff", "live")
        qs = staff_rows(period).filter(scope.q())
        aggs = {n: (Sum("fte", filter=resolve(node, ctx)) if m == "fte" else Count("pk", filter=resolve(node, ctx)))
                for n, (node, m) in zip(names, measures, strict=True)}
        _collect(_grouped(qs, cols, aggs), cols, names, out)
        return out
    if unit == "referral":
        ctx = Ctx(period, "referral", "live")
        qs = referral_rows(period).filter(scope.q())
        aggs = {n: Count("pk", filter=resolve(node, ctx)) for n, (node, _m) in zip(names, measures, strict=True)}
        _collect(_grouped(qs, cols, aggs), cols, names, out)
        return out
    if unit == "conclusion":
        ctx = Ctx(period, "conclusion", "live")
        qs = conclusion_rows(period).filter(scope.q())
        aggs = {n: Count("pk", filter=resolve(node, ctx)) for n, (node, _m) in zip(names, measures, strict=True)}
        _collect(_grouped(qs, cols, aggs), cols, names, out)
        return out
    if unit == "service":
        ctx = Ctx(period, "service", "live")
        qs = service_rows(period).filter(scope.q())
        aggs = {n: Sum(m, filter=resolve(node, ctx)) for n, (node, m) in zip(names, measures, strict=True)}
        _collect(_grouped(qs, cols, aggs), cols, names, out)
        return out
    raise DefinitionError(f"no aggregation for {unit} populations yet")


def median_rows(plan: Plan, by: list[str], period: Period, scope: Scope) -> list[Row]:
    """Median of a days measure per group, set-based: window functions pick the one or two middle rows of each
    group in SQL (ROW_NUMBER and COUNT over the group), so only those rows leave the database."""
    side = plan.numerator
    dims = plan.side_dims(side, by)
    cols = [DIMENSIONS[d].column for d in dims]
    if side.unit != "referral":
        raise DefinitionError(f"no median for {side.unit} populations yet")
    qs = referral_rows(period).filter(scope.q()).filter(resolve(side.node, Ctx(period, side.unit, "live")))
    qs = qs.filter(days__isnull=False)
    partition = [F(c) for c in cols] or None
    qs = qs.annotate(
        rn=Window(RowNumber(), partition_by=partition, order_by=[F("days").asc(), F("pk").asc()]),
        cnt=Window(Count("pk"), partition_by=partition),
    ).annotate(rn2=F("rn") * 2)
    middle = qs.filter(rn2__gte=F("cnt"), rn2__lte=F("cnt") + 2).values_list(*cols, "days", "cnt")
    groups: dict[tuple, list] = {}
    for *key, days, cnt in middle:
        groups.setdefault(tuple(key), [cnt, []])[1].append(days)
    return [Row(key, cnt, None, sum(days) / len(days)) for key, (cnt, days) in groups.items()]


def _value(kind: str, num, den):
    if kind == Indicator.Kind.COUNT:
        return num
    if den in (None, 0):
        return None
    if kind in (Indicator.Kind.PERCENT, Indicator.Kind.PARITY):
        return 100.0 * num / den
    return num / den


def _combine(plan: Plan, by: list[str], values: dict) -> list[Row]:
    """Join numerator and denominator groups (a side without some dimensions is the same for all their values)."""
    kind = Indicator.Kind.PERCENT if plan.kind == Indicator.Kind.PARITY else plan.kind
    num_dims = plan.side_dims(plan.numerator, by)
    num = values[("num", tuple(num_dims))]
    den_dims = plan.side_dims(plan.denominator, by) if plan.denominator else []
    den = values[("den", tuple(den_dims))] if plan.denominator else {}
    keys = set()
    if num_dims == by:
        keys.update(num)
    if plan.denominator and den_dims == by:
        keys.update(den)
    rows = []
    for key in keys:
        nk = tuple(v for d, v in zip(by, key, strict=True) if d in num_dims)
        n = num.get(nk, 0)
        d = None
        if plan.denominator:
            dk = tuple(v for dim, v in zip(by, key, strict=True) if dim in den_dims)
            d = den.get(dk, 0)
            if not n and not d:
                continue
        rows.append(Row(key, n, d, _value(kind, n, d)))
    return rows


def parity_index(with_disability: float | None, without: float | None, direction: str) -> dict:
    """SDG 4.5.1: PI = value for children with disabilities / without; adjusted API = PI or 2 - 1/PI."""
    if with_disability is None or without in (None, 0):
        return {"index": None, "adjusted": None, "parity": None}
    pi = with_disability / without
    adjusted = pi if pi <= 1 else 2 - 1 / pi
    if 0.97 <= adjusted <= 1.03:
        status = "parity"
    else:
        below = adjusted < 0.97
        if direction == Indicator.Direction.LOWER_BETTER:
            status = "advantage" if below else "disadvantage"
        else:
            status = "disadvantage" if below else "advantage"
    return {"index": pi, "adjusted": adjusted, "parity": status}


def _pivot_parity(indicator: Indicator, by: list[str], split: list[Row]) -> list[Row]:
    groups: dict[tuple, dict] = {}
    for row in split:
        *key, status = row.key
        groups.setdefault(tuple(key), {})[status] = row
    rows = []
    for key, pair in groups.items():
        yes, no = pair.get("yes"), pair.get("no")
        vy = yes.value if yes else None
        vn = no.value if no else None
        pi = parity_index(vy, vn, indicator.direction)
        rows.append(Row(key, vy, vn, pi["index"], {"adjusted": pi["adjusted"], "parity": pi["parity"]}))
    return rows


def unavailable_message(missing: list[str]) -> str:
    absent = [k for k in missing if k not in sources.SOURCES or not sources.SOURCES[k].available]
    present = [k for k in missing if k not in absent]
    parts = []
    if absent:
        parts.append(_("Source not available: %(sources)s.") % {"sources": ", ".join(sources.label(k) for k in absent)})
    if present:
        parts.append(_("Source not yet connected to monitoring: %(sources)s.")
                     % {"sources": ", ".join(sources.label(k) for k in present)})
    return " ".join(parts)


def _cache_key(indicator: Indicator, period: Period, by, scope: Scope, token: str) -> str:
    raw = f"{indicator.code}|{indicator.updated_at.isoformat()}|{period.code}|{','.join(by)}|{scope.key}|{token}"
    return "birge:monitoring:result:" + hashlib.sha256(raw.encode()).hexdigest()


def _token(src: Source, period: Period, fingerprint) -> str:
    """What a cached result depends on: its summary build, or (live) the state of the records and the date."""
    if src.mode == "summary":
        return f"build:{src.refresh_id}:{src.as_of.isoformat() if src.as_of else ''}"
    digest = hashlib.sha256(json.dumps(fingerprint(), sort_keys=True, default=str).encode()).hexdigest()
    return f"live:{digest}:{period.reference.isoformat()}"


def compute_many(indicators: list[Indicator], period: Period, by: list[str], scope: Scope, *, mode: str = "auto",
                 current: dict | None = None, src: Source | None = None) -> dict[str, Result]:
    """Every indicator for one period, disaggregation and scope; learner measures share one query."""
    results: dict[str, Result] = {}
    todo: list[tuple[Indicator, Plan]] = []
    for ind in indicators:
        res = Result(ind, period, list(by), scope)
        results[ind.code] = res
        try:
            plan = plan_for(ind)
        except DefinitionError as exc:
            res.status, res.message = "unavailable", str(exc)
            continue
        res.plan = plan
        missing = plan.unwired()
        if not missing:
            missing = [s for d in by for s in DIMENSIONS[d].sources if not DIMENSIONS[d].implemented
                       or not sources.SOURCES[s].available]
        if missing:
            res.status, res.missing = "unavailable", missing
            res.message = unavailable_message(missing)
            continue
        todo.append((ind, plan))
    if not todo:
        return results
    summary_needed = any(_needs_summary(plan) for _ind, plan in todo)
    src = src or (choose_source(period, mode, current) if summary_needed else Source("live", as_of=timezone.now()))
    live = Source("live", as_of=src.as_of if src.mode == "live" else timezone.now())
    fp_memo: list = []

    def fingerprint():
        if not fp_memo:
            fp_memo.append(current if current is not None else summary.fingerprint())
        return fp_memo[0]

    seconds = conf.get("BIRGE_MONITORING_CACHE_SECONDS")
    pending = []
    for ind, plan in todo:
        res = results[ind.code]
        this = src if _needs_summary(plan) else live
        res.source, res.as_of, res.stale, res.stale_reasons, res.refresh_id = (
            this.mode or "", this.as_of, this.stale, this.reasons, this.refresh_id)
        if this.mode is None:
            res.status = "not-computed"
            res.message = _("The figures for this period are being prepared. Try again in a few minutes.")
            continue
        key = _cache_key(ind, period, by, scope, _token(this, period, fingerprint))
        hit = cache.get(key)
        if hit is not None:
            res.rows, res.split, res.as_of = hit
            continue
        if plan.kind == Indicator.Kind.MEDIAN_DAYS:
            res.rows = median_rows(plan, list(by), period, scope)
            cache.set(key, (res.rows, res.split, res.as_of), seconds)
            continue
        pending.append((ind, plan, this, key))
    if not pending:
        return results
    # Gather measures: (unit, dims) -> [(node, measure)], one query each.
    # A multi-valued dimension (a learner in several of its values, e.g. functioning domains) is not a
    # column to group by: each of its values is one more measure, the side's conditions and the value's.
    wanted: dict[tuple, list] = {}
    slots: dict[tuple, tuple] = {}  # (indicator, role) -> (dims, [(multi position, value, (unit, query dims, i))])
    for ind, plan, _src, _key in pending:
        dims_by = list(by) + (["disability"] if plan.kind == Indicator.Kind.PARITY else [])
        for role, side in (("num", plan.numerator), ("den", plan.denominator)):
            if side is None:
                continue
            dims = tuple(plan.side_dims(side, dims_by))
            multi = [(i, d) for i, d in enumerate(dims) if DIMENSIONS[d].multi]
            members = [(None, None, side.node)]
            if multi:
                pos, dim = multi[0]
                members = [(pos, value, Node("all", children=(side.node, parse_conditions(member, side.unit))))
                           for value, member in DIMENSIONS[dim].members(role).items()]
                dims = dims[:pos] + dims[pos + 1:]
            group = wanted.setdefault((side.unit, dims), [])
            parts = []
            for pos, value, node in members:
                item = (node, side.measure)
                if item not in group:
                    group.append(item)
                parts.append((pos, value, (side.unit, dims, group.index(item))))
            slots[(ind.code, role)] = (tuple(plan.side_dims(side, dims_by)), parts)
    # Learner measures by D and by D + disability (parity indices) share one scan: the first are folded from
    # the second.
    folded: dict[tuple, tuple] = {}
    for (unit, dims) in list(wanted):
        wider = (unit, (*dims, "disability"))
        if unit == "learner" and "disability" not in dims and wider in wanted:
            for i, item in enumerate(wanted.pop((unit, dims))):
                if item not in wanted[wider]:
                    wanted[wider].append(item)
                folded[(unit, dims, i)] = (unit, wider[1], wanted[wider].index(item))
    computed = {}
    for (unit, dims), measures in wanted.items():
        for i, values in enumerate(aggregate(unit, measures, list(dims), period, scope, src)):
            computed[(unit, dims, i)] = values
    for slot, source in folded.items():
        total: dict[tuple, float] = {}
        for key, value in computed[source].items():
            total[key[:-1]] = total.get(key[:-1], 0) + value
        if not slot[1]:
            total.setdefault((), 0)
        computed[slot] = {k: v for k, v in total.items() if v or not k}
    for ind, plan, this, key in pending:
        res = results[ind.code]
        dims_by = list(by) + (["disability"] if plan.kind == Indicator.Kind.PARITY else [])
        values = {}
        for role in ("num", "den"):
            if (ind.code, role) not in slots:
                continue
            dims, parts = slots[(ind.code, role)]
            merged: dict[tuple, float] = {}
            for pos, value, slot in parts:
                for group, v in computed[slot].items():
                    merged[group if pos is None else (*group[:pos], value, *group[pos:])] = v
            values[(role, dims)] = merged
        rows = _combine(plan, dims_by, values)
        if plan.kind == Indicator.Kind.PARITY:
            res.split, res.rows = rows, _pivot_parity(ind, list(by), rows)
        else:
            res.rows = rows
        cache.set(key, (res.rows, res.split, res.as_of), seconds)
    return results


def compute(indicator: Indicator, period: Period, by: list[str], scope: Scope, *, mode: str = "auto",
            current: dict | None = None) -> Result:
    return compute_many([indicator], period, validate_by(indicator, by), scope, mode=mode, current=current)[indicator.code]
