"""Service sessions: only for a service the learner's plan in force gives the provider; planned versus delivered."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from birge.core.deadline_models import Clock, Deadline
from birge.core.roles import Role
from birge.plans import services as plan_services
from birge.plans.tests.conftest import active_plan, draft, item, ready_draft
from birge.support import delivery, services
from birge.support.models import ServiceSession

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate


def speech_service(plan):
    return plan.services.get(catalogue__code="speech-therapy")


def test_provider_logs_a_session_and_the_service_start_clock_stops(world):
    plan = active_plan(world)
    service = speech_service(plan)
    assert Deadline.objects.for_object(service).open().filter(clock=Clock.SERVICE_START).exists()
    session = services.log_session(world.speech, learner=world.learner, plan_service=service, held_on=TODAY(), minutes=30,
                                   note="Articulation games")
    assert session.organization == world.school and session.provider == world.speech and session.counts
    assert Deadline.objects.for_object(service).filter(clock=Clock.SERVICE_START, met_at__isnull=False).exists()
    # The obligation the release created for the recommended speech therapy is met as well.
    from birge.assessments.models import Obligation

    obligation = Obligation.objects.get(release=world.release, catalogue__code="speech-therapy")
    assert Deadline.objects.for_object(obligation).get(clock=Clock.SERVICE_START).met_at is not None
    by_code = services.log_session(world.speech, learner=world.learner, service=item("speech-therapy"), held_on=TODAY(),
                                   minutes=30, setting="group")
    assert by_code.plan_service == service


def test_session_for_a_service_the_plan_does_not_give_is_refused(world):
    plan = active_plan(world)
    with pytest.raises(ValidationError) as exc:
        services.log_session(world.speech, learner=world.learner, service=item("psychological-support"), held_on=TODAY(),
                             minutes=30)
    assert "does not give you this service" in exc.value.message_dict["service"][0]
    # Another specialist of the school, even assigned to the child, does not give this service.
    from birge.learners.models import Assignment

    Assignment.objects.create(learner=world.learner, user=world.psychologist, organization=world.school, kind="specialist")
    with pytest.raises(ValidationError) as exc:
        services.log_session(world.psychologist, learner=world.learner, plan_service=speech_service(plan), held_on=TODAY(),
                             minutes=30)
    assert "plan_service" in exc.value.message_dict
    assert not ServiceSession.objects.exists()


def test_no_session_before_the_plan_is_in_force(world):
    plan = ready_draft(world)
    with pytest.raises(ValidationError):
        services.log_session(world.speech, learner=world.learner, plan_service=speech_service(plan), held_on=TODAY(), minutes=30)
    assert not ServiceSession.objects.exists()


def test_session_dates_and_fields_are_checked(world):
    plan = active_plan(world)
    service = speech_service(plan)
    cases = [
        ({"held_on": TODAY() + dt.timedelta(days=1), "minutes": 30}, "held_on"),
        ({"held_on": TODAY() - dt.timedelta(days=1), "minutes": 30}, "held_on"),  # before the service starts
        ({"held_on": TODAY(), "minutes": 0}, "minutes"),
        ({"held_on": TODAY(), "minutes": 900}, "minutes"),
        ({"held_on": TODAY(), "minutes": 30, "attendance": "missed"}, "missed_reason"),
    ]
    for kwargs, field in cases:
        with pytest.raises(ValidationError) as exc:
            services.log_session(world.speech, learner=world.learner, plan_service=service, **kwargs)
        assert field in exc.value.message_dict, kwargs
    assert not ServiceSession.objects.exists()
    missed = services.log_session(world.speech, learner=world.learner, plan_service=service, held_on=TODAY(), minutes=30,
                                  attendance="missed", missed_reason="learner-ill")
    assert not missed.counts
    # A missed session does not start the service.
    assert Deadline.objects.for_object(service).open().filter(clock=Clock.SERVICE_START).exists()


def test_learner_out_of_reach_is_not_found(world):
    active_plan(world)
    with pytest.raises(PermissionDenied):
        services.log_session(world.user("b", Role.SPEECH_THERAPIST), learner=world.learner, service=item("speech-therapy"),
                             held_on=TODAY(), minutes=30)


def test_withdraw_keeps_the_entry(world):
    plan = active_plan(world)
    session = services.log_session(world.speech, learner=world.learner, plan_service=speech_service(plan), held_on=TODAY(),
                                   minutes=30)
    with pytest.raises(PermissionDenied):
        services.withdraw_session(world.teacher, session, reason="x")
    with pytest.raises(ValidationError):
        services.withdraw_session(world.speech, session, reason="")
    services.withdraw_session(world.speech, session, reason="Logged for the wrong day")
    session.refresh_from_db()
    assert session.withdrawn_at and not session.counts and ServiceSession.objects.count() == 1


def _plan_from(world, days_ago, minutes=60):
    """A plan in force since ``days_ago`` days with speech therapy ``minutes`` a week from that day."""
    plan = draft(world)
    from birge.plans.tests.conftest import GOAL

    start = TODAY() - dt.timedelta(days=days_ago)
    plan_services.add_goal(world.coordinator, plan, lock_version=plan.lock_version, **GOAL)
    plan_services.update_service(world.coordinator, speech_service(plan), lock_version=plan.lock_version,
                                 provider_user=world.speech, starts_on=start, minutes_per_week=minutes)
    plan_services.propose(world.coordinator, plan, lock_version=plan.lock_version)
    plan_services.agree(world.parent, plan, lock_version=plan.lock_version, method="in-system")
    plan_services.activate(world.coordinator, plan, lock_version=plan.lock_version, effective_from=start)
    return plan


def test_planned_versus_delivered(world):
    plan = _plan_from(world, days_ago=13)  # 14 days in force including today: 2 weeks of 60 minutes
    service = speech_service(plan)
    for days_ago, minutes, attendance in ((10, 45, "attended"), (3, 30, "attended"), (2, 30, "missed")):
        services.log_session(world.speech, learner=world.learner, plan_service=service, held_on=TODAY() - dt.timedelta(days=days_ago),
                             minutes=minutes, attendance=attendance, missed_reason="learner-ill" if attendance == "missed" else "")
    withdrawn = services.log_session(world.speech, learner=world.learner, plan_service=service, held_on=TODAY(), minutes=40)
    services.withdraw_session(world.speech, withdrawn, reason="duplicate")
    date_from, date_to = TODAY() - dt.timedelta(days=30), TODAY()
    rows = delivery.planned_vs_delivered(world.coordinator, date_from=date_from, date_to=date_to)
    assert len(rows) == 1
    row = rows[0]
    assert (row.key, row.planned, row.delivered, row.gap, row.sessions, row.missed) == (world.learner.pk, 120, 75, 45, 2, 1)
    assert row.share == 62
    for group, key in (("organization", world.school.pk), ("district", world.school.territory.district_id)):
        (grouped,) = delivery.planned_vs_delivered(world.coordinator, date_from=date_from, date_to=date_to, group=group)
        assert (grouped.key, grouped.planned, grouped.delivered) == (key, 120, 75)
    # A shorter period counts only its own days: the last 7 days hold 60 planned minutes and 30 delivered.
    (week,) = delivery.planned_vs_delivered(world.coordinator, date_from=TODAY() - dt.timedelta(days=6), date_to=TODAY())
    assert (week.planned, week.delivered) == (60, 30)
    # Under the access policy: district A's officer sees the totals, district B's officer nothing.
    assert delivery.planned_vs_delivered(world.user("a", Role.DISTRICT_OFFICER), date_from=date_from, date_to=date_to)[0].planned == 120
    assert delivery.planned_vs_delivered(world.user("b", Role.DISTRICT_OFFICER), date_from=date_from, date_to=date_to) == []
    assert delivery.planned_vs_delivered(world.cast.outsider, date_from=date_from, date_to=date_to) == []


def test_planned_minutes_count_each_version_over_the_days_it_was_in_force(world):
    """An amendment or a closing inside the period does not drop the planned minutes of the days before it:
    version 1 counts until version 2 takes effect, version 2 from then on; a closed plan counts until it closed."""
    plan = _plan_from(world, days_ago=20, minutes=70)  # 70 minutes a week = 10 a day
    services.log_session(world.speech, learner=world.learner, plan_service=speech_service(plan),
                         held_on=TODAY() - dt.timedelta(days=15), minutes=40)
    date_from, date_to = TODAY() - dt.timedelta(days=20), TODAY()  # 21 days
    (row,) = delivery.planned_vs_delivered(world.coordinator, date_from=date_from, date_to=date_to)
    assert (row.planned, row.delivered) == (210, 40)
    plan.refresh_from_db()
    v2 = plan_services.amend(world.coordinator, plan, lock_version=plan.lock_version,
                             effective_from=TODAY() - dt.timedelta(days=6), reason="Twice as much")
    plan_services.update_service(world.coordinator, speech_service(v2), lock_version=v2.lock_version, minutes_per_week=140)
    v2.refresh_from_db()
    plan_services.propose(world.coordinator, v2, lock_version=v2.lock_version)
    plan_services.agree(world.parent, v2, lock_version=v2.lock_version, method="in-system")
    plan_services.activate(world.coordinator, v2, lock_version=v2.lock_version)
    plan.refresh_from_db()
    assert plan.state == "superseded"
    # Version 1: 14 days at 10 minutes; version 2: 7 days at 20 minutes.
    (row,) = delivery.planned_vs_delivered(world.coordinator, date_from=date_from, date_to=date_to)
    assert (row.planned, row.delivered) == (140 + 140, 40)
    # Before the amendment only version 1 counts; the week after it only version 2.
    (before,) = delivery.planned_vs_delivered(world.coordinator, date_from=date_from, date_to=TODAY() - dt.timedelta(days=7))
    assert before.planned == 140
    (after,) = delivery.planned_vs_delivered(world.coordinator, date_from=TODAY() - dt.timedelta(days=6), date_to=date_to)
    assert after.planned == 140
    # Closing: the plan counts until the day it closed, not after.
    v2.refresh_from_db()
    plan_services.close(world.coordinator, v2, lock_version=v2.lock_version, reason="The family moved abroad.")
    (row,) = delivery.planned_vs_delivered(world.coordinator, date_from=date_from, date_to=date_to + dt.timedelta(days=10))
    assert (row.planned, row.delivered) == (140 + 120, 40)  # version 2: the 6 days before today


def test_session_pages(world, client):
    plan = active_plan(world)
    service = speech_service(plan)
    client.force_login(world.speech)
    home = client.get(reverse("home")).content.decode()
    assert "Your learners and sessions" in home and "to log" in home
    response = client.post(reverse("support:session-log"), {
        "plan_service": service.pk, "held_on": TODAY().isoformat(), "minutes": 30, "setting": "individual",
        "attendance": "missed", "missed_reason": ""})
    assert response.status_code == 200 and "Say why the session was missed" in response.content.decode()
    response = client.post(reverse("support:session-log"), {
        "plan_service": service.pk, "held_on": TODAY().isoformat(), "minutes": 30, "setting": "individual",
        "attendance": "attended"})
    assert response.status_code == 302
    assert ServiceSession.objects.count() == 1
    page = client.get(reverse("support:sessions")).content.decode()
    assert world.learner.full_name in page
    client.force_login(world.psychologist)
    response = client.get(reverse("support:session-log"))
    assert response.status_code == 302  # no service to log: back to the list with a message


def test_delivery_page_and_district_home(world, client):
    plan = _plan_from(world, days_ago=13)
    services.log_session(world.speech, learner=world.learner, plan_service=speech_service(plan), held_on=TODAY(), minutes=30)
    client.force_login(world.user("a", Role.DISTRICT_OFFICER))
    page = client.get(reverse("support:delivery") + "?group=organization").content.decode()
    assert world.school.name in page and "Gap (minutes not delivered)" in page
    home = client.get(reverse("home")).content.decode()
    assert "Services: planned and delivered" in home and world.school.name in home
    client.force_login(world.user("b", Role.DISTRICT_OFFICER))
    page = client.get(reverse("support:delivery")).content.decode()
    assert world.school.name not in page


def test_a_service_continued_by_an_amendment_is_not_reported_as_not_started(world):
    """The district officer's "service not started" list: a service running for weeks under version 1 and carried
    into version 2 by an amendment has started, though no session is logged against version 2's row yet."""
    from birge.support.home import services_not_started

    officer = world.user("a", Role.DISTRICT_OFFICER)
    plan = _plan_from(world, days_ago=40)
    assert [s.pk for s in services_not_started(officer)] == [speech_service(plan).pk]  # 40 days, no session: late
    services.log_session(world.speech, learner=world.learner, plan_service=speech_service(plan),
                         held_on=TODAY() - dt.timedelta(days=20), minutes=30)
    assert not services_not_started(officer).exists()
    plan.refresh_from_db()
    v2 = plan_services.amend(world.coordinator, plan, lock_version=plan.lock_version, effective_from=TODAY(),
                             reason="More speech therapy")
    plan_services.propose(world.coordinator, v2, lock_version=v2.lock_version)
    plan_services.agree(world.parent, v2, lock_version=v2.lock_version, method="in-system")
    plan_services.activate(world.coordinator, v2, lock_version=v2.lock_version)
    assert speech_service(v2).starts_on == TODAY() - dt.timedelta(days=40)
    assert not Deadline.objects.for_object(speech_service(v2)).open().exists()  # the clocks agree: started
    assert not services_not_started(officer).exists()


def test_sessions_api(world):
    plan = active_plan(world)
    client = APIClient()
    client.force_authenticate(world.speech)
    r = client.post("/api/v1/service-sessions/", {"learner": world.learner.pk, "service": "psychological-support",
                                                  "held_on": TODAY().isoformat(), "minutes": 30}, format="json")
    assert r.status_code == 400 and "service" in r.json()
    r = client.post("/api/v1/service-sessions/", {"learner": world.learner.pk, "service": "speech-therapy",
                                                  "held_on": TODAY().isoformat(), "minutes": 30}, format="json")
    assert r.status_code == 201 and r.json()["service"] == "speech-therapy"
    session_id = r.json()["id"]
    r = client.post(f"/api/v1/service-sessions/{session_id}/withdraw/", {"reason": "typo"}, format="json")
    assert r.status_code == 200 and r.json()["withdrawn_at"]
    client.post("/api/v1/service-sessions/", {"learner": world.learner.pk, "plan_service": speech_service(plan).pk,
                                              "held_on": TODAY().isoformat(), "minutes": 45}, format="json")
    officer = APIClient()
    officer.force_authenticate(world.user("a", Role.DISTRICT_OFFICER))
    r = officer.get("/api/v1/planned-vs-delivered/?group=organization")
    assert r.status_code == 200 and r.json()["rows"][0]["delivered"] == 45 and r.json()["total"]["delivered"] == 45
    r = officer.get("/api/v1/planned-vs-delivered/?date_from=2026-02-01&date_to=2026-01-01")
    assert r.status_code == 400 and "date_to" in r.json()
    other = APIClient()
    other.force_authenticate(world.user("b", Role.DISTRICT_OFFICER))
    assert other.get("/api/v1/service-sessions/").json()["count"] == 0
    assert other.get(f"/api/v1/service-sessions/{session_id}/").status_code == 404
