"""Issue 5, "done when": the known small dataset of conftest.py gives the exact value of EVERY catalogue
indicator, through the API contract (``GET /api/v1/indicators/<code>/values/``), computed live from the
records and from the summary table alike, on SQLite and PostgreSQL (the same file runs on both:
``DATABASE_URL=postgres://… pytest birge/monitoring``).

Every expectation below is counted by hand from the dataset (conftest.py's docstring lists the learners);
the comments name the learners behind each count. Keys are the API's stable codes: SOATE codes, choice
slugs, organization codes.

Also here: indicators whose records do not exist say so (API, page, exports) and never show zero;
disclosure control on real data (primary, complement and secondary suppression; internal figures only
within one's own jurisdiction); bad input; the shape of the rows; the CSV/XLSX exports (opened with
openpyxl: values sheet and a sheet of definitions and suppression notes); the DHIS2 dataValueSets JSON.

Places (SOATE): region Chüy 41708000000000 holds district A (Sokuluk 41708222000000: SA school, BA
boarding school, KA kindergarten, PMPK A) and district B (Alamüdün 41708203000000: SB school, PMPK B);
Bishkek 41711000000000 holds Lenin district 41711201000000 (SC school, urban).
"""

from __future__ import annotations

import csv
import io
import json

import openpyxl
import pytest
from django.conf import settings
from rest_framework.test import APIClient

from birge.core.roles import Role
from birge.monitoring import engine, summary
from birge.monitoring.models import Indicator

from .conftest import period

pytestmark = pytest.mark.django_db

P = "2025-2026"
CHUY, BISHKEK = "41708000000000", "41711000000000"
A, B, LENIN = "41708222000000", "41708203000000", "41711201000000"
SA, SB, BA, KA, SC = "T-a-school", "T-b-school", "T-BA", "T-KA", "T-SC"
F, M = "female", "male"

# Enrolled in the period (20; main enrolment): SA a1-a11 (a10 moved in from BA), k3; SB b1 b2 b3; SC c1 c2;
# BA ba1; KA k1 k2. Girls: a1 a3 a5 a7 a9 a11 b1 b3 c2 k1 k3 (11); boys: a2 a4 a6 a8 a10 b2 c1 ba1 k2 (9).
# With a valid disability status on 31 Aug 2026 (9): a1 a2 a3 a6 a10 b1 c1 ba1 k1 (a8's expired, a9's closed).
# Not enrolled (5): k4 (A, disability), o1 (A, disability), o2 (B, age 4), o3 (B), p1 (A, 18).
# SEN = disability or a PMPK conclusion in force (a1 a4 c2 enrolled, o3 not): 9 + a4 + c2 = 11 enrolled.
# School age 6-17 (21): every learner but k1 k2 o2 (3-5) and p1 (18); with a disability: the 8 enrolled
# ones (not k1) + k4 + o1 = 10.
#
# code -> {by: {key: (numerator, denominator)}}; the value follows from the indicator's kind
# (percent: 100·n/d; ratio: n/d; count: n, no denominator). Every computable indicator has its total
# (where it has one) and at least one disaggregation.
EXPECTED = {
    # Functioning screening (CFM), the latest complete one of the period: screened a1 a2 a3 a4 c1 k1 k2 (7),
    # with a difficulty a1 a2 a4 k1 (a2's later screening counts), indeterminate a3 (conftest._screenings).
    "E1": {
        (): {(): (4, 7)},
        ("sex",): {(F,): (2, 3), (M,): (2, 4)},  # F a1 k1 of a1 a3 k1; M a2 a4 of a2 a4 c1 k2
        ("region",): {(CHUY,): (4, 6), (BISHKEK,): (0, 1)},  # c1 is in Bishkek
        # A domain's denominator: those whose latest questionnaire asks about it (5-17: a1-a4 c1; 2-4: k1 k2).
        ("domain",): {
            ("seeing",): (1, 7), ("hearing",): (0, 7), ("walking",): (1, 7), ("communication",): (0, 7),
            ("learning",): (2, 7), ("controlling_behaviour",): (0, 7),  # asked at both ages
            ("self_care",): (0, 5), ("remembering",): (1, 5), ("concentrating",): (0, 5), ("accepting_change",): (0, 5),
            ("making_friends",): (0, 5), ("anxiety",): (1, 5), ("depression",): (0, 5),  # 5-17 only
            ("fine_motor",): (1, 2), ("playing",): (0, 2),  # 2-4 only
        },
        ("region", "domain"): {  # Bishkek: c1 only, no difficulty
            **{(CHUY, d): v for d, v in {
                "seeing": (1, 6), "hearing": (0, 6), "walking": (1, 6), "communication": (0, 6), "learning": (2, 6),
                "controlling_behaviour": (0, 6), "self_care": (0, 4), "remembering": (1, 4), "concentrating": (0, 4),
                "accepting_change": (0, 4), "making_friends": (0, 4), "anxiety": (1, 4), "depression": (0, 4),
                "fine_motor": (1, 2), "playing": (0, 2)}.items()},
            **{(BISHKEK, d): (0, 1) for d in ("seeing", "hearing", "walking", "communication", "learning",
                                               "controlling_behaviour", "self_care", "remembering", "concentrating",
                                               "accepting_change", "making_friends", "anxiety", "depression")},
        },
    },
    "E1I": {  # indeterminate: a3 (F, Chüy)
        (): {(): (1, 7)},
        ("sex",): {(F,): (1, 3), (M,): (0, 4)},
        ("region",): {(CHUY,): (1, 6), (BISHKEK,): (0, 1)},
    },
    "E2": {  # enrolled with a disability / enrolled
        (): {(): (9, 20)},
        ("sex",): {(F,): (4, 11), (M,): (5, 9)},  # F a1 a3 b1 k1; M a2 a6 a10 c1 ba1
        ("region", "sex"): {  # the example: by=region,sex
            (CHUY, F): (4, 10), (CHUY, M): (4, 8),  # Chüy: all but c1 c2
            (BISHKEK, F): (0, 1), (BISHKEK, M): (1, 1),  # c2; c1
        },
        ("level",): {("school",): (8, 18), ("kindergarten",): (1, 2)},  # k1 of k1 k2
        ("organization",): {(SA,): (5, 12), (SB,): (1, 3), (SC,): (1, 2), (BA,): (1, 1), (KA,): (1, 2)},
    },
    "E3": {  # enrolled with a PMPK conclusion in force: a1 (C1), a4 (C2), c2 (C5: its successor comes in October)
        (): {(): (3, 20)},
        ("sex",): {(F,): (2, 11), (M,): (1, 9)},
        ("region",): {(CHUY,): (2, 18), (BISHKEK,): (1, 2)},
    },
    "E4": {  # each form's share of the enrolled learners with a disability
        (): {(): (9, 9)},
        ("form",): {("mainstream",): (7, 9), ("separate-class",): (1, 9), ("boarding",): (1, 9)},  # a3; ba1
        ("sex", "form"): {
            (F, "mainstream"): (3, 4), (F, "separate-class"): (1, 4),  # a1 b1 k1; a3
            (M, "mainstream"): (4, 5), (M, "boarding"): (1, 5),  # a2 a6 a10 c1; ba1
        },
    },
    "E5": {  # education organizations enrolling a learner with SEN: all five (KA: k1; SC: c1, c2)
        (): {(): (5, 5)},
        ("org_kind",): {("school",): (3, 3), ("boarding-school",): (1, 1), ("kindergarten",): (1, 1)},
        ("district",): {(A,): (3, 3), (B,): (1, 1), (LENIN,): (1, 1)},
    },
    "E5D": {  # schools (SA SB SC BA) enrolling a learner with a disability in a mainstream or separate class
        (): {(): (3, 4)},  # not BA: ba1 is in the boarding form
        ("urban",): {("rural",): (2, 3), ("urban",): (1, 1)},
        ("district",): {(A,): (1, 2), (B,): (1, 1), (LENIN,): (1, 1)},
    },
    "E8": {  # enrolled with SEN / specialists' FTE on 31 Aug 2026: speech 1.0 + psychologist 0.5 at SA, tutor 1.0 at SB
        (): {(): (11, 2.5)},
        ("role",): {("speech-therapist",): (11, 1.0), ("psychologist",): (11, 0.5), ("tutor",): (11, 1.0)},
        # A: a1 a2 a3 a4 a6 a10 ba1 k1; B: b1; Lenin: c1 c2 and no specialist (SC's left on 1 Jun): no value.
        ("district",): {(A,): (8, 1.5), (B,): (1, 1.0), (LENIN,): (2, 0)},
    },
    "E8D": {  # enrolled with a disability / specialists' FTE
        (): {(): (9, 2.5)},
        ("role",): {("speech-therapist",): (9, 1.0), ("psychologist",): (9, 0.5), ("tutor",): (9, 1.0)},
        ("district",): {(A,): (7, 1.5), (B,): (1, 1.0), (LENIN,): (1, 0)},
    },
    "E9": {  # SEN with a plan in force: a1 a2 a4 (a3's closed on 1 Mar, b1's is a draft)
        (): {(): (3, 11)},
        ("sex",): {(F,): (1, 5), (M,): (2, 6)},  # F a1 a3 b1 k1 c2; M a2 a4 a6 a10 c1 ba1
        ("region",): {(CHUY,): (3, 9), (BISHKEK,): (0, 2)},
    },
    "E11C": {  # dropped out in the period: a6 (disability), a11
        (): {(): (2, 20)},
        ("sex",): {(F,): (1, 11), (M,): (1, 9)},
        ("disability",): {("yes",): (1, 9), ("no",): (1, 11)},
    },
    "E11D": {  # completed a level in 2024-2025: k3, k4 (kindergarten); k3 went on to school, k4 is not enrolled
        (): {(): (1, 2)},
        ("sex",): {(F,): (1, 1), (M,): (0, 1)},
        ("disability",): {("yes",): (0, 1), ("no",): (1, 1)},
    },
    "E11E": {  # in grade 11: a7 (completed on 31 May), a8 (not)
        (): {(): (1, 2)},
        ("sex",): {(F,): (1, 1), (M,): (0, 1)},
    },
    "E12": {  # school age with a disability, not enrolled: k4, o1 (both live in A)
        (): {(): (2, 10)},
        ("sex",): {(F,): (1, 4), (M,): (1, 6)},  # F a1 a3 b1 o1; M a2 a6 a10 c1 ba1 k4
        ("region",): {(CHUY,): (2, 9), (BISHKEK,): (0, 1)},  # Bishkek: c1
    },
    "E13": {  # pre-school age (3-5): k1 k2 at KA, o2 not enrolled (lives in B)
        (): {(): (2, 3)},
        ("sex",): {(F,): (1, 1), (M,): (1, 2)},
        ("disability",): {("yes",): (1, 1), ("no",): (1, 2)},
        ("district",): {(A,): (2, 2), (B,): (0, 1)},
    },
    "E15A": {  # disability first certified before age 3: a1 (1) a6 (2) b1 (2: born 29 Feb) ba1 (1) k4 (1) o1 (1)
        (): {(): (6, 10)},
        ("sex",): {(F,): (3, 4), (M,): (3, 6)},  # F a1 b1 o1 of 4; M a6 ba1 k4 of 6
    },
    "E15B": {  # before age 5: the six + a3 (4) + a10 (3); not a2 (exactly 5) nor c1 (8)
        (): {(): (8, 10)},
        ("sex",): {(F,): (4, 4), (M,): (4, 6)},
    },
    "P1B": {  # PMPK referrals concluded in the period within 30 days: a1 (20) a3 (10) b1 (30), not a2 (44)
        (): {(): (3, 4)},
        ("district",): {(A,): (2, 3), (B,): (1, 1)},  # placed at the PMPK
        ("sex",): {(F,): (3, 3), (M,): (0, 1)},
    },
    "P2": {  # conclusions released in the period (deadline passed by 31 Aug): C1 (a1, plan in 16 days), C2 (a4, late)
        (): {(): (1, 2)},
        ("sex",): {(F,): (1, 1), (M,): (0, 1)},
        ("district",): {(A,): (1, 2)},  # both issued by PMPK A
    },
    "P3": {  # minutes delivered / planned (whole weeks) from 1 Sep 2025 to 31 May 2026
        # planned: a1 60×203/7 = 1740, a2 90×60/7 = 771, a3 30×168/7 = 720, a4 45×92/7 = 591 → 3822;
        # delivered: a1 3×60, a2 2×90, a4 45 → 405 (missed, withdrawn and June sessions do not count)
        (): {(): (405, 3822)},
        ("sex",): {(F,): (180, 2460), (M,): (225, 1362)},
        ("organization",): {(SA,): (405, 3822)},
    },
    "P5": {  # left a boarding school for a family-based form: a10
        (): {(): (1, None)},
        ("sex",): {(M,): (1, None)},
        ("disability",): {("yes",): (1, None)},
    },
    "P6": {  # enrolled learners with SEN
        (): {(): (11, None)},
        ("level",): {("school",): (10, None), ("kindergarten",): (1, None)},
        ("sex",): {(F,): (5, None), (M,): (6, None)},
    },
    "P6D": {  # enrolled learners with a disability
        (): {(): (9, None)},
        ("level",): {("school",): (8, None), ("kindergarten",): (1, None)},
        ("region", "level"): {(CHUY, "school"): (7, None), (CHUY, "kindergarten"): (1, None), (BISHKEK, "school"): (1, None)},
    },
}

# Medians of whole days from submission to conclusion: (cases, median). Concluded in the period: a1 20,
# a2 44, a3 10 (PMPK A), b1 30 (PMPK B).
MEDIANS = {
    "P1": {
        (): {(): (4, 25)},  # 10 20 | 30 44
        ("district",): {(A,): (3, 20), (B,): (1, 30)},
        ("sex",): {(F,): (3, 20), (M,): (1, 44)},
    },
}

# Parity indices: ((with a disability: n, d), (without: n, d)); None: no such children in the row.
PARITY = {
    "E11C-PI": {  # dropout
        (): {(): ((1, 9), (1, 11))},  # a6; a11
        ("sex",): {(F,): ((0, 4), (1, 7)), (M,): ((1, 5), (0, 4))},
    },
    "E11D-PI": {  # transition: k4 (disability) did not go on, k3 did
        (): {(): ((0, 1), (1, 1))},
        ("region",): {(CHUY,): ((0, 1), (1, 1))},
    },
    "E11E-PI": {  # completion: nobody in grade 11 has a valid disability status (a8's expired)
        (): {(): (None, (1, 2))},
        ("region",): {(CHUY,): (None, (1, 2))},
    },
    "E12-PI": {  # out of school: without a disability, o3 of 11 (F a5 a7 a9 a11 b3 c2 k3 o3; M a4 a8 b2)
        (): {(): ((2, 10), (1, 11))},
        ("sex",): {(F,): ((1, 4), (1, 8)), (M,): ((1, 6), (0, 3))},
    },
    "E13-PI": {  # pre-school participation: k1 of k1; k2 of k2 o2
        (): {(): ((1, 1), (1, 2))},
        ("region",): {(CHUY,): ((1, 1), (1, 2))},
    },
}

# Their records are not in Birge (or not connected to monitoring) yet: they say so and show no figure.
UNAVAILABLE = {
    "E6": "accessibility", "E7": "training", "E10": "device", "E14": "test-result", "P4": "device",
    "E11A": "grade-history", "E11B": "grade-history", "E11A-PI": "grade-history",
}


# --------------------------------------------------------------------------- helpers

def _percent(n, d):
    return None if not d else 100.0 * n / d


def _want_value(kind, n, d):
    if kind == "count":
        return n
    if not d:
        return None
    return 100.0 * n / d if kind == "percent" else n / d


def _parity(direction, with_d, without):
    """SDG 4.5.1 by hand: PI = with / without; adjusted = PI if PI <= 1 else 2 - 1/PI; parity within 0.97-1.03."""
    vy = _percent(*with_d) if with_d else None
    vn = _percent(*without) if without else None
    if vy is None or not vn:
        return vy, vn, None, None, None
    pi = vy / vn
    adjusted = pi if pi <= 1 else 2 - 1 / pi
    if 0.97 <= adjusted <= 1.03:
        status = "parity"
    elif (adjusted < 0.97) == (direction == "lower-better"):
        status = "advantage"
    else:
        status = "disadvantage"
    return vy, vn, pi, adjusted, status


def _approx(got, want):
    return (got is None and want is None) or (got is not None and want is not None and got == pytest.approx(want))


@pytest.fixture
def api():
    return APIClient()


def _client(api, user):
    """Signed in, in English (the texts checked below are the English ones; Kyrgyz is the default)."""
    if isinstance(api, APIClient):
        api.force_authenticate(user)
    else:
        api.force_login(user)
    api.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return api


@pytest.fixture
def analyst(api, cast):
    return _client(api, cast.a.users[Role.MINISTRY_ANALYST])


def _values(client, code, by=(), status=200, **params):
    query = {"period": P, "by": ",".join(by), **params}
    r = client.get(f"/api/v1/indicators/{code}/values/", query)
    assert r.status_code == status, (code, query, r.status_code, r.content[:500])
    return r.json()


def _rows(body, by):
    rows = {tuple(row[d] for d in by): row for row in body["rows"]}
    assert len(rows) == len(body["rows"]), "one row per combination of disaggregation values"
    return rows


@pytest.fixture(params=["live", "summary"])
def built(request, dataset):
    """Figures straight from the records, or from a fresh summary table: the same expectations hold."""
    if request.param == "summary":
        summary.refresh(period())
    return request.param


def _check_source(body, code, built):
    plan = engine.plan_for(Indicator.objects.get(code=code))
    if built == "summary" and engine._needs_summary(plan):
        assert body["source"] == "summary" and not body["stale"], (code, body["source"])
    else:
        assert body["source"] == "live", (code, body["source"])


# --------------------------------------------------------------------------- every indicator is accounted for

def test_every_catalogue_indicator_has_hand_computed_values_or_says_its_records_are_missing(dataset, analyst):
    active = set(Indicator.objects.filter(is_active=True).values_list("code", flat=True))
    groups = [set(EXPECTED), set(MEDIANS), set(PARITY), set(UNAVAILABLE)]
    assert sum(len(g) for g in groups) == len(set().union(*groups)), "an indicator is listed twice"
    assert set().union(*groups) == active, (
        f"not accounted for: {sorted(active - set().union(*groups))}; gone: {sorted(set().union(*groups) - active)}")
    for table in (EXPECTED, MEDIANS, PARITY):
        for code, views in table.items():
            assert any(by for by in views), f"{code}: add at least one disaggregation"
            ind = Indicator.objects.get(code=code)
            assert all(d in ind.disaggregations for by in views for d in by), code
    # The catalogue endpoint agrees on which can be computed.
    r = analyst.get("/api/v1/indicators/", {"page_size": 500})
    assert r.status_code == 200
    body = r.json()
    items = {i["code"]: i for i in body.get("results", body)}
    assert set(items) == active
    for code, item in items.items():
        assert item["status"] == ("unavailable" if code in UNAVAILABLE else "available"), code
        assert all(item["names"][lang] for lang in ("ky", "ru", "en")), code
        assert item["kind"] and item["unit"] and item["direction"] and item["numerator"], code
        if code in UNAVAILABLE:
            assert UNAVAILABLE[code] in {m["source"] for m in item["missing_sources"]}, code
            assert all(m["label"] for m in item["missing_sources"])
        else:
            assert item["missing_sources"] == []


# --------------------------------------------------------------------------- exact values

@pytest.mark.parametrize("code", sorted(EXPECTED))
def test_exact_values(code, built, analyst):
    kind = Indicator.objects.get(code=code).kind
    for by, want in EXPECTED[code].items():
        body = _values(analyst, code, by, disclosure="internal")
        assert body["status"] == "ok" and body["disclosure"] == "internal" and body["by"] == list(by), (code, by)
        _check_source(body, code, built)
        got = _rows(body, by)
        assert set(got) == set(want), (code, by, sorted(got))
        for key, (n, d) in want.items():
            row = got[key]
            assert _approx(row["numerator"], n), (code, by, key, row)
            assert _approx(row["denominator"], d), (code, by, key, row)
            assert _approx(row["value"], _want_value(kind, n, d)), (code, by, key, row)
            assert row["suppressed"] is False and row["suppression_reason"] is None


@pytest.mark.parametrize("code", sorted(MEDIANS))
def test_exact_medians(code, built, analyst):
    for by, want in MEDIANS[code].items():
        body = _values(analyst, code, by, disclosure="internal")
        assert body["status"] == "ok" and body["source"] == "live"  # referrals are read straight from the records
        got = {key: (row["numerator"], row["denominator"], row["value"]) for key, row in _rows(body, by).items()}
        assert got == {key: (cases, None, median) for key, (cases, median) in want.items()}, (code, by)


@pytest.mark.parametrize("code", sorted(PARITY))
def test_exact_parity_indices(code, built, analyst):
    direction = Indicator.objects.get(code=code).direction
    for by, want in PARITY[code].items():
        body = _values(analyst, code, by, disclosure="internal")
        assert body["status"] == "ok"
        _check_source(body, code, built)
        got = _rows(body, by)
        assert set(got) == set(want), (code, by, sorted(got))
        for key, (with_d, without) in want.items():
            vy, vn, pi, adjusted, status = _parity(direction, with_d, without)
            row = got[key]
            for field, value in (("numerator", vy), ("denominator", vn), ("value", pi), ("adjusted_index", adjusted)):
                assert _approx(row[field], value), (code, by, key, field, row)
            assert row["parity"] == status, (code, by, key, row)


def test_a_date_range_takes_statuses_on_its_own_reference_date(dataset, analyst):
    """1 Sep – 31 Dec 2025: the reference date is 31 Dec 2025, so a8's disability (ending that day) and a9's
    (closed on 1 Mar 2026) are still valid; b2's conclusion (valid until 1 Jan 2026) and a5's (withdrawn on
    1 Feb 2026) are still in force; nobody has dropped out yet; three referrals are concluded (a1 20, a2 44,
    a3 10 days; b1's comes in February)."""
    def one(code):
        body = _values(analyst, code, period="2025-09-01..2025-12-31", disclosure="internal")
        assert body["period"]["reference_date"] == "2025-12-31" and body["source"] == "live"
        (row,) = body["rows"]
        return row["numerator"], row["denominator"], row["value"]

    assert one("E2") == (11, 20, 55.0)
    assert one("E3") == (5, 20, 25.0)  # a1 a4 a5 b2 c2
    assert one("E11C") == (0, 20, 0.0)
    assert one("P1") == (3, None, 20)


def test_parity_examples_of_the_reference():
    """indicators.md: completion 60 vs 90 → PI 0.667; 95 vs 90 → PI 1.0556, API 1.0526; out of school
    12.5 vs 4.0 → PI 3.125 (a disadvantage: lower is better)."""
    assert engine.parity_index(60, 90, "higher-better")["index"] == pytest.approx(0.6667, abs=1e-4)
    out = engine.parity_index(95, 90, "higher-better")
    assert (out["index"], out["adjusted"]) == (pytest.approx(1.0556, abs=1e-4), pytest.approx(1.0526, abs=1e-4))
    out = engine.parity_index(12.5, 4.0, "lower-better")
    assert out["index"] == pytest.approx(3.125) and out["parity"] == "disadvantage"


# --------------------------------------------------------------------------- no records: say so, never zero

@pytest.mark.parametrize("code", sorted(UNAVAILABLE))
def test_indicator_without_records_says_so_everywhere(code, dataset, analyst, client, cast):
    ind = Indicator.objects.get(code=code)
    for by in ([], [ind.disaggregations[0]]):
        body = _values(analyst, code, by)
        assert body["status"] == "unavailable" and body["rows"] == [], (code, by)
        assert UNAVAILABLE[code] in [m["source"] for m in body["missing_sources"]]
        label = next(m["label"] for m in body["missing_sources"] if m["source"] == UNAVAILABLE[code])
        assert label in body["message"]
    _client(client, cast.a.users[Role.MINISTRY_ANALYST])
    r = client.get(f"/monitoring/indicators/{code}/", {"period": P})
    assert r.status_code == 200 and r.context["result"].status == "unavailable" and r.context["table"].rows == []
    assert r.context["result"].message in r.content.decode()
    r = client.get(f"/monitoring/indicators/{code}/export.csv", {"period": P})
    assert r.status_code == 200 and len(r.content.decode("utf-8-sig").strip().splitlines()) == 1  # the header only
    r = client.get("/monitoring/dhis2/", {"period": P, "indicators": code})
    assert r.status_code == 200 and json.loads(r.content)["dataValues"] == []


# --------------------------------------------------------------------------- disclosure control

def test_published_figures_hide_small_counts_and_their_complements(dataset, analyst):
    # The national total is safe: 9 of 20, 11 without.
    (row,) = _values(analyst, "E2")["rows"]
    assert (row["numerator"], row["denominator"], row["value"], row["suppressed"]) == (9, 20, 45.0, False)
    body = _values(analyst, "E2", ["sex"])  # published is the default
    assert body["disclosure"] == "published" and body["threshold"] == 5
    rows = _rows(body, ["sex"])
    # 4 girls of 11: fewer than 5. 5 boys of 9: the other 4 are few ("all but 4").
    assert (rows[(F,)]["numerator"], rows[(F,)]["denominator"], rows[(F,)]["value"]) == (None, 11, None)
    assert (rows[(M,)]["numerator"], rows[(M,)]["denominator"], rows[(M,)]["value"]) == (None, 9, None)
    assert rows[(F,)]["suppressed"] and "Fewer than 5" in rows[(F,)]["suppression_reason"]
    assert rows[(M,)]["suppressed"] and "All but fewer than 5" in rows[(M,)]["suppression_reason"]
    assert len(body["notes"]) == 2


def test_published_domains_hide_small_counts_without_complements_across_domains(dataset, analyst):
    """E1 by functioning domain, published: every numerator is under 5 and hidden; the denominators of 7 and 5
    stay, the 2 of the 2-4 questionnaire's own domains are hidden. Domains overlap (a2 has two), so there is
    no total to subtract from and nothing else is hidden for it."""
    rows = _rows(_values(analyst, "E1", ["domain"]), ["domain"])
    assert len(rows) == 15
    for key, row in rows.items():
        if row["numerator"] is not None:  # only a zero may show: nobody to single out
            assert row["numerator"] == 0 and not row["suppressed"], (key, row)
    assert rows[("seeing",)]["numerator"] is None and rows[("seeing",)]["suppressed"]
    assert (rows[("seeing",)]["denominator"], rows[("anxiety",)]["denominator"]) == (7, 5)
    assert rows[("fine_motor",)]["denominator"] is None and rows[("playing",)]["denominator"] is None
    # E1 in total: 4 of 7 — the 4 and the 3 without a difficulty are both fewer than 5.
    (row,) = _values(analyst, "E1")["rows"]
    assert (row["numerator"], row["denominator"], row["suppressed"]) == (None, 7, True)


def test_the_complementary_cell_is_hidden_too(dataset, analyst):
    """E2 by region: Bishkek has 1 of 2. Chüy's 8 of 18 is not small, but with the national 9 of 20 published
    it would give Bishkek away, so it is hidden as well, saying why."""
    rows = _rows(_values(analyst, "E2", ["region"]), ["region"])
    assert rows[(BISHKEK,)]["numerator"] is None and rows[(BISHKEK,)]["denominator"] is None
    assert "Fewer than 5" in rows[(BISHKEK,)]["suppression_reason"]
    chuy = rows[(CHUY,)]
    assert chuy["suppressed"] and chuy["numerator"] is None and chuy["denominator"] is None and chuy["value"] is None
    assert "worked out from the totals" in chuy["suppression_reason"]
    # E12 by sex: girls 1 of 4 (both small), boys 1 of 6: the boys' 6 would give the girls' 4 away (10 - 6).
    rows = _rows(_values(analyst, "E12", ["sex"]), ["sex"])
    assert rows[(F,)]["denominator"] is None and rows[(M,)]["denominator"] is None and rows[(M,)]["numerator"] is None


def test_counts_of_organizations_are_not_counts_of_children(dataset, analyst):
    (row,) = _values(analyst, "E5D")["rows"]  # 3 of 4 schools
    assert (row["numerator"], row["denominator"], row["suppressed"]) == (3, 4, False)


def test_a_parity_index_built_on_a_hidden_count_is_hidden(dataset, analyst):
    (row,) = _values(analyst, "E12-PI")["rows"]
    assert row["suppressed"] and row["value"] is None and row["adjusted_index"] is None and row["parity"] is None
    (row,) = _values(analyst, "E12-PI", disclosure="internal")["rows"]
    assert row["value"] == pytest.approx(2.2) and row["parity"] == "disadvantage"


def test_internal_figures_only_within_ones_own_jurisdiction(dataset, api, cast):
    officer = _client(api, cast.a.users[Role.DISTRICT_OFFICER])
    # District A: a6 and a11 dropped out of 15 enrolled: published hides the 2, internal shows them.
    (row,) = _values(officer, "E11C")["rows"]
    assert row["suppressed"] and row["numerator"] is None and row["denominator"] == 15
    body = _values(officer, "E11C", disclosure="internal")
    assert body["scope"]["key"] == f"t:{A}"
    (row,) = body["rows"]
    assert (row["numerator"], row["denominator"], row["suppressed"]) == (2, 15, False)
    # Broken down, only what lies inside the district: its organizations, unsuppressed.
    rows = _rows(_values(officer, "E2", ["organization"], disclosure="internal"), ["organization"])
    assert {k: (r["numerator"], r["denominator"]) for k, r in rows.items()} == {
        (SA,): (5, 12), (BA,): (1, 1), (KA,): (1, 2)}
    assert [r["district"] for r in _values(officer, "E2", ["district"], disclosure="internal")["rows"]] == [A]
    for other in (f"t:{B}", f"t:{CHUY}", "national", f"o:{SB}", f"o:{SC}"):
        _values(officer, "E11C", status=404, disclosure="internal", scope=other)
    # A school coordinator: their school only (SA: a6 a11 of 12).
    coordinator = _client(APIClient(), cast.a.users[Role.SCHOOL_COORDINATOR])
    (row,) = _values(coordinator, "E11C", disclosure="internal")["rows"]
    assert (row["numerator"], row["denominator"]) == (2, 12)
    _values(coordinator, "E11C", status=404, disclosure="internal", scope=f"o:{BA}")
    # No monitoring role: no figures at all, published or internal.
    for user in (cast.a.users[Role.TEACHER], cast.outsider):
        body = _values(_client(APIClient(), user), "E2", status=404, disclosure="internal")
        assert body["detail"]


# --------------------------------------------------------------------------- bad input

@pytest.mark.parametrize("params, field, mentions", [
    ({"period": "2025-2027"}, "period", "2025-2026"),
    ({"period": "next year"}, "period", "2025-2026"),
    ({"period": "2026-02-30..2026-03-01"}, "period", ""),
    ({"period": "2099-2100"}, "period", ""),
    ({"by": "planet"}, "by", "planet"),
    ({"by": "region,planet"}, "by", "planet"),
    ({"by": "level"}, "by", "level"),  # E12 counts children out of school: they have no level
    ({"by": "sex,sex"}, "by", "sex"),
    ({"by": "region,district,sex,age_group,category"}, "by", "4"),
    ({"disclosure": "everything"}, "disclosure", "internal"),
])
def test_bad_input_is_a_clear_400_naming_the_parameter(analyst, cast, params, field, mentions):
    r = analyst.get("/api/v1/indicators/E12/values/", params)
    assert r.status_code == 400, (params, r.content)
    body = r.json()
    assert list(body) == [field] and body[field][0]
    assert mentions in body[field][0]


def test_unknown_indicator(analyst, client, cast):
    # Values of an unknown indicator: bad input, a 400 naming it (as an unknown period or disaggregation).
    r = analyst.get("/api/v1/indicators/E99/values/", {"period": P})
    assert r.status_code == 400 and "E99" in r.json()["indicator"][0]
    # As a parameter (the DHIS2 export's list of indicators): a 400 naming it, not an empty answer.
    _client(client, cast.a.users[Role.MINISTRY_ANALYST])
    r = client.get("/monitoring/dhis2/", {"period": P, "indicators": "E2,E99"})
    assert r.status_code == 400 and "E99" in r.json()["indicators"][0]
    r = client.get("/monitoring/dhis2/", {"period": "2025"})
    assert r.status_code == 400 and r.json()["period"][0]


# --------------------------------------------------------------------------- the shape of an answer

def test_values_answer_shape(dataset, analyst):
    body = _values(analyst, "E2", ["region", "sex"])
    assert set(body) >= {"indicator", "period", "by", "scope", "disclosure", "threshold", "status", "message",
                         "missing_sources", "source", "as_of", "stale", "rows", "notes"}
    assert body["indicator"]["code"] == "E2" and body["period"]["code"] == P and body["period"]["reference_date"] == "2026-08-31"
    assert body["by"] == ["region", "sex"] and body["status"] == "ok" and body["as_of"]
    for row in body["rows"]:
        assert set(row) == {"region", "region_label", "sex", "sex_label", "numerator", "denominator", "value",
                            "suppressed", "suppression_reason"}
        assert row["region"] in (CHUY, BISHKEK) and row["region_label"] and row["sex"] in (F, M) and row["sex_label"]
        assert isinstance(row["suppressed"], bool)
        for field in ("numerator", "denominator", "value"):
            assert row[field] is None or isinstance(row[field], (int, float)), (field, row)
        if row["suppressed"]:
            assert row["value"] is None and row["suppression_reason"]
        else:
            assert row["suppression_reason"] is None
    (row,) = _values(analyst, "E13-PI", disclosure="internal")["rows"]
    assert set(row) == {"numerator", "denominator", "value", "suppressed", "suppression_reason", "adjusted_index", "parity"}


# --------------------------------------------------------------------------- exports

@pytest.fixture
def analyst_client(client, cast):
    return _client(client, cast.a.users[Role.MINISTRY_ANALYST])


def test_csv_opens_and_holds_the_published_figures(dataset, analyst_client, analyst):
    r = analyst_client.get("/monitoring/indicators/E2/export.csv", {"period": P, "by": "region,sex"})
    assert r.status_code == 200 and r["Content-Type"].startswith("text/csv") and r.content.startswith(b"\xef\xbb\xbf")
    header, *lines = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert len(lines) == 4 and all(len(line) == len(header) for line in lines)
    published = _rows(_values(analyst, "E2", ["region", "sex"]), ["region", "sex"])
    for line in lines:
        row = published[(line[2], line[4])]
        assert line[6:9] == ["" if row[f] is None else str(row[f]) if f != "value" else str(round(row[f], 4))
                             for f in ("numerator", "denominator", "value")]


def test_xlsx_opens_with_values_and_a_sheet_of_definitions_and_suppression_notes(dataset, analyst_client, analyst):
    r = analyst_client.get("/monitoring/indicators/E12/export.xlsx", {"period": P, "by": "sex"})
    assert r.status_code == 200 and r["Content-Type"].startswith("application/vnd.openxmlformats")
    assert r["Content-Disposition"].endswith('.xlsx"')
    wb = openpyxl.load_workbook(io.BytesIO(r.content))
    assert len(wb.worksheets) == 2
    values, info = wb.worksheets
    header, *lines = list(values.iter_rows(values_only=True))
    assert len(lines) == 2 and all(line[0] == "E12" and line[1] == P for line in lines)
    published = _rows(_values(analyst, "E12", ["sex"]), ["sex"])
    for line in lines:
        row = published[(line[2],)]
        assert (line[4], line[5], line[6]) == (row["numerator"], row["denominator"], row["value"])
        assert line[8] == row["suppression_reason"]
    text = "\n".join(" ".join(str(c) for c in row if c) for row in info.iter_rows(values_only=True))
    ind = Indicator.objects.get(code="E12")
    assert f"E12 — {ind.name_en}" in text and "2025-2026" in text and "2026-08-31" in text
    assert "children of school age" in text.lower()  # the numerator and denominator definitions
    # Every reason a figure is hidden for is explained: the small counts, and the cell hidden with them.
    assert "Fewer than 5 children" in text and "worked out from the totals" in text
    assert "Suppression note" in text


def test_xlsx_of_an_indicator_without_records_has_no_figures_and_says_why(dataset, analyst_client):
    r = analyst_client.get("/monitoring/indicators/E10/export.xlsx", {"period": P})
    wb = openpyxl.load_workbook(io.BytesIO(r.content))
    assert len(list(wb.worksheets[0].iter_rows(values_only=True))) == 1  # the header only: no zero
    text = " ".join(str(c) for row in wb.worksheets[1].iter_rows(values_only=True) for c in row if c)
    assert "Assistive devices" in text


# --------------------------------------------------------------------------- DHIS2

DV_KEYS = {"dataElement", "period", "orgUnit", "categoryOptionCombo", "value"}


def _data_values(client, **params):
    r = client.get("/monitoring/dhis2/", {"period": P, **params})
    assert r.status_code == 200 and r["Content-Type"] == "application/json"
    payload = json.loads(r.content.decode("utf-8"))
    assert isinstance(payload, dict) and isinstance(payload["dataValues"], list)
    seen = set()
    for dv in payload["dataValues"]:
        assert {"dataElement", "period", "orgUnit", "value"} <= set(dv) <= DV_KEYS, dv
        assert all(isinstance(v, str) and v for v in dv.values()), dv
        float(dv["value"])
        key = (dv["dataElement"], dv["period"], dv["orgUnit"], dv.get("categoryOptionCombo"))
        assert key not in seen, f"duplicate data value {key}"
        seen.add(key)
    return payload["dataValues"], int(r["X-Birge-Suppressed-Values"])


def test_dhis2_data_value_set_is_well_formed_and_exact(dataset, analyst_client, settings):
    settings.BIRGE_MONITORING_MIN_CELL = 1  # nothing hidden: check the figures themselves
    values, omitted = _data_values(analyst_client)
    assert omitted == 0 and {v["period"] for v in values} == {"2025July"}
    got = {(v["dataElement"], v["orgUnit"], v.get("categoryOptionCombo")): v["value"] for v in values}
    # By hand: E12 in district A (k4, o1 out of school; girls a1 a3 o1, boys a2 a6 a10 ba1 k4).
    assert got[("BIRGE_E12_NUM", A, "BIRGE_FEMALE")] == "1" and got[("BIRGE_E12_DEN", A, "BIRGE_FEMALE")] == "3"
    assert got[("BIRGE_E12_NUM", A, "BIRGE_MALE")] == "1" and got[("BIRGE_E12_DEN", A, "BIRGE_MALE")] == "5"
    # P1 at PMPK A: girls a1 20, a3 10 → median 15; boys a2 44. PMPK B: b1 30.
    assert got[("BIRGE_P1_MEDIAN_DAYS", A, "BIRGE_FEMALE")] == "15" and got[("BIRGE_P1_CASES", A, "BIRGE_FEMALE")] == "2"
    assert got[("BIRGE_P1_MEDIAN_DAYS", A, "BIRGE_MALE")] == "44" and got[("BIRGE_P1_MEDIAN_DAYS", B, "BIRGE_FEMALE")] == "30"
    # P3 at SA (district A): 180 of 2460 minutes for girls.
    assert got[("BIRGE_P3_NUM", A, "BIRGE_FEMALE")] == "180" and got[("BIRGE_P3_DEN", A, "BIRGE_FEMALE")] == "2460"
    # E8D: by district only (no sex): A 7 learners per 1.5 FTE; Lenin has no specialist left (FTE 0: a real zero).
    assert got[("BIRGE_E8D_NUM", A, None)] == "7" and got[("BIRGE_E8D_DEN", A, None)] == "1.5000"
    assert got[("BIRGE_E8D_DEN", LENIN, None)] == "0"
    # E1 in district A: girls a1 k1 of a1 a3 k1, boys a2 a4 of a2 a4 k2; E1I: a3.
    assert got[("BIRGE_E1_NUM", A, "BIRGE_FEMALE")] == "2" and got[("BIRGE_E1_DEN", A, "BIRGE_FEMALE")] == "3"
    assert got[("BIRGE_E1_NUM", A, "BIRGE_MALE")] == "2" and got[("BIRGE_E1_DEN", A, "BIRGE_MALE")] == "3"
    assert got[("BIRGE_E1I_NUM", A, "BIRGE_FEMALE")] == "1"
    # Nothing for indicators without records.
    assert not any(v["dataElement"].startswith(("BIRGE_E6_", "BIRGE_E10_")) for v in values)


def test_dhis2_leaves_hidden_figures_out_and_counts_them(dataset, analyst_client):
    values, omitted = _data_values(analyst_client, indicators="E5D,E12")
    # E5D counts schools (never hidden); E12's children are few everywhere: all hidden, none sent as zero.
    assert values and {v["dataElement"] for v in values} == {"BIRGE_E5D_NUM", "BIRGE_E5D_DEN"}
    assert omitted > 0
