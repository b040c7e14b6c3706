"""Plan-side fixtures: a child at district A's school with a PMPK conclusion released to the school.

The child (``world.learner``) is enrolled at school A; the district's parent user is the mother and
legal representative; the territorial PMPK of district A issued a conclusion (speech therapy 60
minutes a week, seating, breaks, a hearing aid, extra time in exams) and the family released it to
school A with its consent given in the system, which started the school's ``release_to_plan`` clock
and a ``service_start`` clock for the recommended speech therapy. No specialist
is assigned yet: assigning a provider in a plan is what opens the child's records to them.
"""

import datetime as dt
from dataclasses import dataclass

import pytest
from django.conf import settings
from django.utils import timezone, translation

from birge.core.models import Organization, User
from birge.core.roles import OrgKind, Role
from birge.learners.models import Consent, Enrolment, Guardian, GuardianLink, Learner, Sex

CONCLUSION_ITEMS = [("speech-therapy", 60, None), ("seating", None, None), ("breaks", None, None),
                    ("hearing-aid", None, None), ("exam-extra-time", None, None)]


@dataclass
class World:
    cast: object
    school: Organization
    school_b: Organization
    learner: Learner
    guardian: Guardian
    enrolment: Enrolment
    conclusion: object
    release: object
    consent: Consent
    coordinator: User
    teacher: User
    speech: User
    psychologist: User
    tutor: User
    parent: User

    def user(self, side, role):
        return self.cast.side(side).users[role]


def load_catalogue():
    from birge.assessments import catalogue
    from birge.assessments.models import CatalogueItem

    catalogue.load(CatalogueItem)


def item(code):
    from birge.assessments.models import CatalogueItem

    return CatalogueItem.objects.get(code=code)


def make_conclusion(learner, pmpk, chair, items=CONCLUSION_ITEMS, number="T-PMPK-1"):
    from birge.assessments.models import Conclusion, ConclusionItem

    conclusion = Conclusion.objects.create(learner=learner, pmpk=pmpk, programme="adapted", recommended_form="mainstream",
                                           with_tutor=False, family_language="ky", summary="Synthetic conclusion",
                                           valid_until=timezone.localdate() + dt.timedelta(days=700),
                                           next_review_on=timezone.localdate() + dt.timedelta(days=365))
    for position, (code, minutes, sessions) in enumerate(items):
        ConclusionItem.objects.create(conclusion=conclusion, catalogue=item(code), minutes_per_week=minutes,
                                      sessions_per_month=sessions, position=position)
    conclusion.status = Conclusion.Status.ISSUED
    conclusion.issued_at = timezone.now() - dt.timedelta(days=20)
    conclusion.issued_by = chair
    conclusion.number = number
    conclusion.save()
    return conclusion


def release_to(conclusion, organization, guardian, by):
    """The parent releases the conclusion in the system (the assessments service: consent, release, clocks)."""
    from birge.assessments import services as assessment_services

    release = assessment_services.release_conclusion(by, conclusion, organization=organization, give_consent=True)
    return release, release.consent


def enrol(learner, school, starts_on=None):
    return Enrolment.objects.create(learner=learner, organization=school, level="school", grade=3, class_name="3А",
                                    starts_on=starts_on or dt.date(2022, 9, 1))


@pytest.fixture(autouse=True)
def _english(client):
    translation.activate("en")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    yield
    translation.deactivate()


@pytest.fixture
def world(cast) -> World:
    load_catalogue()
    a = cast.a
    school = a.orgs[OrgKind.SCHOOL]
    learner = Learner.objects.create(pin="21503201512345", last_name="Өмүрбеков", first_name="Бакыт", patronymic="Асанович",
                                     birth_date=dt.date(2015, 3, 15), sex=Sex.MALE, territory=a.district,
                                     created_by_org=school)
    enrolment = enrol(learner, school)
    parent = a.users[Role.PARENT]
    guardian = Guardian.objects.create(first_name="Айпери", patronymic="Асан кызы", user=parent, preferred_language="ky")
    GuardianLink.objects.create(learner=learner, guardian=guardian, relation="mother",
                                starts_on=timezone.localdate() - dt.timedelta(days=400))
    conclusion = make_conclusion(learner, a.orgs[OrgKind.PMPK_TERRITORIAL], a.users[Role.PMPK_CHAIR])
    release, consent = release_to(conclusion, school, guardian, parent)
    return World(cast=cast, school=school, school_b=cast.b.orgs[OrgKind.SCHOOL], learner=learner, guardian=guardian,
                 enrolment=enrolment, conclusion=conclusion, release=release, consent=consent,
                 coordinator=a.users[Role.SCHOOL_COORDINATOR], teacher=a.users[Role.TEACHER],
                 speech=a.users[Role.SPEECH_THERAPIST], psychologist=a.users[Role.PSYCHOLOGIST], tutor=a.users[Role.TUTOR],
                 parent=parent)


GOAL = {"area": "communication", "description": "Asks for help with a short sentence", "baseline": "Points or stays silent",
        "target": "Uses a three-word sentence in class", "measure": "Teacher's weekly observation",
        "criteria": "Four weeks in a row"}


def draft(world, **kwargs):
    from birge.plans import services

    return services.create_plan(world.coordinator, world.learner, **kwargs)


def ready_draft(world):
    """A draft with a goal and the speech therapy given by the school's speech therapist from today."""
    from birge.plans import services

    plan = draft(world)
    services.add_goal(world.coordinator, plan, lock_version=plan.lock_version, **GOAL)
    service = plan.services.get(catalogue__code="speech-therapy")
    services.update_service(world.coordinator, service, lock_version=plan.lock_version, provider_user=world.speech,
                            starts_on=timezone.localdate())
    plan.refresh_from_db()
    return plan


def active_plan(world, effective_from=None):
    """A plan in force: proposed, agreed by the parent in the system, activated."""
    from birge.plans import services

    plan = ready_draft(world)
    services.propose(world.coordinator, plan, lock_version=plan.lock_version)
    services.agree(world.parent, plan, lock_version=plan.lock_version, method="in-system")
    services.activate(world.coordinator, plan, lock_version=plan.lock_version, effective_from=effective_from)
    plan.refresh_from_db()
    return plan
