"""The pages: queue, detail with history, create, transitions as small POST forms, observations,
documents, concerns, deadlines with delay reasons, notifications, home-page sections."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from birge.core.deadline_models import Deadline, Notification
from birge.core.roles import Role
from birge.referrals import services
from birge.referrals.models import Concern, Observation, Referral, State

from .conftest import consent_to_assessment

PDF = b"%PDF-1.4\n%%EOF\n"


def _login(client, user):
    client.force_login(user)
    return client


def test_pmpk_queue_overdue_first_and_filters(cast, placed, young, make_referral, client):
    school_ref = make_referral("a", "submitted")
    health_ref = services.create_referral(cast.a.users[Role.HEALTH_WORKER], young, reason="Not walking", submit=True)
    Deadline.objects.for_object(health_ref).update(due_on=timezone.localdate() - dt.timedelta(days=3))
    _login(client, cast.a.users[Role.PMPK_CHAIR])
    page = client.get("/referrals/").content.decode()
    assert "PMPK queue" in page
    assert page.index(f"/referrals/{health_ref.pk}/") < page.index(f"/referrals/{school_ref.pk}/")
    assert "Overdue by 3 days" in page and "⚠" in page  # words and an icon, not colour alone
    only_overdue = client.get("/referrals/?overdue=1").content.decode()
    assert f"/referrals/{health_ref.pk}/" in only_overdue and f"/referrals/{school_ref.pk}/" not in only_overdue
    assert f"/referrals/{school_ref.pk}/" not in client.get("/referrals/?state=accepted").content.decode()
    assert f"/referrals/{school_ref.pk}/" in client.get("/referrals/?state=submitted&queue=received").content.decode()
    found = client.get("/referrals/?q=Asanov+Bakyt").content.decode()  # a Latin spelling of the child's name
    assert f"/referrals/{school_ref.pk}/" in found and f"/referrals/{health_ref.pk}/" not in found
    # The referrer sees the status of its own referral; the parent their child's.
    _login(client, cast.a.users[Role.SCHOOL_COORDINATOR])
    page = client.get("/referrals/").content.decode()
    assert f"/referrals/{school_ref.pk}/" in page and f"/referrals/{health_ref.pk}/" not in page
    _login(client, cast.a.users[Role.PARENT])
    page = client.get("/referrals/").content.decode()
    assert f"/referrals/{school_ref.pk}/" in page and f"/referrals/{health_ref.pk}/" in page  # both are her children
    _login(client, cast.b.users[Role.DISTRICT_OFFICER])
    assert "No referrals match." in client.get("/referrals/").content.decode()
    _login(client, cast.a.users[Role.TESTING_CENTRE_OFFICER])
    assert client.get("/referrals/").status_code == 404


def test_create_from_a_learner(cast, placed, client):
    _login(client, cast.a.users[Role.SCHOOL_COORDINATOR])
    learner = placed["a"].learner
    page = client.get("/referrals/new/?q=Asanov").content.decode()  # a Latin spelling finds the child
    assert f"/referrals/new/?learner={learner.pk}" in page
    assert client.get(f"/referrals/new/?learner={learner.pk}").status_code == 200
    assert client.get(f"/referrals/new/?learner={placed['b'].learner.pk}").status_code == 404
    assert client.get("/referrals/new/?learner=abc").status_code == 404
    bad = client.post(f"/referrals/new/?learner={learner.pk}", {"kind": "pmpk", "reason": "", "action": "submit",
                                                                "receiving_organization": ""})
    assert bad.status_code == 200 and "There is a problem" in bad.content.decode()
    assert not Referral.objects.exists()
    pmpk = cast.a.orgs["pmpk-territorial"]
    ok = client.post(f"/referrals/new/?learner={learner.pk}", {
        "kind": "pmpk", "reason": "Cannot follow spoken instructions.", "tried": "Visual cards", "action": "submit",
        "receiving_organization": pmpk.pk})
    referral = Referral.objects.get()
    assert ok.status_code == 302 and ok["Location"] == f"/referrals/{referral.pk}/"
    assert referral.state == State.SUBMITTED and referral.referring_organization == cast.a.orgs["school"]
    assert "Асанов" not in ok["Location"]


def test_parent_form_offers_consent(cast, placed, client):
    _login(client, cast.a.users[Role.PARENT])
    learner = placed["a"].learner
    page = client.get(f"/referrals/new/?learner={learner.pk}").content.decode()
    assert "I agree that the PMPK assesses my child" in page
    client.post(f"/referrals/new/?learner={learner.pk}", {
        "kind": "pmpk", "reason": "Speech", "action": "draft", "parent_consent": "on",
        "receiving_organization": cast.a.orgs["pmpk-territorial"].pk})
    referral = Referral.objects.get()
    assert referral.state == State.DRAFT and referral.by_parent and referral.consent is not None


def test_detail_actions_and_transitions(cast, make_referral, placed, client):
    referral = make_referral("a", "submitted")
    services.add_observation(cast.a.users[Role.TEACHER], referral, domain="learning", text="Reads slowly.")
    _login(client, cast.a.users[Role.TEACHER])
    page = client.get(f"/referrals/{referral.pk}/").content.decode()
    assert "Reads slowly." in page and "Not recorded" in page and "History" in page
    assert "/accept/" not in page and "/withdraw/" in page
    assert client.post(f"/referrals/{referral.pk}/accept/").status_code == 403  # visible, but not the PMPK
    _login(client, cast.a.users[Role.PMPK_CHAIR])
    page = client.get(f"/referrals/{referral.pk}/").content.decode()
    assert "/accept/" in page and "/decline/" in page and "referral.submitted" in page
    assert client.get(f"/referrals/{referral.pk}/accept/").status_code == 405  # POST only
    assert client.post(f"/referrals/{referral.pk}/accept/").status_code == 302
    refused = client.post(f"/referrals/{referral.pk}/schedule/", {
        "schedule-appointment_at": (timezone.localtime() + dt.timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")})
    assert refused.status_code == 400 and "consent to the assessment is not recorded" in refused.content.decode()
    referral.refresh_from_db()
    assert referral.state == State.ACCEPTED
    bad_date = client.post(f"/referrals/{referral.pk}/schedule/", {"schedule-appointment_at": "tomorrow"})
    assert bad_date.status_code == 400 and "There is a problem" in bad_date.content.decode()
    consent_to_assessment(placed["a"])
    ok = client.post(f"/referrals/{referral.pk}/schedule/", {
        "schedule-appointment_at": (timezone.localtime() + dt.timedelta(days=3)).strftime("%Y-%m-%dT%H:%M"),
        "schedule-appointment_place": "Room 2"})
    assert ok.status_code == 302
    referral.refresh_from_db()
    assert referral.state == State.SCHEDULED
    assert client.post(f"/referrals/{referral.pk}/no-such-action/").status_code == 404
    # A one-button action refused by state is explained on the record's page.
    follow = client.post(f"/referrals/{referral.pk}/conclude/", follow=True)
    assert "This cannot be done while the referral is" in follow.content.decode()


def test_decline_needs_a_reason(cast, make_referral, client):
    referral = make_referral("a", "submitted")
    _login(client, cast.a.users[Role.PMPK_MEMBER])
    response = client.post(f"/referrals/{referral.pk}/decline/", {"decline-reason": ""})
    assert response.status_code == 400 and "Reason" in response.content.decode()
    assert client.post(f"/referrals/{referral.pk}/decline/", {"decline-reason": "Another district"}).status_code == 302
    referral.refresh_from_db()
    assert referral.state == State.DECLINED


def test_observation_and_document_pages(cast, make_referral, client):
    referral = make_referral("a", "draft")
    _login(client, cast.a.users[Role.TEACHER])
    assert client.get(f"/referrals/{referral.pk}/observations/new/").status_code == 200
    bad = client.post(f"/referrals/{referral.pk}/observations/new/", {"domain": "", "text": ""})
    assert bad.status_code == 200 and "There is a problem" in bad.content.decode()
    assert client.post(f"/referrals/{referral.pk}/observations/new/",
                       {"domain": "communication", "text": "Points instead of speaking."}).status_code == 302
    assert Observation.objects.filter(referral=referral).count() == 1
    bad_file = client.post(f"/referrals/{referral.pk}/attachments/new/",
                           {"file": SimpleUploadedFile("x.exe", b"MZ0000"), "description": ""})
    assert bad_file.status_code == 200 and "Upload a PDF, JPEG or PNG file." in bad_file.content.decode()
    ok = client.post(f"/referrals/{referral.pk}/attachments/new/",
                     {"file": SimpleUploadedFile("report.pdf", PDF), "description": "Teacher's report"})
    assert ok.status_code == 302
    att = referral.attachments.get()
    download = client.get(f"/referrals/attachments/{att.pk}/")
    assert download.status_code == 200 and b"".join(download.streaming_content) == PDF
    assert "attachment" in download["Content-Disposition"]
    # The child's assigned specialists read the referral but add nothing.
    _login(client, cast.a.users[Role.PSYCHOLOGIST])
    assert client.get(f"/referrals/{referral.pk}/").status_code == 200
    assert client.get(f"/referrals/{referral.pk}/observations/new/").status_code == 404
    assert client.get(f"/referrals/{referral.pk}/attachments/new/").status_code == 404


def test_concern_pages(cast, young, client):
    _login(client, cast.a.users[Role.HEALTH_WORKER])
    assert client.get("/referrals/concerns/").status_code == 200
    assert client.get(f"/referrals/concerns/new/?learner={young.pk}").status_code == 200
    url = f"/referrals/concerns/new/?learner={young.pk}"
    base = {"noticed_on": (timezone.localdate() - dt.timedelta(days=2)).isoformat(), "place": "home"}
    bad = client.post(url, base)
    assert bad.status_code == 200 and "Describe what was noticed in at least one area." in bad.content.decode()
    assert not Concern.objects.exists()
    ok = client.post(url, {**base, "noticed_walking": "Cannot stand up alone.", "place_detail": "Home visit"})
    concern = Concern.objects.get()
    assert ok.status_code == 302 and ok["Location"] == f"/referrals/concerns/{concern.pk}/"
    page = client.get(ok["Location"]).content.decode()
    assert "Cannot stand up alone." in page and f"/referrals/{concern.referral_id}/" in page
    _login(client, cast.b.users[Role.HEALTH_WORKER])
    assert client.get(f"/referrals/concerns/{concern.pk}/").status_code == 404
    assert client.get(f"/referrals/concerns/new/?learner={young.pk}").status_code == 404


def test_deadline_pages(cast, make_referral, client):
    referral = make_referral("a", "submitted")
    clock = Deadline.objects.for_object(referral).get()
    Deadline.objects.filter(pk=clock.pk).update(due_on=timezone.localdate() - dt.timedelta(days=2))
    _login(client, cast.a.users[Role.PMPK_CHAIR])
    page = client.get("/referrals/deadlines/").content.decode()
    assert "Acknowledge a referral" in page and "Overdue by 2 days" in page and "Асанов Бакыт Асанович" in page
    assert f"/referrals/deadlines/{clock.pk}/delay/" in page
    assert "Overdue by 2 days" not in client.get("/referrals/deadlines/?status=closed").content.decode()
    bad = client.post(f"/referrals/deadlines/{clock.pk}/delay/", {"reason": ""})
    assert bad.status_code == 200 and "There is a problem" in bad.content.decode()
    assert client.post(f"/referrals/deadlines/{clock.pk}/delay/", {"reason": "Waiting for the audiologist."}).status_code == 302
    clock.refresh_from_db()
    assert clock.delay_reason == "Waiting for the audiologist."
    home = client.get("/").content.decode()
    assert "Your deadlines" in home and "Waiting for the audiologist." in home
    assert "Overdue by 2 days" not in client.get("/?deadline_clock=plan_review").content.decode()
    # The referrer sees the overdue referral but does not explain the PMPK's delay.
    _login(client, cast.a.users[Role.SCHOOL_COORDINATOR])
    page = client.get("/referrals/deadlines/").content.decode()
    assert "Overdue by 2 days" in page and f"/referrals/deadlines/{clock.pk}/delay/" not in page
    assert client.get(f"/referrals/deadlines/{clock.pk}/delay/").status_code == 404
    _login(client, cast.outsider)
    assert "Overdue by 2 days" not in client.get("/referrals/deadlines/").content.decode()


def test_notification_pages(cast, make_referral, client, django_capture_on_commit_callbacks):
    # A notification is written in its reader's language when it is sent.
    type(cast.a.users[Role.PMPK_CHAIR]).objects.filter(pk=cast.a.users[Role.PMPK_CHAIR].pk).update(preferred_language="en")
    with django_capture_on_commit_callbacks(execute=True):
        referral = make_referral("a", "submitted")
    chair = cast.a.users[Role.PMPK_CHAIR]
    note = Notification.objects.get(user=chair)
    _login(client, chair)
    home = client.get("/").content.decode()
    assert "New notifications" in home and "A new referral is waiting in your PMPK queue" in home
    assert "A new referral is waiting" in client.get("/referrals/notifications/?unread=1").content.decode()
    opened = client.post(f"/referrals/notifications/{note.pk}/read/", {"open": "1"})
    assert opened.status_code == 302 and opened["Location"] == f"/referrals/{referral.pk}/"
    note.refresh_from_db()
    assert note.read_at is not None
    _login(client, cast.a.users[Role.PMPK_MEMBER])
    assert client.post(f"/referrals/notifications/{note.pk}/read/").status_code == 404  # not hers
    assert client.post("/referrals/notifications/read-all/").status_code == 302
    assert not Notification.objects.filter(user=cast.a.users[Role.PMPK_MEMBER], read_at__isnull=True).exists()


@pytest.mark.parametrize("role", [Role.PMPK_CHAIR, Role.PARENT, Role.SCHOOL_COORDINATOR, Role.HEALTH_WORKER, Role.SYSTEM_ADMIN])
def test_home_sections(cast, make_referral, client, role):
    make_referral("a", "submitted")
    _login(client, cast.a.users[role])
    page = client.get("/").content.decode()
    assert client.get("/").status_code == 200
    if role == Role.PARENT:
        assert "Your children&#x27;s referrals" in page or "Your children's referrals" in page
    if role in (Role.PMPK_CHAIR, Role.SCHOOL_COORDINATOR):
        assert "Your deadlines" in page and "Referrals" in page
    _login(client, cast.outsider)
    assert "Your deadlines" not in client.get("/").content.decode()
