"""PMPK sessions: only from accepted referrals, consent required, members from the PMPK's staff,
the referral moved by the referrals services, the family invited, findings by area."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from birge.assessments import services
from birge.assessments.models import AssessmentSession, Finding, SessionMember, Source, Specialty
from birge.core.deadline_models import Notification
from birge.core.models import AuditEvent
from birge.core.roles import Role
from birge.learners.models import Consent
from birge.referrals.models import State

from .conftest import World

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("state", ["draft", "submitted", "withdrawn", "declined"])
def test_session_only_from_an_accepted_referral(cast, placed, make_referral, state):
    referral = make_referral("a", state, consent=True)
    world = World(cast, placed, referral)
    with pytest.raises((ValidationError, PermissionDenied)) as exc:
        world.schedule()
    if isinstance(exc.value, ValidationError):
        assert "referral" in exc.value.message_dict
    assert not AssessmentSession.objects.exists()


def test_scheduling_moves_the_referral_and_invites_the_family(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        session = world.schedule(invitation_note="Bring the school report.")
    world.referral.refresh_from_db()
    assert world.referral.state == State.SCHEDULED
    assert world.referral.appointment_at == session.scheduled_at
    assert session.family_invited_at is not None
    assert list(session.members.values_list("specialty", flat=True)) == [Specialty.PSYCHOLOGIST, Specialty.SPEECH_THERAPIST]
    note = Notification.objects.filter(user=world.parent, event="assessment_session.invited").get()
    assert note.link == f"/assessments/sessions/{session.pk}/"
    assert world.learner.first_name not in note.text  # no personal data in notifications
    assert AuditEvent.objects.filter(event="assessment_session.scheduled", object_id=str(session.pk)).exists()


def test_a_second_session_is_refused_while_one_is_scheduled(world):
    world.schedule()
    with pytest.raises(ValidationError) as exc:
        world.schedule()
    assert "referral" in exc.value.message_dict
    assert AssessmentSession.objects.count() == 1


def test_after_a_cancelled_session_a_new_one_can_be_scheduled(world):
    session = world.schedule()
    services.cancel_session(world.chair, session, reason="The psychologist is ill.")
    world.referral.refresh_from_db()
    assert world.referral.state == State.SCHEDULED
    again = world.schedule(scheduled_at=timezone.now() + dt.timedelta(days=10))
    assert again.status == AssessmentSession.Status.SCHEDULED


def test_scheduling_without_the_assessment_consent_saves_nothing(world):
    Consent.objects.filter(learner=world.learner, purpose=Consent.Purpose.ASSESSMENT).update(withdrawn_at=timezone.now())
    with pytest.raises(ValidationError) as exc:
        world.schedule()
    assert "consent" in exc.value.message_dict
    assert not AssessmentSession.objects.exists() and not SessionMember.objects.exists()
    world.referral.refresh_from_db()
    assert world.referral.state == State.ACCEPTED


def test_bad_input_gives_field_errors(world):
    outsider = world.cast.b.users[Role.PMPK_MEMBER]
    with pytest.raises(ValidationError) as exc:
        services.schedule_session(world.chair, world.referral, scheduled_at=timezone.now() - dt.timedelta(days=2),
                                  members=[(outsider, Specialty.PSYCHOLOGIST, False)], place="")
    errors = exc.value.message_dict
    assert set(errors) >= {"scheduled_at", "members", "place"}
    with pytest.raises(ValidationError) as exc:
        services.schedule_session(world.chair, world.referral, scheduled_at=timezone.now() + dt.timedelta(days=1),
                                  members=[(world.chair, Specialty.PSYCHOLOGIST, True), (world.member, "x", True)],
                                  mode=AssessmentSession.Mode.REMOTE)
    assert set(exc.value.message_dict) == {"members", "remote_details"}
    assert not AssessmentSession.objects.exists()


def test_only_the_receiving_pmpk_schedules(world):
    for user in (world.user("b", Role.PMPK_CHAIR), world.coordinator, world.parent, world.cast.outsider):
        with pytest.raises(PermissionDenied):
            services.schedule_session(user, world.referral, scheduled_at=timezone.now() + dt.timedelta(days=3), place="x",
                                      members=[(world.chair, Specialty.PSYCHOLOGIST, True)])


def test_held_records_attendance_and_moves_the_referral_to_assessed(world):
    session = world.schedule()
    with pytest.raises(ValidationError) as exc:
        services.record_held(world.chair, session, parent_present=None, sources=[])
    assert set(exc.value.message_dict) == {"parent_present", "sources"}
    session.refresh_from_db()
    assert session.status == AssessmentSession.Status.SCHEDULED
    services.record_held(world.chair, session, parent_present=False, attendance_note="The grandmother came.",
                         sources=[Source.OBSERVATION, Source.SCHOOL_REPORT], observations="Calm, curious.")
    session.refresh_from_db()
    world.referral.refresh_from_db()
    assert session.status == AssessmentSession.Status.HELD and session.parent_present is False
    assert session.sources == ["observation", "school-report"]
    assert world.referral.state == State.ASSESSED


def test_findings_by_specialist_and_area(world):
    session = world.schedule()
    mine = session.members.get(user=world.member)
    finding = services.record_finding(world.member, session, member=mine, domain="hearing", text="Hears well.")
    assert finding.recorded_by == world.member
    with pytest.raises(ValidationError) as exc:
        services.record_finding(world.member, session, member=mine, domain="nonsense", text="")
    assert set(exc.value.message_dict) == {"domain", "text"}
    with pytest.raises(ValidationError) as exc:
        services.record_finding(world.member, session, member=None, domain="hearing", text="x")
    assert "member" in exc.value.message_dict
    assert Finding.objects.count() == 1


def test_findings_freeze_once_a_conclusion_is_issued(world):
    conclusion = world.issued()
    finding = conclusion.session.findings.first()
    with pytest.raises(ValidationError):
        services.update_finding(world.member, finding, text="Changed afterwards")
    with pytest.raises(ValidationError):
        services.record_finding(world.member, conclusion.session, member=finding.member, domain="hearing", text="Late")


def test_members_are_taken_off_only_without_findings(world):
    session = world.schedule()
    speech = session.members.get(user=world.member)
    services.record_finding(world.member, session, member=speech, domain="communication", text="x")
    with pytest.raises(ValidationError):
        services.remove_member(world.chair, speech)
    chair = session.members.get(user=world.chair)
    services.remove_member(world.chair, chair)
    assert list(session.members.all()) == [speech]
    with pytest.raises(ValidationError):
        services.add_member(world.chair, session, user=world.cast.b.users[Role.PMPK_CHAIR], specialty="psychologist")


def test_reschedule_moves_the_referral_date(world):
    session = world.schedule()
    later = timezone.now() + dt.timedelta(days=9)
    services.reschedule_session(world.chair, session, scheduled_at=later, place="Room 5")
    world.referral.refresh_from_db()
    assert world.referral.appointment_at == later and world.referral.appointment_place == "Room 5"
