"""Disclosure control: primary, complement and secondary suppression, applied in one place."""

import pytest
from django.utils import translation

from birge.core.models import Territory
from birge.monitoring import disclosure, engine, scope
from birge.monitoring.engine import Result, Row
from birge.monitoring.models import Indicator

from .conftest import period

pytestmark = pytest.mark.django_db


def _result(code, by, rows):
    ind = Indicator.objects.get(code=code)
    res = Result(ind, period(), by, scope.national(), rows=rows)
    res.plan = engine.plan_for(ind)
    return res


def _hidden(table):
    return {r.key: (r.numerator.reason, r.denominator.reason) for r in table.rows if r.suppressed}


def test_primary_and_secondary_suppression_across_rows_and_columns(reference):
    r1, r2, r3 = (Territory.objects.get(code=c).pk for c in ("41702000000000", "41703000000000", "41704000000000"))
    # E2 by region × sex; numerators: R1F=2 (small), R1M=10, R2F=8, R2M=12, R3F=20, R3M=30; denominators large.
    rows = [Row((r, s), n, 500, 100 * n / 500) for r, s, n in
            [(r1, "female", 2), (r1, "male", 10), (r2, "female", 8), (r2, "male", 12), (r3, "female", 20), (r3, "male", 30)]]
    table = disclosure.protect(_result("E2", ["region", "sex"], rows), published=True, threshold_value=5)
    hidden = _hidden(table)
    # R1F is primary; along sex within R1 the lone hidden cell takes R1M; along region within F it takes the
    # smallest other (R2F = 8); then M has R1M alone hidden, so R2M (12) goes too. R3 stays.
    assert hidden == {
        (r1, "female"): ("primary", None),
        (r1, "male"): ("secondary", None),
        (r2, "female"): ("secondary", None),
        (r2, "male"): ("secondary", None),
    }
    shown = [r for r in table.rows if not r.suppressed]
    assert {r.key for r in shown} == {(r3, "female"), (r3, "male")}
    assert all(r.value.value is not None for r in shown)
    # Every hidden row says why, and the reasons are listed once each.
    notes = table.notes()
    assert len(notes) == 2 and any("5" in n for n in notes)


def test_internal_view_is_not_suppressed(reference):
    r1 = Territory.objects.get(code="41702000000000").pk
    rows = [Row((r1, "female"), 2, 500, 0.4), Row((r1, "male"), 10, 500, 2.0)]
    table = disclosure.protect(_result("E2", ["region", "sex"], rows), published=False)
    assert not any(r.suppressed for r in table.rows)
    assert table.rows[0].numerator.value in (2, 10)


def test_complement_of_a_small_group_is_hidden(reference):
    # 48 of 50 learners: the two others could be singled out.
    table = disclosure.protect(_result("E2", [], [Row((), 48, 50, 96.0)]), published=True)
    (row,) = table.rows
    assert row.suppressed and row.numerator.reason == "complement" and row.denominator.reason is None
    assert row.denominator.value == 50


def test_small_denominator_hides_the_value_and_zero_is_not_small(reference):
    # 0 of 3: the three are a small group, and "none of them" says something about each.
    table = disclosure.protect(_result("E2", [], [Row((), 0, 3, 0.0)]), published=True)
    (row,) = table.rows
    assert row.suppressed and row.denominator.reason == "primary" and row.numerator.reason == "complement"
    table = disclosure.protect(_result("E2", [], [Row((), 0, 30, 0.0)]), published=True)
    assert not table.rows[0].suppressed


def test_lines_of_a_hierarchy_include_the_parent(cast):
    # Districts A and B are both in Chüy: with Chüy's total published, one hidden district reveals nothing only
    # if another district of Chüy is hidden too.
    a, b = cast.a.district.pk, cast.b.district.pk
    rows = [Row((a,), 3, 400, 0.75), Row((b,), 40, 400, 10.0)]
    table = disclosure.protect(_result("E2", ["district"], rows), published=True)
    assert _hidden(table) == {(a,): ("primary", None), (b,): ("secondary", None)}


def test_staff_fte_is_not_a_count_of_children(reference):
    # E8D: 9 learners per 2.5 FTE; the FTE is not checked, the 9 learners are.
    table = disclosure.protect(_result("E8D", [], [Row((), 9, 2.5, 3.6)]), published=True)
    assert not table.rows[0].suppressed
    table = disclosure.protect(_result("E8D", [], [Row((), 3, 2.5, 1.2)]), published=True)
    assert table.rows[0].suppressed


def test_parity_index_built_on_a_hidden_count_is_hidden(dataset):
    ind = Indicator.objects.get(code="E13-PI")
    res = engine.compute(ind, period(), [], scope.national())
    table = disclosure.protect(res, published=True)
    (row,) = table.rows
    assert row.suppressed and row.reason == "derived" and row.extra == {}
    with translation.override("en"):  # the texts are checked in English; Kyrgyz is the default
        assert "hidden to protect small groups" in disclosure.reason_text(row.reason, 5)
    internal = disclosure.protect(res, published=False)
    assert internal.rows[0].extra["parity"] == "advantage"


def test_singling_out_a_child_is_suppressed_with_the_reason(dataset):
    ind = Indicator.objects.get(code="E2")
    res = engine.compute(ind, period(), ["organization", "sex", "age_group"], scope.national())
    table = disclosure.protect(res, published=True)
    assert table.rows and all(r.suppressed for r in table.rows if 0 < (r.numerator.value or 0) < 5)
    assert all(disclosure.reason_text(r.reason, 5) for r in table.rows if r.suppressed)


def test_threshold_is_a_setting(dataset, settings):
    settings.BIRGE_MONITORING_MIN_CELL = 2
    ind = Indicator.objects.get(code="E11C")
    res = engine.compute(ind, period(), [], scope.national())
    table = disclosure.protect(res, published=True)
    assert table.threshold == 2 and not table.rows[0].suppressed  # 2 of 20: not below 2
