"""Releases: the family's consent to the chosen organization, binding obligations as clocks, revoking
and consent withdrawal ending access at once."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from birge.assessments import services
from birge.assessments.models import Conclusion, Obligation, Release
from birge.core import deadlines
from birge.core.deadline_models import Clock, Deadline, Notification
from birge.core.roles import Role
from birge.learners import services as learner_services
from birge.learners.models import Consent

from .conftest import release_consent

pytestmark = pytest.mark.django_db


def visible(user, conclusion):
    return Conclusion.objects.visible_to(user).filter(pk=conclusion.pk).exists()


def test_a_release_without_consent_is_refused(world):
    c = world.issued()
    with pytest.raises(ValidationError) as exc:
        services.release_conclusion(world.parent, c, organization=world.school)
    assert list(exc.value.message_dict) == ["consent"]
    assert "consent" in exc.value.message_dict["consent"][0]
    assert not Release.objects.exists() and not Consent.objects.filter(purpose="release-conclusion").exists()
    assert not visible(world.coordinator, c)


def test_the_consent_must_name_that_organization_and_be_active(world):
    c = world.issued()
    other = release_consent(world, world.school_b)
    with pytest.raises(ValidationError) as exc:
        services.release_conclusion(world.parent, c, organization=world.school, consent=other)
    assert "another organization" in exc.value.message_dict["consent"][0]
    withdrawn = release_consent(world, world.school, withdrawn_at=timezone.now())
    with pytest.raises(ValidationError) as exc:
        services.release_conclusion(world.parent, c, organization=world.school, consent=withdrawn)
    assert "consent" in exc.value.message_dict
    expired = release_consent(world, world.school, valid_until=timezone.localdate() - dt.timedelta(days=1),
                              given_at=timezone.now() - dt.timedelta(days=30))
    with pytest.raises(ValidationError):
        services.release_conclusion(world.parent, c, organization=world.school, consent=expired)
    assert not Release.objects.exists()


def test_the_parent_gives_consent_in_the_system_and_releases(world, django_capture_on_commit_callbacks):
    c = world.issued()
    assert not visible(world.coordinator, c)  # the referring school sees nothing before the release
    with django_capture_on_commit_callbacks(execute=True):
        release = services.release_conclusion(world.parent, c, organization=world.school, give_consent=True)
    consent = release.consent
    assert consent.method == Consent.Method.IN_SYSTEM and consent.given_by == world.guardian
    assert consent.recipient == world.school and consent.purpose == Consent.Purpose.RELEASE_CONCLUSION
    assert visible(world.coordinator, c)
    assert Notification.objects.filter(user=world.coordinator, event="conclusion.released").exists()


def test_the_family_may_release_to_a_different_school_than_the_referring_one(world):
    c = world.issued()
    services.release_conclusion(world.parent, c, organization=world.school_b, give_consent=True)
    assert visible(world.coordinator_b, c)
    assert not visible(world.coordinator, c)  # the referring school without a release


def test_release_binds_the_organization_with_clocks(world, settings):
    release = world.released()
    plan = Deadline.objects.for_object(release).get()
    assert plan.clock == Clock.RELEASE_TO_PLAN and plan.owner_organization == world.school
    assert plan.due_on == timezone.localdate() + dt.timedelta(days=settings.BIRGE_DEADLINES["release_to_plan"])
    assert plan.learner_id == world.learner.pk
    obligations = list(Obligation.objects.filter(release=release).order_by("id"))
    assert [(o.kind, o.catalogue.code) for o in obligations] == [
        ("service", "speech-therapy"), ("service", "social-pedagogy"), ("device", "hearing-aid")]
    clocks = [Deadline.objects.for_object(o).get().clock for o in obligations]
    assert clocks == [Clock.SERVICE_START, Clock.SERVICE_START, Clock.DEVICE_DELIVERY]
    assert services.binding_conclusion(world.learner, world.school) == release.conclusion
    assert services.binding_conclusion(world.learner, world.school_b) is None


def test_obligations_reach_the_coordinators_and_district_officers_work_lists(world):
    world.released()
    later = timezone.localdate() + dt.timedelta(days=90)
    coordinator = {d.clock for d in deadlines.overdue_for(world.coordinator, today=later)}
    assert coordinator == {Clock.RELEASE_TO_PLAN, Clock.SERVICE_START, Clock.DEVICE_DELIVERY}
    officer = {d.clock for d in deadlines.overdue_for(world.officer, today=later)}
    assert {Clock.RELEASE_TO_PLAN, Clock.SERVICE_START, Clock.DEVICE_DELIVERY} <= officer
    assert not deadlines.overdue_for(world.coordinator_b, today=later).exists()
    assert not deadlines.overdue_for(world.user("b", Role.DISTRICT_OFFICER), today=later).exists()


def test_withdrawing_the_consent_hides_the_conclusion_again(world):
    release = world.released()
    c = release.conclusion
    speech = world.user("a", Role.SPEECH_THERAPIST)
    assert visible(world.coordinator, c) and visible(speech, c)
    learner_services.withdraw_consent(world.parent, release.consent, reason="We moved to another town.")
    assert not visible(world.coordinator, c) and not visible(speech, c)
    assert visible(world.parent, c) and visible(world.chair, c)
    release.refresh_from_db()
    assert release.revoked_at is not None
    assert not Deadline.objects.open().filter(learner_id=world.learner.pk).exclude(clock=Clock.CONCLUSION_REVIEW).exists()
    assert services.binding_conclusion(world.learner, world.school) is None


def test_revoking_a_release_withdraws_the_consent_and_ends_the_obligations(world):
    release = world.released()
    with pytest.raises(ValidationError) as exc:
        services.revoke_release(world.parent, release, reason="")
    assert "reason" in exc.value.message_dict
    with pytest.raises(PermissionDenied):
        services.revoke_release(world.coordinator, release, reason="We do not want it")
    services.revoke_release(world.parent, release, reason="We chose another school.")
    release.refresh_from_db()
    release.consent.refresh_from_db()
    assert release.revoked_at and release.consent.withdrawn_at
    assert not visible(world.coordinator, release.conclusion)
    cancelled = Deadline.objects.filter(learner_id=world.learner.pk, cancelled_at__isnull=False)
    assert {d.clock for d in cancelled} == {Clock.RELEASE_TO_PLAN, Clock.SERVICE_START, Clock.DEVICE_DELIVERY}
    # the family may release again later, with a new consent
    again = services.release_conclusion(world.parent, release.conclusion, organization=world.school, give_consent=True)
    assert again.pk != release.pk and visible(world.coordinator, release.conclusion)


def test_the_pmpk_records_a_paper_consent_but_never_an_in_system_one(world):
    c = world.issued()
    with pytest.raises(ValidationError) as exc:
        services.release_conclusion(world.chair, c, organization=world.school, give_consent=True)
    assert "give_consent" in exc.value.message_dict
    release = services.release_conclusion(world.chair, c, organization=world.school, paper_consent={
        "given_by": world.guardian, "given_at": timezone.localdate()})
    assert release.consent.method == Consent.Method.PAPER and release.consent.recorded_by == world.chair


def test_who_may_release(world):
    c = world.issued()
    for user in (world.coordinator, world.user("a", Role.TEACHER), world.user("b", Role.PMPK_CHAIR), world.officer):
        with pytest.raises(PermissionDenied):
            services.release_conclusion(user, c, organization=world.school, give_consent=True)


def test_bad_releases(world):
    c = world.issued()
    with pytest.raises(ValidationError) as exc:
        services.release_conclusion(world.parent, c, organization=world.pmpk, give_consent=True)
    assert "organization" in exc.value.message_dict
    world.released(c)
    with pytest.raises(ValidationError) as exc:
        services.release_conclusion(world.parent, c, organization=world.school, give_consent=True)
    assert "organization" in exc.value.message_dict
    draft = services.supersede_conclusion(world.member, c)
    with pytest.raises(ValidationError) as exc:
        services.release_conclusion(world.parent, draft, organization=world.school_b, give_consent=True)
    assert "conclusion" in exc.value.message_dict
    assert Release.objects.count() == 1 and Consent.objects.filter(purpose="release-conclusion").count() == 1


def test_superseding_ends_the_old_releases_obligations(world):
    release = world.released()
    draft = services.supersede_conclusion(world.member, release.conclusion)
    new = services.issue_conclusion(world.chair, draft)
    assert not Deadline.objects.for_object(release).open().exists()
    assert services.binding_conclusion(world.learner, world.school) is None
    assert visible(world.coordinator, release.conclusion) and not visible(world.coordinator, new)
    services.release_conclusion(world.parent, new, organization=world.school, consent=release.consent)
    assert services.binding_conclusion(world.learner, world.school) == new


def test_a_coordinator_records_a_paper_conclusion_by_its_number(world):
    c = world.issued()
    consent = release_consent(world, world.school)
    with pytest.raises(ValidationError) as exc:
        services.release_by_number(world.coordinator, world.learner, number="nope", consent=consent)
    assert "number" in exc.value.message_dict
    release = services.release_by_number(world.coordinator, world.learner, number=c.number, consent=consent)
    assert release.organization == world.school and visible(world.coordinator, c)
    consent_b = release_consent(world, world.school_b)
    with pytest.raises(ValidationError) as exc:
        services.release_by_number(world.coordinator, world.learner, number=c.number, consent=consent_b)
    assert "consent" in exc.value.message_dict
