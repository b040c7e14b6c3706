"""The demo generator: valid, deterministic synthetic learners with the featured family and caseloads."""

import random

import pytest

from birge.core.demo import DemoContext, Scale, generate as core_generate
from birge.core.models import User
from birge.core.pin import parse_pin, pin_mismatches
from birge.learners import demo
from birge.learners.models import (
    Assignment, Consent, DisabilityStatus, Enrolment, FormOfEducation, Guardian, GuardianLink, Learner, Level,
)


@pytest.fixture
def generated(reference, settings):
    ctx = DemoContext(scale=Scale("tiny", "demo", 3, 2, 1200), seed=7, rng=random.Random(7), progress=lambda m: None)
    core_generate(ctx)
    demo.generate(ctx)
    return ctx


def test_rows_are_valid(generated):
    assert Learner.objects.count() == 1202
    for model in (Learner, Enrolment, DisabilityStatus, Consent, GuardianLink, Guardian):
        for obj in model.objects.all()[:1500]:
            obj.full_clean()
    for learner in Learner.objects.exclude(pin=""):
        assert pin_mismatches(parse_pin(learner.pin), learner.birth_date, learner.sex) == []


def test_every_form_and_level_occurs(generated):
    forms = set(Enrolment.objects.values_list("form", flat=True))
    assert forms == set(FormOfEducation)
    levels = set(Enrolment.objects.values_list("level", flat=True))
    assert {Level.KINDERGARTEN, Level.PRESCHOOL_PREPARATION, Level.SCHOOL} <= levels
    assert 0.005 < DisabilityStatus.objects.count() / Learner.objects.count() < 0.05


def test_search_keys_are_filled(generated):
    assert not Learner.objects.filter(search_key="").exists()
    assert not Guardian.objects.filter(search_key="").exists()


def test_demo_parent_and_caseloads(generated):
    parent = User.objects.get(username="demo-parent")
    coordinator = User.objects.get(username="demo-school-coordinator")
    school = coordinator.memberships.get().organization
    children = Learner.objects.visible_to(parent)
    assert children.count() == 2
    assert all(c.enrolments.filter(organization=school, status="active").exists() for c in children)
    assert Guardian.objects.get(user=parent).links.count() == 2
    for username in ("demo-speech-therapist", "demo-psychologist", "demo-tutor"):
        user = User.objects.get(username=username)
        seen = Learner.objects.visible_to(user)
        assert 1 <= seen.count() <= 5
        assert set(Assignment.objects.filter(user=user).values_list("organization", flat=True)) == {school.pk}
    assert Learner.objects.visible_to(coordinator).count() > 10


def test_rerun_keeps_the_data(generated):
    demo.generate(generated)
    assert Learner.objects.count() == 1202
