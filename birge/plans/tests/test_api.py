"""The plan API: the same rules, actions and access as the pages."""

import datetime as dt

import pytest
from django.conf import settings
from django.utils import timezone
from rest_framework.test import APIClient

from birge.core.roles import Role
from birge.plans.models import IndividualPlan, PlanState

from .conftest import GOAL, active_plan, draft

pytestmark = pytest.mark.django_db


def api(user):
    """A client reading English messages (Kyrgyz is the default language, and its catalogue is compiled)."""
    client = APIClient()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    client.force_authenticate(user)
    return client


def test_build_agree_activate_amend_close_through_the_api(world):
    coord = api(world.coordinator)
    r = coord.post("/api/v1/plans/", {"learner": world.learner.pk}, format="json")
    assert r.status_code == 201, r.json()
    plan = r.json()
    assert plan["state"] == "draft" and plan["lock_version"] == 0 and len(plan["services"]) == 1
    r = coord.post("/api/v1/plan-goals/", {"plan": plan["id"], "lock_version": 0, **GOAL}, format="json")
    assert r.status_code == 201, r.json()
    service = plan["services"][0]
    r = coord.patch(f"/api/v1/plan-services/{service['id']}/", {
        "lock_version": 1, "provider_user": world.speech.pk, "starts_on": timezone.localdate().isoformat()}, format="json")
    assert r.status_code == 200, r.json()
    assert r.json()["provider_name"] == str(world.speech)
    r = coord.post(f"/api/v1/plans/{plan['id']}/propose/", {"lock_version": 2}, format="json")
    assert r.status_code == 200 and r.json()["state"] == "proposed"
    r = api(world.parent).post(f"/api/v1/plans/{plan['id']}/agree/", {"lock_version": 3, "method": "in-system"}, format="json")
    assert r.status_code == 200 and r.json()["state"] == "agreed", r.json()
    r = coord.post(f"/api/v1/plans/{plan['id']}/activate/", {"lock_version": 4}, format="json")
    assert r.status_code == 200 and r.json()["state"] == "active"
    today = timezone.localdate()
    r = coord.post(f"/api/v1/plans/{plan['id']}/amend/", {"lock_version": 5, "effective_from": (today - dt.timedelta(days=1)).isoformat(),
                                                          "reason": "x"}, format="json")
    assert r.status_code == 400 and "effective_from" in r.json()
    r = coord.post(f"/api/v1/plans/{plan['id']}/amend/", {"lock_version": 5, "effective_from": today.isoformat(),
                                                          "reason": "More speech therapy"}, format="json")
    assert r.status_code == 201 and r.json()["version"] == 2 and r.json()["previous"] == plan["id"]
    r = coord.get(f"/api/v1/plans/{plan['id']}/versions/")
    assert [v["version"] for v in r.json()] == [1, 2]
    new_id = r.json()[1]["id"]
    r = coord.post(f"/api/v1/plans/{new_id}/close/", {"lock_version": 0, "reason": "Not needed after all"}, format="json")
    assert r.status_code == 200 and r.json()["state"] == "closed"


def test_stale_lock_version_is_a_400_on_the_field(world):
    plan = draft(world)
    coord = api(world.coordinator)
    assert coord.patch(f"/api/v1/plans/{plan.pk}/", {"lock_version": 0, "timetable_notes": "Mondays"},
                       format="json").status_code == 200
    r = coord.patch(f"/api/v1/plans/{plan.pk}/", {"lock_version": 0, "timetable_notes": "Tuesdays"}, format="json")
    assert r.status_code == 400 and "Someone else changed this plan" in r.json()["lock_version"][0]
    plan.refresh_from_db()
    assert plan.timetable_notes == "Mondays"
    r = coord.patch(f"/api/v1/plans/{plan.pk}/", {"timetable_notes": "Tuesdays"}, format="json")
    assert r.status_code == 400 and "lock_version" in r.json()


def test_bad_input_is_a_field_map(world):
    world.release.revoked_at = timezone.now()
    world.release.save()
    r = api(world.coordinator).post("/api/v1/plans/", {"learner": world.learner.pk}, format="json")
    assert r.status_code == 400 and "own_basis" in r.json()
    assert not IndividualPlan.objects.exists()
    r = api(world.coordinator).post("/api/v1/plans/", {"learner": world.learner.pk, "own_basis": "Teachers' observations"},
                                    format="json")
    assert r.status_code == 201
    plan_id = r.json()["id"]
    r = api(world.coordinator).post("/api/v1/plan-goals/", {"plan": plan_id, "lock_version": 0, "area": "flying"},
                                    format="json")
    assert r.status_code == 400 and {"area", "description", "baseline"} <= set(r.json())


def test_review_through_the_api(world):
    plan = active_plan(world)
    goal = plan.goals.get()
    today = timezone.localdate()
    r = api(world.speech).post(f"/api/v1/plans/{plan.pk}/review/", {
        "lock_version": plan.lock_version, "held_on": today.isoformat(), "decision": "continue",
        "next_review_on": (today + dt.timedelta(days=90)).isoformat(),
        "progress": [{"goal": goal.pk, "rating": "good", "comment": "ok"}]}, format="json")
    assert r.status_code == 201, r.json()
    assert r.json()["progress"][0]["rating"] == "good"
    r = api(world.parent).get(f"/api/v1/plan-reviews/?plan={plan.pk}")
    assert r.json()["count"] == 1


def test_out_of_reach_is_404(world):
    plan = active_plan(world)
    for user in (world.user("b", Role.SCHOOL_COORDINATOR), world.user("b", Role.DISTRICT_OFFICER), world.psychologist,
                 world.cast.outsider):
        client = api(user)
        assert client.get(f"/api/v1/plans/{plan.pk}/").status_code == 404
        assert client.post(f"/api/v1/plans/{plan.pk}/close/", {"lock_version": 0, "reason": "x"}, format="json").status_code == 404
        assert client.get("/api/v1/plans/").json()["count"] == 0
    r = api(world.teacher).post(f"/api/v1/plans/{plan.pk}/close/", {"lock_version": plan.lock_version, "reason": "x"},
                                format="json")
    assert r.status_code in (403, 404)
    plan.refresh_from_db()
    assert plan.state == PlanState.ACTIVE
    assert api(world.user("a", Role.DISTRICT_OFFICER)).get(f"/api/v1/plans/{plan.pk}/").status_code == 200


def test_pdf_document_endpoint(world):
    plan = active_plan(world)
    r = api(world.parent).get(f"/api/v1/plans/{plan.pk}/document/?lang=ru")
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf" and r.content.startswith(b"%PDF")


def test_schema_documents_plans_and_support(client, cast):
    client.force_login(cast.a.users[Role.SCHOOL_COORDINATOR])
    schema = client.get("/api/v1/schema/").content.decode()
    for path in ("/api/v1/plans/", "/api/v1/plans/{id}/propose/", "/api/v1/plans/{id}/agree/", "/api/v1/plans/{id}/activate/",
                 "/api/v1/plans/{id}/amend/", "/api/v1/plans/{id}/close/", "/api/v1/plans/{id}/review/",
                 "/api/v1/plans/{id}/versions/", "/api/v1/plans/{id}/document/", "/api/v1/plan-goals/",
                 "/api/v1/plan-accommodations/", "/api/v1/plan-services/", "/api/v1/plan-members/", "/api/v1/plan-reviews/",
                 "/api/v1/service-sessions/", "/api/v1/service-sessions/{id}/withdraw/", "/api/v1/planned-vs-delivered/",
                 "/api/v1/handovers/"):
        assert path in schema, path
    assert "lock_version" in schema
