"""The learner API: the contract of issue 3 and the actions behind it."""

import datetime as dt

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from birge.core.models import ApiToken, AuditEvent
from birge.core.roles import OrgKind, Role
from birge.learners.models import Consent, Enrolment, Learner

CONTRACT = {"pin": "21503201512345", "last_name": "Асанов", "first_name": "Бакыт", "patronymic": "Асанович",
            "birth_date": "2015-03-15", "sex": "male", "territory": "41708222000000"}


def api(user):
    client = APIClient()
    _token, key = ApiToken.issue(user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.fixture
def coordinator_api(cast):
    return api(cast.a.users[Role.SCHOOL_COORDINATOR])


def test_create_with_the_contract_fields(cast, coordinator_api):
    response = coordinator_api.post("/api/v1/learners/", CONTRACT, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["pin"] == CONTRACT["pin"] and body["territory"] == "41708222000000" and body["sex"] == "male"
    assert body["created_by_org"] == cast.a.orgs[OrgKind.SCHOOL].code
    learner = Learner.objects.get(pk=body["id"])
    assert learner.full_name == "Асанов Бакыт Асанович"
    assert AuditEvent.objects.filter(event="learner.created", object_id=str(learner.pk)).exists()


@pytest.mark.parametrize("pin, reason", [
    ("31503201512345", "first digit"),
    ("215032015123", "14 digits"),
    ("2150320151234a", "digits 0 to 9"),
    ("21513201512345", "not a real date"),
])
def test_bad_pin_is_a_400_on_pin_with_the_reason(coordinator_api, pin, reason):
    response = coordinator_api.post("/api/v1/learners/", {**CONTRACT, "pin": pin}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert list(body) == ["pin"]
    assert reason in body["pin"][0]
    assert not Learner.objects.exists()


def test_pin_mismatch_400_then_confirmed(coordinator_api):
    response = coordinator_api.post("/api/v1/learners/", {**CONTRACT, "sex": "female"}, format="json")
    assert response.status_code == 400 and "sex" in response.json()
    response = coordinator_api.post("/api/v1/learners/", {**CONTRACT, "sex": "female", "confirm_mismatch": True}, format="json")
    assert response.status_code == 201 and response.json()["pin_mismatch_confirmed"] is True


def test_existing_pin_400_with_the_id_when_visible(cast, coordinator_api):
    first = coordinator_api.post("/api/v1/learners/", CONTRACT, format="json").json()
    response = coordinator_api.post("/api/v1/learners/", {**CONTRACT, "first_name": "Другой", "confirm_new_despite_duplicates": True},
                                    format="json")
    assert response.status_code == 400
    assert response.json()["existing_learner"] == first["id"] and "pin" in response.json()
    other = api(cast.b.users[Role.SCHOOL_COORDINATOR])
    response = other.post("/api/v1/learners/", {**CONTRACT, "territory": "41708203000000"}, format="json")
    assert response.status_code == 400 and "pin" in response.json()
    assert "existing_learner" not in response.json()


def test_likely_duplicates_400_unless_confirmed(coordinator_api):
    first = coordinator_api.post("/api/v1/learners/", CONTRACT, format="json").json()
    again = {**CONTRACT, "pin": "", "last_name": "", "first_name": "Bakyt", "patronymic": "Asan uulu"}
    response = coordinator_api.post("/api/v1/learners/", again, format="json")
    assert response.status_code == 400
    assert [d["id"] for d in response.json()["duplicates"]] == [first["id"]]
    found = coordinator_api.get("/api/v1/learners/duplicates/", {"first_name": "Бакыт", "patronymic": "Асан уулу",
                                                                 "birth_date": "2015-03-15"}).json()
    assert [d["id"] for d in found] == [first["id"]]
    response = coordinator_api.post("/api/v1/learners/", {**again, "confirm_new_despite_duplicates": True}, format="json")
    assert response.status_code == 201


def test_unknown_territory_and_missing_fields(coordinator_api):
    response = coordinator_api.post("/api/v1/learners/", {**CONTRACT, "territory": "41799999000000"}, format="json")
    assert response.status_code == 400 and "territory" in response.json()
    response = coordinator_api.post("/api/v1/learners/", {"pin": CONTRACT["pin"]}, format="json")
    assert response.status_code == 400 and {"first_name", "birth_date", "sex", "territory"} <= set(response.json())


@pytest.mark.parametrize("query", ["Асанов", "asanov", "Bakyt", "бакыт асан уулу", "Asan uulu", "БАКЫТ", "21503", "Асанович Бак"])
def test_search_any_spelling(cast, placed, query):
    client = api(cast.a.users[Role.SCHOOL_COORDINATOR])
    response = client.get("/api/v1/learners/", {"q": query})
    assert response.status_code == 200
    assert [r["id"] for r in response.json()["results"]] == [placed["a"].learner.pk]


def test_search_does_not_reach_other_districts(cast, placed):
    client = api(cast.b.users[Role.DISTRICT_OFFICER])
    assert client.get("/api/v1/learners/", {"q": "Бакыт"}).json()["count"] == 0
    assert client.get("/api/v1/learners/", {"q": "Aigul"}).json()["count"] == 1


def test_filters_by_enrolment(cast, placed):
    client = api(cast.a.users[Role.REGIONAL_OFFICER])
    school_a = cast.a.orgs[OrgKind.SCHOOL]
    ids = lambda **p: [r["id"] for r in client.get("/api/v1/learners/", p).json()["results"]]  # noqa: E731
    assert ids(organization=school_a.pk) == [placed["a"].learner.pk]
    assert ids(level="school", form="mainstream") == sorted([placed["a"].learner.pk, placed["b"].learner.pk],
                                                            key=lambda pk: Learner.objects.get(pk=pk).last_name)
    assert ids(level="kindergarten") == []


def test_patch_changes_fields_but_not_the_pin(cast, placed):
    client = api(cast.a.users[Role.SCHOOL_COORDINATOR])
    url = f"/api/v1/learners/{placed['a'].learner.pk}/"
    response = client.patch(url, {"address": "Ленин көчөсү, 5"}, format="json")
    assert response.status_code == 200 and response.json()["address"] == "Ленин көчөсү, 5"
    response = client.patch(url, {"pin": "21503201500001"}, format="json")
    assert response.status_code == 400 and "pin" in response.json()
    response = client.post(f"{url}change-pin/", {"pin": "21503201500001", "reason": "Registry correction"}, format="json")
    assert response.status_code == 200 and response.json()["pin"] == "21503201500001"
    # A reader may not change; another district does not find the record.
    assert api(cast.a.users[Role.TEACHER]).patch(url, {"address": "x"}, format="json").status_code == 403
    assert api(cast.b.users[Role.SCHOOL_COORDINATOR]).patch(url, {"address": "x"}, format="json").status_code == 404


def test_archive_and_history(cast, placed):
    client = api(cast.a.users[Role.SCHOOL_COORDINATOR])
    url = f"/api/v1/learners/{placed['a'].learner.pk}/"
    assert client.post(f"{url}archive/", {}, format="json").status_code == 400
    assert client.post(f"{url}archive/", {"reason": "Duplicate record"}, format="json").json()["archived_at"]
    events = [e["event"] for e in client.get(f"{url}history/").json()]
    assert "learner.archived" in events
    assert client.get("/api/v1/learners/").json()["count"] == 0
    assert client.get("/api/v1/learners/", {"archived": "yes"}).json()["count"] == 1


def test_enrolment_actions(cast, placed):
    client = api(cast.a.users[Role.SCHOOL_COORDINATOR])
    enrolment = placed["a"].enrolment
    response = client.post("/api/v1/enrolments/", {"learner": placed["a"].learner.pk, "organization": cast.a.orgs[OrgKind.SCHOOL].code,
                                                   "level": "school", "grade": 4, "starts_on": "2024-09-01"}, format="json")
    assert response.status_code == 400 and "level" in response.json()
    response = client.post(f"/api/v1/enrolments/{enrolment.pk}/drop-out/", {}, format="json")
    assert response.status_code == 400 and "reason" in response.json()
    response = client.post(f"/api/v1/enrolments/{enrolment.pk}/transfer/",
                           {"to_organization": cast.b.orgs[OrgKind.SCHOOL].code, "reason": "Moved", "grade": 4}, format="json")
    assert response.status_code == 201
    assert response.json()["grade"] == 4 and response.json()["status"] == "active"
    enrolment.refresh_from_db()
    assert enrolment.status == "transferred"
    assert Enrolment.objects.filter(learner=enrolment.learner).count() == 2


def test_guardian_consent_and_assignment_endpoints(cast, placed):
    coordinator = api(cast.a.users[Role.SCHOOL_COORDINATOR])
    learner = placed["a"].learner
    response = coordinator.post("/api/v1/guardians/", {"learner": learner.pk, "relation": "father", "first_name": "Асан",
                                                       "last_name": "Сыдыков", "email": "asan@example.org"}, format="json")
    assert response.status_code == 201, response.content
    guardian_id = response.json()["id"]
    response = coordinator.post(f"/api/v1/guardians/{guardian_id}/account/", {}, format="json")
    assert response.status_code == 201 and response.json()["username"] == "asan@example.org"
    scan = SimpleUploadedFile("consent.pdf", b"%PDF-1.4 synthetic", content_type="application/pdf")
    response = coordinator.post("/api/v1/consents/", {"learner": learner.pk, "purpose": "release-conclusion", "method": "paper",
                                                      "given_by": guardian_id, "recipient": cast.a.orgs[OrgKind.SCHOOL].code,
                                                      "document": scan}, format="multipart")
    assert response.status_code == 201, response.content
    consent = Consent.objects.get(pk=response.json()["id"])
    assert consent.document.name.endswith(".pdf") and response.json()["has_document"]
    response = coordinator.post(f"/api/v1/consents/{consent.pk}/withdraw/", {"reason": "Changed mind"}, format="json")
    assert response.json()["is_active"] is False
    response = coordinator.post("/api/v1/assignments/", {"learner": learner.pk, "user": cast.a.users[Role.PSYCHOLOGIST].username,
                                                         "kind": "specialist"}, format="json")
    assert response.status_code == 400 and "user" in response.json()  # already assigned in the fixture


def test_a_learner_out_of_reach_is_not_found_in_a_request_body(cast, placed):
    coordinator = api(cast.a.users[Role.SCHOOL_COORDINATOR])
    response = coordinator.post("/api/v1/consents/", {"learner": placed["b"].learner.pk, "purpose": "services", "method": "paper",
                                                      "given_by_learner": True}, format="json")
    assert response.status_code == 400 and "learner" in response.json()


def test_parent_gives_consent_through_the_api(cast, placed):
    parent = api(cast.a.users[Role.PARENT])
    response = parent.post("/api/v1/consents/", {"learner": placed["a"].learner.pk, "purpose": "assessment", "method": "in-system"},
                           format="json")
    assert response.status_code == 201, response.content
    assert response.json()["given_by"] == placed["a"].guardian.pk
    assert parent.post(f"/api/v1/consents/{response.json()['id']}/withdraw/", {"reason": "Later"}, format="json").status_code == 200


def test_disability_list_and_retrieve_are_read_audited(cast, placed):
    officer = cast.a.users[Role.SOCIAL_PROTECTION_OFFICER]
    client = api(officer)
    response = client.post("/api/v1/disability-statuses/", {"learner": placed["a"].learner.pk, "category": "group-1",
                                                            "starts_on": "2024-01-01", "indefinite": True}, format="json")
    assert response.status_code == 400 and "category" in response.json()
    assert client.get("/api/v1/disability-statuses/").json()["count"] == 1
    assert AuditEvent.objects.filter(action="read", actor=officer, object_type="learners.disabilitystatus").count() == 1
    client.get(f"/api/v1/disability-statuses/{placed['a'].disability.pk}/")
    assert AuditEvent.objects.filter(action="read", actor=officer, object_type="learners.disabilitystatus").count() == 2


def test_openapi_describes_the_learner_endpoints(cast, client):
    client.force_login(cast.a.users[Role.SCHOOL_COORDINATOR])
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    for path in ["/api/v1/learners/", "/api/v1/learners/{id}/change-pin/", "/api/v1/learners/import/", "/api/v1/guardians/",
                 "/api/v1/guardian-links/", "/api/v1/consents/", "/api/v1/disability-statuses/", "/api/v1/diagnoses/",
                 "/api/v1/enrolments/{id}/transfer/", "/api/v1/assignments/"]:
        assert path in schema["paths"], path


def test_dates_and_ids_are_plain(cast, placed):
    client = api(cast.a.users[Role.SCHOOL_COORDINATOR])
    body = client.get(f"/api/v1/learners/{placed['a'].learner.pk}/").json()
    assert body["birth_date"] == dt.date(2015, 3, 15).isoformat()
    assert "search_key" not in body
