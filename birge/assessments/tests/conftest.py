"""Assessment fixtures on top of the shared cast and the referral fixtures: an accepted referral of
district A's child with the assessment consent, and helpers that walk it through session and conclusion."""

import datetime as dt

import pytest
from django.utils import timezone

from birge.assessments import services
from birge.assessments.models import CatalogueItem, Source, Specialty
from birge.core.roles import OrgKind, Role
from birge.learners.models import Consent
from birge.referrals.tests.conftest import _english, _media, make_referral, placed  # noqa: F401  (fixtures)

TODAY = timezone.localdate


def item(code):
    return CatalogueItem.objects.get(code=code)


class World:
    def __init__(self, cast, placed, referral):
        self.cast = cast
        self.placed = placed
        self.referral = referral
        self.child = placed["a"]
        self.learner = self.child.learner
        self.guardian = self.child.guardian
        self.pmpk = cast.a.orgs[OrgKind.PMPK_TERRITORIAL]
        self.school = cast.a.orgs[OrgKind.SCHOOL]
        self.school_b = cast.b.orgs[OrgKind.SCHOOL]
        self.chair = cast.a.users[Role.PMPK_CHAIR]
        self.member = cast.a.users[Role.PMPK_MEMBER]
        self.parent = cast.a.users[Role.PARENT]
        self.coordinator = cast.a.users[Role.SCHOOL_COORDINATOR]
        self.coordinator_b = cast.b.users[Role.SCHOOL_COORDINATOR]
        self.officer = cast.a.users[Role.DISTRICT_OFFICER]

    def user(self, side, role):
        return self.cast.side(side).users[role]

    def schedule(self, **kw):
        args = dict(scheduled_at=timezone.now() + dt.timedelta(days=3), place="PMPK, room 2",
                    members=[(self.chair, Specialty.PSYCHOLOGIST, True), (self.member, Specialty.SPEECH_THERAPIST, False)])
        args.update(kw)
        return services.schedule_session(self.chair, self.referral, **args)

    def held(self, session=None):
        session = session or self.schedule()
        services.record_finding(self.member, session, member=session.members.get(user=self.member), domain="communication",
                                difficulty="a_lot_of_difficulty", text="Speaks in two-word phrases.",
                                strengths="Understands instructions with pictures.")
        return services.record_held(self.chair, session, parent_present=True, sources=[Source.OBSERVATION, Source.FAMILY])

    def draft(self, session=None):
        session = session or self.held()
        c = services.start_conclusion(self.member, session, programme="adapted", recommended_form="mainstream",
                                      valid_until=TODAY() + dt.timedelta(days=700),
                                      next_review_on=TODAY() + dt.timedelta(days=365), summary="Needs speech therapy.")
        services.set_items(self.member, c, [
            {"catalogue": item("speech-therapy"), "minutes_per_week": 90},
            {"catalogue": item("social-pedagogy"), "sessions_per_month": 2},
            {"catalogue": item("seating")},
            {"catalogue": item("hearing-aid")},
            {"catalogue": item("exam-extra-time"), "detail": "30 minutes"},
        ])
        return c

    def issued(self):
        return services.issue_conclusion(self.chair, self.draft())

    def released(self, conclusion=None, organization=None):
        conclusion = conclusion or self.issued()
        return services.release_conclusion(self.parent, conclusion, organization=organization or self.school,
                                           give_consent=True)


@pytest.fixture
def world(cast, placed, make_referral):  # noqa: F811
    referral = make_referral("a", "accepted", consent=True)
    return World(cast, placed, referral)


def release_consent(world, organization, **kw):
    return Consent.objects.create(learner=world.learner, purpose=Consent.Purpose.RELEASE_CONCLUSION, recipient=organization,
                                  given_by=world.guardian, method=Consent.Method.PAPER, **kw)
