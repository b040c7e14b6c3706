"""The demo: referrals in every state with realistic dates, concerns, consents; demo-parent's child has a
referral and the demo PMPK has a queue."""

import random

from django.utils import timezone

from birge.core import deadlines
from birge.core.deadline_models import Deadline
from birge.core.demo import DemoContext, Scale
from birge.core.demo import generate as core_generate
from birge.core.models import User
from birge.learners.demo import generate as learners_generate
from birge.learners.models import Consent
from birge.referrals.demo import generate
from birge.referrals.models import Concern, Referral, State


def test_demo(db):
    ctx = DemoContext(scale=Scale("test", "demo", 2, 1, 600), seed=7, rng=random.Random(7), progress=lambda m: None)
    core_generate(ctx)
    learners_generate(ctx)
    generate(ctx)
    pmpk_states = set(Referral.objects.filter(kind="pmpk").values_list("state", flat=True))
    assert pmpk_states == set(State.values)
    assert Concern.objects.exists() and Referral.objects.filter(kind="early-intervention").count() == Concern.objects.count()
    for r in Referral.objects.filter(state__in=["scheduled", "assessed", "concluded"]):
        assert r.consent_id and r.consent.purpose == Consent.Purpose.ASSESSMENT
    now = timezone.now()
    for r in Referral.objects.exclude(state="draft"):
        stamps = [r.created_at, r.submitted_at, r.accepted_at, r.scheduled_at, r.assessed_at, r.concluded_at]
        stamps = [s for s in stamps if s is not None]
        assert stamps == sorted(stamps), r.pk
        assert all(s <= now for s in stamps)
    parent = User.objects.get(username="demo-parent")
    assert Referral.objects.visible_to(parent).filter(state="scheduled").exists()
    chair = User.objects.get(username="demo-pmpk-chair")
    assert Referral.objects.visible_to(chair).exclude(state__in=["draft", "concluded", "withdrawn", "declined"]).count() >= 3
    assert deadlines.overdue_for(chair).exists()
    assert Deadline.objects.open().filter(due_on__lt=timezone.localdate()).exists()
    before = Referral.objects.count()
    generate(ctx)  # a second run keeps what exists
    assert Referral.objects.count() == before
