"""Screening fixtures on top of the shared cast: the placed children of the learners tests (enrolled at
their district's school, the district's parent as guardian, assigned to the district's specialists),
answer sets per questionnaire, and a factory for screenings recorded through the services."""

import datetime as dt

import pytest
from django.conf import settings
from django.utils import timezone, translation

from birge.core.roles import OrgKind, Role
from birge.learners.models import Enrolment, GuardianLink, Learner, Sex
from birge.learners.tests.conftest import place_child
from birge.screening import services

# A 5-17 child with no difficulty anywhere, walking without equipment (as in test_engine.py).
BASE_5_17 = {"CF1": "no", "CF3": "no_difficulty", "CF4": "no", "CF6": "no_difficulty", "CF7": "no",
             "CF12": "no_difficulty", "CF13": "no_difficulty",
             **{f"CF{n}": "no_difficulty" for n in range(14, 23)}, "CF23": "never", "CF24": "never"}
# The 2-4 "base" of cfm.md's worked examples.
BASE_2_4 = {"CF1": "no", "CF3": "no_difficulty", "CF4": "no", "CF6": "no_difficulty", "CF7": "no",
            "CF10": "no_difficulty", "CF11": "no_difficulty", "CF12": "no_difficulty", "CF13": "no_difficulty",
            "CF14": "no_difficulty", "CF15": "no_difficulty", "CF16": "not_at_all"}
WG_NONE = {k: "no_difficulty" for k in ("seeing", "hearing", "walking", "cognition", "self_care", "communication")}


def years_before(day: dt.date, years: int, days: int = 0) -> dt.date:
    """The date ``years`` before ``day`` (28 February for 29 February), minus ``days``."""
    try:
        out = day.replace(year=day.year - years)
    except ValueError:
        out = day.replace(year=day.year - years, day=28)
    return out - dt.timedelta(days=days)


@pytest.fixture(autouse=True)
def _english(client):
    """Tests read English messages; the Kyrgyz and Russian catalogues are filled separately."""
    translation.activate("en")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    yield
    translation.deactivate()


@pytest.fixture
def placed(cast):
    """{"a": Placed, "b": Placed}: 11-year-olds (2015) in district A and B."""
    a = place_child(cast.a, pin="21503201512345", last_name="Асанов", first_name="Бакыт", patronymic="Асанович",
                    birth_date=dt.date(2015, 3, 15), sex=Sex.MALE)
    b = place_child(cast.b, pin="10107201500011", last_name="", first_name="Айгүл", patronymic="Мамбет кызы",
                    birth_date=dt.date(2015, 7, 1), sex=Sex.FEMALE)
    return {"a": a, "b": b}


@pytest.fixture
def make_child(cast, placed):
    """make_child(birth_date) -> a learner enrolled at A's school, A's parent (Айпери) as mother."""

    def make(birth_date, first_name="Нурай"):
        school = cast.a.orgs[OrgKind.SCHOOL]
        learner = Learner.objects.create(first_name=first_name, patronymic="Бакыт кызы", birth_date=birth_date, sex=Sex.FEMALE,
                                         territory=cast.a.district, created_by_org=school)
        Enrolment.objects.create(learner=learner, organization=school, level="kindergarten",
                                 starts_on=max(birth_date, timezone.localdate() - dt.timedelta(days=30)))
        GuardianLink.objects.create(learner=learner, guardian=placed["a"].guardian, relation="mother", starts_on=birth_date)
        return learner

    return make


@pytest.fixture
def coordinator(cast):
    return cast.a.users[Role.SCHOOL_COORDINATOR]


@pytest.fixture
def record(coordinator, placed):
    """record(answers=BASE_5_17, learner=A's child, **kw) -> a completed screening by A's school coordinator."""

    def make(answers=None, learner=None, actor=None, **kwargs):
        child = learner or placed["a"].learner
        kwargs.setdefault("interview_date", timezone.localdate())
        kwargs.setdefault("respondent", "parent")
        if kwargs["respondent"] in ("parent", "carer") and "respondent_guardian" not in kwargs:
            kwargs["respondent_guardian"] = placed["a"].guardian if child.guardian_links.filter(
                guardian=placed["a"].guardian).exists() else None
            kwargs.setdefault("respondent_name", "" if kwargs["respondent_guardian"] else "Айпери")
        return services.record_screening(actor or coordinator, child, answers=BASE_5_17 if answers is None else answers,
                                         **kwargs)

    return make
