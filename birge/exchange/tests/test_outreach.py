"""Out-of-school children become outreach cases; each step is a service with an audit event and a clock."""

import datetime as dt

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.urls import reverse

from birge.core import access
from birge.core.access import Rec
from birge.core.deadline_models import Clock, Deadline, Notification
from birge.core.models import AuditEvent, Territory
from birge.core.roles import OrgKind, Role
from birge.exchange import services
from birge.exchange.models import OutreachCase, OutreachState
from birge.learners import services as learner_services
from birge.learners.models import DisabilityStatus, Enrolment, Learner

from .conftest import import_register


@pytest.fixture
def lsg(cast):
    return cast.a.users[Role.LOCAL_GOVERNMENT_OFFICER]


@pytest.fixture
def found(cast, learners, lsg, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        result = services.find_out_of_school(lsg)
    return result


def test_find_opens_a_case_per_out_of_school_child(cast, learners, placed, found, lsg):
    # Айпери: a disability status, no enrolment → a case. The placed child and Сооронбай are enrolled;
    # Эрлан and Нурбек have no ground (no status, concern or register row).
    assert [c.learner for c in found.opened] == [learners.aiperi]
    case = found.opened[0]
    assert case.state == OutreachState.TO_CONTACT and case.ground == OutreachCase.Ground.DISABILITY
    assert case.assigned_organization == cast.a.orgs[OrgKind.LOCAL_GOVERNMENT]
    assert case.informed_organization == cast.a.orgs[OrgKind.DISTRICT_EDUCATION]
    clock = Deadline.objects.get(clock=Clock.OUTREACH_CONTACT, object_id=case.pk)
    assert clock.owner_organization == case.assigned_organization and clock.learner_id == learners.aiperi.pk
    assert AuditEvent.objects.filter(event="outreach.opened", object_id=str(case.pk), learner_id=learners.aiperi.pk).exists()
    # The district education officer is told (in the app and by e-mail if an address is known), without names.
    told = Notification.objects.filter(user=cast.a.users[Role.DISTRICT_OFFICER])
    assert told.count() == 1 and "Айпери" not in told.get().text
    assert Notification.objects.filter(user=lsg).count() == 1
    # A second search opens nothing new.
    assert services.find_out_of_school(lsg).opened == []
    assert len(mail.outbox) == 0  # the cast has no e-mail addresses


def test_age_and_enrolment_bounds(cast, learners, lsg):
    today = dt.date(2026, 6, 1)
    district, school = cast.a.district, cast.a.orgs[OrgKind.SCHOOL]
    make = lambda born: Learner.objects.create(first_name="Бала", birth_date=born, sex="male", territory=district)  # noqa: E731
    too_young, youngest, oldest, too_old = make(dt.date(2023, 6, 2)), make(dt.date(2023, 6, 1)), make(
        dt.date(2008, 6, 2)), make(dt.date(2008, 6, 1))
    for child in (too_young, youngest, oldest, too_old):
        DisabilityStatus.objects.create(learner=child, category="child", starts_on=dt.date(2024, 1, 1), indefinite=True)
    enrolled_ended = make(dt.date(2015, 1, 1))
    DisabilityStatus.objects.create(learner=enrolled_ended, category="child", starts_on=dt.date(2024, 1, 1), indefinite=True)
    Enrolment.objects.create(learner=enrolled_ended, organization=school, level="school", starts_on=dt.date(2021, 9, 1),
                             ends_on=dt.date(2025, 5, 31), status="dropped-out", end_reason="Moved to home care.")
    closed_status = make(dt.date(2015, 1, 1))
    DisabilityStatus.objects.create(learner=closed_status, category="child", starts_on=dt.date(2020, 1, 1),
                                    ends_on=dt.date(2025, 1, 1))
    found = set(services.out_of_school(Learner.objects.all(), today))
    assert {youngest, oldest, enrolled_ended} <= found
    assert not {too_young, too_old, closed_status} & found


def test_a_register_row_or_a_concern_is_a_ground(cast, officer, msek, learners, placed):
    batch = import_register(officer, msek).batch
    services.link_batch(officer, batch)
    enrolment = Enrolment.objects.get(learner=placed["a"].learner)
    enrolment.status, enrolment.ends_on = "completed", dt.date.today()
    enrolment.save()
    enrolment.ends_on = dt.date.today() - dt.timedelta(days=1)
    enrolment.save()
    DisabilityStatus.objects.filter(learner=placed["a"].learner).update(closed_at=dt.datetime(2024, 1, 1, tzinfo=dt.UTC))
    # Асанов Бакыт: no valid status now, no enrolment, but a row in the MSEK register linked to him.
    result = services.find_out_of_school(officer)
    case = next(c for c in result.opened if c.learner == placed["a"].learner)
    assert case.ground == OutreachCase.Ground.DISABILITY and case.found_in.batch == batch


def test_contact_refer_enrol(cast, learners, found, lsg):
    case = found.opened[0]
    services.transition(lsg, case, "contact", reason="Visited the family; the mother wants a kindergarten.")
    case.refresh_from_db()
    assert case.state == OutreachState.CONTACTED and case.contacted_at
    assert Deadline.objects.get(object_id=case.pk, clock=Clock.OUTREACH_CONTACT).met_at is not None
    services.transition(lsg, case, "refer", reason="Referral to the PMPK made.")
    with pytest.raises(ValidationError) as exc:
        services.transition(lsg, case, "enrol")
    assert "no active enrolment" in exc.value.messages[0]
    school = cast.a.orgs[OrgKind.SCHOOL]
    enrolment = Enrolment.objects.create(learner=learners.aiperi, organization=school, level="school", grade=1,
                                         starts_on=dt.date.today())
    services.transition(lsg, case, "enrol")
    case.refresh_from_db()
    assert (case.state, case.enrolment, case.is_open) == (OutreachState.ENROLLED, enrolment, False)
    events = list(AuditEvent.objects.filter(object_type="exchange.outreachcase", object_id=str(case.pk))
                  .values_list("event", flat=True))
    assert events == ["outreach.opened", "outreach.contact", "outreach.refer", "outreach.enrol"]
    # No longer out of school: nothing to find.
    assert learners.aiperi not in set(services.out_of_school(Learner.objects.all()))


def test_declined_needs_a_reason_and_can_be_reopened(found, lsg):
    case = found.opened[0]
    services.transition(lsg, case, "contact")
    with pytest.raises(ValidationError) as exc:
        services.transition(lsg, case, "decline")
    assert "reason" in exc.value.message_dict
    services.transition(lsg, case, "decline", reason="The family teaches the child at home for now.")
    case.refresh_from_db()
    assert case.state == OutreachState.FAMILY_DECLINED and case.outcome_reason.startswith("The family")
    services.transition(lsg, case, "reopen", reason="The family asked again in September.")
    case.refresh_from_db()
    assert case.state == OutreachState.TO_CONTACT and case.closed_at is None
    assert Deadline.objects.filter(object_id=case.pk, clock=Clock.OUTREACH_CONTACT, met_at__isnull=True,
                                   cancelled_at__isnull=True).exists()


def test_moved_passes_the_case_on(cast, found, lsg):
    case = found.opened[0]
    with pytest.raises(ValidationError) as exc:
        services.transition(lsg, case, "move", reason="Moved.")
    assert "moved_to" in exc.value.message_dict
    services.transition(lsg, case, "move", reason="The family moved to Alamüdün.", moved_to=cast.b.district)
    case.refresh_from_db()
    assert case.state == OutreachState.MOVED and case.moved_to == cast.b.district
    new = case.next_case
    assert new.state == OutreachState.TO_CONTACT and new.territory == cast.b.district
    assert new.assigned_organization == cast.b.orgs[OrgKind.LOCAL_GOVERNMENT]
    # The case leaves A's list and appears in B's; B's officer may open the child's record.
    b_lsg = cast.b.users[Role.LOCAL_GOVERNMENT_OFFICER]
    assert OutreachCase.objects.visible_to(b_lsg).filter(pk=new.pk).exists()
    assert not OutreachCase.objects.visible_to(b_lsg).filter(pk=case.pk).exists()
    assert not OutreachCase.objects.visible_to(lsg).filter(pk=new.pk).exists()
    assert Learner.objects.visible_to(b_lsg).filter(pk=new.learner_id).exists()
    services.transition(b_lsg, new, "contact", reason="Found at the new address.")


def test_not_found_and_deceased(found, lsg, learners):
    case = found.opened[0]
    services.transition(lsg, case, "deceased", reason="Death registered on 2026-01-03.")
    learners.aiperi.refresh_from_db()
    assert learners.aiperi.archived_at is not None  # the record is archived, never deleted
    assert Deadline.objects.get(object_id=case.pk, clock=Clock.OUTREACH_CONTACT).cancelled_at is not None


@pytest.mark.parametrize("role", [Role.DISTRICT_OFFICER, Role.SOCIAL_PROTECTION_OFFICER, Role.SCHOOL_COORDINATOR])
def test_only_the_local_self_government_works_the_case(cast, found, role):
    case = found.opened[0]
    with pytest.raises(PermissionDenied):
        services.transition(cast.a.users[role], case, "contact")
    with pytest.raises(PermissionDenied):
        services.transition(cast.b.users[Role.LOCAL_GOVERNMENT_OFFICER], case, "contact")


def test_no_local_self_government_means_no_case(cast, learners, lsg):
    cast.a.orgs[OrgKind.LOCAL_GOVERNMENT].is_active = False
    cast.a.orgs[OrgKind.LOCAL_GOVERNMENT].save()
    result = services.find_out_of_school(None)  # the system run (the command)
    assert result.opened == [] and result.skipped and "No local self-government" in result.skipped[0][1]


def test_command_opens_cases(cast, learners, capsys):
    call_command("outreach", "find")
    out = capsys.readouterr().out
    assert "1" in out and OutreachCase.objects.count() == 1
    call_command("outreach", "find", "--territory", cast.b.district.code)
    assert OutreachCase.objects.count() == 1


def test_find_is_for_the_roles_that_bring_children_in(cast, learners):
    for role in (Role.SCHOOL_COORDINATOR, Role.DISTRICT_OFFICER, Role.PARENT):
        with pytest.raises(PermissionDenied):
            services.find_out_of_school(cast.a.users[role])
    # B's officer finds nothing in A.
    assert services.find_out_of_school(cast.b.users[Role.LOCAL_GOVERNMENT_OFFICER]).opened == []
    assert Territory.objects.filter(pk=cast.a.district.pk).exists()


def test_moved_moves_the_childs_address(cast, found, lsg, learners, client):
    """Passing a case on changes where the child lives: the new territory sees the child, the old one no longer."""
    aiperi = learners.aiperi
    aiperi.address = "Ленин көчөсү 5"
    aiperi.save()
    case = found.opened[0]
    services.transition(lsg, case, "move", reason="The family moved to Alamüdün.", moved_to=cast.b.district)
    aiperi.refresh_from_db()
    assert (aiperi.territory, aiperi.address) == (cast.b.district, "")  # the old street address went with the old place
    event = AuditEvent.objects.get(event="learner.moved", learner_id=aiperi.pk)
    assert event.actor == lsg and event.object_type == "learners.learner"
    assert event.changes == {"territory": [cast.a.district.pk, cast.b.district.pk], "address": ["Ленин көчөсү 5", ""]}
    assert f"Outreach case {case.pk} passed on to" in event.reason and "The family moved" in event.reason
    b_lsg, b_district = cast.b.users[Role.LOCAL_GOVERNMENT_OFFICER], cast.b.users[Role.DISTRICT_OFFICER]
    a_district = cast.a.users[Role.DISTRICT_OFFICER]
    # The old territory's officers no longer reach the child; the new territory's do, by the address.
    for user in (lsg, a_district):
        assert not Learner.objects.visible_to(user).filter(pk=aiperi.pk).exists()
        assert aiperi not in set(services.out_of_school(Learner.objects.visible_to(user)))
    for user in (b_lsg, b_district):
        assert Learner.objects.visible_to(user).filter(pk=aiperi.pk).exists()
        assert aiperi in set(services.out_of_school(Learner.objects.visible_to(user)))
    # The learner's page and the work list: in B, not in A.
    client.force_login(b_lsg)
    assert client.get(reverse("learners:detail", args=[aiperi.pk])).status_code == 200
    listing = client.get(reverse("exchange:case-list")).content.decode()
    assert "Айпери" in listing
    client.force_login(lsg)
    assert client.get(reverse("learners:detail", args=[aiperi.pk])).status_code == 404
    # A keeps its own closed case (its work, "moved away") but has nothing open about her.
    assert "Айпери" not in client.get(reverse("exchange:case-list") + "?open=1").content.decode()
    assert list(OutreachCase.objects.visible_to(lsg).filter(learner=aiperi).values_list("state", flat=True)) == [
        OutreachState.MOVED]
    # Searching again opens nothing: A does not reach her, B's case is open.
    assert services.find_out_of_school(lsg).opened == [] and services.find_out_of_school(b_lsg).opened == []
    # Once B's case ends, the child stays B's by her address.
    services.transition(b_lsg, case.next_case, "not_found", reason="Not at the address given.")
    assert Learner.objects.visible_to(b_lsg).filter(pk=aiperi.pk).exists()
    assert not Learner.objects.visible_to(lsg).filter(pk=aiperi.pk).exists()


def test_moved_by_an_officer_who_may_not_change_the_record(cast, found, lsg, learners, monkeypatch):
    """Where the policy does not let the officer change the child's record, the move is the system's consequence."""
    monkeypatch.setitem(access.MATRIX[Role.LOCAL_GOVERNMENT_OFFICER], Rec.LEARNER, "r")
    case = found.opened[0]
    with pytest.raises(PermissionDenied):
        learner_services.update_learner(lsg, learners.aiperi, address="x")
    services.transition(lsg, case, "move", reason="Moved to Alamüdün.", moved_to=cast.b.district)
    learners.aiperi.refresh_from_db()
    assert learners.aiperi.territory == cast.b.district
    event = AuditEvent.objects.get(event="learner.moved", learner_id=learners.aiperi.pk)
    assert event.actor is None and f"step taken by {lsg.username}" in event.reason
    assert AuditEvent.objects.get(event="outreach.move", object_id=str(case.pk)).actor == lsg


def test_moved_leaves_an_archived_record_alone(cast, found, lsg, learners):
    case = found.opened[0]
    learner_services.archive_learner(lsg, learners.aiperi, reason="Entered by mistake.")
    services.transition(lsg, case, "move", reason="Moved.", moved_to=cast.b.district)
    learners.aiperi.refresh_from_db()
    assert learners.aiperi.territory == cast.a.district
    assert not AuditEvent.objects.filter(event="learner.moved").exists()


def test_record_move_checks_the_right_to_change_the_record(cast, learners):
    with pytest.raises(PermissionDenied):
        learner_services.record_move(cast.b.users[Role.LOCAL_GOVERNMENT_OFFICER], learners.aiperi,
                                     territory=cast.b.district, reason="x")
    learners.aiperi.refresh_from_db()
    assert learners.aiperi.territory == cast.a.district
