"""The API: a PMPK concludes, the parent releases, the school sees the obligations — under the same
rules and access policy as the pages."""

import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from birge.assessments.models import AssessmentSession, Conclusion, Release
from birge.core.deadline_models import Clock, Deadline
from birge.referrals.models import State

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(settings):
    def as_user(user):
        client = APIClient()
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
        client.force_authenticate(user)
        return client

    return as_user


def test_the_whole_path(world, api):
    chair, member, parent = api(world.chair), api(world.member), api(world.parent)
    when = (timezone.now() + dt.timedelta(days=5)).isoformat()
    r = chair.post("/api/v1/assessment-sessions/", {
        "referral": world.referral.pk, "scheduled_at": when, "place": "Room 1",
        "members": [{"user": world.chair.pk, "specialty": "psychologist", "is_chair": True},
                    {"user": world.member.pk, "specialty": "speech-therapist"}]}, format="json")
    assert r.status_code == 201, r.json()
    session = r.json()
    assert len(session["members"]) == 2 and session["status"] == "scheduled"
    speech = next(m for m in session["members"] if m["user"] == world.member.pk)
    r = member.post("/api/v1/assessment-findings/", {"session": session["id"], "member": speech["id"], "domain": "communication",
                                                     "difficulty": "a_lot_of_difficulty", "text": "Two-word phrases."})
    assert r.status_code == 201, r.json()
    r = chair.post(f"/api/v1/assessment-sessions/{session['id']}/held/", {"parent_present": True, "sources": ["observation"]},
                   format="json")
    assert r.status_code == 200 and r.json()["status"] == "held"
    world.referral.refresh_from_db()
    assert world.referral.state == State.ASSESSED

    r = member.post("/api/v1/conclusions/", {
        "session": session["id"], "programme": "adapted", "recommended_form": "mainstream",
        "valid_until": (timezone.localdate() + dt.timedelta(days=700)).isoformat(),
        "next_review_on": (timezone.localdate() + dt.timedelta(days=365)).isoformat(),
        "items": [{"catalogue": "speech-therapy", "minutes_per_week": 90}, {"catalogue": "hearing-aid"}]}, format="json")
    assert r.status_code == 201, r.json()
    cid = r.json()["id"]
    r = member.post("/api/v1/conclusion-items/", {"conclusion": cid, "catalogue": "tutor"})
    assert r.status_code == 400 and "minutes_per_week" in r.json()
    r = member.post("/api/v1/conclusion-items/", {"conclusion": cid, "catalogue": "tutor", "minutes_per_week": 600})
    assert r.status_code == 201
    assert member.post(f"/api/v1/conclusions/{cid}/issue/").status_code == 400  # only the chair
    r = chair.post(f"/api/v1/conclusions/{cid}/issue/")
    assert r.status_code == 200 and r.json()["status"] == "issued" and r.json()["number"]
    assert len(r.json()["items"]) == 3
    r = member.patch(f"/api/v1/conclusions/{cid}/", {"summary": "Changed"}, format="json")
    assert r.status_code == 400  # never edited after issue
    assert api(world.coordinator).get(f"/api/v1/conclusions/{cid}/").status_code == 404

    # the parent: a release without consent is refused with a field error; with consent it binds the school
    r = parent.post("/api/v1/conclusion-releases/", {"conclusion": cid, "organization": world.school_b.code})
    assert r.status_code == 400 and "consent" in r.json()
    r = parent.post("/api/v1/conclusion-releases/", {"conclusion": cid, "organization": world.school_b.code,
                                                     "give_consent": True})
    assert r.status_code == 201, r.json()
    release_id = r.json()["id"]
    coordinator_b = api(world.coordinator_b)
    assert coordinator_b.get(f"/api/v1/conclusions/{cid}/").status_code == 200
    assert coordinator_b.get("/api/v1/conclusion-releases/").json()["count"] == 1
    clocks = set(Deadline.objects.filter(learner_id=world.learner.pk, owner_organization=world.school_b)
                 .values_list("clock", flat=True))
    assert clocks == {Clock.RELEASE_TO_PLAN, Clock.SERVICE_START, Clock.DEVICE_DELIVERY}
    assert coordinator_b.post(f"/api/v1/conclusion-releases/{release_id}/revoke/", {"reason": "x"}).status_code == 403
    r = parent.post(f"/api/v1/conclusion-releases/{release_id}/revoke/", {"reason": "We moved."})
    assert r.status_code == 200 and r.json()["active"] is False
    assert coordinator_b.get(f"/api/v1/conclusions/{cid}/").status_code == 404

    # supersede keeps the history; withdraw needs a reason
    r = member.post(f"/api/v1/conclusions/{cid}/supersede/", {}, format="json")
    assert r.status_code == 201 and r.json()["supersedes"] == cid
    new = r.json()["id"]
    assert chair.post(f"/api/v1/conclusions/{new}/issue/").status_code == 200
    assert Conclusion.objects.get(pk=cid).status == "superseded"
    r = chair.post(f"/api/v1/conclusions/{new}/withdraw/", {})
    assert r.status_code == 400 and "reason" in r.json()
    assert chair.post(f"/api/v1/conclusions/{new}/withdraw/", {"reason": "Entered for the wrong child"}).status_code == 200


def test_session_bad_input_and_consent(world, api):
    from birge.learners.models import Consent

    Consent.objects.filter(learner=world.learner, purpose="assessment").update(withdrawn_at=timezone.now())
    r = api(world.chair).post("/api/v1/assessment-sessions/", {
        "referral": world.referral.pk, "scheduled_at": (timezone.now() + dt.timedelta(days=2)).isoformat(), "place": "Room",
        "members": [{"user": world.chair.pk, "specialty": "psychologist"}]}, format="json")
    assert r.status_code == 400 and "consent" in r.json()
    assert not AssessmentSession.objects.exists()
    r = api(world.coordinator).post("/api/v1/assessment-sessions/", {
        "referral": world.referral.pk, "scheduled_at": (timezone.now() + dt.timedelta(days=2)).isoformat(), "place": "Room",
        "members": [{"user": world.chair.pk, "specialty": "psychologist"}]}, format="json")
    assert r.status_code == 403


def test_actions_on_a_record_out_of_reach_are_404_whatever_the_body(world, api):
    """Out of reach is a 404 before the body is read: an empty or bad body must not reveal, by a 400, that the
    conclusion or the release exists."""
    release = world.released()
    conclusion = release.conclusion
    outsider = api(world.coordinator_b)  # another district's school: sees neither
    assert outsider.get(f"/api/v1/conclusions/{conclusion.pk}/").status_code == 404
    for body in ({}, {"reason": "x"}):
        assert outsider.post(f"/api/v1/conclusions/{conclusion.pk}/withdraw/", body, format="json").status_code == 404
        assert outsider.post(f"/api/v1/conclusion-releases/{release.pk}/revoke/", body, format="json").status_code == 404
    assert outsider.post(f"/api/v1/conclusions/{conclusion.pk}/supersede/", {"session": "x"}, format="json").status_code == 404
    release.refresh_from_db()
    assert release.revoked_at is None and Conclusion.objects.get(pk=conclusion.pk).status == Conclusion.Status.ISSUED


def test_a_release_names_its_obligations_and_their_deadlines(world, api):
    """The receiving school learns through the API what it must do: each obligation (a service to arrange, a device
    to request) with its catalogue code, joined to its clock in /deadlines/ by record type and id."""
    release = world.released()
    body = api(world.coordinator).get(f"/api/v1/conclusion-releases/{release.pk}/").json()
    obligations = {o["catalogue"]: o for o in body["obligations"]}
    assert {(code, o["kind"]) for code, o in obligations.items()} == {
        ("speech-therapy", "service"), ("social-pedagogy", "service"), ("hearing-aid", "device")}
    deadlines = api(world.coordinator).get("/api/v1/deadlines/", {"status": "open"}).json()["results"]
    about = {(d["record_type"], d["object_id"]): d["clock"] for d in deadlines}
    assert about[("assessments.obligation", obligations["speech-therapy"]["id"])] == Clock.SERVICE_START
    assert about[("assessments.obligation", obligations["hearing-aid"]["id"])] == Clock.DEVICE_DELIVERY
    assert api(world.coordinator_b).get(f"/api/v1/conclusion-releases/{release.pk}/").status_code == 404


def test_catalogue_is_read_only(world, api):
    client = api(world.parent)
    r = client.get("/api/v1/assessment-catalogue/?kind=service")
    assert r.status_code == 200 and all(i["kind"] == "service" for i in r.json()["results"])
    assert client.post("/api/v1/assessment-catalogue/", {"code": "x"}).status_code == 405


def test_releases_by_number(world, api):
    from .conftest import release_consent

    conclusion = world.issued()
    consent = release_consent(world, world.school)
    r = api(world.coordinator).post("/api/v1/conclusion-releases/by-number/", {
        "learner": world.learner.pk, "number": conclusion.number, "consent": consent.pk})
    assert r.status_code == 201 and Release.objects.get().organization == world.school


def test_schema_documents_the_endpoints(client, cast):
    client.force_login(cast.a.users["pmpk-chair"])
    schema = client.get("/api/v1/schema/").content.decode()
    for path in ("/api/v1/assessment-sessions/{id}/held/", "/api/v1/assessment-sessions/{id}/cancel/",
                 "/api/v1/assessment-members/", "/api/v1/assessment-findings/", "/api/v1/conclusions/{id}/issue/",
                 "/api/v1/conclusions/{id}/withdraw/", "/api/v1/conclusions/{id}/supersede/", "/api/v1/conclusion-items/",
                 "/api/v1/conclusion-releases/{id}/revoke/", "/api/v1/conclusion-releases/by-number/",
                 "/api/v1/assessment-catalogue/"):
        assert path in schema, path
