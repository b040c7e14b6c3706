"""Periods, parity indices (the examples of indicators.md), the catalogue loader and its checks."""

import copy
import datetime as dt
import json

import pytest

from birge.monitoring import catalogue, engine, periods
from birge.monitoring.definitions import DefinitionError, bands_between, parse_conditions
from birge.monitoring.models import Indicator

TODAY = dt.date(2026, 11, 24)


def test_school_year_and_ranges():
    p = periods.parse("2025-2026", today=TODAY)
    assert (p.start, p.end, p.reference, p.ongoing) == (dt.date(2025, 9, 1), dt.date(2026, 8, 31), dt.date(2026, 8, 31), False)
    assert p.previous().code == "2024-2025"
    current = periods.parse("", today=TODAY)
    assert current.code == "2026-2027" and current.reference == TODAY and current.ongoing
    r = periods.parse("2025-09-01..2026-05-31", today=TODAY)
    assert (r.start, r.end, r.is_school_year) == (dt.date(2025, 9, 1), dt.date(2026, 5, 31), False)
    assert r.previous().end == dt.date(2025, 8, 31)
    assert [p.code for p in periods.recent_school_years(3, today=TODAY)] == ["2024-2025", "2025-2026", "2026-2027"]


@pytest.mark.parametrize("value", ["2025-2027", "2025", "2025/2026", "2026-05-31..2025-09-01", "2025-02-30..2025-03-01",
                                   "1990-1991", "2030-2031", "2010-01-01..2020-01-01"])
def test_bad_periods(value):
    with pytest.raises(periods.PeriodError):
        periods.parse(value, today=TODAY)


@pytest.mark.parametrize("with_d, without, direction, pi, adjusted, status", [
    (60, 90, "higher-better", 0.667, 0.667, "disadvantage"),      # completion 60% vs 90%
    (95, 90, "higher-better", 1.0556, 1.0526, "advantage"),       # 95 vs 90
    (12.5, 4.0, "lower-better", 3.125, 1.68, "disadvantage"),     # out of school 12.5% vs 4.0%
    (98, 100, "higher-better", 0.98, 0.98, "parity"),
    (100, 97, "higher-better", 1.0309, 1.03, "parity"),
    (3.0, 4.0, "lower-better", 0.75, 0.75, "advantage"),
])
def test_parity_index_examples(with_d, without, direction, pi, adjusted, status):
    out = engine.parity_index(with_d, without, direction)
    assert out["index"] == pytest.approx(pi, abs=5e-4)
    assert out["adjusted"] == pytest.approx(adjusted, abs=5e-4)
    assert out["parity"] == status


def test_parity_index_without_a_comparison():
    assert engine.parity_index(10, 0, "higher-better")["index"] is None
    assert engine.parity_index(None, 5, "higher-better")["parity"] is None


def test_age_bands_must_align():
    assert bands_between(6, 17) == [6, 11, 15]
    assert bands_between(18, None) == [18, 25]
    with pytest.raises(DefinitionError):
        bands_between(7, 17)


@pytest.mark.parametrize("conditions, unit", [
    (["no-such-thing"], "learner"),
    (["level:moon-school"], "learner"),
    (["level"], "learner"),
    (["disability:yes"], "learner"),
    (["role:teacher"], "learner"),
    ([{"enrols": ["disability"]}], "learner"),
    ([{"maybe": ["disability"]}], "learner"),
])
def test_condition_syntax_errors(conditions, unit):
    with pytest.raises(DefinitionError):
        parse_conditions(conditions, unit)


def _entry(code="E2"):
    data = catalogue.read()
    return copy.deepcopy(next(e for e in data["indicators"] if e["code"] == code))


@pytest.mark.parametrize("change, message", [
    (lambda e: e["numerator"].update(conditions=["telepathy"]), "unknown condition"),
    (lambda e: e["numerator"].update(population="martians"), "unknown population"),
    (lambda e: e.update(disaggregations=["region", "shoe_size"]), "unknown disaggregation"),
    (lambda e: e.update(disaggregations=["region", "role"]), "applies to neither side"),
    (lambda e: e.update(sources=["learner"]), "sources must list"),
    (lambda e: e.update(kind="percent", denominator=None), "needs a denominator"),
    (lambda e: e.update(standard=[["form", "planet"]]), "not allowed"),
    (lambda e: e["name"].pop("ky"), "ky, ru and en"),
    (lambda e: e.update(direction="sideways"), "direction"),
])
def test_catalogue_entries_are_checked(change, message):
    entry = _entry()
    change(entry)
    with pytest.raises(catalogue.CatalogueError, match=message):
        catalogue.validate(entry)


@pytest.mark.django_db
def test_loading_adds_updates_and_retires_without_deleting(tmp_path):
    data = catalogue.read()
    assert Indicator.objects.count() == len(data["indicators"])  # loaded on migrate
    new = _entry("E2")
    new.update(code="X1", numerator={"population": "enrolled", "conditions": ["disability", "sex:female"]},
               name={"ky": "Кыздар", "ru": "Девочки", "en": "Girls with disabilities"})
    data["indicators"] = [e for e in data["indicators"] if e["code"] != "P6"] + [new]
    data["indicators"][0]["unit"] = "percent"
    path = tmp_path / "catalogue.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    counts = catalogue.load(path)
    assert counts == {"version": data["version"], "created": 1, "updated": 1, "retired": 1}
    assert not Indicator.objects.get(code="P6").is_active  # retired, kept
    x1 = Indicator.objects.get(code="X1")
    assert x1.name_en == "Girls with disabilities" and not engine.plan_for(x1).unwired()


def test_the_shipped_catalogue_is_valid_and_complete():
    data = catalogue.read()
    codes = {e["code"] for e in data["indicators"]}
    assert {f"E{i}" for i in range(1, 11)} | {"E12", "E13", "E14", "E11A", "E11B", "E11C", "E11D", "E11E", "E15A", "E15B",
                                              "P1", "P2", "P3", "P4", "P5", "P6"} <= codes
    assert any(e.get("sdg") == "4.a.1(d)" for e in data["indicators"])
    assert sum(1 for e in data["indicators"] if e["kind"] == "parity-index") >= 5
    for entry in data["indicators"]:
        catalogue.validate(entry)
