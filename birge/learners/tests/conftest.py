"""Learner-side fixtures: a child placed in district A and one in district B.

In each district the child is enrolled at the district's school, has the
district's parent user as guardian (mother, legal representative), is
assigned to the district's specialists and tutor, and has a consent, an open
disability status and a diagnosis code.
"""

import datetime as dt
from dataclasses import dataclass

import pytest
from django.conf import settings
from django.utils import timezone, translation

from birge.core.roles import SPECIALIST_ROLES, OrgKind, Role
from birge.learners.models import (
    Assignment, Consent, Diagnosis, DisabilityStatus, Enrolment, Guardian, GuardianLink, Learner, Sex,
)


@dataclass
class Placed:
    learner: Learner
    guardian: Guardian
    link: GuardianLink
    consent: Consent
    disability: DisabilityStatus
    diagnosis: Diagnosis
    enrolment: Enrolment

    def record(self, kind: str):
        return {"learner": self.learner, "guardian": self.guardian, "consent": self.consent, "disability": self.disability,
                "diagnosis": self.diagnosis, "enrolment": self.enrolment}[kind]


def place_child(side, *, pin, last_name, first_name, patronymic, birth_date, sex) -> Placed:
    school = side.orgs[OrgKind.SCHOOL]
    learner = Learner.objects.create(pin=pin, last_name=last_name, first_name=first_name, patronymic=patronymic,
                                     birth_date=birth_date, sex=sex, territory=side.district, created_by_org=school)
    enrolment = Enrolment.objects.create(learner=learner, organization=school, level="school", grade=3, class_name="3А",
                                         starts_on=dt.date(2022, 9, 1))
    parent = side.users[Role.PARENT]
    guardian = Guardian.objects.create(first_name="Айпери", patronymic="Асан кызы", user=parent, phone="+996 700 000 001")
    link = GuardianLink.objects.create(learner=learner, guardian=guardian, relation="mother",
                                       starts_on=timezone.localdate() - dt.timedelta(days=400))
    for role in [*SPECIALIST_ROLES, Role.TUTOR]:
        Assignment.objects.create(learner=learner, user=side.users[role], organization=school,
                                  kind="tutor" if role == Role.TUTOR else "specialist",
                                  starts_on=timezone.localdate() - dt.timedelta(days=30))
    consent = Consent.objects.create(learner=learner, purpose="data-processing", given_by=guardian, method="paper")
    disability = DisabilityStatus.objects.create(learner=learner, category="child", starts_on=dt.date(2020, 1, 10), indefinite=True)
    diagnosis = Diagnosis.objects.create(learner=learner, code="F84.0")
    return Placed(learner, guardian, link, consent, disability, diagnosis, enrolment)


@pytest.fixture(autouse=True)
def _english(client):
    """Tests read English messages; the Kyrgyz and Russian catalogues are filled separately."""
    translation.activate("en")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    yield
    translation.deactivate()


@pytest.fixture
def placed(cast):
    """{"a": Placed, "b": Placed}"""
    a = place_child(cast.a, pin="21503201512345", last_name="Асанов", first_name="Бакыт", patronymic="Асанович",
                    birth_date=dt.date(2015, 3, 15), sex=Sex.MALE)
    b = place_child(cast.b, pin="10107201500011", last_name="", first_name="Айгүл", patronymic="Мамбет кызы",
                    birth_date=dt.date(2015, 7, 1), sex=Sex.FEMALE)
    return {"a": a, "b": b}
