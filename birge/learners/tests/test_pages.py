"""The server-rendered pages: every action through a form, errors shown on the fields, no JavaScript needed."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from birge.core.models import AuditEvent
from birge.core.roles import OrgKind, Role
from birge.learners.models import Assignment, Consent, Diagnosis, DisabilityStatus, Enrolment, GuardianLink, Learner

FORM = {"pin": "21503201512345", "last_name": "Асанов", "first_name": "Бакыт", "patronymic": "Асанович",
        "birth_date": "2015-03-15", "sex": "male", "address": "", "languages": "ky"}


@pytest.fixture
def coordinator_client(cast, client):
    client.force_login(cast.a.users[Role.SCHOOL_COORDINATOR])
    return client


def _territory(cast):
    return cast.a.district.pk


def test_register_a_learner(cast, coordinator_client):
    response = coordinator_client.post("/learners/new/", {**FORM, "territory": _territory(cast)})
    learner = Learner.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/learners/{learner.pk}/"
    page = coordinator_client.get(response["Location"]).content.decode()
    assert "Асанов Бакыт Асанович" in page and "Change details" in page


def test_bad_pin_shows_on_the_field(cast, coordinator_client):
    response = coordinator_client.post("/learners/new/", {**FORM, "pin": "31503201512345", "territory": _territory(cast)})
    page = response.content.decode()
    assert response.status_code == 200 and "There is a problem" in page and "first digit of a PIN" in page
    assert 'aria-invalid="true"' in page
    assert not Learner.objects.exists()


def test_pin_mismatch_is_confirmed_with_the_checkbox(cast, coordinator_client):
    data = {**FORM, "birth_date": "2015-03-16", "territory": _territory(cast)}
    assert "The PIN gives the birth date" in coordinator_client.post("/learners/new/", data).content.decode()
    coordinator_client.post("/learners/new/", {**data, "confirm_mismatch": "on"})
    assert Learner.objects.get().pin_mismatch_confirmed


def test_existing_pin_links_to_the_record(cast, coordinator_client, placed):
    response = coordinator_client.post("/learners/new/", {**FORM, "first_name": "Другой", "territory": _territory(cast)})
    page = response.content.decode()
    assert f'href="/learners/{placed["a"].learner.pk}/"' in page and "already registered" in page


def test_duplicate_confirm_step(cast, coordinator_client, placed):
    data = {**FORM, "pin": "", "last_name": "", "first_name": "Bakyt", "patronymic": "Asan uulu", "territory": _territory(cast)}
    response = coordinator_client.post("/learners/new/", data)
    page = response.content.decode()
    assert "Is this child already registered?" in page
    assert f'href="/learners/{placed["a"].learner.pk}/"' in page
    assert 'name="confirm_new" value="1"' in page and 'name="first_name" value="Bakyt"' in page
    assert Learner.objects.count() == 2
    response = coordinator_client.post("/learners/new/", {**data, "confirm_new": "1"})
    assert response.status_code == 302 and Learner.objects.count() == 3


def test_list_search_with_a_latin_spelling(cast, placed, client):
    client.force_login(cast.a.users[Role.TEACHER])
    page = client.get("/learners/", {"q": "Asanov Bakyt"}).content.decode()
    assert "Асанов Бакыт Асанович" in page and "1 learner" in page
    assert "Register a learner" not in page  # a teacher may not create
    page = client.get("/learners/", {"q": "Aigul"}).content.decode()
    assert "No learner you can see matches" in page


def test_other_district_officer_cannot_find_the_child(cast, placed, client):
    client.force_login(cast.b.users[Role.DISTRICT_OFFICER])
    page = client.get("/learners/", {"q": "Bakyt Asanov"}).content.decode()
    assert "Асанов" not in page
    assert client.get(f"/learners/{placed['a'].learner.pk}/").status_code == 404


def test_list_filters(cast, placed, client):
    client.force_login(cast.a.users[Role.REGIONAL_OFFICER])
    page = client.get("/learners/", {"organization": cast.a.orgs[OrgKind.SCHOOL].pk}).content.decode()
    assert "Асанов" in page and "Мамбет кызы" not in page
    page = client.get("/learners/", {"level": "kindergarten"}).content.decode()
    assert "Асанов" not in page


def test_detail_buttons_follow_write_access(cast, placed, client):
    url = f"/learners/{placed['a'].learner.pk}/"
    client.force_login(cast.a.users[Role.TEACHER])
    page = client.get(url).content.decode()
    assert "Change details" not in page and "Transfer" not in page and "Guardians" not in page
    client.force_login(cast.a.users[Role.SCHOOL_COORDINATOR])
    page = client.get(url).content.decode()
    for text in ("Change details", "Add a guardian", "Record a consent", "Record a disability status", "Transfer", "Enrol",
                 "Assign a specialist or tutor", 'id="history-title"'):
        assert text in page, text
    assert "Medical diagnosis codes" not in page  # not for schools
    client.force_login(cast.a.users[Role.PARENT])
    page = client.get(url).content.decode()
    assert "Give a consent" in page and "Medical diagnosis codes" in page and "Change details" not in page


def test_every_action_through_its_form(cast, placed, coordinator_client):
    c = coordinator_client
    learner = placed["a"].learner
    base = f"/learners/{learner.pk}"
    # guardian: add, change, account, link an existing one, end a link
    assert c.get(f"{base}/guardians/new/").status_code == 200
    r = c.post(f"{base}/guardians/new/", {"first_name": "Асан", "last_name": "Сыдыков", "relation": "father",
                                          "is_legal_representative": "on", "preferred_language": "ky", "email": "asan@example.org"})
    assert r.status_code == 302, r.content.decode()
    link = GuardianLink.objects.get(guardian__first_name="Асан")
    assert c.post(f"/learners/guardians/{link.guardian_id}/edit/", {"first_name": "Асан", "last_name": "Сыдыков",
                                                                    "phone": "+996 555 000 111", "preferred_language": "ru"}).status_code == 302
    assert c.post(f"/learners/guardians/{link.guardian_id}/account/", {"email": "asan@example.org"}).status_code == 302
    assert c.post(f"/learners/guardian-links/{link.pk}/end/", {"reason": ""}).status_code == 200  # reason required
    assert c.post(f"/learners/guardian-links/{link.pk}/end/", {"reason": "Mistake"}).status_code == 302
    page = c.get(f"{base}/guardians/link/", {"q": "Sydykov"}).content.decode()
    assert "Сыдыков" in page
    assert c.post(f"{base}/guardians/link/", {"q": "Sydykov", "guardian": link.guardian_id, "relation": "father",
                                              "is_legal_representative": "on"}).status_code == 302
    # consent on paper with a scan, then withdrawn
    scan = SimpleUploadedFile("scan.pdf", b"%PDF-1.4 synthetic", content_type="application/pdf")
    r = c.post(f"{base}/consents/new/", {"purpose": "release-conclusion", "recipient": cast.a.orgs[OrgKind.SCHOOL].pk,
                                         "given_by": placed["a"].guardian.pk, "method": "paper", "document": scan})
    assert r.status_code == 302, r.content.decode()
    consent = Consent.objects.get(purpose="release-conclusion")
    assert c.get(f"/learners/consents/{consent.pk}/document/").status_code == 200
    assert c.post(f"/learners/consents/{consent.pk}/withdraw/", {"reason": "Changed mind"}).status_code == 302
    # disability
    r = c.post(f"{base}/disability/new/", {"category": "child", "starts_on": "2023-01-01", "indefinite": "on"})
    assert r.status_code == 302
    status = DisabilityStatus.objects.filter(learner=learner).latest("pk")
    assert c.post(f"/learners/disability/{status.pk}/close/", {"reason": "Re-examination"}).status_code == 302
    # enrolment: change, transfer within reach is checked, drop-out needs a reason
    enrolment = placed["a"].enrolment
    assert c.post(f"/learners/enrolments/{enrolment.pk}/edit/", {"grade": 4, "form": "mainstream", "programme": "adapted",
                                                                 "class_name": "4А"}).status_code == 302
    assert c.post(f"/learners/enrolments/{enrolment.pk}/drop-out/", {"reason": ""}).status_code == 200
    assert c.post(f"/learners/enrolments/{enrolment.pk}/complete/", {"reason": ""}).status_code == 302
    r = c.post(f"{base}/enrolments/new/", {"organization": cast.a.orgs[OrgKind.SCHOOL].pk, "level": "school", "grade": 5,
                                           "form": "home", "programme": "individual", "starts_on": str(timezone.localdate())})
    assert r.status_code == 302, r.content.decode()
    new = Enrolment.objects.get(learner=learner, status="active")
    r = c.post(f"/learners/enrolments/{new.pk}/transfer/", {"to_organization": cast.a.orgs[OrgKind.SCHOOL].pk, "form": "home",
                                                           "programme": "individual"})
    assert "another organization" in r.content.decode()
    # assignment: end one from the fixture, add it back
    assignment = Assignment.objects.get(learner=learner, user=cast.a.users[Role.PSYCHOLOGIST])
    assert c.post(f"/learners/assignments/{assignment.pk}/end/", {"reason": "Course finished"}).status_code == 302
    r = c.post(f"{base}/assignments/new/", {"user": cast.a.users[Role.PSYCHOLOGIST].pk, "kind": "specialist"})
    assert r.status_code == 302  # the ended one's last day was yesterday: today is free
    r = c.post(f"{base}/assignments/new/", {"user": cast.a.users[Role.PSYCHOLOGIST].pk, "kind": "specialist"})
    assert r.status_code == 200 and "already assigned" in r.content.decode()
    # PIN change and archive
    assert c.post(f"{base}/pin/", {"pin": "21503201500001", "reason": "Registry correction"}).status_code == 302
    assert c.post(f"{base}/archive/", {"reason": "Left for abroad"}).status_code == 302
    assert Learner.objects.get(pk=learner.pk).archived_at
    page = c.get(f"{base}/").content.decode()
    assert "Restore the record" in page and "learner.pin_changed" in page


def test_parent_gives_consent_on_the_page(cast, placed, client):
    client.force_login(cast.a.users[Role.PARENT])
    url = f"/learners/{placed['a'].learner.pk}/consents/new/"
    page = client.get(url).content.decode()
    assert "You give this consent in the system" in page and 'name="document"' not in page
    assert client.post(url, {"purpose": "assessment"}).status_code == 200  # the agreement box is required
    assert client.post(url, {"purpose": "assessment", "agree": "on"}).status_code == 302
    consent = Consent.objects.get(purpose="assessment")
    assert consent.method == "in-system" and consent.given_by == placed["a"].guardian


def test_health_worker_records_a_diagnosis(cast, client):
    health = cast.a.users[Role.HEALTH_WORKER]
    client.force_login(health)
    r = client.post("/learners/new/", {**FORM, "territory": _territory(cast)})
    learner = Learner.objects.get()
    assert r.status_code == 302
    assert client.post(f"/learners/{learner.pk}/diagnoses/new/", {"code": "bad"}).status_code == 200
    assert client.post(f"/learners/{learner.pk}/diagnoses/new/", {"code": "F84.0", "note": "synthetic"}).status_code == 302
    diagnosis = Diagnosis.objects.get()
    client.get(f"/learners/{learner.pk}/")
    assert AuditEvent.objects.filter(action="read", object_type="learners.diagnosis", object_id=str(diagnosis.pk)).exists()
    assert client.post(f"/learners/diagnoses/{diagnosis.pk}/withdraw/", {"reason": "Not confirmed"}).status_code == 302


def test_home_sections(cast, placed, client):
    client.force_login(cast.a.users[Role.PARENT])
    page = client.get("/").content.decode()
    assert "Your children" in page and "Асанов Бакыт" in page
    client.force_login(cast.a.users[Role.SCHOOL_COORDINATOR])
    page = client.get("/").content.decode()
    assert "Find a learner by name or PIN" in page and 'href="/learners/"' in page
    client.force_login(cast.outsider)
    assert 'href="/learners/"' not in client.get("/").content.decode()


def test_anonymous_is_sent_to_sign_in(placed, client):
    response = client.get(f"/learners/{placed['a'].learner.pk}/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_dates_in_the_future_are_refused_on_enrolment(cast, placed, coordinator_client):
    placed["a"].enrolment.status = "completed"
    Enrolment.objects.filter(pk=placed["a"].enrolment.pk).update(status="completed", ends_on=dt.date(2024, 6, 1))
    r = coordinator_client.post(f"/learners/{placed['a'].learner.pk}/enrolments/new/", {
        "organization": cast.a.orgs[OrgKind.SCHOOL].pk, "level": "school", "grade": 4, "form": "mainstream",
        "programme": "general", "starts_on": str(timezone.localdate() + dt.timedelta(days=400))})
    assert r.status_code == 200 and "more than a year from now" in r.content.decode()
