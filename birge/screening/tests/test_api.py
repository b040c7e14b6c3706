"""The screening API: the stateless score contract of issue 3 (exact shapes, every 400 naming its field),
the questionnaire definitions, and screenings recorded, answered, completed and withdrawn."""

import datetime as dt

import pytest
from django.conf import settings
from django.utils import timezone
from rest_framework.test import APIClient

from birge.core.models import ApiToken, AuditEvent
from birge.core.roles import Role
from birge.screening.models import Screening, Status

from .conftest import BASE_2_4, BASE_5_17, WG_NONE, years_before

SCORE = "/api/v1/screening/score/"
CFM_2_4_DOMAINS = ["seeing", "hearing", "walking", "fine_motor", "communication", "learning", "playing",
                   "controlling_behaviour"]
CFM_5_17_DOMAINS = ["seeing", "hearing", "walking", "self_care", "communication", "learning", "remembering", "concentrating",
                    "accepting_change", "controlling_behaviour", "making_friends", "anxiety", "depression"]
WG_DOMAINS = ["seeing", "hearing", "walking", "cognition", "self_care", "communication"]


def api(user):
    client = APIClient()
    _token, key = ApiToken.issue(user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.fixture
def scorer(cast):
    """Scoring needs a signed-in caller, not a role: the outsider will do."""
    return api(cast.outsider)


def _score(client, instrument, age, answers):
    return client.post(SCORE, {"instrument": instrument, "age": age, "answers": answers}, format="json")


# --- the score contract ----------------------------------------------------------------------------


def test_cfm_2_4_exact(scorer):
    r = _score(scorer, "cfm-2-4", 3, {**BASE_2_4, "CF1": "yes", "CF2": "a_lot_of_difficulty", "CF16": "a_lot_more"})
    assert r.status_code == 200, r.content
    body = r.json()
    assert list(body) == ["domains", "functional_difficulty", "domain_count"]
    assert list(body["domains"]) == CFM_2_4_DOMAINS
    assert body == {"domains": {"seeing": True, "hearing": False, "walking": False, "fine_motor": False,
                                "communication": False, "learning": False, "playing": False, "controlling_behaviour": True},
                    "functional_difficulty": True, "domain_count": 2}


def test_cfm_5_17_exact_with_the_issue_example(scorer):
    r = _score(scorer, "cfm-5-17", 7, {"CF1": "no", "CF3": "no_difficulty"})
    assert r.status_code == 200, r.content
    body = r.json()
    assert list(body) == ["domains", "functional_difficulty", "domain_count"]
    assert list(body["domains"]) == CFM_5_17_DOMAINS
    assert body["domains"]["seeing"] is False
    assert all(body["domains"][d] is None for d in CFM_5_17_DOMAINS if d != "seeing")
    assert body["functional_difficulty"] is None and body["domain_count"] == 0

    r = _score(scorer, "cfm-5-17", 17, {**BASE_5_17, "CF15": "cannot_do_at_all", "CF16": "a_lot_of_difficulty",
                                        "CF23": "daily", "CF24": "daily"})
    assert r.json() == {"domains": {**{d: False for d in CFM_5_17_DOMAINS}, "communication": True, "anxiety": True,
                                    "depression": True}, "functional_difficulty": True, "domain_count": 3}


def test_wg_ss_exact(scorer):
    r = _score(scorer, "wg-ss", 40, {**WG_NONE, "seeing": "some_difficulty", "walking": "some_difficulty"})
    assert r.status_code == 200, r.content
    body = r.json()
    assert list(body) == ["domains", "disability_1", "disability_2", "disability_3", "disability_4", "functional_difficulty",
                          "domain_count"]
    assert body == {"domains": {d: False for d in WG_DOMAINS}, "disability_1": True, "disability_2": True,
                    "disability_3": False, "disability_4": False, "functional_difficulty": False, "domain_count": 0}
    body = _score(scorer, "wg-ss", 18, {"cognition": "cannot_do_at_all"}).json()
    assert body["disability_4"] is True and body["disability_3"] is True and body["functional_difficulty"] is True
    assert body["domains"]["cognition"] is True and body["domains"]["seeing"] is None and body["domain_count"] == 1


@pytest.mark.parametrize("instrument, age, answers, errors", [
    ("cfm-5-17", 18, BASE_5_17, {"age": ["This questionnaire is for ages 5 to 17 (completed years)."]}),
    ("cfm-2-4", 1, BASE_2_4, {"age": ["This questionnaire is for ages 2 to 4 (completed years)."]}),
    ("wg-ss", 17, WG_NONE, {"age": ["This questionnaire is for ages 18 and over (completed years)."]}),
    ("cfm-5-17", -1, BASE_5_17, {"age": ["Enter the age as a whole number of completed years."]}),
    ("cfm-5-17", 7, {"CF99": "no"}, {"answers": {"CF99": ["This question is not part of the questionnaire."]}}),
    ("cfm-5-17", 7, {"CF1": "maybe"}, {"answers": {"CF1": ["This is not one of the allowed answers to this question."]}}),
    ("cfm-5-17", 7, {"CF1": 1}, {"answers": {"CF1": ["This is not one of the allowed answers to this question."]}}),
    ("cfm-2-4", 3, {"CF8": "no_difficulty"}, {"answers": {"CF8": ["This is not one of the allowed answers to this question."]}}),
    ("wg-ss", 30, {"CF1": "no"}, {"answers": {"CF1": ["This question is not part of the questionnaire."]}}),
    ("cfm-5-17", 7, ["CF1"], {"answers": ["The answers must map question codes to answer codes."]}),
])
def test_bad_input_is_a_400_naming_the_field(scorer, instrument, age, answers, errors):
    r = _score(scorer, instrument, age, answers)
    assert r.status_code == 400
    assert r.json() == errors


def test_more_400s_naming_the_field(scorer):
    r = _score(scorer, "cfm-9-99", 7, {})
    assert r.status_code == 400 and list(r.json()) == ["instrument"]
    r = _score(scorer, "cfm-5-17", "seven", {})
    assert r.status_code == 400 and list(r.json()) == ["age"]
    r = scorer.post(SCORE, {"instrument": "cfm-5-17", "answers": {}}, format="json")
    assert r.status_code == 400 and list(r.json()) == ["age"]
    r = _score(scorer, "cfm-5-17", 30, {"CF1": "maybe"})  # every problem at once
    assert r.status_code == 400 and set(r.json()) == {"age", "answers"} and list(r.json()["answers"]) == ["CF1"]


def test_scoring_is_stateless_and_needs_authentication(scorer, cast):
    before = AuditEvent.objects.count()
    assert _score(scorer, "cfm-5-17", 7, BASE_5_17).status_code == 200
    assert not Screening.objects.exists() and AuditEvent.objects.count() == before
    anonymous = APIClient()
    assert _score(anonymous, "cfm-5-17", 7, BASE_5_17).status_code in (401, 403)
    session = APIClient()
    session.force_login(cast.a.users[Role.TEACHER])
    assert _score(session, "cfm-5-17", 7, BASE_5_17).status_code == 200


def test_instrument_definitions(scorer):
    r = scorer.get("/api/v1/screening/instruments/")
    assert r.status_code == 200
    assert [i["code"] for i in r.json()] == ["cfm-2-4", "cfm-5-17", "wg-ss"]
    one = scorer.get("/api/v1/screening/instruments/cfm-5-17/").json()
    assert one["items"][0]["code"] == "CF1" and one["ages"] == {"min": 5, "max": 17}
    assert scorer.get("/api/v1/screening/instruments/cfm-9-99/").status_code == 404


def test_schema_describes_the_endpoints(scorer):
    r = scorer.get("/api/v1/schema/", HTTP_ACCEPT="application/json")
    assert r.status_code == 200
    paths = r.json()["paths"] if r["Content-Type"].startswith("application/json") else r.content.decode()
    for path in ("/api/v1/screening/score/", "/api/v1/screenings/", "/api/v1/screening/instruments/"):
        assert path in paths


# --- screenings -------------------------------------------------------------------------------------


@pytest.fixture
def coordinator_api(coordinator):
    return api(coordinator)


def _create(client, placed, **changes):
    body = {"learner": placed["a"].learner.pk, "interview_date": timezone.localdate().isoformat(), "respondent": "parent",
            "respondent_guardian": placed["a"].guardian.pk, "answers": {**BASE_5_17, "CF17": "a_lot_of_difficulty"}}
    body.update(changes)
    return client.post("/api/v1/screenings/", body, format="json")


def test_record_a_screening(coordinator_api, placed):
    r = _create(coordinator_api, placed)
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["status"] == "complete" and body["instrument"] == "cfm-5-17" and body["age_years"] == 11
    assert body["functional_difficulty"] is True and body["domain_count"] == 1 and body["domains"]["learning"] is True
    assert body["answers"]["CF17"] == "a_lot_of_difficulty" and len(body["instrument_hash"]) == 64
    assert body["disability_3"] is None and body["respondent_guardian"] == placed["a"].guardian.pk
    assert AuditEvent.objects.filter(event="screening.completed", object_id=str(body["id"])).exists()


def test_record_errors_name_the_field(coordinator_api, placed, make_child):
    r = _create(coordinator_api, placed, answers={k: v for k, v in BASE_5_17.items() if k != "CF24"})
    assert r.status_code == 400 and r.json() == {"answers": {"CF24": ["Answer this question."]}}
    r = _create(coordinator_api, placed, answers={**BASE_5_17, "CF99": "no"})
    assert r.status_code == 400 and r.json() == {"answers": {"CF99": ["This question is not part of the questionnaire."]}}
    r = _create(coordinator_api, placed, instrument="cfm-2-4")
    assert r.status_code == 400 and r.json() == {"instrument": ["This questionnaire is for ages 2 to 4 (completed years)."]}
    baby = make_child(timezone.localdate() - dt.timedelta(days=300))
    r = _create(coordinator_api, placed, learner=baby.pk)
    assert r.status_code == 400 and list(r.json()) == ["interview_date"]
    r = _create(coordinator_api, placed, respondent="self")
    assert r.status_code == 400 and list(r.json()) == ["respondent"]
    r = _create(coordinator_api, placed, interview_date=(timezone.localdate() + dt.timedelta(days=2)).isoformat())
    assert r.status_code == 400 and list(r.json()) == ["interview_date"]
    assert not Screening.objects.exists()


def test_draft_then_answers_then_complete(coordinator_api, placed):
    r = _create(coordinator_api, placed, answers={"CF1": "yes", "CF2": "no_difficulty"}, complete=False)
    assert r.status_code == 201 and r.json()["status"] == "draft" and r.json()["domains"] == {}
    pk = r.json()["id"]
    r = coordinator_api.post(f"/api/v1/screenings/{pk}/answers/", {"answers": {"CF1": "no", "CF2": "no_difficulty"}},
                             format="json")
    assert r.status_code == 200 and r.json()["answers"] == {"CF1": "no"}  # the skipped branch is cleared
    r = coordinator_api.post(f"/api/v1/screenings/{pk}/answers/", {"answers": {"CF1": "no"}, "complete": True}, format="json")
    assert r.status_code == 400 and "CF3" in r.json()["answers"]
    r = coordinator_api.post(f"/api/v1/screenings/{pk}/answers/", {"answers": BASE_5_17, "complete": True}, format="json")
    assert r.status_code == 200 and r.json()["status"] == "complete" and r.json()["functional_difficulty"] is False
    r = coordinator_api.post(f"/api/v1/screenings/{pk}/answers/", {"answers": BASE_5_17}, format="json")
    assert r.status_code == 400 and "non_field_errors" in r.json()


def test_withdraw(coordinator_api, placed):
    pk = _create(coordinator_api, placed).json()["id"]
    r = coordinator_api.post(f"/api/v1/screenings/{pk}/withdraw/", {"reason": "Wrong child"}, format="json")
    assert r.status_code == 200 and r.json()["status"] == "withdrawn" and r.json()["withdraw_reason"] == "Wrong child"
    assert Screening.objects.get(pk=pk).status == Status.WITHDRAWN


def test_readers_and_outsiders(cast, placed, record):
    screening = record()
    parent = api(cast.a.users[Role.PARENT])
    assert parent.get(f"/api/v1/screenings/{screening.pk}/").status_code == 200
    assert parent.post(f"/api/v1/screenings/{screening.pk}/withdraw/", {"reason": "x"}, format="json").status_code == 404
    assert parent.post(f"/api/v1/screenings/{screening.pk}/answers/", {"answers": {}}, format="json").status_code == 404
    assert _create(parent, placed).status_code == 403 and Screening.objects.count() == 1
    other = api(cast.b.users[Role.SCHOOL_COORDINATOR])
    assert other.get(f"/api/v1/screenings/{screening.pk}/").status_code == 404
    assert other.get("/api/v1/screenings/").json()["results"] == []
    r = _create(other, placed)  # a learner out of reach does not exist in a request body either
    assert r.status_code == 400 and list(r.json()) == ["learner", "respondent_guardian"]


def test_list_filters(coordinator_api, placed, record, make_child):
    positive = record({**BASE_5_17, "CF17": "cannot_do_at_all"})
    young = make_child(years_before(timezone.localdate(), 3))
    other = record(BASE_2_4, learner=young)
    r = coordinator_api.get("/api/v1/screenings/", {"result": "yes"})
    assert [s["id"] for s in r.json()["results"]] == [positive.pk]
    r = coordinator_api.get("/api/v1/screenings/", {"learner": young.pk})
    assert [s["id"] for s in r.json()["results"]] == [other.pk]
    r = coordinator_api.get("/api/v1/screenings/", {"instrument": "cfm-2-4"})
    assert [s["id"] for s in r.json()["results"]] == [other.pk]
