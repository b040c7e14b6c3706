"""Continuity: with the family's handover consent the receiving organization gets the summary and the
plan continues there; without it, it gets nothing."""


import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from birge.core.roles import Role
from birge.learners.models import Consent
from birge.plans.models import IndividualPlan, PlanState
from birge.plans.tests.conftest import active_plan, enrol
from birge.support import services
from birge.support.models import Handover

pytestmark = pytest.mark.django_db


def move(world):
    """The child leaves school A for school B (district B)."""
    today = timezone.localdate()
    world.enrolment.status, world.enrolment.ends_on = "transferred", today
    world.enrolment.save()
    return enrol(world.learner, world.school_b, starts_on=today)


def consent_to(world, organization):
    return Consent.objects.create(learner=world.learner, purpose=Consent.Purpose.HANDOVER, recipient=organization,
                                  given_by=world.guardian, method=Consent.Method.PAPER)


def test_without_consent_the_receiving_organization_gets_nothing(world, client):
    plan = active_plan(world)
    move(world)
    coordinator_b = world.user("b", Role.SCHOOL_COORDINATOR)
    for actor in (world.coordinator, coordinator_b):
        with pytest.raises(ValidationError) as exc:
            services.hand_over(actor, world.learner, to_organization=world.school_b, from_organization=world.school)
        assert "consent" in exc.value.message_dict
    assert not Handover.objects.exists()
    assert IndividualPlan.objects.count() == 1
    plan.refresh_from_db()
    assert plan.state == PlanState.ACTIVE
    assert not IndividualPlan.objects.visible_to(coordinator_b).exists()
    assert not Handover.objects.visible_to(coordinator_b).exists()
    client.force_login(coordinator_b)
    assert client.get(reverse("plans:detail", args=[plan.pk])).status_code == 404
    # A consent to another organization, or a withdrawn one, is no consent to this one.
    consent_to(world, world.school)
    withdrawn = consent_to(world, world.school_b)
    withdrawn.withdrawn_at = timezone.now()
    withdrawn.save()
    with pytest.raises(ValidationError):
        services.hand_over(coordinator_b, world.learner, to_organization=world.school_b)
    assert not Handover.objects.exists()


def test_with_consent_the_summary_arrives_and_the_plan_continues(world, client):
    plan = active_plan(world)
    old_rows = list(IndividualPlan.objects.filter(pk=plan.pk).values())
    move(world)
    consent = consent_to(world, world.school_b)
    coordinator_b = world.user("b", Role.SCHOOL_COORDINATOR)
    handover = services.hand_over(coordinator_b, world.learner, to_organization=world.school_b)
    assert handover.consent == consent and handover.from_organization == world.school and handover.from_plan == plan
    summary = handover.summary
    assert summary["conclusion"]["number"] == world.conclusion.number
    assert {r["code"] for r in summary["conclusion"]["recommendations"]} >= {"speech-therapy", "seating", "hearing-aid"}
    assert [d["code"] for d in summary["devices"]] == ["hearing-aid"]
    assert summary["plan"]["goals"][0]["description"].startswith("Asks for help")
    assert summary["services"][0]["code"] == "speech-therapy" and summary["services"][0]["minutes_per_week"] == 60
    assert {a["code"] for a in summary["accommodations"]} == {"seating", "breaks", "exam-extra-time"}
    new = handover.to_plan
    assert new.organization == world.school_b and new.previous == plan and new.series == plan.series
    assert new.version == 2 and new.state == PlanState.ACTIVE and new.agreement == plan.agreement
    assert new.goals.count() == 1 and new.accommodations.count() == 3
    service = new.services.get()
    assert service.provider_user is None and service.minutes_per_week == 60  # school B assigns its own specialist
    plan.refresh_from_db()
    assert plan.state == PlanState.SUPERSEDED
    after = list(IndividualPlan.objects.filter(pk=plan.pk).values())
    assert {k: v for k, v in after[0].items() if k != "state"} == {k: v for k, v in old_rows[0].items() if k != "state"}
    # School B sees the summary and its own version, not school A's records.
    assert Handover.objects.visible_to(coordinator_b).filter(pk=handover.pk).exists()
    assert set(IndividualPlan.objects.visible_to(coordinator_b).values_list("pk", flat=True)) == {new.pk}
    client.force_login(coordinator_b)
    page = client.get(reverse("support:handover", args=[handover.pk])).content.decode()
    assert "Handover summary" in page and world.conclusion.number in page and "Continued here as a new version" in page
    assert client.get(reverse("plans:detail", args=[new.pk])).status_code == 200
    assert client.get(reverse("plans:detail", args=[plan.pk])).status_code == 404
    # School A keeps its history and sees the handover it made.
    assert IndividualPlan.objects.visible_to(world.coordinator).filter(pk=plan.pk).exists()
    assert Handover.objects.visible_to(world.coordinator).filter(pk=handover.pk).exists()
    # Done once.
    with pytest.raises(ValidationError):
        services.hand_over(coordinator_b, world.learner, to_organization=world.school_b)


def test_handover_needs_an_enrolment_and_a_coordinator(world):
    active_plan(world)
    consent_to(world, world.school_b)
    with pytest.raises(ValidationError) as exc:
        services.hand_over(world.coordinator, world.learner, to_organization=world.school_b, from_organization=world.school)
    assert "to_organization" in exc.value.message_dict
    move(world)
    with pytest.raises(PermissionDenied):
        services.hand_over(world.teacher, world.learner, to_organization=world.school_b, from_organization=world.school)
    handover = services.hand_over(world.coordinator, world.learner, to_organization=world.school_b,
                                  from_organization=world.school)
    assert handover.to_plan.organization == world.school_b


def test_handover_api(world):
    active_plan(world)
    move(world)
    client = APIClient()
    client.force_authenticate(world.user("b", Role.SCHOOL_COORDINATOR))
    r = client.post("/api/v1/handovers/", {"learner": world.learner.pk, "to_organization": world.school_b.code}, format="json")
    assert r.status_code == 400 and "consent" in r.json()
    consent_to(world, world.school_b)
    r = client.post("/api/v1/handovers/", {"learner": world.learner.pk, "to_organization": world.school_b.code}, format="json")
    assert r.status_code == 201, r.json()
    assert r.json()["summary"]["plan"]["version"] == 1 and r.json()["to_plan"]
    assert client.get("/api/v1/handovers/").json()["count"] == 1
    other = APIClient()
    other.force_authenticate(world.user("a", Role.TEACHER))
    assert other.get("/api/v1/handovers/").json()["count"] == 1  # the sending school's staff
    stranger = APIClient()
    stranger.force_authenticate(world.cast.outsider)
    assert stranger.get("/api/v1/handovers/").json()["count"] == 0
