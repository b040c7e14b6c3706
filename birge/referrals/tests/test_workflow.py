"""The referral workflow: every transition allowed and refused by state and by role, consent before
scheduling, the clocks it runs, notifications after commit, and bad input saving nothing."""

import datetime as dt

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from birge.core.deadline_models import Clock, Deadline, Notification
from birge.core.models import AuditEvent
from birge.core.roles import OrgKind, Role
from birge.learners.models import Consent
from birge.referrals import services
from birge.referrals.models import Referral, State

from .conftest import consent_to_assessment

IN_A_WEEK = {"appointment_at": timezone.now() + dt.timedelta(days=7)}


def _args(name):
    if name == "schedule":
        return {"appointment_at": timezone.now() + dt.timedelta(days=7), "appointment_place": "Room 4"}
    if services.TRANSITIONS[name].needs_reason:
        return {"reason": "A reason"}
    return {}


def _actor_for(cast, name):
    t = services.TRANSITIONS[name]
    if services.RECEIVER in t.parties:
        return cast.a.users[Role.PMPK_CHAIR]
    return cast.a.users[Role.SCHOOL_COORDINATOR]


class _Rollback(Exception):
    pass


def _attempt(actor, referral, name):
    """Run the transition in a savepoint that is always rolled back; return the resulting state or the error."""
    outcome = None
    try:
        with transaction.atomic():
            outcome = services.perform(actor, referral, name, **_args(name)).state
            raise _Rollback
    except _Rollback:
        return outcome
    except (ValidationError, PermissionDenied) as exc:
        return exc


# --- by state ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("state", [s.value for s in State])
def test_every_transition_by_state(cast, make_referral, state):
    referral = make_referral("a", state, consent=True)
    assert referral.state == state
    for name, t in services.TRANSITIONS.items():
        result = _attempt(_actor_for(cast, name), referral, name)
        if state in t.sources:
            assert result == t.target, (state, name, result)
        elif state == State.DRAFT and services.RECEIVER in t.parties:
            assert isinstance(result, PermissionDenied)  # a draft is out of the PMPK's reach
        else:
            assert isinstance(result, ValidationError) and "state" in result.message_dict, (state, name, result)


# --- by role -----------------------------------------------------------------------------------------------

# Who may take each action on a referral by A's school to A's PMPK about A's child.
MAY = {
    "submit": {Role.SCHOOL_COORDINATOR, Role.TEACHER},
    "accept": {Role.PMPK_CHAIR, Role.PMPK_MEMBER},
    "schedule": {Role.PMPK_CHAIR, Role.PMPK_MEMBER},
    "mark_assessed": {Role.PMPK_CHAIR, Role.PMPK_MEMBER},
    "conclude": {Role.PMPK_CHAIR, Role.PMPK_MEMBER},
    "withdraw": {Role.SCHOOL_COORDINATOR, Role.TEACHER, Role.PARENT},
    "decline": {Role.PMPK_CHAIR, Role.PMPK_MEMBER},
}
SOURCE = {"submit": "draft", "accept": "submitted", "schedule": "accepted", "mark_assessed": "scheduled",
          "conclude": "assessed", "withdraw": "submitted", "decline": "submitted"}


def test_table_covers_every_transition():
    assert set(MAY) == set(services.TRANSITIONS) == set(SOURCE)


@pytest.mark.parametrize("name", list(services.TRANSITIONS))
def test_every_transition_by_role(cast, make_referral, name):
    referral = make_referral("a", SOURCE[name], consent=True)
    users = [(f"a-{r.value}", cast.a.users[r], r in MAY[name]) for r in Role]
    users += [(f"b-{r.value}", cast.b.users[r], False) for r in Role] + [("outsider", cast.outsider, False)]
    for label, user, allowed in users:
        result = _attempt(user, referral, name)
        if allowed:
            assert result == services.TRANSITIONS[name].target, (label, result)
        else:
            assert isinstance(result, PermissionDenied), (label, result)
        assert bool(services.allowed_transitions(user, referral) and name in [
            t.name for t in services.allowed_transitions(user, referral)]) is allowed, label


def test_parent_made_referral(cast, placed):
    parent = cast.a.users[Role.PARENT]
    child = placed["a"].learner
    referral = services.create_referral(parent, child, reason="He does not talk with other children.",
                                        parent_consent=True, submit=True)
    assert referral.by_parent and referral.referring_organization is None and referral.created_by == parent
    assert referral.state == State.SUBMITTED
    consent = referral.consent
    assert consent.purpose == Consent.Purpose.ASSESSMENT and consent.method == Consent.Method.IN_SYSTEM
    assert consent.given_by == placed["a"].guardian
    assert services.parties(parent, referral) == {services.REFERRER, services.PARENT}
    chair = cast.a.users[Role.PMPK_CHAIR]
    referral = services.accept(chair, referral)
    referral = services.schedule(chair, referral, **IN_A_WEEK)  # the parent's own consent counts
    assert referral.state == State.SCHEDULED
    assert services.withdraw(parent, referral, reason="We moved to Osh.").state == State.WITHDRAWN


def test_parent_referral_without_consent_is_not_consent(cast, placed):
    parent = cast.a.users[Role.PARENT]
    referral = services.create_referral(parent, placed["a"].learner, reason="Worried about speech.", submit=True)
    assert referral.consent is None
    assert not Consent.objects.filter(learner=placed["a"].learner, purpose=Consent.Purpose.ASSESSMENT).exists()
    chair = cast.a.users[Role.PMPK_CHAIR]
    services.accept(chair, referral)
    with pytest.raises(ValidationError) as exc:
        services.schedule(chair, referral, **IN_A_WEEK)
    assert "consent" in exc.value.message_dict


def test_only_a_parent_gives_consent_in_the_system(cast, placed):
    with pytest.raises(ValidationError) as exc:
        services.create_referral(cast.a.users[Role.SCHOOL_COORDINATOR], placed["a"].learner, reason="x", parent_consent=True)
    assert "parent_consent" in exc.value.message_dict
    assert not Referral.objects.exists()


# --- consent before scheduling ------------------------------------------------------------------------------


def test_consent_is_required_before_scheduling(cast, make_referral, placed):
    referral = make_referral("a", "accepted")
    chair = cast.a.users[Role.PMPK_CHAIR]
    with pytest.raises(ValidationError) as exc:
        services.schedule(chair, referral, **IN_A_WEEK)
    assert list(exc.value.message_dict) == ["consent"]
    assert "consent" in exc.value.message_dict["consent"][0].lower()
    referral.refresh_from_db()
    assert referral.state == State.ACCEPTED and referral.appointment_at is None  # nothing half-saved
    consent = consent_to_assessment(placed["a"])
    consent.withdrawn_at = timezone.now()
    consent.save()
    with pytest.raises(ValidationError):
        services.schedule(chair, referral, **IN_A_WEEK)  # a withdrawn consent does not count
    other = consent_to_assessment(placed["a"])
    referral = services.schedule(chair, referral, appointment_at=IN_A_WEEK["appointment_at"], appointment_place="Room 4")
    assert referral.state == State.SCHEDULED and referral.consent == other and referral.appointment_place == "Room 4"


def test_schedule_bad_dates(cast, make_referral):
    referral = make_referral("a", "accepted", consent=True)
    chair = cast.a.users[Role.PMPK_CHAIR]
    for when in (None, timezone.now() - dt.timedelta(days=5), timezone.now() + dt.timedelta(days=500)):
        with pytest.raises(ValidationError) as exc:
            services.schedule(chair, referral, appointment_at=when)
        assert "appointment_at" in exc.value.message_dict
    referral = services.schedule(chair, referral, **IN_A_WEEK)
    later = timezone.now() + dt.timedelta(days=9)
    assert services.schedule(chair, referral, appointment_at=later).appointment_at == later  # moved


# --- reasons and bad input --------------------------------------------------------------------------------


def test_withdraw_and_decline_need_a_reason(cast, make_referral):
    referral = make_referral("a", "submitted")
    for actor, fn in ((cast.a.users[Role.SCHOOL_COORDINATOR], services.withdraw), (cast.a.users[Role.PMPK_CHAIR], services.decline)):
        with pytest.raises(ValidationError) as exc:
            fn(actor, referral, reason="  ")
        assert "reason" in exc.value.message_dict
    referral = services.decline(cast.a.users[Role.PMPK_CHAIR], referral, reason="The child lives in another district.")
    assert referral.state == State.DECLINED and referral.close_reason == "The child lives in another district."
    event = AuditEvent.objects.filter(object_type="referrals.referral", object_id=str(referral.pk), event="referral.declined").get()
    assert event.reason == "The child lives in another district." and event.changes == {"state": ["submitted", "declined"]}


def test_submit_needs_a_reason(cast, make_referral):
    referral = make_referral("a", "draft", reason="")
    with pytest.raises(ValidationError) as exc:
        services.submit(cast.a.users[Role.SCHOOL_COORDINATOR], referral)
    assert "reason" in exc.value.message_dict
    referral.refresh_from_db()
    assert referral.state == State.DRAFT and not Deadline.objects.exists()


def test_one_open_referral_of_a_kind(cast, make_referral, placed):
    first = make_referral("a", "submitted")
    coordinator = cast.a.users[Role.SCHOOL_COORDINATOR]
    with pytest.raises(ValidationError) as exc:
        services.create_referral(coordinator, placed["a"].learner, reason="again")
    assert str(first.pk) in exc.value.message_dict["learner"][0]
    services.withdraw(coordinator, first, reason="Duplicate")
    assert services.create_referral(coordinator, placed["a"].learner, reason="again").state == State.DRAFT


def test_receiver_must_be_a_pmpk(cast, placed):
    coordinator = cast.a.users[Role.SCHOOL_COORDINATOR]
    with pytest.raises(ValidationError) as exc:
        services.create_referral(coordinator, placed["a"].learner, reason="x",
                                 receiving_organization=cast.a.orgs[OrgKind.SCHOOL])
    assert "receiving_organization" in exc.value.message_dict
    assert services.create_referral(coordinator, placed["a"].learner, reason="x").receiving_organization == \
        cast.a.orgs[OrgKind.PMPK_TERRITORIAL]  # the PMPK of the child's district by default


def test_referring_organization_must_be_the_users(cast, placed):
    with pytest.raises(ValidationError) as exc:
        services.create_referral(cast.a.users[Role.SCHOOL_COORDINATOR], placed["a"].learner, reason="x",
                                 referring_organization=cast.a.orgs[OrgKind.HEALTH_FACILITY])
    assert "referring_organization" in exc.value.message_dict


def test_out_of_reach_learner_cannot_be_referred(cast, placed):
    for user in (cast.b.users[Role.SCHOOL_COORDINATOR], cast.a.users[Role.HEALTH_WORKER], cast.outsider,
                 cast.a.users[Role.DISTRICT_OFFICER]):
        with pytest.raises(PermissionDenied):
            services.create_referral(user, placed["a"].learner, reason="x")
    assert not Referral.objects.exists()


def test_draft_edits_by_the_referrer_only(cast, make_referral):
    referral = make_referral("a", "draft")
    coordinator = cast.a.users[Role.SCHOOL_COORDINATOR]
    services.update_referral(coordinator, referral, reason="New reason", tried="Speech games")
    referral.refresh_from_db()
    assert (referral.reason, referral.tried) == ("New reason", "Speech games")
    with pytest.raises(PermissionDenied):
        services.update_referral(cast.a.users[Role.PARENT], referral, reason="x")
    services.submit(coordinator, referral)
    with pytest.raises(ValidationError):
        services.update_referral(coordinator, referral, reason="x")


# --- clocks -----------------------------------------------------------------------------------------------


def test_clocks_follow_the_workflow(cast, make_referral, settings):
    settings.BIRGE_DEADLINES = {**settings.BIRGE_DEADLINES, "referral_acknowledge": 4, "referral_conclude": 20}
    referral = make_referral("a", "submitted", consent=True)
    ack = Deadline.objects.for_object(referral).get(clock=Clock.REFERRAL_ACKNOWLEDGE)
    assert ack.is_open and ack.due_on == timezone.localtime(referral.submitted_at).date() + dt.timedelta(days=4)
    assert ack.owner_organization == cast.a.orgs[OrgKind.PMPK_TERRITORIAL]
    assert ack.waiting_organization == cast.a.orgs[OrgKind.SCHOOL] and ack.learner_id == referral.learner_id
    chair = cast.a.users[Role.PMPK_CHAIR]
    referral = services.accept(chair, referral)
    ack.refresh_from_db()
    assert ack.status == "met"
    conclude = Deadline.objects.for_object(referral).get(clock=Clock.REFERRAL_CONCLUDE)
    assert conclude.due_on == timezone.localtime(referral.accepted_at).date() + dt.timedelta(days=20)
    referral = services.schedule(chair, referral, **IN_A_WEEK)
    referral = services.mark_assessed(chair, referral)
    assert Deadline.objects.for_object(referral).open().get() == conclude
    services.conclude(chair, referral)
    assert not Deadline.objects.for_object(referral).open().exists()


def test_withdraw_cancels_and_decline_answers(cast, make_referral):
    withdrawn = make_referral("a", "accepted")
    services.withdraw(cast.a.users[Role.PARENT], withdrawn, reason="We changed our mind.")
    conclude = Deadline.objects.for_object(withdrawn).get(clock=Clock.REFERRAL_CONCLUDE)
    assert conclude.status == "cancelled"
    declined = make_referral("b", "declined")
    clocks = {d.clock: d.status for d in Deadline.objects.for_object(declined)}
    assert clocks == {Clock.REFERRAL_ACKNOWLEDGE: "met"}


def test_overdue_referrals_are_visible_to_the_pmpk_and_the_referrer(cast, make_referral):
    from birge.core import deadlines

    referral = make_referral("a", "submitted")
    Deadline.objects.for_object(referral).update(due_on=timezone.localdate() - dt.timedelta(days=2))
    for role in (Role.PMPK_CHAIR, Role.PMPK_MEMBER, Role.SCHOOL_COORDINATOR, Role.TEACHER, Role.DISTRICT_OFFICER, Role.PARENT):
        assert deadlines.overdue_for(cast.a.users[role]).filter(object_id=referral.pk).exists(), role
    for user in (cast.b.users[Role.PMPK_CHAIR], cast.b.users[Role.DISTRICT_OFFICER], cast.a.users[Role.HEALTH_WORKER],
                 cast.outsider):
        assert not deadlines.overdue_for(user).exists()


# --- notifications ---------------------------------------------------------------------------------------------


def test_notifications_after_commit(cast, make_referral, django_capture_on_commit_callbacks):
    for user in cast.a.users.values():
        user.email = f"{user.username}@example.org"
        user.save()
    referral = make_referral("a", "draft", consent=True)
    coordinator, chair = cast.a.users[Role.SCHOOL_COORDINATOR], cast.a.users[Role.PMPK_CHAIR]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.submit(coordinator, referral)
    assert not Notification.objects.exists() and not mail.outbox  # nothing before the commit
    for callback in callbacks:
        callback()
    queue = set(Notification.objects.filter(event="referral.submitted").values_list("user__username", flat=True))
    assert queue == {"a-pmpk-chair", "a-pmpk-member"}
    assert sorted(m.to[0] for m in mail.outbox) == ["a-pmpk-chair@example.org", "a-pmpk-member@example.org"]
    assert all(f"/referrals/{referral.pk}/" in m.body for m in mail.outbox)
    assert all("Асанов" not in n.text for n in Notification.objects.all())  # no personal data in the text
    with django_capture_on_commit_callbacks(execute=True):
        services.accept(chair, referral)
        services.schedule(chair, referral, **IN_A_WEEK)
        services.mark_assessed(chair, referral)
        services.conclude(chair, referral)
    for event in ("referral.accepted", "referral.scheduled", "referral.concluded"):
        told = set(Notification.objects.filter(event=event).values_list("user__username", flat=True))
        assert told == {"a-school-coordinator", "a-parent"}, event
    assert not Notification.objects.filter(event="referral.assessed").exists()


def test_declined_and_withdrawn_are_told(cast, make_referral, django_capture_on_commit_callbacks):
    referral = make_referral("a", "submitted")
    with django_capture_on_commit_callbacks(execute=True):
        services.decline(cast.a.users[Role.PMPK_MEMBER], referral, reason="Wrong district")
    assert set(Notification.objects.filter(event="referral.declined").values_list("user__username", flat=True)) == {
        "a-school-coordinator", "a-parent"}
    other = make_referral("b", "submitted")
    with django_capture_on_commit_callbacks(execute=True):
        services.withdraw(cast.b.users[Role.PARENT], other, reason="No longer needed")
    told = set(Notification.objects.filter(event="referral.withdrawn").values_list("user__username", flat=True))
    assert told == {"b-pmpk-chair", "b-pmpk-member", "b-school-coordinator"}  # not the parent who withdrew


def test_a_failed_transition_sends_nothing(cast, make_referral, django_capture_on_commit_callbacks):
    referral = make_referral("a", "accepted")  # no consent: scheduling fails
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(ValidationError):
            services.schedule(cast.a.users[Role.PMPK_CHAIR], referral, **IN_A_WEEK)
    assert callbacks == [] and not Notification.objects.filter(event="referral.scheduled").exists()


# --- history ---------------------------------------------------------------------------------------------------


def test_every_transition_is_audited(cast, make_referral):
    referral = make_referral("a", "concluded", consent=True)
    events = [e.event for e in services.history(cast.a.users[Role.PMPK_CHAIR], referral)]
    for event in ("referral.created", "referral.submitted", "referral.accepted", "referral.scheduled", "referral.assessed",
                  "referral.concluded", "deadline.started", "deadline.met"):
        assert event in events, event
    transitions = AuditEvent.objects.filter(object_type="referrals.referral", object_id=str(referral.pk),
                                            action=AuditEvent.Action.TRANSITION).order_by("id")
    assert [e.changes["state"] for e in transitions] == [["draft", "submitted"], ["submitted", "accepted"],
                                                         ["accepted", "scheduled"], ["scheduled", "assessed"],
                                                         ["assessed", "concluded"]]
    assert all(e.learner_id == referral.learner_id for e in transitions)
