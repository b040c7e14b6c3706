"""Issue 3's "Done when", through the API: the identify path with token authentication.

A school coordinator of district A signs in for a token, registers a child (the contract fields;
a bad PIN, an impossible date, a PIN already registered and a likely duplicate are refused with
field errors), finds them by a Latin spelling, adds a guardian and links the mother (a parent with
an account), records the parent's consent to the assessment, enrols the child, records a
screening (and scores answers statelessly), refers to the PMPK and submits. The PMPK member sees
the referral in the queue, the parent sees their child's referral, and the district officer of
district B finds nothing: a 404 on every record and no row in lists or searches.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.core.cache import cache
from rest_framework.test import APIClient

from birge.core.roles import OrgKind, Role
from birge.learners.models import Learner
from birge.learners.tests.conftest import place_child

pytestmark = pytest.mark.django_db

PASSWORD = "test-pass-123"  # the root conftest's make_user
BIRTH = dt.date(2018, 4, 12)
CHILD = {"pin": "11204201800027", "last_name": "Өмүрбекова", "first_name": "Нургүл", "patronymic": "Таалайбековна",
         "birth_date": BIRTH.isoformat(), "sex": "female"}
# A six-to-eight-year-old on the CFM 5-17: difficulty in learning only (CF17 "a lot of difficulty").
ANSWERS = {"CF1": "no", "CF3": "no_difficulty", "CF4": "no", "CF6": "no_difficulty", "CF7": "no",
           "CF12": "no_difficulty", "CF13": "no_difficulty", **{f"CF{n}": "no_difficulty" for n in range(14, 23)},
           "CF17": "a_lot_of_difficulty", "CF23": "never", "CF24": "never"}
BASE_2_4 = {"CF1": "no", "CF3": "no_difficulty", "CF4": "no", "CF6": "no_difficulty", "CF7": "no",
            **{f"CF{n}": "no_difficulty" for n in range(10, 16)}, "CF16": "not_at_all"}  # cfm.md's worked examples
WG_SS = {"seeing": "no_difficulty", "hearing": "some_difficulty", "walking": "a_lot_of_difficulty",
         "cognition": "no_difficulty", "self_care": "no_difficulty", "communication": "cannot_do_at_all"}


@pytest.fixture(autouse=True)
def _no_token_throttle_left_over():
    """The token endpoint is throttled per client address; start (and leave) with a clean count."""
    cache.clear()
    yield
    cache.clear()


def signed_in(user) -> APIClient:
    """A client with a token obtained the documented way: POST /api/v1/auth/token/ → {"token"}."""
    client = APIClient()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    r = client.post("/api/v1/auth/token/", {"username": user.username, "password": PASSWORD}, format="json")
    assert r.status_code == 200, r.content
    assert list(r.json()) == ["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {r.json()['token']}")
    return client


def rows(response) -> list[dict]:
    assert response.status_code == 200, response.content
    body = response.json()
    return body["results"] if isinstance(body, dict) and "results" in body else body


def ids(response) -> set[int]:
    return {row["id"] for row in rows(response)}


@pytest.fixture
def sibling(cast):
    """A child already at district A's school whose mother is district A's parent user (with a Guardian record)."""
    return place_child(cast.a, pin="21503201512345", last_name="Асанов", first_name="Бакыт", patronymic="Асанович",
                       birth_date=dt.date(2015, 3, 15), sex="male")


def test_the_identify_path_through_the_api(cast, sibling):
    a, b = cast.a, cast.b
    school, pmpk = a.orgs[OrgKind.SCHOOL], a.orgs[OrgKind.PMPK_TERRITORIAL]
    coordinator = signed_in(a.users[Role.SCHOOL_COORDINATOR])
    child = {**CHILD, "territory": a.district.code}

    # --- register: bad input first, nothing saved half-way ----------------------------------------------
    r = coordinator.post("/api/v1/learners/", {**child, "pin": "31204201800027"}, format="json")
    assert r.status_code == 400 and list(r.json()) == ["pin"], r.content
    assert "first digit" in r.json()["pin"][0]  # the reason, not just "invalid"
    r = coordinator.post("/api/v1/learners/", {**child, "pin": "1120420180002"}, format="json")
    assert r.status_code == 400 and "14 digits" in r.json()["pin"][0]
    r = coordinator.post("/api/v1/learners/", {**child, "pin": "", "birth_date": "2018-02-30"}, format="json")
    assert r.status_code == 400 and list(r.json()) == ["birth_date"], r.content
    r = coordinator.post("/api/v1/learners/", {**child, "pin": "", "birth_date": (dt.date.today() + dt.timedelta(days=3)).isoformat()},
                         format="json")
    assert r.status_code == 400 and "birth_date" in r.json(), r.content
    r = coordinator.post("/api/v1/learners/", {**child, "territory": "99999999999999"}, format="json")
    assert r.status_code == 400 and "territory" in r.json(), r.content
    r = coordinator.post("/api/v1/learners/", {**child, "sex": "f"}, format="json")
    assert r.status_code == 400 and "sex" in r.json(), r.content
    assert not Learner.objects.filter(first_name="Нургүл").exists()

    r = coordinator.post("/api/v1/learners/", child, format="json")
    assert r.status_code == 201, r.content
    body = r.json()
    for field in ("pin", "last_name", "first_name", "patronymic", "birth_date", "sex", "territory"):
        assert body[field] == child[field], field
    learner_id = body["id"]

    # A PIN already registered: refused on `pin`, with the existing record.
    r = coordinator.post("/api/v1/learners/", {**child, "first_name": "Айгүл"}, format="json")
    assert r.status_code == 400 and "pin" in r.json(), r.content
    assert r.json()["existing_learner"] == learner_id
    # The same child in another spelling, without a PIN: a likely duplicate, registered only when confirmed.
    twin = {**child, "pin": "", "last_name": "Омурбекова", "first_name": "Nurgul", "patronymic": "Taalaibekovna"}
    r = coordinator.get("/api/v1/learners/duplicates/", {k: twin[k] for k in ("last_name", "first_name", "patronymic",
                                                                              "birth_date", "sex")})
    assert r.status_code == 200 and [d["id"] for d in r.json()] == [learner_id], r.content
    r = coordinator.post("/api/v1/learners/", twin, format="json")
    assert r.status_code == 400 and [d["id"] for d in r.json()["duplicates"]] == [learner_id], r.content
    assert r.json()["non_field_errors"]
    r = coordinator.post("/api/v1/learners/", {**twin, "confirm_new_despite_duplicates": True}, format="json")
    assert r.status_code == 201, r.content
    twin_id = r.json()["id"]

    # --- find by a Latin spelling, partial, without ң ө ү ----------------------------------------------
    for query in ("nurgul omurb", "Omurbekova Nurg", "NURGUL", "омурбек нургул"):
        found = ids(coordinator.get("/api/v1/learners/", {"q": query}))
        assert learner_id in found and twin_id in found, query
    assert learner_id not in ids(coordinator.get("/api/v1/learners/", {"q": "nurgul asan"}))

    # --- family: a new guardian, the mother (a parent with an account) linked, her consent -------------------
    r = coordinator.post("/api/v1/guardians/", {"learner": learner_id, "relation": "father", "first_name": "Таалайбек",
                                                "last_name": "Өмүрбеков", "phone": "+996 555 000 111"}, format="json")
    assert r.status_code == 201, r.content
    assert r.json()["links"][0]["learner"] == learner_id
    r = coordinator.post("/api/v1/guardians/", {"learner": learner_id, "relation": "uncle", "first_name": "X"}, format="json")
    assert r.status_code == 400 and "relation" in r.json()
    mother = sibling.guardian
    r = coordinator.get("/api/v1/guardians/", {"q": "aiperi"})
    assert mother.pk in ids(r)
    r = coordinator.post("/api/v1/guardian-links/", {"learner": learner_id, "guardian": mother.pk, "relation": "mother"},
                         format="json")
    assert r.status_code == 201, r.content
    r = coordinator.post("/api/v1/consents/", {"learner": learner_id, "purpose": "assessment", "method": "paper",
                                               "given_by": mother.pk, "recipient": pmpk.code,
                                               "scope": "PMPK assessment"}, format="json")
    assert r.status_code == 201, r.content
    assert r.json()["is_active"] is True
    consent_id = r.json()["id"]

    # --- enrolment: one active enrolment per level --------------------------------------------------------
    enrolment = {"learner": learner_id, "organization": school.code, "level": "school", "grade": 2, "class_name": "2Б",
                 "starts_on": "2026-09-01"}
    r = coordinator.post("/api/v1/enrolments/", enrolment, format="json")
    assert r.status_code == 201, r.content
    assert r.json()["status"] == "active"
    r = coordinator.post("/api/v1/enrolments/", {**enrolment, "class_name": "2А"}, format="json")
    assert r.status_code == 400 and set(r.json()) & {"level", "learner", "non_field_errors"}, r.content

    # --- screening: stateless scoring, then a recorded one ------------------------------------------------
    r = coordinator.post("/api/v1/screening/score/", {"instrument": "cfm-5-17", "age": 8, "answers": ANSWERS}, format="json")
    assert r.status_code == 200, r.content
    assert set(r.json()) == {"domains", "functional_difficulty", "domain_count"}
    assert r.json()["functional_difficulty"] is True and r.json()["domain_count"] == 1
    assert r.json()["domains"]["learning"] is True and r.json()["domains"]["seeing"] is False
    r = coordinator.post("/api/v1/screening/score/", {"instrument": "wg-ss", "age": 30, "answers": WG_SS}, format="json")
    assert r.status_code == 200, r.content
    assert {"disability_1", "disability_2", "disability_3", "disability_4", "domains", "functional_difficulty",
            "domain_count"} <= set(r.json())
    assert r.json() == {"domains": {"seeing": False, "hearing": False, "walking": True, "cognition": False, "self_care": False,
                                    "communication": True},
                        "disability_1": True, "disability_2": True, "disability_3": True, "disability_4": True,
                        "functional_difficulty": True, "domain_count": 2}
    r = coordinator.post("/api/v1/screening/score/", {"instrument": "cfm-2-4", "age": 3, "answers": {**BASE_2_4, "CF16": "a_lot_more"}},
                         format="json")
    assert r.status_code == 200 and r.json()["domains"]["controlling_behaviour"] is True and r.json()["domain_count"] == 1
    r = coordinator.post("/api/v1/screening/score/", {"instrument": "cfm-2-4", "age": 3, "answers": {**BASE_2_4, "CF16": "more"}},
                         format="json")
    assert r.status_code == 200 and r.json()["functional_difficulty"] is False
    r = coordinator.post("/api/v1/screening/score/", {"instrument": "cfm-5-17", "age": 30, "answers": ANSWERS}, format="json")
    assert r.status_code == 400 and "age" in r.json(), r.content
    r = coordinator.post("/api/v1/screening/score/", {"instrument": "cfm-5-17", "age": 8, "answers": {**ANSWERS, "CF99": "no"}},
                         format="json")
    assert r.status_code == 400 and "CF99" in r.json()["answers"], r.content
    r = coordinator.post("/api/v1/screening/score/", {"instrument": "cfm-5-17", "age": 8, "answers": {**ANSWERS, "CF3": "maybe"}},
                         format="json")
    assert r.status_code == 400 and "CF3" in r.json()["answers"], r.content

    screening = {"learner": learner_id, "interview_date": dt.date.today().isoformat(), "respondent": "parent",
                 "respondent_guardian": mother.pk}
    r = coordinator.post("/api/v1/screenings/", {**screening, "answers": {"CF1": "no"}}, format="json")
    assert r.status_code == 400 and "CF3" in r.json()["answers"], r.content  # missing required answers, nothing saved
    r = coordinator.post("/api/v1/screenings/", {**screening, "answers": ANSWERS}, format="json")
    assert r.status_code == 201, r.content
    assert r.json()["status"] == "complete" and r.json()["instrument"] == "cfm-5-17"
    assert r.json()["functional_difficulty"] is True and r.json()["domain_count"] == 1
    screening_id = r.json()["id"]
    assert ids(coordinator.get("/api/v1/screenings/", {"learner": learner_id})) == {screening_id}

    # --- referral to the PMPK: a draft, then submitted; the referrer sees its state ----------------------------
    r = coordinator.post("/api/v1/referrals/", {"learner": learner_id}, format="json")
    assert r.status_code == 201, r.content
    referral_id = r.json()["id"]
    assert r.json()["state"] == "draft" and r.json()["receiving_organization"] == pmpk.code
    r = coordinator.post(f"/api/v1/referrals/{referral_id}/submit/", format="json")
    assert r.status_code == 400 and "reason" in r.json(), r.content  # say why before submitting
    r = coordinator.patch(f"/api/v1/referrals/{referral_id}/", {"reason": "Difficulty in learning (screening).",
                                                                "tried": "Extra lessons."}, format="json")
    assert r.status_code == 200, r.content
    r = coordinator.post(f"/api/v1/referrals/{referral_id}/submit/", format="json")
    assert r.status_code == 200, r.content
    assert r.json()["state"] == "submitted" and r.json()["due_clock"] == "referral_acknowledge"
    r = coordinator.post("/api/v1/referrals/", {"learner": learner_id, "reason": "again"}, format="json")
    assert r.status_code == 400 and "learner" in r.json(), r.content  # one open referral of a kind
    r = coordinator.get(f"/api/v1/referrals/{referral_id}/")
    assert r.status_code == 200 and r.json()["state"] == "submitted"
    assert referral_id in ids(coordinator.get("/api/v1/referrals/", {"queue": "made"}))

    # --- the PMPK member: in the queue; accepts and schedules (the consent is there) -----------------------------
    member = signed_in(a.users[Role.PMPK_MEMBER])
    assert referral_id in ids(member.get("/api/v1/referrals/", {"queue": "received"}))
    assert referral_id in ids(member.get("/api/v1/referrals/", {"q": "nurgul"}))
    r = member.post(f"/api/v1/referrals/{referral_id}/accept/", format="json")
    assert r.status_code == 200 and r.json()["state"] == "accepted", r.content
    when = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=7)).replace(microsecond=0).isoformat()
    r = member.post(f"/api/v1/referrals/{referral_id}/schedule/", {"appointment_at": when, "appointment_place": "PMPK"},
                    format="json")
    assert r.status_code == 200 and r.json()["state"] == "scheduled", r.content
    assert r.json()["consent"] == consent_id
    # The twin has no consent: the PMPK may not schedule it.
    r = coordinator.post("/api/v1/referrals/", {"learner": twin_id, "reason": "Twin.", "submit": True}, format="json")
    assert r.status_code == 201 and r.json()["state"] == "submitted", r.content
    twin_referral = r.json()["id"]
    assert member.post(f"/api/v1/referrals/{twin_referral}/accept/", format="json").status_code == 200
    r = member.post(f"/api/v1/referrals/{twin_referral}/schedule/", {"appointment_at": when}, format="json")
    assert r.status_code == 400 and "consent" in r.json(), r.content

    # --- the parent sees their child and the referral's state ---------------------------------------------------
    parent = signed_in(a.users[Role.PARENT])
    assert learner_id in ids(parent.get("/api/v1/learners/"))
    r = parent.get(f"/api/v1/referrals/{referral_id}/")
    assert r.status_code == 200 and r.json()["state"] == "scheduled", r.content
    assert referral_id in ids(parent.get("/api/v1/referrals/"))
    assert twin_referral not in ids(parent.get("/api/v1/referrals/"))  # not her child

    # --- the district officer of district B: nothing, anywhere ----------------------------------------------------
    officer_b = signed_in(b.users[Role.DISTRICT_OFFICER])
    for path in (f"/api/v1/learners/{learner_id}/", f"/api/v1/referrals/{referral_id}/", f"/api/v1/screenings/{screening_id}/",
                 f"/api/v1/consents/{consent_id}/", f"/api/v1/learners/{learner_id}/history/"):
        r = officer_b.get(path)
        assert r.status_code == 404, (path, r.status_code)
        assert set(r.json()) == {"detail", "code"}
    for query in ("nurgul", "Өмүрбекова", CHILD["pin"], CHILD["pin"][:6]):
        assert not ids(officer_b.get("/api/v1/learners/", {"q": query})), query
    assert learner_id not in ids(officer_b.get("/api/v1/learners/"))
    assert referral_id not in ids(officer_b.get("/api/v1/referrals/"))
    assert not ids(officer_b.get("/api/v1/referrals/", {"learner": learner_id}))
    assert not ids(officer_b.get("/api/v1/screenings/", {"learner": learner_id}))
    assert not ids(officer_b.get("/api/v1/consents/", {"learner": learner_id}))
    assert not ids(officer_b.get("/api/v1/enrolments/", {"learner": learner_id}))
    assert mother.pk not in ids(officer_b.get("/api/v1/guardians/", {"q": "aiperi"}))
    assert officer_b.get(f"/api/v1/guardians/{mother.pk}/").status_code == 404
    assert not rows(officer_b.get("/api/v1/learners/duplicates/", {"first_name": "Нургүл", "last_name": "Өмүрбекова",
                                                                   "birth_date": BIRTH.isoformat()}))
    # … and district A's officer does see the child (the 404 above is about reach, not a broken record).
    officer_a = signed_in(a.users[Role.DISTRICT_OFFICER])
    assert officer_a.get(f"/api/v1/learners/{learner_id}/").status_code == 200
    assert learner_id in ids(officer_a.get("/api/v1/learners/", {"q": "nurgul omurbek"}))
