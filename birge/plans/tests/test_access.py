"""Who sees a plan: the organization's staff with the right role, assigned specialists and tutors,
the family, officers of the territory; everyone else gets a 404."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from birge.core.roles import Role
from birge.plans import services
from birge.plans.models import GoalProgress, IndividualPlan, PlanGoal, PlanReview, PlanService

from .conftest import active_plan, draft, enrol

pytestmark = pytest.mark.django_db

READERS = {
    ("a", Role.SCHOOL_COORDINATOR): True,
    ("a", Role.TEACHER): True,
    ("a", Role.SPEECH_THERAPIST): True,  # the provider: assigned through the plan
    ("a", Role.PSYCHOLOGIST): False,  # a specialist of the school, not assigned to this child
    ("a", Role.TUTOR): False,
    ("a", Role.PARENT): True,
    ("a", Role.DISTRICT_OFFICER): True,
    ("a", Role.REGIONAL_OFFICER): True,  # the Chüy regional department reaches district A
    ("a", Role.PMPK_CHAIR): False,  # the learner is not linked to the PMPK without a referral
    ("a", Role.HEALTH_WORKER): False,
    ("a", Role.SOCIAL_PROTECTION_OFFICER): False,
    ("a", Role.MINISTRY_ANALYST): False,
    ("a", Role.SYSTEM_ADMIN): False,
    ("b", Role.SCHOOL_COORDINATOR): False,  # another school
    ("b", Role.TEACHER): False,
    ("b", Role.SPEECH_THERAPIST): False,
    ("b", Role.PARENT): False,
    ("b", Role.DISTRICT_OFFICER): False,  # another district
    ("b", Role.REGIONAL_OFFICER): False,  # Naryn region
}


@pytest.mark.parametrize(("side", "role"), list(READERS))
def test_plan_visibility_matrix(world, client, side, role):
    plan = active_plan(world)
    user = world.user(side, role)
    expected = READERS[(side, role)]
    for model, flt in ((IndividualPlan, {"pk": plan.pk}), (PlanGoal, {"plan": plan}), (PlanService, {"plan": plan})):
        assert model.objects.visible_to(user).filter(**flt).exists() is expected, model
    client.force_login(user)
    assert client.get(reverse("plans:detail", args=[plan.pk])).status_code == (200 if expected else 404)
    assert client.get(reverse("plans:document", args=[plan.pk])).status_code == (200 if expected else 404)


def test_outsider_sees_nothing(world, client):
    plan = active_plan(world)
    assert not IndividualPlan.objects.visible_to(world.cast.outsider).exists()
    client.force_login(world.cast.outsider)
    assert client.get(reverse("plans:detail", args=[plan.pk])).status_code == 404
    assert client.get(reverse("plans:list")).status_code == 404


def test_anonymous_is_sent_to_login(world, client):
    plan = draft(world)
    response = client.get(reverse("plans:detail", args=[plan.pk]))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_write_reach(world):
    plan = draft(world)
    assert IndividualPlan.objects.visible_to(world.coordinator, "write").filter(pk=plan.pk).exists()
    assert not IndividualPlan.objects.visible_to(world.teacher, "write").filter(pk=plan.pk).exists()
    assert not IndividualPlan.objects.visible_to(world.user("b", Role.SCHOOL_COORDINATOR), "write").exists()


def test_plan_does_not_follow_the_child_to_another_school_without_handover(world):
    plan = active_plan(world)
    world.enrolment.status, world.enrolment.ends_on = "transferred", plan.effective_from
    world.enrolment.save()
    enrol(world.learner, world.school_b, starts_on=plan.effective_from)  # the child moved, the family gave no consent
    coordinator_b = world.user("b", Role.SCHOOL_COORDINATOR)
    assert not IndividualPlan.objects.visible_to(coordinator_b).exists()


def test_write_pages_answer_404_to_readers(world, client):
    plan = draft(world)
    client.force_login(world.teacher)
    assert client.get(reverse("plans:detail", args=[plan.pk])).status_code == 200
    response = client.post(reverse("plans:goal-add", args=[plan.pk]), {
        "lock_version": plan.lock_version, "area": "academic", "description": "x", "baseline": "x", "target": "x",
        "measure": "x", "criteria": "x", "review_on": plan.review_on.isoformat()})
    assert response.status_code == 404
    assert plan.goals.count() == 0


def test_family_sees_review_results(world):
    plan = active_plan(world)
    goal = plan.goals.get()
    services.record_review(world.coordinator, plan, lock_version=plan.lock_version, held_on=timezone.localdate(),
                           decision="continue", progress=[{"goal": goal, "rating": "some"}],
                           next_review_on=timezone.localdate() + dt.timedelta(days=30))
    assert PlanReview.objects.visible_to(world.parent).count() == 1
    assert GoalProgress.objects.visible_to(world.parent).count() == 1
    assert PlanReview.objects.visible_to(world.user("b", Role.PARENT)).count() == 0


def test_action_pages_are_404_for_those_who_cannot_act(world, client):
    plan = active_plan(world)
    actions = ["plans:amend", "plans:close", "plans:review", "plans:review-start", "plans:edit", "plans:service-add"]
    for user in (world.teacher, world.parent, world.user("a", Role.DISTRICT_OFFICER)):
        client.force_login(user)
        assert client.get(reverse("plans:detail", args=[plan.pk])).status_code == 200
        for name in actions:
            assert client.get(reverse(name, args=[plan.pk])).status_code == 404, (user, name)
    client.force_login(world.speech)  # the assigned provider reviews, but does not amend or close
    assert client.get(reverse("plans:review", args=[plan.pk])).status_code == 200
    assert client.get(reverse("plans:amend", args=[plan.pk])).status_code == 404
    client.force_login(world.coordinator)
    for name in actions:
        assert client.get(reverse(name, args=[plan.pk])).status_code == 200, name
