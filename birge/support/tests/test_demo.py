"""The plans and support demo: every plan state at the demo coordinator's school, sessions with gaps."""

import datetime as dt
import random
from dataclasses import dataclass, field

import pytest

from birge.core.roles import Role
from birge.learners.models import DisabilityStatus, Guardian, GuardianLink, Learner
from birge.plans import demo as plans_demo
from birge.plans.models import IndividualPlan
from birge.plans.tests.conftest import enrol
from birge.support import delivery
from birge.support import demo as support_demo
from birge.support.models import ServiceSession

pytestmark = pytest.mark.django_db


@dataclass
class Ctx:
    users: dict
    seed: int = 1
    rng: random.Random = field(default_factory=lambda: random.Random(1))
    messages: list = field(default_factory=list)

    def progress(self, message):
        self.messages.append(message)


def test_demo_leaves_every_state_and_sessions_with_gaps(world):
    for i in range(7):
        child = Learner.objects.create(first_name=f"Бала{i}", patronymic="Асан уулу", birth_date=dt.date(2014, 1, 1 + i),
                                       sex="male", territory=world.cast.a.district, created_by_org=world.school)
        enrol(child, world.school)
        DisabilityStatus.objects.create(learner=child, category="child", starts_on=dt.date(2020, 1, 1), indefinite=True)
        guardian = Guardian.objects.create(first_name=f"Ата{i}")
        GuardianLink.objects.create(learner=child, guardian=guardian, relation="father", starts_on=dt.date(2014, 1, 1))
    ctx = Ctx(users={role.value: user for role, user in world.cast.a.users.items()})
    plans_demo.generate(ctx)
    support_demo.generate(ctx)
    states = set(IndividualPlan.objects.values_list("state", flat=True))
    assert states == {"draft", "proposed", "agreed", "active", "under-review", "closed", "superseded"}
    awaiting = IndividualPlan.objects.get(state="proposed")
    assert awaiting.learner == world.learner  # demo-parent's child waits for the parent's agreement
    assert IndividualPlan.objects.filter(version=2, state="active").exists()
    assert IndividualPlan.objects.filter(reviews__isnull=False).exists()
    assert ServiceSession.objects.filter(attendance="attended").exists()
    assert ServiceSession.objects.filter(attendance="missed").exists()
    rows = delivery.planned_vs_delivered(world.cast.a.users[Role.DISTRICT_OFFICER], date_from=dt.date.today() - dt.timedelta(days=120),
                                         date_to=dt.date.today(), group="organization")
    assert rows and rows[0].planned > rows[0].delivered > 0  # some gaps
    assert any("plans:" in m for m in ctx.messages)
    # Deterministic and idempotent: a second run adds nothing.
    before = (IndividualPlan.objects.count(), ServiceSession.objects.count())
    plans_demo.generate(ctx)
    support_demo.generate(ctx)
    assert (IndividualPlan.objects.count(), ServiceSession.objects.count()) == before
