"""The screening services: routing by age on the interview date, respondents, answers stored as meanings
with skipped branches cleared, tri-state results, workflow, audit events, and stateless scoring."""

import datetime as dt
import hashlib

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from birge.core.models import AuditEvent
from birge.core.roles import OrgKind, Role
from birge.screening import engine, services
from birge.screening.models import Screening, Status

from .conftest import BASE_2_4, BASE_5_17, WG_NONE, years_before

TODAY = timezone.localdate


def _route(learner, day, respondent="parent", instrument=None):
    inst, age = services.route(learner, day, respondent, instrument)
    return inst.code, age


# --- routing by age on the interview date ---------------------------------------------------------


def test_fifth_birthday_on_the_interview_date_routes_to_5_17(make_child):
    day = TODAY() - dt.timedelta(days=10)
    child = make_child(years_before(day, 5))
    assert _route(child, day) == ("cfm-5-17", 5)
    assert _route(child, day - dt.timedelta(days=1)) == ("cfm-2-4", 4)


def test_eighteenth_birthday_on_the_interview_date_routes_to_wg_ss(make_child):
    day = TODAY() - dt.timedelta(days=3)
    adult = make_child(years_before(day, 18))
    assert _route(adult, day, "self") == ("wg-ss", 18)
    assert _route(adult, day - dt.timedelta(days=1)) == ("cfm-5-17", 17)


def test_second_birthday_is_the_first_day_of_the_cfm(make_child):
    day = TODAY() - dt.timedelta(days=1)
    child = make_child(years_before(day, 2))
    assert _route(child, day) == ("cfm-2-4", 2)
    with pytest.raises(ValidationError) as exc:
        services.route(child, day - dt.timedelta(days=1), "parent")
    assert "interview_date" in exc.value.message_dict
    assert "completed years: 1" in exc.value.message_dict["interview_date"][0]


def test_born_on_29_february(make_child):
    child = make_child(dt.date(2020, 2, 29))
    assert _route(child, dt.date(2025, 2, 28)) == ("cfm-2-4", 4)
    assert _route(child, dt.date(2025, 3, 1)) == ("cfm-5-17", 5)
    assert _route(child, dt.date(2024, 2, 29)) == ("cfm-2-4", 4)


def test_impossible_interview_dates(placed):
    child = placed["a"].learner
    with pytest.raises(ValidationError) as exc:
        services.route(child, TODAY() + dt.timedelta(days=1), "parent")
    assert "future" in exc.value.message_dict["interview_date"][0]
    with pytest.raises(ValidationError) as exc:
        services.route(child, child.birth_date - dt.timedelta(days=1), "parent")
    assert "before the learner's birth date" in exc.value.message_dict["interview_date"][0]


def test_a_named_questionnaire_must_fit_the_age(placed):
    child = placed["a"].learner  # 11 on today's date
    with pytest.raises(ValidationError) as exc:
        services.route(child, TODAY(), "parent", "cfm-2-4")
    assert exc.value.message_dict == {"instrument": ["This questionnaire is for ages 2 to 4 (completed years)."]}
    with pytest.raises(ValidationError) as exc:
        services.route(child, TODAY(), "parent", "cfm-9-99")
    assert list(exc.value.message_dict) == ["instrument"]


def test_respondents(placed, make_child):
    child = placed["a"].learner
    with pytest.raises(ValidationError) as exc:
        services.route(child, TODAY(), "self")
    assert list(exc.value.message_dict) == ["respondent"]
    with pytest.raises(ValidationError) as exc:  # no teacher-reported questionnaire in the files yet
        services.route(child, TODAY(), "teacher")
    assert "teacher-reported" in exc.value.message_dict["respondent"][0]
    adult = make_child(years_before(TODAY(), 20))
    assert _route(adult, TODAY(), "parent")[0] == "wg-ss"  # a proxy may answer the WG-SS


def test_who_answered(record, placed, cast):
    with pytest.raises(ValidationError) as exc:
        record(respondent="parent", respondent_guardian=None, respondent_name="  ")
    assert list(exc.value.message_dict) == ["respondent_name"]
    with pytest.raises(ValidationError) as exc:
        record(respondent="parent", respondent_guardian=placed["b"].guardian)
    assert list(exc.value.message_dict) == ["respondent_guardian"]
    screening = record(respondent="carer", respondent_guardian=None, respondent_name="Бурул эже")
    assert screening.respondent_label == "Other relative or carer: Бурул эже"
    assert record().respondent_guardian == placed["a"].guardian


# --- answers and results --------------------------------------------------------------------------


def test_record_stores_meanings_results_and_the_definition_used(record, coordinator, cast):
    screening = record({**BASE_5_17, "CF17": "a_lot_of_difficulty", "CF15": "cannot_do_at_all"})
    screening.refresh_from_db()
    inst = engine.load_instrument("cfm-5-17")
    assert screening.status == Status.COMPLETE and screening.completed_at
    assert screening.instrument == "cfm-5-17" and screening.instrument_version == inst.version
    assert screening.instrument_hash == hashlib.sha256(inst._source.encode()).hexdigest()
    assert screening.age_years == 11 and screening.interview_date == TODAY()
    assert screening.answers["CF17"] == "a_lot_of_difficulty" and all(isinstance(v, str) for v in screening.answers.values())
    assert screening.domains["learning"] is True and screening.domains["communication"] is True
    assert screening.domains["seeing"] is False
    assert screening.functional_difficulty is True and screening.domain_count == 2
    assert screening.disability_3 is None and screening.missing == []
    assert screening.organization == cast.a.orgs[OrgKind.SCHOOL] and screening.recorded_by == coordinator


def test_all_answered_no_difficulty_is_no(record):
    s = record()
    assert s.functional_difficulty is False and s.domain_count == 0 and set(s.domains.values()) == {False}


@pytest.mark.parametrize("value", ["dont_know", "refused"])
def test_non_response_leaves_the_result_indeterminate(record, value):
    s = record({**BASE_5_17, "CF3": value})
    assert s.functional_difficulty is None and s.domains["seeing"] is None and s.missing == ["CF3"]
    s = record({**BASE_5_17, "CF3": value, "CF18": "cannot_do_at_all"})
    assert s.functional_difficulty is True and s.domain_count == 1  # a missing answer does not block a yes


def test_young_child_and_adult(record, make_child):
    young = make_child(years_before(TODAY(), 3, days=5))
    s = record({**BASE_2_4, "CF16": "a_lot_more"}, learner=young)
    assert (s.instrument, s.age_years) == ("cfm-2-4", 3)
    assert s.domains["controlling_behaviour"] is True and s.functional_difficulty is True
    adult = make_child(years_before(TODAY(), 19))
    s = record({**WG_NONE, "seeing": "some_difficulty", "hearing": "some_difficulty"}, learner=adult, respondent="self")
    assert s.instrument == "wg-ss"
    assert (s.disability_1, s.disability_2, s.disability_3, s.disability_4) == (True, True, False, False)
    assert s.functional_difficulty is False and s.domain_count == 0


def test_skipped_branches_are_cleared(record, coordinator, placed):
    s = services.start_screening(coordinator, placed["a"].learner, interview_date=TODAY(), respondent="parent",
                                 respondent_guardian=placed["a"].guardian)
    services.save_answers(coordinator, s, {"CF1": "yes", "CF2": "a_lot_of_difficulty"})
    assert s.answers == {"CF1": "yes", "CF2": "a_lot_of_difficulty"}
    services.save_answers(coordinator, s, {"CF1": "no", "CF2": "a_lot_of_difficulty", "CF3": "no_difficulty"})
    s.refresh_from_db()
    assert s.answers == {"CF1": "no", "CF3": "no_difficulty"}  # CF2's branch is gone
    walking = {**BASE_5_17, "CF7": "yes", "CF8": "a_lot_of_difficulty", "CF9": "some_difficulty", "CF10": "no_difficulty",
               "CF11": "no_difficulty"}
    done = services.complete_screening(coordinator, s, walking)
    assert "CF9" not in done.answers and "CF12" not in done.answers and "CF13" not in done.answers
    assert done.domains["walking"] is True  # without equipment a lot of difficulty


def test_unknown_questions_and_answers_are_refused_by_name(coordinator, placed, record):
    with pytest.raises(ValidationError) as exc:
        record({**BASE_5_17, "CF99": "no", "CF1": 1, "CF3": "a_little"})
    assert set(exc.value.message_dict) == {"CF99", "CF1", "CF3"}
    assert exc.value.message_dict["CF99"] == ["This question is not part of the questionnaire."]
    assert not Screening.objects.exists()  # all or nothing


def test_completing_needs_every_shown_question(coordinator, placed):
    s = services.start_screening(coordinator, placed["a"].learner, interview_date=TODAY(), respondent="parent",
                                 respondent_guardian=placed["a"].guardian)
    partial = {k: v for k, v in BASE_5_17.items() if k not in ("CF23", "CF24")}
    with pytest.raises(ValidationError) as exc:
        services.complete_screening(coordinator, s, partial)
    assert exc.value.message_dict == {"CF23": ["Answer this question."], "CF24": ["Answer this question."]}
    s.refresh_from_db()
    assert s.status == Status.DRAFT and s.functional_difficulty is None and s.domains == {}


def test_a_completed_screening_does_not_change(record, coordinator):
    s = record()
    with pytest.raises(ValidationError):
        services.save_answers(coordinator, s, BASE_5_17)
    with pytest.raises(ValidationError):
        services.complete_screening(coordinator, s)


def test_withdraw_with_a_reason_never_delete(record, coordinator):
    s = record()
    with pytest.raises(ValidationError) as exc:
        services.withdraw_screening(coordinator, s, reason=" ")
    assert list(exc.value.message_dict) == ["reason"]
    services.withdraw_screening(coordinator, s, reason="Wrong child")
    s.refresh_from_db()
    assert s.status == Status.WITHDRAWN and s.withdraw_reason == "Wrong child" and s.withdrawn_at
    with pytest.raises(ValidationError):
        services.withdraw_screening(coordinator, s, reason="again")
    assert Screening.objects.filter(pk=s.pk).exists()


# --- policy ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.PARENT, Role.DISTRICT_OFFICER, Role.TUTOR, Role.REGIONAL_OFFICER])
def test_roles_that_may_not_record(role, cast, placed, record):
    with pytest.raises(PermissionDenied):
        record(actor=cast.a.users[role])
    assert not Screening.objects.exists()


def test_out_of_reach_may_not_record_or_change(cast, placed, record):
    with pytest.raises(PermissionDenied):
        record(actor=cast.b.users[Role.SCHOOL_COORDINATOR])
    s = record()
    with pytest.raises(PermissionDenied):
        services.withdraw_screening(cast.b.users[Role.SCHOOL_COORDINATOR], s, reason="x")
    with pytest.raises(PermissionDenied):
        services.withdraw_screening(cast.a.users[Role.PARENT], s, reason="x")


def test_archived_learner_is_refused(record, placed):
    learner = placed["a"].learner
    learner.archived_at = timezone.now()
    learner.save()
    with pytest.raises(ValidationError):
        record()


# --- audit -----------------------------------------------------------------------------------------


def test_audit_events(record, coordinator, placed):
    s = services.start_screening(coordinator, placed["a"].learner, interview_date=TODAY(), respondent="parent",
                                 respondent_guardian=placed["a"].guardian)
    services.save_answers(coordinator, s, {"CF1": "no"})
    services.complete_screening(coordinator, s, BASE_5_17)
    services.opened(coordinator, [s])
    services.withdraw_screening(coordinator, s, reason="Recorded twice")
    events = list(AuditEvent.objects.filter(object_type="screening.screening", object_id=str(s.pk)).order_by("id"))
    assert [e.event for e in events] == ["screening.started", "screening.answers_saved", "screening.completed",
                                         "screening.read", "screening.withdrawn"]
    assert all(e.learner_id == placed["a"].learner.pk and e.actor == coordinator for e in events)
    completed = events[2]
    assert completed.action == AuditEvent.Action.TRANSITION and completed.changes["state"] == ["draft", "complete"]
    assert completed.changes["functional_difficulty"] == [None, False]
    assert events[3].action == AuditEvent.Action.READ and events[4].reason == "Recorded twice"


# --- stateless scoring -----------------------------------------------------------------------------


def test_score_answers_shapes():
    body = services.score_answers("cfm-2-4", 3, BASE_2_4)
    assert list(body) == ["domains", "functional_difficulty", "domain_count"]
    body = services.score_answers("wg-ss", 40, WG_NONE)
    assert list(body) == ["domains", "disability_1", "disability_2", "disability_3", "disability_4", "functional_difficulty",
                          "domain_count"]


def test_score_answers_errors_name_the_field():
    with pytest.raises(services.ScoringError) as exc:
        services.score_answers("cfm-5-17", 18, {"CF99": "no", "CF1": "maybe"})
    assert set(exc.value.errors) == {"age", "answers"} and set(exc.value.errors["answers"]) == {"CF99", "CF1"}
    with pytest.raises(services.ScoringError) as exc:
        services.score_answers("nope", 7, {})
    assert list(exc.value.errors) == ["instrument"]
    with pytest.raises(services.ScoringError) as exc:
        services.score_answers("cfm-5-17", 7, ["CF1"])
    assert exc.value.errors == {"answers": ["The answers must map question codes to answer codes."]}
