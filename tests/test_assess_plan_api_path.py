"""Issue 4's "Done when", through /api/v1/ only, with token auth and under the access policy.

District A's child (placed at school A, the parent's account is the mother) has an accepted referral to
district A's PMPK. Through the API: the PMPK schedules the session, records a finding and attendance,
drafts and issues the conclusion (a member cannot sign); the parent sees it and releases it to the
school with consent given in the system (a release without consent is refused); the school sees the
obligations and deadlines, builds the plan with a goal and the speech therapist as provider, proposes
it; the parent agrees; the coordinator activates it; the speech therapist logs a session; a review
records progress; an amendment creates version 2 while version 1 stays byte for byte as it was; the
district officer sees planned vs delivered and overdue items, but not the conclusion. The bad input of
the issue (plan without basis, session for a service not in the plan, amendment before the current
version, release without consent, second plan, stale lock_version) is a 400 naming the field, with
nothing half-saved. Every notification the path sends opens for its reader; the plan's PDF (API) and the
conclusion's PDF (page) are tagged, with the Kyrgyz letters ң ө ү in embedded fonts.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone, translation
from rest_framework.test import APIClient

from birge.assessments.models import Conclusion, Obligation, Release
from birge.assessments.tests.conftest import _english, _media, make_referral, placed, world  # noqa: F401  (fixtures)
from birge.core.deadline_models import Clock, Deadline, Notification
from birge.core.roles import Role
from birge.learners.models import Consent, Enrolment, Learner, Sex
from birge.plans.models import IndividualPlan, PlanGoal, PlanService, PlanState
from birge.plans.services import StaleEdit
from birge.support.models import ServiceSession

PASSWORD = "test-pass-123"  # the root conftest's make_user
TODAY = timezone.localdate


@pytest.fixture(autouse=True)
def _no_token_throttle():
    """The token endpoint is throttled per address (10/minute): start each test with a clean count."""
    cache.clear()
    yield
    cache.clear()


def token_client(user) -> APIClient:
    anonymous = APIClient()
    response = anonymous.post("/api/v1/auth/token/", {"username": user.username, "password": PASSWORD}, format="json")
    assert response.status_code == 200, response.content
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    return client


def ok(response, code=200):
    assert response.status_code == code, f"{response.status_code}: {response.content[:2000]!r}"
    return response.json() if response.content and response["Content-Type"].startswith("application/json") else response


def bad(response, field):
    """A 400 whose field map names ``field``."""
    assert response.status_code == 400, f"{response.status_code}: {response.content[:2000]!r}"
    body = response.json()
    assert field in body, f"expected an error on {field!r}, got {body}"
    assert all(isinstance(m, str) and m for m in body[field]), body
    return body


def rows(body):
    return body["results"] if isinstance(body, dict) and "results" in body else body


def plan_snapshot(plan_id):
    """Every column of a plan version and of its parts, for 'never rewritten' comparisons."""
    plan = IndividualPlan.objects.filter(pk=plan_id).values().get()
    parts = {name: list(model.objects.filter(plan_id=plan_id).order_by("pk").values())
             for name, model in (("goals", PlanGoal), ("services", PlanService))}
    from birge.plans.models import PlanAccommodation, PlanMember

    parts["accommodations"] = list(PlanAccommodation.objects.filter(plan_id=plan_id).order_by("pk").values())
    parts["members"] = list(PlanMember.objects.filter(plan_id=plan_id).order_by("pk").values())
    return plan, parts


def pdf_text(content: bytes, tmp_path, name: str) -> tuple[str, str]:
    path = tmp_path / name
    path.write_bytes(content)
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True, text=True).stdout
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, check=True, text=True).stdout
    return text, fonts


def assert_kyrgyz_pdf(content: bytes, tmp_path, name: str) -> str:
    assert content[:5] == b"%PDF-", content[:40]
    text, fonts = pdf_text(content, tmp_path, name)
    for letter in "ңөү":
        assert letter in text.lower(), f"{name}: the Kyrgyz letter {letter} is missing from the text layer"
    font_rows = [line.split() for line in fonts.splitlines()[2:] if line.strip()]
    assert font_rows, f"{name}: no fonts listed\n{fonts}"
    # pdffonts columns: name type encoding emb sub uni object ID — 'emb' is the 4th from the end.
    assert all(row[-5] == "yes" for row in font_rows), f"{name}: a font is not embedded\n{fonts}"
    info = subprocess.run(["pdfinfo", str(tmp_path / name)], capture_output=True, check=True, text=True).stdout
    assert re.search(r"^Tagged:\s+yes$", info, re.M), f"{name}: not a tagged PDF\n{info}"
    return text


@pytest.fixture
def other_child(world):
    """A classmate at school A with no PMPK conclusion: a plan for her needs the school's own basis."""
    learner = Learner.objects.create(first_name="Нурзат", patronymic="Бакыт кызы", birth_date=dt.date(2014, 5, 2),
                                     sex=Sex.FEMALE, territory=world.cast.a.district, created_by_org=world.school)
    Enrolment.objects.create(learner=learner, organization=world.school, level="school", grade=4, class_name="4Б",
                             starts_on=dt.date(2021, 9, 1))
    return learner


def walk_the_path(w, other_child) -> dict:
    """The path through the API, role by role, with the bad input where it arises; returns what the checks need."""
    speech = w.user("a", Role.SPEECH_THERAPIST)
    chair, member, parent = token_client(w.chair), token_client(w.member), token_client(w.parent)
    coordinator, therapist, officer = token_client(w.coordinator), token_client(speech), token_client(w.officer)
    coordinator_b = token_client(w.coordinator_b)
    today = TODAY()

    # --- the PMPK: session, attendance and findings, conclusion ------------------------------------------------
    assert w.referral.state == "accepted"
    session = ok(chair.post("/api/v1/assessment-sessions/", {
        "referral": w.referral.pk, "scheduled_at": (timezone.now() + dt.timedelta(days=2)).isoformat(),
        "mode": "in-person", "place": "PMPK, room 2", "invitation_note": "Bring the school report.",
        "members": [{"user": w.chair.pk, "specialty": "psychologist", "is_chair": True},
                    {"user": w.member.pk, "specialty": "speech-therapist"}]}, format="json"), 201)
    assert session["status"] == "scheduled" and len(session["members"]) == 2
    w.referral.refresh_from_db()
    assert w.referral.state == "scheduled"
    ok(coordinator.get(f"/api/v1/assessment-sessions/{session['id']}/"), 404)  # a school never sees PMPK sessions
    ok(parent.get(f"/api/v1/assessment-sessions/{session['id']}/"))  # the family does (it is invited)

    own = next(m for m in session["members"] if m["user"] == w.member.pk)
    ok(member.post("/api/v1/assessment-findings/", {
        "session": session["id"], "member": own["id"], "domain": "communication", "difficulty": "a_lot_of_difficulty",
        "text": "Speaks in two-word phrases.", "strengths": "Understands instructions with pictures."}, format="json"), 201)
    bad(chair.post(f"/api/v1/assessment-sessions/{session['id']}/held/", {"parent_present": True, "sources": []},
                   format="json"), "sources")
    held = ok(chair.post(f"/api/v1/assessment-sessions/{session['id']}/held/", {
        "parent_present": True, "sources": ["observation", "family"], "attendance_note": "The mother came."},
        format="json"))
    assert held["status"] == "held" and held["parent_present"] is True and len(held["findings"]) == 1

    draft = ok(member.post("/api/v1/conclusions/", {
        "session": session["id"], "programme": "adapted", "recommended_form": "mainstream",
        "valid_until": (today + dt.timedelta(days=700)).isoformat(),
        "next_review_on": (today + dt.timedelta(days=365)).isoformat(), "summary": "Needs speech therapy.",
        "items": [{"catalogue": "speech-therapy", "minutes_per_week": 90}, {"catalogue": "seating"},
                  {"catalogue": "hearing-aid"}, {"catalogue": "exam-extra-time", "detail": "30 minutes"}]},
        format="json"), 201)
    assert draft["status"] == "draft" and len(draft["items"]) == 4
    ok(parent.get(f"/api/v1/conclusions/{draft['id']}/"), 404)  # drafts are the PMPK's
    bad(member.post(f"/api/v1/conclusions/{draft['id']}/issue/"), "non_field_errors")  # only the chair signs
    issued = ok(chair.post(f"/api/v1/conclusions/{draft['id']}/issue/"))
    assert issued["status"] == "issued" and issued["number"] and issued["issued_by"] == w.chair.pk
    conclusion_id = issued["id"]
    w.referral.refresh_from_db()
    assert w.referral.state == "concluded"
    bad(chair.patch(f"/api/v1/conclusions/{conclusion_id}/", {"summary": "Changed"}, format="json"),
        "non_field_errors")  # never edited once issued
    assert Conclusion.objects.get(pk=conclusion_id).summary == "Needs speech therapy."

    # --- issued to the family only; the parent releases it with consent --------------------------------------
    ok(coordinator.get(f"/api/v1/conclusions/{conclusion_id}/"), 404)
    ok(officer.get(f"/api/v1/conclusions/{conclusion_id}/"), 404)
    assert conclusion_id in [c["id"] for c in rows(ok(parent.get("/api/v1/conclusions/")))]
    consents_before = Consent.objects.filter(learner=w.learner, purpose=Consent.Purpose.RELEASE_CONCLUSION).count()
    bad(parent.post("/api/v1/conclusion-releases/", {"conclusion": conclusion_id, "organization": w.school.code},
                    format="json"), "consent")
    assert not Release.objects.filter(conclusion_id=conclusion_id).exists()
    assert Consent.objects.filter(learner=w.learner, purpose=Consent.Purpose.RELEASE_CONCLUSION).count() == consents_before
    assert not Deadline.objects.filter(learner_id=w.learner.pk, clock=Clock.RELEASE_TO_PLAN).exists()
    release = ok(parent.post("/api/v1/conclusion-releases/", {
        "conclusion": conclusion_id, "organization": w.school.code, "give_consent": True}, format="json"), 201)
    assert release["active"] and release["organization"] == w.school.code
    consent = Consent.objects.get(pk=release["consent"])
    assert consent.method == Consent.Method.IN_SYSTEM and consent.recipient_id == w.school.pk
    ok(coordinator_b.get(f"/api/v1/conclusions/{conclusion_id}/"), 404)  # released to school A only

    # --- the school: obligations and deadlines -----------------------------------------------------------------
    seen = ok(coordinator.get(f"/api/v1/conclusions/{conclusion_id}/"))
    assert {i["catalogue"] for i in seen["items"]} == {"speech-therapy", "seating", "hearing-aid", "exam-extra-time"}
    obligations = ok(coordinator.get(f"/api/v1/conclusion-releases/{release['id']}/"))["obligations"]
    assert {(o["kind"], o["catalogue"]) for o in obligations} == {("service", "speech-therapy"), ("device", "hearing-aid")}
    assert Obligation.objects.filter(release_id=release["id"]).count() == 2
    deadlines = rows(ok(coordinator.get("/api/v1/deadlines/", {"mine": "owned", "status": "open"})))
    clocks = {(d["record_type"], d["object_id"]): d for d in deadlines}
    to_plan = clocks[("assessments.release", release["id"])]
    assert to_plan["clock"] == Clock.RELEASE_TO_PLAN and to_plan["learner"] == w.learner.pk
    assert to_plan["due_on"] > today.isoformat() and to_plan["owner_organization"] == w.school.code and to_plan["link"]
    for o in obligations:
        clock = clocks[("assessments.obligation", o["id"])]
        assert clock["clock"] == (Clock.SERVICE_START if o["kind"] == "service" else Clock.DEVICE_DELIVERY)
        assert clock["status"] in ("open", "due-soon") and clock["owner_organization"] == w.school.code

    # --- the plan ----------------------------------------------------------------------------------------------
    before = IndividualPlan.objects.count()
    bad(coordinator.post("/api/v1/plans/", {"learner": other_child.pk}, format="json"), "own_basis")
    assert IndividualPlan.objects.count() == before
    plan = ok(coordinator.post("/api/v1/plans/", {"learner": w.learner.pk}, format="json"), 201)
    assert plan["state"] == "draft" and plan["version"] == 1 and plan["conclusion"] == conclusion_id
    assert [s["catalogue"] for s in plan["services"]] == ["speech-therapy"] and plan["services"][0]["minutes_per_week"] == 90
    assert {a["catalogue"] for a in plan["accommodations"]} >= {"seating", "exam-extra-time"}
    pid, lock = plan["id"], plan["lock_version"]
    bad(coordinator.post("/api/v1/plans/", {"learner": w.learner.pk}, format="json"), "learner")  # one plan at a time
    assert IndividualPlan.objects.count() == before + 1

    goal = ok(coordinator.post("/api/v1/plan-goals/", {
        "plan": pid, "lock_version": lock, "area": "communication", "description": "Asks for help with a short sentence",
        "baseline": "Points or stays silent", "target": "Uses a three-word sentence in class",
        "measure": "Teacher's weekly observation", "criteria": "Four weeks in a row"}, format="json"), 201)
    lock += 1
    service_id = plan["services"][0]["id"]
    ok(coordinator.patch(f"/api/v1/plan-services/{service_id}/", {
        "lock_version": lock, "provider_user": speech.pk, "starts_on": today.isoformat()}, format="json"))
    lock += 1
    # Two people at once: a second save based on the version read before the service change is refused.
    stale = bad(coordinator.patch(f"/api/v1/plans/{pid}/", {"lock_version": lock - 1, "timetable_notes": "Mornings"},
                                  format="json"), "lock_version")
    with translation.override("ky"):  # the API speaks the user's language (Kyrgyz by default)
        assert stale["lock_version"] == StaleEdit().messages
    assert IndividualPlan.objects.get(pk=pid).timetable_notes == ""
    assert IndividualPlan.objects.get(pk=pid).lock_version == lock
    plan = ok(coordinator.post(f"/api/v1/plans/{pid}/propose/", {"lock_version": lock}, format="json"))
    assert plan["state"] == "proposed"
    lock = plan["lock_version"]
    ok(therapist.get(f"/api/v1/plans/{pid}/"))  # the provider is assigned now and sees the plan

    # The parent agrees in the system; the release-to-plan clock stops.
    seen = ok(parent.get(f"/api/v1/plans/{pid}/"))
    assert seen["state"] == "proposed" and seen["goals"][0]["id"] == goal["id"]
    plan = ok(parent.post(f"/api/v1/plans/{pid}/agree/", {"lock_version": lock, "method": "in-system"}, format="json"))
    assert plan["state"] == "agreed" and plan["agreement"] == "in-system"
    assert Deadline.objects.get(learner_id=w.learner.pk, clock=Clock.RELEASE_TO_PLAN).met_at is not None
    plan = ok(coordinator.post(f"/api/v1/plans/{pid}/activate/", {"lock_version": plan["lock_version"]}, format="json"))
    assert plan["state"] == "active" and plan["effective_from"] == today.isoformat()
    lock = plan["lock_version"]

    # --- services delivered ------------------------------------------------------------------------------------
    sessions_before = ServiceSession.objects.count()
    bad(therapist.post("/api/v1/service-sessions/", {
        "learner": w.learner.pk, "service": "psychological-support", "held_on": today.isoformat(), "minutes": 30},
        format="json"), "service")
    psychologist = token_client(w.user("a", Role.PSYCHOLOGIST))  # assigned to the child, but the plan gives speech therapy to another
    bad(psychologist.post("/api/v1/service-sessions/", {
        "learner": w.learner.pk, "plan_service": service_id, "held_on": today.isoformat(), "minutes": 30},
        format="json"), "plan_service")
    assert ServiceSession.objects.count() == sessions_before
    logged = ok(therapist.post("/api/v1/service-sessions/", {
        "learner": w.learner.pk, "plan_service": service_id, "held_on": today.isoformat(), "minutes": 45,
        "note": "Picture cards."}, format="json"), 201)
    assert logged["service"] == "speech-therapy" and logged["organization"] == w.school.code
    assert logged["id"] in [s["id"] for s in rows(ok(coordinator.get("/api/v1/service-sessions/", {"learner": w.learner.pk})))]
    starts = Deadline.objects.filter(learner_id=w.learner.pk, clock=Clock.SERVICE_START)
    assert starts.exists() and all(d.met_at is not None for d in starts)

    # --- a review records progress -------------------------------------------------------------------------------
    review = ok(therapist.post(f"/api/v1/plans/{pid}/review/", {
        "lock_version": lock, "held_on": today.isoformat(), "decision": "continue", "family_present": True,
        "summary": "Good start.", "next_review_on": (today + dt.timedelta(days=90)).isoformat(),
        "progress": [{"goal": goal["id"], "rating": "some", "comment": "Uses two-word requests."}]},
        format="json"), 201)
    assert review["progress"] == [{"goal": goal["id"], "rating": "some", "comment": "Uses two-word requests."}]
    family_sees = rows(ok(parent.get("/api/v1/plan-reviews/", {"plan": pid})))
    assert [r["id"] for r in family_sees] == [review["id"]]
    plan = ok(coordinator.get(f"/api/v1/plans/{pid}/"))
    assert plan["state"] == "active" and plan["review_on"] == (today + dt.timedelta(days=90)).isoformat()
    lock = plan["lock_version"]

    # --- an amendment: a new version; the old one stays exactly as it was --------------------------------------
    v1_before = plan_snapshot(pid)
    count = IndividualPlan.objects.count()
    bad(coordinator.post(f"/api/v1/plans/{pid}/amend/", {
        "lock_version": lock, "effective_from": (today - dt.timedelta(days=1)).isoformat(), "reason": "More speech therapy"},
        format="json"), "effective_from")
    bad(coordinator.post(f"/api/v1/plans/{pid}/amend/", {
        "lock_version": lock - 1, "effective_from": today.isoformat(), "reason": "More speech therapy"},
        format="json"), "lock_version")
    assert IndividualPlan.objects.count() == count
    v2 = ok(coordinator.post(f"/api/v1/plans/{pid}/amend/", {
        "lock_version": lock, "effective_from": today.isoformat(), "reason": "More speech therapy"}, format="json"), 201)
    assert v2["version"] == 2 and v2["previous"] == pid and v2["state"] == "draft" and v2["series"] == plan["series"]
    assert plan_snapshot(pid) == v1_before
    v2_service = v2["services"][0]
    ok(coordinator.patch(f"/api/v1/plan-services/{v2_service['id']}/", {
        "lock_version": v2["lock_version"], "minutes_per_week": 120}, format="json"))
    v2 = ok(coordinator.post(f"/api/v1/plans/{v2['id']}/propose/", {"lock_version": v2["lock_version"] + 1}, format="json"))
    v2 = ok(parent.post(f"/api/v1/plans/{v2['id']}/agree/", {"lock_version": v2["lock_version"], "method": "in-system"},
                        format="json"))
    v2 = ok(coordinator.post(f"/api/v1/plans/{v2['id']}/activate/", {"lock_version": v2["lock_version"]}, format="json"))
    assert v2["state"] == "active" and v2["services"][0]["minutes_per_week"] == 120
    # The service carried into version 2 has started already: no new service-start clock runs for it.
    assert not Deadline.objects.filter(learner_id=w.learner.pk, clock=Clock.SERVICE_START).open().exists()
    v1_after = plan_snapshot(pid)
    assert v1_after[0]["state"] == PlanState.SUPERSEDED
    assert {**v1_after[0], "state": None} == {**v1_before[0], "state": None} and v1_after[1] == v1_before[1]
    versions = ok(parent.get(f"/api/v1/plans/{v2['id']}/versions/"))
    assert [(v["version"], v["state"]) for v in versions] == [(1, "superseded"), (2, "active")]

    # Second plan in force: a fresh version 1 cannot be started while one is in force.
    bad(coordinator.post("/api/v1/plans/", {"learner": w.learner.pk, "own_basis": "Our own assessment"}, format="json"),
        "learner")
    assert IndividualPlan.objects.filter(learner=w.learner, state__in=["active", "under-review"]).count() == 1

    # --- the district officer: planned vs delivered, overdue items; no conclusion --------------------------------
    # Time passes for the hearing aid: its delivery is now overdue.
    device = Deadline.objects.get(learner_id=w.learner.pk, clock=Clock.DEVICE_DELIVERY, met_at__isnull=True)
    Deadline.objects.filter(pk=device.pk).update(due_on=today - dt.timedelta(days=3))
    delivery = ok(officer.get("/api/v1/planned-vs-delivered/", {"group": "organization", "date_from": today.isoformat(),
                                                                "date_to": (today + dt.timedelta(days=6)).isoformat()}))
    school_row = next(r for r in delivery["rows"] if r["key"] == w.school.pk)
    assert school_row["delivered"] == 45 and school_row["planned"] > school_row["delivered"] and school_row["gap"] > 0
    overdue = rows(ok(officer.get("/api/v1/deadlines/", {"overdue": "1"})))
    assert device.pk in [d["id"] for d in overdue]
    assert all(d["status"] == "overdue" for d in overdue)
    ok(officer.get(f"/api/v1/conclusions/{conclusion_id}/"), 404)
    ok(officer.get(f"/api/v1/plans/{v2['id']}/"))  # plans of the district's learners: read
    return {"conclusion": conclusion_id, "number": issued["number"], "plan": v2["id"], "coordinator": coordinator}


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils (pdftotext, pdffonts) is not installed")
def test_the_assess_plan_path_through_the_api(world, other_child, django_capture_on_commit_callbacks, tmp_path):
    w = world
    started = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):  # notifications and e-mail go out after commit
        done = walk_the_path(w, other_child)
    conclusion_id, coordinator = done["conclusion"], done["coordinator"]

    # --- every notification of the path leads its reader to a page they may open --------------------------------
    notified = list(Notification.objects.filter(created_at__gte=started).select_related("user").order_by("id"))
    events = {n.event for n in notified}
    assert {"assessment_session.invited", "conclusion.issued", "conclusion.released", "plan.proposed", "plan.reviewed"} <= events
    for n in notified:
        reader = Client()
        reader.force_login(n.user)
        assert n.link, f"{n.event} for {n.user}: no link"
        assert reader.get(n.link).status_code == 200, f"{n.event} for {n.user}: {n.link} does not open"

    # --- documents: the plan's PDF through the API, the conclusion's through the page ---------------------------
    response = coordinator.get(f"/api/v1/plans/{done['plan']}/document/", {"lang": "ky"})
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = assert_kyrgyz_pdf(b"".join(response.streaming_content) if response.streaming else response.content,
                             tmp_path, "plan.pdf")
    assert w.learner.first_name in text
    browser = Client()
    browser.force_login(w.parent)
    response = browser.get(f"/assessments/conclusions/{conclusion_id}/document.pdf", {"lang": "ky"})
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = assert_kyrgyz_pdf(b"".join(response.streaming_content) if response.streaming else response.content,
                             tmp_path, "conclusion.pdf")
    assert done["number"] in text
