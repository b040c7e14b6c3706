"""The demo: sessions and conclusions for the referrals past scheduling, releases with consent and clocks;
demo-parent sees one conclusion released and one waiting for the release step."""

import random

import pytest

from birge.assessments import services
from birge.assessments.demo import generate
from birge.assessments.models import AssessmentSession, Conclusion, ConclusionItem, Obligation, Release
from birge.core.deadline_models import Clock, Deadline
from birge.core.demo import DemoContext, Scale
from birge.core.demo import generate as core_generate
from birge.core.models import User
from birge.learners.demo import generate as learners_generate
from birge.referrals.demo import generate as referrals_generate
from birge.referrals.models import Referral, State

pytestmark = pytest.mark.django_db


def test_demo():
    ctx = DemoContext(scale=Scale("test", "demo", 2, 1, 600), seed=7, rng=random.Random(7), progress=lambda m: None)
    core_generate(ctx)
    learners_generate(ctx)
    referrals_generate(ctx)
    generate(ctx)
    for r in Referral.objects.filter(kind="pmpk", state__in=[State.SCHEDULED, State.ASSESSED, State.CONCLUDED],
                                     receiving_organization__kind__in=["pmpk-territorial", "pmpk-republican"]):
        session = AssessmentSession.objects.get(referral=r)
        assert session.status == ("scheduled" if r.state == State.SCHEDULED else "held")
        if r.state == State.CONCLUDED:
            c = Conclusion.objects.get(referral=r)
            assert c.status == "issued" and c.number and c.issued_by and c.items.exists()
            assert Deadline.objects.for_object(c).filter(clock=Clock.CONCLUSION_REVIEW).exists()
    assert Conclusion.objects.filter(status="draft").exists()
    for release in Release.objects.select_related("consent", "conclusion"):
        assert release.consent.purpose == "release-conclusion" and release.consent.recipient_id == release.organization_id
        assert release.consent.learner_id == release.conclusion.learner_id
        assert Deadline.objects.for_object(release).filter(clock=Clock.RELEASE_TO_PLAN).exists()
    services_and_devices = ConclusionItem.objects.filter(conclusion__releases__isnull=False, kind__in=["service", "device"])
    assert Obligation.objects.count() == services_and_devices.count()
    parent = User.objects.get(username="demo-parent")
    mine = Conclusion.objects.visible_to(parent).filter(status="issued")
    released = [c for c in mine if c.releases.exists()]
    waiting = [c for c in mine if not c.releases.exists()]
    assert len(released) == 1 and len(waiting) == 1 and released[0].learner_id != waiting[0].learner_id
    coordinator = User.objects.get(username="demo-school-coordinator")
    assert Conclusion.objects.visible_to(coordinator).filter(pk=released[0].pk).exists()
    assert not Conclusion.objects.visible_to(coordinator).filter(pk=waiting[0].pk).exists()
    assert services.binding_conclusion(released[0].learner, released[0].releases.get().organization) == released[0]
    chair = User.objects.get(username="demo-pmpk-chair")
    assert AssessmentSession.objects.visible_to(chair).filter(status="scheduled").exists()
    assert Conclusion.objects.visible_to(chair).exists()
    before = AssessmentSession.objects.count()
    generate(ctx)  # a second run keeps what exists
    assert AssessmentSession.objects.count() == before
