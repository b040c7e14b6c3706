"""Verbs of monitoring: freezing an indicator run as a snapshot."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from birge.core import audit
from birge.core.models import ClassifierVersion

from . import engine, scope as scopes
from .models import Indicator, IndicatorSnapshot, SummaryRefresh
from .periods import Period, parse


def _rows(rows):
    return [{"key": list(r.key), "numerator": r.numerator, "denominator": r.denominator, "value": r.value,
             "extra": r.extra} for r in rows]


def freeze(actor, indicator: Indicator, period: Period, by: list[str], scope: scopes.Scope, *, note: str = "",
           reporting_date: dt.date | None = None) -> IndicatorSnapshot:
    """Compute an indicator and keep the result, its definition and the classifier version used."""
    if actor is not None and not any(s.contains(scope) for s in scopes.allowed_scopes(actor)):
        raise PermissionDenied
    by = engine.validate_by(indicator, by)
    result = engine.compute(indicator, period, by, scope)
    if not result.ok:
        raise ValidationError({"indicator": result.message or _("The indicator cannot be computed for this period.")})
    classifier = ""
    if result.refresh_id:
        classifier = SummaryRefresh.objects.filter(pk=result.refresh_id).values_list("classifier_version", flat=True).first() or ""
    if not classifier:
        cv = ClassifierVersion.objects.order_by("-valid_from").first()
        classifier = cv.code if cv else ""
    snap = IndicatorSnapshot(
        indicator=indicator, period=period.code, period_start=period.start, period_end=period.end,
        reference_date=period.reference, reporting_date=reporting_date or timezone.localdate(), by=by, scope=scope.key,
        classifier_version=classifier, catalogue_version=indicator.catalogue_version,
        definition={f: getattr(indicator, f) for f in ("kind", "unit", "direction", "numerator", "denominator", "share_of",
                                                       "disaggregations", "sources", "name_ky", "name_ru", "name_en")},
        result={"rows": _rows(result.rows), "split": _rows(result.split), "source": result.source,
                "stale": result.stale, "refresh_id": result.refresh_id},
        as_of=result.as_of or timezone.now(), note=note, created_by=actor if getattr(actor, "pk", None) else None,
    )
    with transaction.atomic():
        snap.full_clean()
        snap.save()
        audit.record_create(actor, snap, event="monitoring.snapshot_created")
    return snap


def thaw(snap: IndicatorSnapshot) -> engine.Result:
    """A snapshot as a result again (for display and export through disclosure control)."""
    d = snap.definition
    frozen = Indicator(code=snap.indicator.code, catalogue_version=snap.catalogue_version, updated_at=snap.created_at,
                       **{k: d[k] for k in d})
    period = Period(snap.period, snap.period_start, snap.period_end, snap.reference_date)
    scope = scopes.from_key(snap.scope) or scopes.national()
    res = engine.Result(frozen, period, list(snap.by), scope, source="snapshot", as_of=snap.as_of,
                        stale=snap.result.get("stale", False), refresh_id=snap.result.get("refresh_id"))
    res.plan = engine.plan_for(frozen)
    res.rows = [engine.Row(tuple(r["key"]), r["numerator"], r["denominator"], r["value"], r.get("extra", {}))
                for r in snap.result["rows"]]
    res.split = [engine.Row(tuple(r["key"]), r["numerator"], r["denominator"], r["value"], r.get("extra", {}))
                 for r in snap.result.get("split", [])]
    return res


__all__ = ["freeze", "parse", "thaw"]
