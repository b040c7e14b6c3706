"""The API: the whole referral workflow, observations, documents, concerns, deadlines and notifications,
under the same access policy and rules as the pages."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from rest_framework.test import APIClient

from birge.core.deadline_models import Deadline, Notification
from birge.core.roles import OrgKind, Role
from birge.referrals.models import Referral, State

PDF = b"%PDF-1.4\n%%EOF\n"


@pytest.fixture
def api(settings):
    def as_user(user):
        client = APIClient()
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
        client.force_authenticate(user)
        return client

    return as_user


def test_the_whole_workflow(cast, placed, api):
    coordinator, chair = api(cast.a.users[Role.SCHOOL_COORDINATOR]), api(cast.a.users[Role.PMPK_CHAIR])
    learner = placed["a"].learner
    created = coordinator.post("/api/v1/referrals/", {"learner": learner.pk, "reason": "Cannot keep up with reading.",
                                                      "tried": "Extra lessons"}, format="json")
    assert created.status_code == 201, created.json()
    body = created.json()
    rid = body["id"]
    assert body["state"] == "draft" and body["receiving_organization"] == cast.a.orgs[OrgKind.PMPK_TERRITORIAL].code
    assert body["allowed_actions"] == ["submit", "withdraw"]
    assert coordinator.patch(f"/api/v1/referrals/{rid}/", {"tried": "Extra lessons and a reading buddy"},
                             format="json").json()["tried"] == "Extra lessons and a reading buddy"
    assert chair.get(f"/api/v1/referrals/{rid}/").status_code == 404  # a draft stays with the school
    submitted = coordinator.post(f"/api/v1/referrals/{rid}/submit/")
    assert submitted.status_code == 200 and submitted.json()["state"] == "submitted"
    assert submitted.json()["due_clock"] == "referral_acknowledge" and submitted.json()["overdue"] is False
    queue = chair.get("/api/v1/referrals/?queue=received&state=submitted").json()
    assert [r["id"] for r in queue["results"]] == [rid]
    assert chair.get(f"/api/v1/referrals/{rid}/").json()["allowed_actions"] == ["accept", "decline"]
    assert coordinator.post(f"/api/v1/referrals/{rid}/accept/").status_code == 403
    assert chair.post(f"/api/v1/referrals/{rid}/accept/").json()["state"] == "accepted"
    when = (timezone.now() + dt.timedelta(days=5)).isoformat()
    refused = chair.post(f"/api/v1/referrals/{rid}/schedule/", {"appointment_at": when}, format="json")
    assert refused.status_code == 400 and list(refused.json()) == ["consent"]  # a clear field error
    parent = api(cast.a.users[Role.PARENT])
    given = parent.post("/api/v1/consents/", {"learner": learner.pk, "purpose": "assessment", "method": "in-system"},
                        format="json")
    assert given.status_code == 201, given.json()
    assert chair.post(f"/api/v1/referrals/{rid}/schedule/", {}, format="json").json() == {
        "appointment_at": ["This field is required."]}
    scheduled = chair.post(f"/api/v1/referrals/{rid}/schedule/", {"appointment_at": when, "appointment_place": "Room 1"},
                           format="json")
    assert scheduled.status_code == 200 and scheduled.json()["state"] == "scheduled"
    assert scheduled.json()["consent"] == given.json()["id"]
    assert chair.post(f"/api/v1/referrals/{rid}/conclude/").status_code == 400  # not yet assessed
    assert chair.post(f"/api/v1/referrals/{rid}/mark-assessed/").json()["state"] == "assessed"
    assert chair.post(f"/api/v1/referrals/{rid}/conclude/").json()["state"] == "concluded"
    history = [e["event"] for e in coordinator.get(f"/api/v1/referrals/{rid}/history/").json()]
    assert "referral.concluded" in history and "referral.created" in history
    # The parent sees the child's referral, with its status.
    assert parent.get(f"/api/v1/referrals/{rid}/").json()["state"] == "concluded"
    # The district officer of another district cannot find it.
    assert api(cast.b.users[Role.DISTRICT_OFFICER]).get(f"/api/v1/referrals/{rid}/").status_code == 404
    assert api(cast.b.users[Role.DISTRICT_OFFICER]).get("/api/v1/referrals/").json()["count"] == 0
    assert api(cast.outsider).get("/api/v1/referrals/").json()["count"] == 0


def test_withdraw_and_decline_need_reasons(cast, make_referral, api):
    referral = make_referral("a", "submitted")
    chair = api(cast.a.users[Role.PMPK_MEMBER])
    assert chair.post(f"/api/v1/referrals/{referral.pk}/decline/", {}, format="json").json() == {
        "reason": ["This field is required."]}
    parent = api(cast.a.users[Role.PARENT])
    assert parent.post(f"/api/v1/referrals/{referral.pk}/decline/", {"reason": "x"}, format="json").status_code == 403
    done = parent.post(f"/api/v1/referrals/{referral.pk}/withdraw/", {"reason": "We moved."}, format="json")
    assert done.status_code == 200 and done.json()["state"] == "withdrawn" and done.json()["close_reason"] == "We moved."


def test_create_bad_input(cast, placed, api):
    coordinator = api(cast.a.users[Role.SCHOOL_COORDINATOR])
    out_of_reach = coordinator.post("/api/v1/referrals/", {"learner": placed["b"].learner.pk, "reason": "x"}, format="json")
    assert out_of_reach.status_code == 400 and "learner" in out_of_reach.json()
    wrong = coordinator.post("/api/v1/referrals/", {"learner": placed["a"].learner.pk, "reason": "x",
                                                    "receiving_organization": cast.a.orgs[OrgKind.SCHOOL].code}, format="json")
    assert wrong.status_code == 400 and "receiving_organization" in wrong.json()
    consent = coordinator.post("/api/v1/referrals/", {"learner": placed["a"].learner.pk, "parent_consent": True}, format="json")
    assert consent.status_code == 400 and "parent_consent" in consent.json()
    no_reason = coordinator.post("/api/v1/referrals/", {"learner": placed["a"].learner.pk, "submit": True}, format="json")
    assert no_reason.status_code == 400 and "reason" in no_reason.json()
    assert not Referral.objects.exists()  # nothing half-saved
    assert api(cast.a.users[Role.DISTRICT_OFFICER]).post(
        "/api/v1/referrals/", {"learner": placed["a"].learner.pk, "reason": "x"}, format="json").status_code == 403


def test_parent_refers_with_consent(cast, placed, api):
    parent = api(cast.a.users[Role.PARENT])
    created = parent.post("/api/v1/referrals/", {"learner": placed["a"].learner.pk, "reason": "Speech",
                                                 "parent_consent": True, "submit": True}, format="json")
    assert created.status_code == 201 and created.json()["by_parent"] is True and created.json()["consent"]
    assert created.json()["state"] == "submitted"


def test_observations_and_attachments(cast, make_referral, api):
    referral = make_referral("a", "submitted")
    teacher = api(cast.a.users[Role.TEACHER])
    obs = teacher.post("/api/v1/referral-observations/", {"referral": referral.pk, "domain": "learning",
                                                          "text": "Needs instructions repeated."}, format="json")
    assert obs.status_code == 201 and obs.json()["organization"] == cast.a.orgs[OrgKind.SCHOOL].code
    bad = teacher.post("/api/v1/referral-observations/", {"referral": referral.pk, "domain": "flying", "text": "x"}, format="json")
    assert bad.status_code == 400 and "domain" in bad.json()
    other = api(cast.b.users[Role.TEACHER])
    assert "referral" in other.post("/api/v1/referral-observations/", {"referral": referral.pk, "domain": "learning",
                                                                        "text": "x"}, format="json").json()
    assert api(cast.a.users[Role.PARENT]).get(f"/api/v1/referral-observations/?referral={referral.pk}").json()["count"] == 1
    up = teacher.post("/api/v1/referral-attachments/", {"referral": referral.pk, "description": "Work sample",
                                                        "file": SimpleUploadedFile("sample.pdf", PDF)}, format="multipart")
    assert up.status_code == 201, up.json()
    att = up.json()
    assert att["original_name"] == "sample.pdf" and att["download"] == f"/api/v1/referral-attachments/{att['id']}/download/"
    download = teacher.get(att["download"])
    assert download.status_code == 200 and b"".join(download.streaming_content) == PDF
    assert other.get(att["download"]).status_code == 404
    assert api(cast.outsider).get(att["download"]).status_code == 404
    bad_file = teacher.post("/api/v1/referral-attachments/", {"referral": referral.pk,
                                                              "file": SimpleUploadedFile("x.html", b"<html>")}, format="multipart")
    assert bad_file.status_code == 400 and "file" in bad_file.json()


def test_concerns(cast, young, api):
    health = api(cast.a.users[Role.HEALTH_WORKER])
    made = health.post("/api/v1/concerns/", {
        "learner": young.pk, "noticed_on": (timezone.localdate() - dt.timedelta(days=1)).isoformat(), "place": "home",
        "noticed": {"communication": "Does not respond to her name."}}, format="json")
    assert made.status_code == 201, made.json()
    assert made.json()["reporter"] == "health-worker" and made.json()["referral"]
    referral = Referral.objects.get(pk=made.json()["referral"])
    assert referral.kind == "early-intervention" and referral.state == State.SUBMITTED
    bad = health.post("/api/v1/concerns/", {"learner": young.pk, "noticed_on": "2100-01-01", "place": "home",
                                            "noticed": {"communication": "x"}}, format="json")
    assert bad.status_code == 400 and "noticed_on" in bad.json()
    empty = health.post("/api/v1/concerns/", {"learner": young.pk, "noticed_on": timezone.localdate().isoformat(),
                                              "place": "home", "noticed": {}}, format="json")
    assert empty.status_code == 400 and "noticed" in empty.json()
    assert api(cast.b.users[Role.HEALTH_WORKER]).get("/api/v1/concerns/").json()["count"] == 0
    assert api(cast.a.users[Role.PMPK_CHAIR]).get("/api/v1/concerns/").json()["count"] == 1  # the receiving PMPK


def test_deadlines_and_delay_reason(cast, make_referral, api):
    referral = make_referral("a", "submitted")
    clock = Deadline.objects.for_object(referral).get()
    chair = api(cast.a.users[Role.PMPK_CHAIR])
    assert chair.get("/api/v1/deadlines/?overdue=1").json()["count"] == 0
    Deadline.objects.filter(pk=clock.pk).update(due_on=timezone.localdate() - dt.timedelta(days=1))
    listed = chair.get("/api/v1/deadlines/?overdue=1").json()
    assert [d["id"] for d in listed["results"]] == [clock.pk]
    row = listed["results"][0]
    assert row["status"] == "overdue" and row["clock"] == "referral_acknowledge" and row["link"] == f"/referrals/{referral.pk}/"
    assert row["record_type"] == "referrals.referral" and row["owner_organization"] == cast.a.orgs[OrgKind.PMPK_TERRITORIAL].code
    assert api(cast.a.users[Role.SCHOOL_COORDINATOR]).get("/api/v1/deadlines/?overdue=1").json()["count"] == 1  # the referrer
    assert api(cast.b.users[Role.PMPK_CHAIR]).get("/api/v1/deadlines/?overdue=1").json()["count"] == 0
    assert api(cast.outsider).get(f"/api/v1/deadlines/{clock.pk}/").status_code == 404
    assert chair.post(f"/api/v1/deadlines/{clock.pk}/delay-reason/", {"reason": ""}, format="json").status_code == 400
    explained = chair.post(f"/api/v1/deadlines/{clock.pk}/delay-reason/", {"reason": "The commission meets on Fridays."},
                           format="json")
    assert explained.status_code == 200 and explained.json()["delay_reason"] == "The commission meets on Fridays."
    coordinator = api(cast.a.users[Role.SCHOOL_COORDINATOR])
    assert coordinator.post(f"/api/v1/deadlines/{clock.pk}/delay-reason/", {"reason": "x"}, format="json").status_code == 403
    assert chair.get("/api/v1/deadlines/?status=due-soon").json()["count"] == 0
    assert chair.get("/api/v1/deadlines/?clock=plan_review").json()["count"] == 0


def test_notifications(cast, make_referral, api, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        make_referral("a", "submitted")
    chair = api(cast.a.users[Role.PMPK_CHAIR])
    listed = chair.get("/api/v1/notifications/?unread=1").json()
    assert listed["count"] == 1 and listed["results"][0]["event"] == "referral.submitted"
    nid = listed["results"][0]["id"]
    assert api(cast.a.users[Role.PMPK_MEMBER]).post(f"/api/v1/notifications/{nid}/read/").status_code == 404
    assert chair.post(f"/api/v1/notifications/{nid}/read/").json()["read_at"]
    assert chair.get("/api/v1/notifications/?unread=1").json()["count"] == 0
    assert api(cast.a.users[Role.PMPK_MEMBER]).post("/api/v1/notifications/read-all/").json() == {"marked": 1}
    assert Notification.objects.filter(read_at__isnull=True).count() == 0


def test_schema_documents_the_actions(client, cast):
    client.force_login(cast.a.users[Role.PMPK_CHAIR])
    schema = client.get("/api/v1/schema/").content.decode()
    for path in ("/api/v1/referrals/{id}/submit/", "/api/v1/referrals/{id}/accept/", "/api/v1/referrals/{id}/schedule/",
                 "/api/v1/referrals/{id}/mark-assessed/", "/api/v1/referrals/{id}/conclude/",
                 "/api/v1/referrals/{id}/withdraw/", "/api/v1/referrals/{id}/decline/", "/api/v1/deadlines/",
                 "/api/v1/deadlines/{id}/delay-reason/", "/api/v1/notifications/", "/api/v1/concerns/",
                 "/api/v1/referral-observations/", "/api/v1/referral-attachments/{id}/download/"):
        assert path in schema, path
