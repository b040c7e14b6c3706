"""The rules of individual education plans, through the services."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.forms.models import model_to_dict
from django.utils import timezone

from birge.core.deadline_models import Clock, Deadline
from birge.core.models import AuditEvent
from birge.learners.models import Assignment, Consent
from birge.plans import services
from birge.plans.models import (
    GoalProgress, IndividualPlan, PlanAccommodation, PlanGoal, PlanMember, PlanReview, PlanService, PlanState,
)

from .conftest import GOAL, active_plan, draft, make_conclusion, ready_draft, release_to

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate


def errors_of(exc_info) -> dict:
    return exc_info.value.message_dict


# --- creating -----------------------------------------------------------------------------------------


def test_plan_from_binding_conclusion_is_prefilled(world):
    plan = draft(world)
    assert plan.state == PlanState.DRAFT and plan.version == 1 and plan.conclusion == world.conclusion
    assert plan.enrolment == world.enrolment and plan.programme == "adapted"
    codes = set(plan.accommodations.values_list("catalogue__code", flat=True))
    assert codes == {"seating", "breaks", "exam-extra-time"}  # conditions and test accommodations
    service = plan.services.get()
    assert service.catalogue.code == "speech-therapy" and service.minutes_per_week == 60 and service.from_conclusion
    assert not service.has_provider
    assert plan.members.filter(role="coordinator", user=world.coordinator).exists()
    assert plan.members.filter(role="family", guardian=world.guardian).exists()
    assert AuditEvent.objects.filter(event="plan.created", object_id=str(plan.pk)).exists()


def test_no_plan_without_binding_conclusion_unless_own_basis(world):
    other = make_conclusion(world.learner, world.cast.a.orgs["pmpk-territorial"], world.cast.a.users["pmpk-chair"],
                            number="T-PMPK-2")
    world.release.revoked_at = timezone.now()
    world.release.save()
    assert other.releases.count() == 0  # issued but never released to the school
    with pytest.raises(ValidationError) as exc:
        draft(world)
    assert "own_basis" in errors_of(exc)
    assert not IndividualPlan.objects.exists()
    plan = draft(world, own_basis="Teachers' observations and the family's request while the PMPK assessment is pending")
    assert plan.conclusion is None and plan.services.count() == 0


def test_withdrawn_release_consent_leaves_no_binding_conclusion(world):
    world.consent.withdrawn_at = timezone.now()
    world.consent.save()
    with pytest.raises(ValidationError) as exc:
        draft(world)
    assert "own_basis" in errors_of(exc)


def test_plan_needs_an_active_enrolment_at_the_organization(world):
    world.enrolment.status = "transferred"
    world.enrolment.ends_on = TODAY()
    world.enrolment.save()
    with pytest.raises(ValidationError) as exc:
        draft(world)
    assert "learner" in errors_of(exc)


def test_only_the_coordinator_creates(world):
    with pytest.raises(PermissionDenied):
        services.create_plan(world.teacher, world.learner)
    with pytest.raises(PermissionDenied):
        services.create_plan(world.user("b", "school-coordinator"), world.learner)


def test_second_plan_refused(world):
    draft(world)
    with pytest.raises(ValidationError) as exc:
        draft(world)
    assert "already has a plan" in str(errors_of(exc)["learner"])
    assert IndividualPlan.objects.count() == 1


def test_second_plan_in_force_refused_by_service_and_database(world):
    plan = active_plan(world)
    services.close(world.coordinator, plan, lock_version=plan.lock_version, reason="test")  # the first plan ends
    second = active_plan(world)
    assert second.state == PlanState.ACTIVE
    # A third, prepared while the second is in force, cannot be created nor put into force.
    with pytest.raises(ValidationError):
        draft(world)
    sneaked = IndividualPlan.objects.create(learner=world.learner, organization=world.school, enrolment=world.enrolment,
                                            own_basis="x", state=PlanState.AGREED, review_on=TODAY() + dt.timedelta(days=30))
    with pytest.raises(ValidationError) as exc:
        services.activate(world.coordinator, sneaked, lock_version=sneaked.lock_version)
    assert "already has a plan in force" in str(errors_of(exc)["state"])
    sneaked.refresh_from_db()
    assert sneaked.state == PlanState.AGREED
    with pytest.raises(IntegrityError), transaction.atomic():
        IndividualPlan.objects.filter(pk=sneaked.pk).update(state=PlanState.ACTIVE)


# --- editing and the workflow ------------------------------------------------------------------------------


def test_provider_gets_an_assignment_and_joins_the_team(world):
    assert not IndividualPlan.objects.visible_to(world.speech).exists()
    plan = ready_draft(world)
    assignment = Assignment.objects.get(learner=world.learner, user=world.speech)
    assert assignment.organization == world.school and assignment.kind == "specialist"
    assert plan.members.filter(user=world.speech, role="specialist").exists()
    assert IndividualPlan.objects.visible_to(world.speech).filter(pk=plan.pk).exists()
    services.update_plan(world.coordinator, plan, lock_version=plan.lock_version, tutor=world.tutor)
    assert Assignment.objects.filter(learner=world.learner, user=world.tutor, kind="tutor").exists()


def test_provider_must_work_at_the_organization(world):
    plan = draft(world)
    service = plan.services.get()
    with pytest.raises(ValidationError) as exc:
        services.update_service(world.coordinator, service, lock_version=plan.lock_version,
                                provider_user=world.user("b", "speech-therapist"))
    assert "provider_user" in errors_of(exc)
    with pytest.raises(ValidationError) as exc:
        services.update_service(world.coordinator, service, lock_version=plan.lock_version, provider_user=world.speech,
                                provider_organization=world.school_b)
    assert "provider_organization" in errors_of(exc)
    service.refresh_from_db()
    assert service.provider_user is None and not Assignment.objects.filter(learner=world.learner).exists()


def test_propose_needs_goals_and_complete_services(world):
    plan = draft(world)
    with pytest.raises(ValidationError) as exc:
        services.propose(world.coordinator, plan, lock_version=plan.lock_version)
    errors = errors_of(exc)
    assert "goals" in errors and "services" in errors
    plan.refresh_from_db()
    assert plan.state == PlanState.DRAFT and plan.lock_version == 0


def test_full_workflow_with_clocks(world):
    release_clock = Deadline.objects.get(clock=Clock.RELEASE_TO_PLAN, learner_id=world.learner.pk)
    plan = ready_draft(world)
    services.propose(world.coordinator, plan, lock_version=plan.lock_version)
    assert plan.state == PlanState.PROPOSED and plan.proposed_at
    services.agree(world.parent, plan, lock_version=plan.lock_version, method="in-system")
    assert plan.state == PlanState.AGREED and plan.agreed_by == world.guardian and plan.agreement == "in-system"
    release_clock.refresh_from_db()
    assert release_clock.met_at is not None  # agreeing stops the release-to-plan clock
    services.activate(world.coordinator, plan, lock_version=plan.lock_version)
    plan.refresh_from_db()
    assert plan.state == PlanState.ACTIVE and plan.effective_from == TODAY()
    review = Deadline.objects.for_object(plan).open().get(clock=Clock.PLAN_REVIEW)
    assert review.due_on == plan.review_on and review.owner_organization == world.school
    service = plan.services.get()
    start = Deadline.objects.for_object(service).open().get(clock=Clock.SERVICE_START)
    assert start.owner_user == world.speech
    events = set(AuditEvent.objects.filter(object_type="plans.individualplan", object_id=str(plan.pk))
                 .values_list("event", flat=True))
    assert {"plan.created", "plan.proposed", "plan.agreed", "plan.activated"} <= events


def test_agreement_rules(world):
    plan = ready_draft(world)
    services.propose(world.coordinator, plan, lock_version=plan.lock_version)
    with pytest.raises(PermissionDenied):  # the coordinator cannot agree for the parent in the system
        services.agree(world.coordinator, plan, lock_version=plan.lock_version, method="in-system")
    with pytest.raises(PermissionDenied):  # the parent does not record paper agreements
        services.agree(world.parent, plan, lock_version=plan.lock_version, method="paper", guardian=world.guardian)
    with pytest.raises(ValidationError) as exc:
        services.agree(world.coordinator, plan, lock_version=plan.lock_version, method="paper")
    assert "guardian" in errors_of(exc)
    with pytest.raises(ValidationError) as exc:
        services.agree(world.coordinator, plan, lock_version=plan.lock_version, method="not-obtained")
    assert "note" in errors_of(exc)
    with pytest.raises(ValidationError) as exc:
        services.agree(world.coordinator, plan, lock_version=plan.lock_version, method="paper", guardian=world.guardian,
                       agreed_on=TODAY() + dt.timedelta(days=2))
    assert "agreed_on" in errors_of(exc)
    plan.refresh_from_db()
    assert plan.state == PlanState.PROPOSED and not plan.agreement
    services.agree(world.coordinator, plan, lock_version=plan.lock_version, method="not-obtained",
                   note="The family did not answer three invitations; services start in the child's interest")
    assert plan.state == PlanState.AGREED and plan.agreement == "not-obtained" and plan.agreed_by is None


def test_parent_can_ask_for_changes(world):
    plan = ready_draft(world)
    services.propose(world.coordinator, plan, lock_version=plan.lock_version)
    with pytest.raises(ValidationError):
        services.return_to_draft(world.parent, plan, lock_version=plan.lock_version, reason=" ")
    services.return_to_draft(world.parent, plan, lock_version=plan.lock_version, reason="Please add a goal on reading")
    assert plan.state == PlanState.DRAFT


def test_only_drafts_change(world):
    plan = active_plan(world)
    with pytest.raises(ValidationError) as exc:
        services.add_goal(world.coordinator, plan, lock_version=plan.lock_version, **GOAL)
    assert "amendment" in str(errors_of(exc)["state"])
    assert plan.goals.count() == 1


def test_teacher_reads_but_does_not_edit(world):
    plan = draft(world)
    assert IndividualPlan.objects.visible_to(world.teacher).filter(pk=plan.pk).exists()
    with pytest.raises(PermissionDenied):
        services.add_goal(world.teacher, plan, lock_version=plan.lock_version, **GOAL)
    with pytest.raises(PermissionDenied):
        services.add_goal(world.parent, plan, lock_version=plan.lock_version, **GOAL)


def test_assigned_specialist_edits_goals_but_not_services(world):
    plan = ready_draft(world)
    services.add_goal(world.speech, plan, lock_version=plan.lock_version, **{**GOAL, "area": "academic"})
    with pytest.raises(PermissionDenied):
        services.add_service(world.speech, plan, lock_version=plan.lock_version, catalogue=plan.services.get().catalogue)


def test_bad_goal_input_gives_field_errors_and_saves_nothing(world):
    plan = draft(world)
    with pytest.raises(ValidationError) as exc:
        services.add_goal(world.coordinator, plan, lock_version=plan.lock_version, area="flying", description="",
                          baseline="", target="x", measure="x", criteria="x")
    errors = errors_of(exc)
    assert {"area", "description", "baseline"} <= set(errors)
    plan.refresh_from_db()
    assert plan.goals.count() == 0 and plan.lock_version == 0


# --- concurrency ------------------------------------------------------------------------------------------


def test_concurrent_edit_second_save_refused(world):
    plan = draft(world)
    seen_by_first = seen_by_second = plan.lock_version
    services.add_goal(world.coordinator, IndividualPlan.objects.get(pk=plan.pk), lock_version=seen_by_first, **GOAL)
    with pytest.raises(ValidationError) as exc:
        services.update_plan(world.coordinator, IndividualPlan.objects.get(pk=plan.pk), lock_version=seen_by_second,
                             timetable_notes="Speech therapy on Tuesdays")
    assert "Someone else changed this plan" in errors_of(exc)["lock_version"][0]
    plan.refresh_from_db()
    assert plan.timetable_notes == "" and plan.lock_version == seen_by_first + 1
    with pytest.raises(ValidationError):
        services.propose(world.coordinator, plan, lock_version=seen_by_second)


def test_missing_lock_version_refused(world):
    plan = draft(world)
    with pytest.raises(ValidationError) as exc:
        services.update_plan(world.coordinator, plan, lock_version=None, timetable_notes="x")
    assert "lock_version" in errors_of(exc)


# --- amendments --------------------------------------------------------------------------------------------


def rows_of(plan):
    """Every stored column of a version and of its parts, for byte-for-byte comparison."""
    def dump(qs):
        return [repr(sorted(row.items())) for row in qs.order_by("pk").values()]

    return {
        "plan": dump(IndividualPlan.objects.filter(pk=plan.pk)),
        "goals": dump(PlanGoal.objects.filter(plan=plan)),
        "accommodations": dump(PlanAccommodation.objects.filter(plan=plan)),
        "services": dump(PlanService.objects.filter(plan=plan)),
        "members": dump(PlanMember.objects.filter(plan=plan)),
        "reviews": dump(PlanReview.objects.filter(plan=plan)),
        "progress": dump(GoalProgress.objects.filter(review__plan=plan)),
    }


def test_amendment_dated_before_the_current_version_refused(world):
    plan = active_plan(world)
    with pytest.raises(ValidationError) as exc:
        services.amend(world.coordinator, plan, lock_version=plan.lock_version,
                       effective_from=plan.effective_from - dt.timedelta(days=1), reason="More speech therapy")
    assert "effective_from" in errors_of(exc)
    assert IndividualPlan.objects.count() == 1


def test_amendment_is_a_new_version_and_the_old_rows_stay_exactly(world):
    plan = active_plan(world, effective_from=TODAY() - dt.timedelta(days=10))
    services.start_review(world.coordinator, plan, lock_version=plan.lock_version)
    goal = plan.goals.get()
    services.record_review(world.coordinator, plan, lock_version=plan.lock_version, held_on=TODAY(), decision="continue",
                           progress=[{"goal": goal, "rating": "some", "comment": "Uses two-word phrases"}],
                           next_review_on=TODAY() + dt.timedelta(days=60))
    plan.refresh_from_db()
    before = rows_of(plan)
    new = services.amend(world.coordinator, plan, lock_version=plan.lock_version, effective_from=TODAY(),
                         reason="More speech therapy after the review")
    assert rows_of(plan) == before  # starting an amendment touches nothing of the version in force
    assert new.version == 2 and new.previous == plan and new.series == plan.series and new.state == PlanState.DRAFT
    assert new.goals.get().origin == goal and new.services.get().origin == plan.services.get()
    # A second amendment in preparation is refused.
    with pytest.raises(ValidationError):
        services.amend(world.coordinator, plan, lock_version=plan.lock_version, effective_from=TODAY(), reason="again")
    new_service = new.services.get()
    services.update_service(world.coordinator, new_service, lock_version=new.lock_version, minutes_per_week=90)
    services.update_goal(world.coordinator, new.goals.get(), lock_version=new.lock_version, target="Five-word sentences")
    services.propose(world.coordinator, new, lock_version=new.lock_version)
    services.agree(world.parent, new, lock_version=new.lock_version, method="in-system")
    services.activate(world.coordinator, new, lock_version=new.lock_version)
    plan.refresh_from_db()
    assert plan.state == PlanState.SUPERSEDED and new.state == PlanState.ACTIVE
    after = rows_of(plan)
    # Only the lifecycle state of the old version moved; every other column and every part is byte for byte the same.
    assert after["plan"] != before["plan"]
    assert after["plan"][0].replace("'superseded'", "'active'") == before["plan"][0]
    for part in ("goals", "accommodations", "services", "members", "reviews", "progress"):
        assert after[part] == before[part], part
    assert plan.services.get().minutes_per_week == 60 and new.services.get().minutes_per_week == 90
    assert IndividualPlan.objects.filter(learner=world.learner, state__in=["active", "under-review"]).count() == 1
    assert not Deadline.objects.for_object(plan).open().exists()  # the old version's clocks were cancelled
    assert Deadline.objects.for_object(new).open().filter(clock=Clock.PLAN_REVIEW).exists()


def test_amendment_activation_waits_for_its_date(world):
    plan = active_plan(world)
    new = services.amend(world.coordinator, plan, lock_version=plan.lock_version,
                         effective_from=TODAY() + dt.timedelta(days=5), reason="From next week")
    services.propose(world.coordinator, new, lock_version=new.lock_version)
    services.agree(world.parent, new, lock_version=new.lock_version, method="in-system")
    with pytest.raises(ValidationError) as exc:
        services.activate(world.coordinator, new, lock_version=new.lock_version)
    assert "effective_from" in errors_of(exc)
    plan.refresh_from_db()
    assert plan.state == PlanState.ACTIVE


# --- reviews ------------------------------------------------------------------------------------------


def test_review_records_progress_on_every_goal(world):
    plan = active_plan(world)
    goal = plan.goals.get()
    with pytest.raises(ValidationError) as exc:
        services.record_review(world.coordinator, plan, lock_version=plan.lock_version, held_on=TODAY(), decision="continue",
                               progress=[], next_review_on=TODAY() + dt.timedelta(days=90))
    assert "progress" in errors_of(exc)
    with pytest.raises(ValidationError) as exc:
        services.record_review(world.coordinator, plan, lock_version=plan.lock_version, held_on=TODAY(), decision="close",
                               progress=[{"goal": goal, "rating": "achieved"}])
    assert "summary" in errors_of(exc)
    assert not PlanReview.objects.exists()
    review = services.record_review(world.speech, plan, lock_version=plan.lock_version, held_on=TODAY(), decision="continue",
                                    progress=[{"goal": goal.pk, "rating": "good", "comment": "Clear progress"}],
                                    family_present=True, next_review_on=TODAY() + dt.timedelta(days=90))
    assert review.progress.get().rating == "good"
    plan.refresh_from_db()
    assert plan.review_on == TODAY() + dt.timedelta(days=90) and plan.state == PlanState.ACTIVE
    assert Deadline.objects.for_object(plan).filter(clock=Clock.PLAN_REVIEW, met_at__isnull=False).exists()
    assert Deadline.objects.for_object(plan).open().get(clock=Clock.PLAN_REVIEW).due_on == plan.review_on
    # The family sees the result.
    assert PlanReview.objects.visible_to(world.parent).filter(pk=review.pk).exists()
    assert GoalProgress.objects.visible_to(world.parent).count() == 1


def test_review_decides_amend_or_close(world):
    plan = active_plan(world)
    goal = plan.goals.get()
    # The team (here the speech therapist) decides to amend: the draft amendment opens for the coordinator.
    services.record_review(world.speech, plan, lock_version=plan.lock_version, held_on=TODAY(), decision="amend",
                           progress=[{"goal": goal, "rating": "no-progress"}], summary="Change the approach",
                           next_review_on=TODAY() + dt.timedelta(days=60))
    amendment = IndividualPlan.objects.get(previous=plan)
    assert amendment.state == PlanState.DRAFT and amendment.effective_from == TODAY()
    plan.refresh_from_db()
    services.close(world.coordinator, amendment, lock_version=amendment.lock_version, reason="Decided otherwise")
    services.record_review(world.coordinator, plan, lock_version=plan.lock_version, held_on=TODAY(), decision="close",
                           progress=[{"goal": goal, "rating": "achieved"}], summary="Goals reached; no more support needed")
    plan.refresh_from_db()
    assert plan.state == PlanState.CLOSED and plan.close_reason.startswith("Goals reached")
    assert not Deadline.objects.for_object(plan).open().exists()


def test_close_needs_a_reason(world):
    plan = draft(world)
    with pytest.raises(ValidationError) as exc:
        services.close(world.coordinator, plan, lock_version=plan.lock_version, reason="")
    assert "reason" in errors_of(exc)
    services.close(world.coordinator, plan, lock_version=plan.lock_version, reason="Started by mistake")
    assert plan.state == PlanState.CLOSED


def test_release_to_another_school_binds_there_only(world):
    assert services.binding_conclusion(world.learner, world.school_b) is None
    release_to(world.conclusion, world.school_b, world.guardian, world.parent)
    assert services.binding_conclusion(world.learner, world.school_b) == world.conclusion
    assert services.binding_conclusion(world.learner, world.school) == world.conclusion
    assert Consent.objects.filter(purpose="release-conclusion").count() == 2
