"""Synthetic service sessions for ``birge demo`` (runs after the plans demo).

The demo specialists and tutor log the sessions of the plans in force at ``demo-school-coordinator``'s
school, week by week since each service started, through the service (so the rules and clocks are
the real ones) — with gaps: weeks without a session, sessions missed with a reason, and services
given by an outside organization that logs nothing here. Deterministic from the seed.
"""

from __future__ import annotations

import datetime as dt
import random

from django.utils import timezone

from birge.core.roles import Role
from birge.plans import clocks
from birge.plans.models import IN_FORCE, PlanService

from . import services
from .models import ServiceSession

SKIP_WEEK = 0.25
MISSED = 0.12
REASONS = [c for c, _label in ServiceSession.MissedReason.choices]
NOTES = ["Артикуляциялык оюндар", "Работа по карточкам", "Сүрөт боюнча аңгеме", "Упражнения на внимание", ""]


def generate(ctx):
    with clocks.without_email():
        _generate(ctx)


def _generate(ctx):
    coordinator = ctx.users.get(Role.SCHOOL_COORDINATOR.value)
    if coordinator is None or ServiceSession.objects.exists():
        return
    membership = coordinator.memberships.filter(role=Role.SCHOOL_COORDINATOR).first()
    if membership is None:
        return
    rng = random.Random(f"{ctx.seed}-support")
    today = timezone.localdate()
    given = (PlanService.objects.filter(plan__organization_id=membership.organization_id, plan__state__in=IN_FORCE,
                                        provider_user__isnull=False)
             .select_related("plan", "plan__learner", "provider_user", "catalogue").order_by("plan_id", "id"))
    logged = missed = 0
    for service in given:
        start = max(d for d in (service.starts_on, service.plan.effective_from) if d)
        minutes = service.minutes_per_week or 45
        length = 45 if minutes % 45 == 0 else 30
        per_week = max(1, round(minutes / length))
        week = start
        while week <= today:
            if rng.random() >= SKIP_WEEK:
                for n in range(per_week):
                    day = week + dt.timedelta(days=min(4, rng.randint(0, 2) + 2 * n))
                    if day > today or (service.ends_on and day > service.ends_on):
                        continue
                    if rng.random() < MISSED:
                        services.log_session(service.provider_user, learner=service.plan.learner, plan_service=service,
                                             held_on=day, minutes=length, attendance="missed",
                                             missed_reason=rng.choice(REASONS), note="")
                        missed += 1
                    else:
                        services.log_session(service.provider_user, learner=service.plan.learner, plan_service=service,
                                             held_on=day, minutes=length, setting=rng.choice(["individual", "individual", "group"]),
                                             note=rng.choice(NOTES))
                        logged += 1
            week += dt.timedelta(days=7)
    ctx.progress(f"service sessions: {logged} held, {missed} missed (and weeks without a session)")
