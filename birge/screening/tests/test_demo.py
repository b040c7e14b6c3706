"""The demo: screenings for some demo learners, by age, scored by the engine; demo-parent's children;
deterministic from the seed; a second run keeps what exists."""

import random

from birge.core.demo import DemoContext, Scale
from birge.core.demo import generate as core_generate
from birge.core.models import User
from birge.learners.demo import generate as learners_generate
from birge.learners.models import Learner
from birge.screening import engine
from birge.screening.demo import generate
from birge.screening.models import Screening, Status


def _context(seed=7):
    return DemoContext(scale=Scale("test", "demo", 2, 1, 600), seed=seed, rng=random.Random(seed), progress=lambda m: None)


def test_demo(db):
    ctx = _context()
    core_generate(ctx)
    learners_generate(ctx)
    generate(ctx)
    screenings = list(Screening.objects.select_related("learner"))
    assert len(screenings) >= 20
    assert {s.instrument for s in screenings} >= {"cfm-2-4", "cfm-5-17"}
    assert {s.status for s in screenings} >= {Status.COMPLETE, Status.DRAFT}
    assert any(s.functional_difficulty for s in screenings) and any(s.functional_difficulty is False for s in screenings)
    for s in screenings:
        assert s.is_synthetic
        instrument = engine.load_instrument(s.instrument)
        assert engine.completed_years(s.learner.birth_date, s.interview_date) == s.age_years
        assert engine.instrument_for_age(s.age_years) == instrument
        assert s.answers == engine.clean_answers(instrument, s.answers)  # skipped branches never stored
        assert not engine.answer_problems(instrument, s.answers)
        if s.status != Status.DRAFT:
            result = engine.score(instrument, s.answers)
            assert (s.domains, s.functional_difficulty, s.domain_count) == (
                result.domains, result.functional_difficulty, result.domain_count)
            assert not engine.answer_problems(instrument, s.answers, require_complete=True)
    parent = User.objects.get(username="demo-parent")
    children = Learner.objects.visible_to(parent)
    own = Screening.objects.visible_to(parent).filter(status=Status.COMPLETE)
    assert {s.learner_id for s in own} == set(children.values_list("pk", flat=True))
    assert sorted(s.functional_difficulty for s in own) == [False, True]
    coordinator = User.objects.get(username="demo-school-coordinator")
    assert Screening.objects.visible_to(coordinator).count() >= 3
    before = Screening.objects.count()
    generate(ctx)  # a second run keeps what exists
    assert Screening.objects.count() == before


def test_demo_is_deterministic(db):
    def run():
        ctx = _context(seed=11)
        core_generate(ctx)
        learners_generate(ctx)
        generate(ctx)
        return sorted((s.learner.pin, s.interview_date, s.instrument, s.status, tuple(sorted(s.answers.items())))
                      for s in Screening.objects.select_related("learner"))

    first = run()
    Screening.objects.all().delete()  # a test may; the application never deletes a screening
    ctx = _context(seed=11)
    core_generate(ctx)  # keeps the existing organizations and people (fills ctx.users)
    generate(ctx)
    second = sorted((s.learner.pin, s.interview_date, s.instrument, s.status, tuple(sorted(s.answers.items())))
                    for s in Screening.objects.select_related("learner"))
    assert first == second
