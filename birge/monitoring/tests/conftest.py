"""A small, fully known dataset: every expected figure in the tests is counted by hand from it.

Period 2025-2026 (1 Sep 2025 – 31 Aug 2026), looked at on 24 Nov 2026, so the
reference date is 31 Aug 2026 and ages are taken on 1 Sep 2025.

Organizations (education): SA school and BA boarding school and KA
kindergarten in district A (Sokuluk, rural), SB school in district B
(Alamüdün, rural), SC school in Bishkek-Lenin (urban). Both districts are in
Chüy region.

Learners (sex, age band on 1 Sep 2025, where, status):

    a1  F 6-10  SA g5            disability since age 1
    a2  M 6-10  SA g5            disability since exactly age 5 (not "before 5")
    a3  F 11-14 SA g8 separate   disability since age 4
    a4  M 11-14 SA g8
    a5  F 6-10  SA g5            archived after the reference date: still counted
    a6  M 11-14 SA g8 dropped out 1 Feb 2026, disability since age 2
    a7  F 15-17 SA g11 completed 31 May 2026
    a8  M 15-17 SA g11           disability expired 31 Dec 2025
    a9  F 6-10  SA g5            disability closed 1 Mar 2026
    a10 M 6-10  SA g5 (from 15 Oct 2025; boarding at BA before) disability since age 3
    a11 F 11-14 SA g8 dropped out 1 Mar 2026
    b1  F 6-10  SB g5            born 29 Feb 2016, disability from 28 Feb 2019 (age 2)
    b2  M 11-14 SB g8
    b3  F 11-14 SB g8 (Russian)
    c1  M 6-10  SC g5            disability since age 8
    c2  F 6-10  SC g5
    ba1 M 11-14 BA g8 boarding   disability since age 1
    k1  F 3-5   KA kindergarten  disability since age 1
    k2  M 3-5   KA kindergarten
    k3  F 6-10  SA g1            completed kindergarten 31 May 2025
    k4  M 6-10  not enrolled (lives in A), completed kindergarten 31 May 2025, disability since age 1
    o1  F 11-14 not enrolled (A), disability since age 1
    o2  M 3-5   not enrolled (B)
    o3  F 11-14 not enrolled (B)
    p1  M 18-24 not enrolled (A), school ended 2024
    —   a merged duplicate, a learner archived before the period's reference date and one born after it: not counted.

PMPK conclusions in force on 31 Aug 2026: a1, a4, c2 (its successor is issued only in October), o3
(not enrolled); not in force: b2's (expired), a5's (withdrawn), k2's (draft). Learners with SEN
(disability or conclusion) enrolled: the 9 with a disability, a4 and c2.
Plans in force: a1 (after C1, released 25 Oct 2025, in force 10 Nov: within 30 days), a2 (own basis),
a4 (C2 released 20 Dec 2025, in force 1 Mar 2026: late); a3's was closed on 1 Mar 2026; b1's is a draft.
Services planned and delivered from 1 Sep 2025 to 31 May 2026 (minutes): see _conclusions_plans_services.

Functioning screenings (CFM): see _screenings — enrolled and screened in the period a1 a2 a3 a4 c1 k1 k2,
with a difficulty a1 a2 a4 k1, indeterminate a3.

Specialists on 31 Aug 2026: speech therapist 1.0 and psychologist 0.5 at SA, tutor 1.0 at SB
(a psychologist at SC left on 1 Jun 2026; a teacher at SA is not a specialist).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pytest
from django.utils import timezone

from birge.core.models import Membership, Organization, Territory, User
from birge.core.roles import OrgKind, Role
from birge.learners.models import DisabilityStatus, Enrolment, Learner
from birge.monitoring.periods import Period, school_year

TODAY = dt.date(2026, 11, 24)
BISHKEK_LENIN = "41711201000000"


def period(code: str = "2025-2026") -> Period:
    return school_year(int(code[:4]), today=TODAY)


@pytest.fixture(autouse=True)
def _clean_cache():
    """Results and refresh requests are cached; every test starts without them."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@dataclass
class Dataset:
    orgs: dict = field(default_factory=dict)
    learners: dict = field(default_factory=dict)


def _learner(ds, name, sex, birth, territory, **extra):
    ds.learners[name] = Learner.objects.create(first_name=name, sex="female" if sex == "F" else "male",
                                               birth_date=birth, territory=territory, is_synthetic=True, **extra)
    return ds.learners[name]


def _enrol(learner, org, level="school", grade=None, start=dt.date(2025, 9, 1), end=None, status="active", **extra):
    return Enrolment.objects.create(learner=learner, organization=org, level=level, grade=grade, starts_on=start,
                                    ends_on=end, status=status, **extra)


def _disability(learner, start, end=None, closed=None):
    return DisabilityStatus.objects.create(learner=learner, category="child", starts_on=start, ends_on=end,
                                           indefinite=end is None, closed_at=closed)


def _aware(day):
    return timezone.make_aware(dt.datetime.combine(day, dt.time(12, 0)))


@pytest.fixture
def dataset(cast) -> Dataset:
    ds = Dataset()
    a, b = cast.a.district, cast.b.district
    lenin = Territory.objects.get(code=BISHKEK_LENIN)
    ds.orgs = {
        "SA": cast.a.orgs[OrgKind.SCHOOL],
        "SB": cast.b.orgs[OrgKind.SCHOOL],
        "BA": Organization.objects.create(kind=OrgKind.BOARDING_SCHOOL, code="T-BA", name="Boarding A", territory=a),
        "KA": Organization.objects.create(kind=OrgKind.KINDERGARTEN, code="T-KA", name="Kindergarten A", territory=a),
        "SC": Organization.objects.create(kind=OrgKind.SCHOOL, code="T-SC", name="School Lenin", territory=lenin),
    }
    SA, SB, BA, KA, SC = (ds.orgs[k] for k in ("SA", "SB", "BA", "KA", "SC"))
    y10, y13, y17 = dt.date(2015, 3, 1), dt.date(2012, 1, 1), dt.date(2008, 6, 1)

    x = _learner(ds, "a1", "F", y10, a); _enrol(x, SA, grade=5); _disability(x, dt.date(2017, 1, 1))  # noqa: E702
    x = _learner(ds, "a2", "M", y10, a); _enrol(x, SA, grade=5); _disability(x, dt.date(2020, 3, 1), dt.date(2027, 1, 1))  # noqa: E702
    x = _learner(ds, "a3", "F", y13, a); _enrol(x, SA, grade=8, form="separate-class"); _disability(x, dt.date(2016, 1, 1))  # noqa: E702
    x = _learner(ds, "a4", "M", y13, a); _enrol(x, SA, grade=8)  # noqa: E702
    x = _learner(ds, "a5", "F", y10, a, archived_at=_aware(dt.date(2026, 10, 1)), archive_reason="moved"); _enrol(x, SA, grade=5)  # noqa: E702
    x = _learner(ds, "a6", "M", y13, a)
    _enrol(x, SA, grade=8, end=dt.date(2026, 2, 1), status="dropped-out", end_reason="left")
    _disability(x, dt.date(2014, 1, 1))
    x = _learner(ds, "a7", "F", y17, a); _enrol(x, SA, grade=11, end=dt.date(2026, 5, 31), status="completed")  # noqa: E702
    x = _learner(ds, "a8", "M", y17, a); _enrol(x, SA, grade=11); _disability(x, dt.date(2010, 1, 1), dt.date(2025, 12, 31))  # noqa: E702
    x = _learner(ds, "a9", "F", y10, a); _enrol(x, SA, grade=5)  # noqa: E702
    _disability(x, dt.date(2018, 1, 1), closed=_aware(dt.date(2026, 3, 1)))
    x = _learner(ds, "a10", "M", y10, a)
    _enrol(x, BA, grade=4, start=dt.date(2024, 9, 1), end=dt.date(2025, 10, 15), status="transferred", form="boarding")
    _enrol(x, SA, grade=5, start=dt.date(2025, 10, 15))
    _disability(x, dt.date(2019, 1, 1))
    x = _learner(ds, "a11", "F", y13, a); _enrol(x, SA, grade=8, end=dt.date(2026, 3, 1), status="dropped-out", end_reason="left")  # noqa: E702
    x = _learner(ds, "b1", "F", dt.date(2016, 2, 29), b); _enrol(x, SB, grade=5); _disability(x, dt.date(2019, 2, 28))  # noqa: E702
    x = _learner(ds, "b2", "M", y13, b); _enrol(x, SB, grade=8)  # noqa: E702
    x = _learner(ds, "b3", "F", y13, b); _enrol(x, SB, grade=8, language="ru")  # noqa: E702
    x = _learner(ds, "c1", "M", y10, lenin); _enrol(x, SC, grade=5); _disability(x, dt.date(2023, 6, 1))  # noqa: E702
    x = _learner(ds, "c2", "F", y10, lenin); _enrol(x, SC, grade=5)  # noqa: E702
    x = _learner(ds, "ba1", "M", y13, a); _enrol(x, BA, grade=8, form="boarding"); _disability(x, dt.date(2013, 1, 1))  # noqa: E702
    x = _learner(ds, "k1", "F", dt.date(2021, 5, 1), a); _enrol(x, KA, level="kindergarten"); _disability(x, dt.date(2022, 6, 1))  # noqa: E702
    x = _learner(ds, "k2", "M", dt.date(2021, 5, 1), a); _enrol(x, KA, level="kindergarten")  # noqa: E702
    x = _learner(ds, "k3", "F", dt.date(2018, 3, 1), a)
    _enrol(x, KA, level="kindergarten", start=dt.date(2022, 9, 1), end=dt.date(2025, 5, 31), status="completed")
    _enrol(x, SA, grade=1)
    x = _learner(ds, "k4", "M", dt.date(2018, 3, 1), a)
    _enrol(x, KA, level="kindergarten", start=dt.date(2022, 9, 1), end=dt.date(2025, 5, 31), status="completed")
    _disability(x, dt.date(2019, 6, 1))
    x = _learner(ds, "o1", "F", dt.date(2014, 1, 1), a); _disability(x, dt.date(2015, 1, 1))  # noqa: E702
    _learner(ds, "o2", "M", dt.date(2021, 6, 1), b)
    _learner(ds, "o3", "F", dt.date(2013, 1, 1), b)
    x = _learner(ds, "p1", "M", dt.date(2007, 1, 1), a)
    _enrol(x, SA, grade=10, start=dt.date(2016, 9, 1), end=dt.date(2024, 5, 31), status="completed")
    # Not counted: a merged duplicate (with a disability), archived before the reference date, born after it.
    x = _learner(ds, "dup", "F", y10, a, merged_into=ds.learners["a5"]); _enrol(x, SB, grade=5); _disability(x, dt.date(2017, 1, 1))  # noqa: E702
    x = _learner(ds, "gone", "M", y10, a, archived_at=_aware(dt.date(2025, 6, 1)), archive_reason="moved abroad")
    _enrol(x, SB, grade=5, start=dt.date(2024, 9, 1))
    _learner(ds, "baby", "F", dt.date(2026, 10, 1), a)

    # Referrals to the PMPKs of districts A and B (whole days from submission to conclusion):
    # concluded in the period: a1 20, a2 44, a3 10 (PMPK A), b1 30 (PMPK B). Not counted as concluded in it:
    # b2 (open), c1 (concluded in 2024), o1 (concluded after the reference date); a4's draft and k1's
    # early-intervention referral are not PMPK referrals submitted.
    from birge.referrals.models import Referral

    pa, pb = cast.a.orgs[OrgKind.PMPK_TERRITORIAL], cast.b.orgs[OrgKind.PMPK_TERRITORIAL]

    def referral(name, pmpk, submitted, concluded=None, kind="pmpk"):
        return Referral.objects.create(
            learner=ds.learners[name], receiving_organization=pmpk, kind=kind, state="concluded" if concluded else "submitted",
            submitted_at=submitted and timezone.make_aware(submitted), concluded_at=concluded and timezone.make_aware(concluded),
            is_synthetic=True)

    T = dt.datetime
    referral("a1", pa, T(2025, 10, 1, 10), T(2025, 10, 21, 10))
    referral("a2", pa, T(2025, 11, 1, 9), T(2025, 12, 16, 8))
    referral("a3", pa, T(2025, 12, 1, 12), T(2025, 12, 11, 13))
    referral("b1", pb, T(2026, 1, 10, 9), T(2026, 2, 9, 9))
    referral("b2", pb, T(2026, 3, 1, 9))
    referral("c1", pa, T(2024, 5, 1, 9), T(2024, 6, 1, 9))
    referral("o1", pb, T(2026, 7, 1, 9), T(2026, 9, 15, 9))
    referral("a4", pa, None)
    referral("k1", pa, T(2025, 10, 1, 9), T(2025, 10, 5, 9), kind="early-intervention")

    _conclusions_plans_services(ds, cast, pa, pb)
    _screenings(ds)

    def staff(name, role, org, fte, start=dt.date(2025, 1, 1), end=None):
        user = User.objects.create_user(username=name, password="test-pass-123")
        Membership.objects.create(user=user, role=role, organization=org, fte=fte, starts_on=start, ends_on=end)

    staff("st-speech", Role.SPEECH_THERAPIST, SA, "1.00")
    staff("st-psy", Role.PSYCHOLOGIST, SA, "0.50")
    staff("st-tutor", Role.TUTOR, SB, "1.00")
    staff("st-psy-c", Role.PSYCHOLOGIST, SC, "1.00", end=dt.date(2026, 6, 1))
    staff("st-teacher", Role.TEACHER, SA, "1.00")
    return ds


CFM_5_17 = ("seeing", "hearing", "walking", "self_care", "communication", "learning", "remembering", "concentrating",
            "accepting_change", "controlling_behaviour", "making_friends", "anxiety", "depression")
CFM_2_4 = ("seeing", "hearing", "walking", "fine_motor", "communication", "learning", "playing", "controlling_behaviour")


def _screenings(ds):
    """Functioning screenings (Child Functioning Module), the latest complete one of the period counting:

    a1 (5-17, 1 Oct 2025): difficulty seeing. a2: none on 2 Oct 2025, then on 1 Mar 2026 learning and anxiety
    (the later one counts). a3 (1 Nov 2025): indeterminate (seeing unanswered). a4 (1 Feb 2026): learning and
    remembering; its later screening was withdrawn. c1 (1 Dec 2025): none. k1 (2-4, 15 Sep 2025): walking and
    fine motor. k2 (2-4, 15 Sep 2025): none. Not counted: b1's (Oct 2024, before the period; a draft in it),
    a5's (after the reference date), o1's (not enrolled), p1's WG-SS (not a CFM).
    Enrolled and screened: a1 a2 a3 a4 c1 k1 k2 (7; with the 5-17 questionnaire: the first five); with a
    difficulty: a1 a2 a4 k1 (4); indeterminate: a3.
    """
    from birge.screening.models import Screening

    def screening(name, instrument, day, flagged=(), status="complete", unanswered=(), withdrawn=None):
        domains = {code: (None if code in unanswered else code in flagged)
                   for code in (CFM_2_4 if instrument == "cfm-2-4" else CFM_5_17)}
        if instrument == "wg-ss":
            domains = {"seeing": bool(flagged)}
        difficulty = True if flagged else (None if unanswered else False)
        complete = status != "draft"
        return Screening.objects.create(
            learner=ds.learners[name], instrument=instrument, interview_date=day, age_years=5, respondent="parent",
            status=status, completed_at=_aware(day) if complete else None, withdrawn_at=withdrawn and _aware(withdrawn),
            withdraw_reason="recorded in error" if withdrawn else "",
            domains=domains if complete else {}, functional_difficulty=difficulty if complete else None,
            domain_count=len(flagged) if complete else None, is_synthetic=True)

    D = dt.date
    screening("a1", "cfm-5-17", D(2025, 10, 1), ["seeing"])
    screening("a2", "cfm-5-17", D(2025, 10, 2))
    screening("a2", "cfm-5-17", D(2026, 3, 1), ["learning", "anxiety"])
    screening("a3", "cfm-5-17", D(2025, 11, 1), unanswered=["seeing"])
    screening("a4", "cfm-5-17", D(2026, 2, 1), ["learning", "remembering"])
    screening("a4", "cfm-5-17", D(2026, 4, 1), status="withdrawn", withdrawn=D(2026, 4, 2))
    screening("c1", "cfm-5-17", D(2025, 12, 1))
    screening("k1", "cfm-2-4", D(2025, 9, 15), ["walking", "fine_motor"])
    screening("k2", "cfm-2-4", D(2025, 9, 15))
    screening("b1", "cfm-5-17", D(2024, 10, 1), ["seeing"])
    screening("b1", "cfm-5-17", D(2026, 1, 10), status="draft")
    screening("a5", "cfm-5-17", D(2026, 9, 15), ["hearing"])
    screening("o1", "cfm-5-17", D(2025, 10, 1), ["walking"])
    screening("p1", "wg-ss", D(2025, 10, 1), ["seeing"])


def _conclusions_plans_services(ds, cast, pa, pb):
    from birge.assessments.models import CatalogueItem, Conclusion, Release
    from birge.learners.models import Consent
    from birge.plans.models import IndividualPlan, PlanService
    from birge.support.models import ServiceSession

    chair = User.objects.create_user(username="st-chair", password="test-pass-123")
    L = ds.learners

    def conclusion(name, number, issued, pmpk=pa, status="issued", valid_until=None, **extra):
        return Conclusion.objects.create(learner=L[name], pmpk=pmpk, number=number, status=status,
                                         issued_at=issued and _aware(issued), issued_by=chair if issued else None,
                                         valid_until=valid_until, **extra)

    c1 = conclusion("a1", "C1", dt.date(2025, 10, 21), valid_until=dt.date(2027, 10, 21))
    c2 = conclusion("a4", "C2", dt.date(2025, 12, 16))
    conclusion("b2", "C3", dt.date(2024, 1, 10), pmpk=pb, valid_until=dt.date(2026, 1, 1))
    conclusion("a5", "C4", dt.date(2025, 11, 1), status="withdrawn", withdrawn_at=_aware(dt.date(2026, 2, 1)))
    c5 = conclusion("c2", "C5", dt.date(2025, 3, 1), pmpk=pb, status="superseded")
    conclusion("c2", "C6", dt.date(2026, 10, 1), pmpk=pb, supersedes=c5)
    conclusion("k2", "", None, status="draft")
    c8 = conclusion("o3", "C8", dt.date(2025, 12, 1), pmpk=pb)

    def release(conc, org, day):
        consent = Consent.objects.create(learner=conc.learner, purpose="release-conclusion", recipient=org,
                                         given_by_learner=True, method="paper", given_at=_aware(day))
        return Release.objects.create(conclusion=conc, organization=org, consent=consent, released_at=_aware(day))

    SA, SB = ds.orgs["SA"], ds.orgs["SB"]
    release(c1, SA, dt.date(2025, 10, 25))
    release(c2, SA, dt.date(2025, 12, 20))
    release(c8, SB, dt.date(2026, 8, 15))  # its 30 days run past the reference date: not yet due

    def plan(name, org, state, activated=None, closed=None, conc=None):
        learner = L[name]
        return IndividualPlan.objects.create(
            learner=learner, organization=org, enrolment=learner.enrolments.filter(organization=org).first(),
            conclusion=conc, own_basis="" if conc else "school's own assessment", state=state,
            effective_from=activated, review_on=dt.date(2026, 6, 1), activated_at=activated and _aware(activated),
            closed_at=closed and _aware(closed))

    p1 = plan("a1", SA, "active", dt.date(2025, 11, 10), conc=c1)
    p2 = plan("a2", SA, "active", dt.date(2026, 1, 15))
    p3 = plan("a3", SA, "closed", dt.date(2025, 9, 15), closed=dt.date(2026, 3, 1))
    p4 = plan("a4", SA, "active", dt.date(2026, 3, 1), conc=c2)
    p5 = plan("b1", SB, "draft")
    item = CatalogueItem.objects.filter(kind="service").first()

    def service(p, minutes, start, end=None):
        return PlanService.objects.create(plan=p, catalogue=item, minutes_per_week=minutes, starts_on=start, ends_on=end)

    # Planned in the window (whole weeks, rounded down): 60 × 203 days / 7 = 1740; 90 × 60 / 7 = 771;
    # 30 × 168 / 7 = 720 (a3's plan closed on 1 Mar 2026); 45 × 92 / 7 = 591; b1's draft plan: none.
    s1 = service(p1, 60, dt.date(2025, 11, 10))
    s2 = service(p2, 90, dt.date(2026, 1, 15), dt.date(2026, 3, 15))
    service(p3, 30, dt.date(2025, 9, 15))
    s4 = service(p4, 45, dt.date(2026, 3, 1))
    service(p5, 30, dt.date(2026, 1, 1))
    provider = User.objects.get(username="st-chair")

    def session(s, day, minutes, attendance="attended", withdrawn=None):
        ServiceSession.objects.create(plan_service=s, learner=s.plan.learner, organization=s.plan.organization,
                                      provider=provider, held_on=day, minutes=minutes, attendance=attendance,
                                      missed_reason="learner-ill" if attendance == "missed" else "",
                                      withdrawn_at=withdrawn and _aware(withdrawn))

    # Delivered: 180 (a1) + 180 (a2) + 45 (a4) = 405.
    for day in (dt.date(2025, 11, 17), dt.date(2025, 11, 24), dt.date(2026, 4, 6)):
        session(s1, day, 60)
    session(s1, dt.date(2025, 12, 1), 60, attendance="missed")
    session(s1, dt.date(2026, 6, 10), 60)  # after the window
    session(s1, dt.date(2026, 1, 12), 60, withdrawn=dt.date(2026, 1, 13))
    session(s2, dt.date(2026, 1, 20), 90)
    session(s2, dt.date(2026, 2, 3), 90)
    session(s4, dt.date(2026, 3, 5), 45)
