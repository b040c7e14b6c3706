"""The one deadline mechanism: due dates from configuration, one open clock per record, met and
cancelled clocks, delay reasons, overdue and due-soon queries under the access policy, and
notifications sent only after commit."""

import datetime as dt

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone, translation

from birge.core import deadlines
from birge.core.deadline_models import Clock, Deadline, Notification
from birge.core.models import AuditEvent
from birge.core.roles import OrgKind, Role
from birge.learners.models import Sex
from birge.learners.tests.conftest import place_child


@pytest.fixture(autouse=True)
def _mail_and_language(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with translation.override("en"):
        yield


@pytest.fixture
def child(cast):
    """A child of district A (enrolled at A's school, A's parent as mother, assigned to A's specialists)."""
    return place_child(cast.a, pin="21503201512345", last_name="Асанов", first_name="Бакыт", patronymic="Асанович",
                       birth_date=dt.date(2015, 3, 15), sex=Sex.MALE)


def _pmpk_clock(cast, child, clock=Clock.REFERRAL_ACKNOWLEDGE, **kwargs):
    """A clock about the child owned by A's PMPK, waited for by A's school."""
    options = {"owner_organization": cast.a.orgs[OrgKind.PMPK_TERRITORIAL], "waiting_organization": cast.a.orgs[OrgKind.SCHOOL]}
    options.update(kwargs)
    return deadlines.start_clock(cast.a.users[Role.SCHOOL_COORDINATOR], child.learner, clock, **options)


def _make_overdue(deadline, days=3):
    Deadline.objects.filter(pk=deadline.pk).update(due_on=timezone.localdate() - dt.timedelta(days=days))
    deadline.refresh_from_db()
    return deadline


# --- due dates and the life of a clock --------------------------------------------------------------------


def test_due_date_comes_from_configuration(cast, child, settings):
    settings.BIRGE_DEADLINES = {**settings.BIRGE_DEADLINES, "referral_acknowledge": 3}
    start = timezone.make_aware(dt.datetime(2026, 3, 10, 15, 0))
    d = _pmpk_clock(cast, child, start=start)
    assert d.due_on == dt.date(2026, 3, 13)
    assert d.days == 3
    assert d.learner_id == child.learner.pk
    assert deadlines.due_date("referral_conclude", dt.date(2026, 1, 1)) == dt.date(2026, 1, 1) + dt.timedelta(
        days=settings.BIRGE_DEADLINES["referral_conclude"])


def test_explicit_due_date(cast, child):
    due = timezone.localdate() + dt.timedelta(days=40)
    d = _pmpk_clock(cast, child, Clock.PLAN_REVIEW, due_on=due)
    assert d.due_on == due and d.days == 40


def test_unknown_clock_and_missing_owner_are_programming_errors(cast, child):
    with pytest.raises(ValueError):
        deadlines.start_clock(None, child.learner, "coffee_break", owner_organization=cast.a.orgs[OrgKind.SCHOOL])
    with pytest.raises(ValueError):
        deadlines.start_clock(None, child.learner, Clock.PLAN_REVIEW)
    with pytest.raises(ValueError):
        deadlines.stop_clock(None, child.learner, "coffee_break")


def test_one_open_clock_per_record_and_restart(cast, child):
    first = _pmpk_clock(cast, child)
    again = _pmpk_clock(cast, child)
    assert again.pk == first.pk
    restarted = _pmpk_clock(cast, child, restart=True)
    assert restarted.pk != first.pk
    first.refresh_from_db()
    assert first.cancelled_at is not None
    assert Deadline.objects.for_object(child.learner).open().count() == 1


def test_stop_met_on_time_and_late_and_cancel(cast, child):
    d = _pmpk_clock(cast, child)
    [stopped] = deadlines.stop_clock(None, child.learner, Clock.REFERRAL_ACKNOWLEDGE)
    assert stopped.pk == d.pk and stopped.status == "met"
    late = _make_overdue(_pmpk_clock(cast, child))
    deadlines.stop_clock(None, child.learner, Clock.REFERRAL_ACKNOWLEDGE)
    late.refresh_from_db()
    assert late.status == "met-late"
    other = _pmpk_clock(cast, child, Clock.REFERRAL_CONCLUDE)
    assert deadlines.cancel_clock(None, child.learner, reason="Withdrawn")[0].pk == other.pk
    other.refresh_from_db()
    assert other.status == "cancelled" and other.cancel_reason == "Withdrawn"
    assert deadlines.stop_clock(None, child.learner, Clock.REFERRAL_CONCLUDE) == []  # nothing running: nothing to do
    events = set(AuditEvent.objects.filter(object_type="core.deadline").values_list("event", flat=True))
    assert {"deadline.started", "deadline.met", "deadline.cancelled"} <= events


# --- who sees what ------------------------------------------------------------------------------------------


SEES_PMPK_CLOCK = {
    # owner organization, the waiting organization, territory over the child's home, the parent, the child's specialists
    Role.PMPK_CHAIR, Role.PMPK_MEMBER, Role.SCHOOL_COORDINATOR, Role.TEACHER, Role.DISTRICT_OFFICER,
    Role.REGIONAL_OFFICER, Role.SOCIAL_PROTECTION_OFFICER, Role.LOCAL_GOVERNMENT_OFFICER, Role.PARENT,
    Role.SPEECH_THERAPIST, Role.TYPHLOPEDAGOGUE, Role.SURDOPEDAGOGUE, Role.SPECIAL_PEDAGOGUE, Role.PSYCHOLOGIST,
    Role.SOCIAL_PEDAGOGUE,
}


@pytest.mark.parametrize("role", list(Role))
def test_overdue_and_due_soon_follow_the_access_policy(cast, child, role):
    overdue = _make_overdue(_pmpk_clock(cast, child))
    soon = _pmpk_clock(cast, child, Clock.REFERRAL_CONCLUDE, due_on=timezone.localdate() + dt.timedelta(days=2))
    _pmpk_clock(cast, child, Clock.CONCLUSION_REVIEW, due_on=timezone.localdate() + dt.timedelta(days=200))  # not soon
    user = cast.a.users[role]
    expected = role in SEES_PMPK_CLOCK
    assert deadlines.overdue_for(user).filter(pk=overdue.pk).exists() is expected, role
    assert list(deadlines.due_soon_for(user).values_list("pk", flat=True)) == ([soon.pk] if expected else []), role
    # Nobody in district B (its regional officer sits in Naryn) sees district A's clocks; nor does the outsider.
    assert not deadlines.overdue_for(cast.b.users[role]).exists(), role
    assert not deadlines.overdue_for(cast.outsider).exists()


def test_clock_kind_limits_what_a_role_sees(cast, child):
    """A local self-government officer reads referrals in the territory but not individual plans."""
    officer = cast.a.users[Role.LOCAL_GOVERNMENT_OFFICER]
    referral_clock = _make_overdue(_pmpk_clock(cast, child))
    plan_clock = _make_overdue(_pmpk_clock(cast, child, Clock.PLAN_REVIEW, owner_organization=cast.a.orgs[OrgKind.SCHOOL]))
    seen = set(deadlines.overdue_for(officer).values_list("pk", flat=True))
    assert referral_clock.pk in seen and plan_clock.pk not in seen
    assert plan_clock.pk in set(deadlines.overdue_for(cast.a.users[Role.SCHOOL_COORDINATOR]).values_list("pk", flat=True))


def test_owner_user_sees_their_clock(cast, child):
    tutor = cast.a.users[Role.TUTOR]
    d = _make_overdue(deadlines.start_clock(None, child.learner, Clock.SERVICE_START, owner_user=tutor))
    assert deadlines.overdue_for(tutor).filter(pk=d.pk).exists()
    assert not deadlines.overdue_for(cast.b.users[Role.TUTOR]).exists()


def test_registered_with_the_access_policy(cast, child):
    from birge.core import access

    assert Deadline in access.REGISTRY
    d = _pmpk_clock(cast, child)
    assert access.restrict(cast.a.users[Role.PMPK_CHAIR], Deadline.objects.all()).filter(pk=d.pk).exists()
    assert not access.restrict(cast.outsider, Deadline.objects.all()).exists()


# --- delay reasons ---------------------------------------------------------------------------------------------


def test_only_owners_record_a_delay_reason(cast, child):
    d = _make_overdue(_pmpk_clock(cast, child))
    chair = cast.a.users[Role.PMPK_CHAIR]
    deadlines.record_delay_reason(chair, d, "  The psychologist is on sick leave until Monday. ")
    d.refresh_from_db()
    assert d.delay_reason == "The psychologist is on sick leave until Monday."
    assert d.delay_recorded_by == chair and d.is_open  # the clock keeps running
    assert AuditEvent.objects.filter(event="deadline.delay_reason", object_id=str(d.pk)).exists()
    for role in (Role.SCHOOL_COORDINATOR, Role.DISTRICT_OFFICER, Role.PARENT):  # they see it, but do not own it
        with pytest.raises(PermissionDenied):
            deadlines.record_delay_reason(cast.a.users[role], d, "Because")
    with pytest.raises(PermissionDenied):
        deadlines.record_delay_reason(cast.b.users[Role.PMPK_CHAIR], d, "Because")


def test_delay_reason_bad_input(cast, child):
    d = _pmpk_clock(cast, child)
    chair = cast.a.users[Role.PMPK_CHAIR]
    with pytest.raises(ValidationError) as exc:
        deadlines.record_delay_reason(chair, d, "   ")
    assert "reason" in exc.value.message_dict
    deadlines.stop_clock(None, child.learner, Clock.REFERRAL_ACKNOWLEDGE)
    d.refresh_from_db()
    with pytest.raises(ValidationError) as exc:
        deadlines.record_delay_reason(chair, d, "Too late to say")
    assert "reason" in exc.value.message_dict


# --- notifications ----------------------------------------------------------------------------------------------


def test_notifications_only_after_commit(cast, django_capture_on_commit_callbacks):
    chair = cast.a.users[Role.PMPK_CHAIR]
    chair.email, chair.preferred_language = "chair@example.org", "ru"
    chair.save()
    member = cast.a.users[Role.PMPK_MEMBER]  # no e-mail address: in-app only
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        deadlines.notify([chair, member, None], Clock.REFERRAL_ACKNOWLEDGE.label, "/referrals/1/", event="test.event")
        assert Notification.objects.count() == 0 and not mail.outbox
    assert len(callbacks) == 1
    callbacks[0]()
    rows = {n.user_id: n for n in Notification.objects.all()}
    assert set(rows) == {chair.pk, member.pk}
    assert rows[chair.pk].link == "/referrals/1/" and rows[chair.pk].event == "test.event"
    with translation.override("ru"):
        assert rows[chair.pk].text == str(Clock.REFERRAL_ACKNOWLEDGE.label)  # rendered in the chair's language
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["chair@example.org"]
    assert "/referrals/1/" in mail.outbox[0].body


def test_rolled_back_work_notifies_nobody(cast, django_capture_on_commit_callbacks):
    chair = cast.a.users[Role.PMPK_CHAIR]
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        try:
            with transaction.atomic():
                deadlines.notify([chair], "Something happened", "/x/")
                raise RuntimeError
        except RuntimeError:
            pass
    assert callbacks == [] and not Notification.objects.exists()


def test_mark_read(cast, django_capture_on_commit_callbacks):
    chair, member = cast.a.users[Role.PMPK_CHAIR], cast.a.users[Role.PMPK_MEMBER]
    with django_capture_on_commit_callbacks(execute=True):
        deadlines.notify([chair], "One", "/a/")
        deadlines.notify([chair], "Two", "/b/")
    assert deadlines.unread_count(chair) == 2
    first = Notification.objects.filter(user=chair).first()
    with pytest.raises(PermissionDenied):
        deadlines.mark_read(member, first)
    deadlines.mark_read(chair, first)
    assert deadlines.unread_count(chair) == 1
    assert deadlines.mark_all_read(chair) == 1 and deadlines.unread_count(chair) == 0


def test_links_lead_only_to_records_the_user_may_open(cast, child):
    """A deadline's link is its record's page for a user who may open it, else empty: never a 404."""
    d = _pmpk_clock(cast, child)
    page = child.learner.get_absolute_url()
    chair, stranger = cast.a.users[Role.SCHOOL_COORDINATOR], cast.b.users[Role.SCHOOL_COORDINATOR]
    assert deadlines.link_for(d, chair) == page
    assert deadlines.link_for(d, stranger) == ""
    assert [x.link for x in deadlines.attach_links([d], chair)] == [page]
    assert [x.link for x in deadlines.attach_links([d], stranger)] == [""]
