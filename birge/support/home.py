"""Home-page work lists of services: providers (their learners, sessions to log) and district and
regional officers (planned versus delivered, overdue)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from birge.core.roles import Role
from birge.plans.models import IN_FORCE, IndividualPlan, PlanService

from . import delivery, services
from .models import ServiceSession

LIMIT = 10


def provider_section(request):
    user = request.user
    given = list(services.services_given_by(user).order_by("plan__learner__last_name", "plan__learner__first_name")[:50])
    if not given:
        return None
    week_from, _week_to = services.window()
    last = services.last_sessions([s.pk for s in given])
    rows = [{"service": s, "last": last.get(s.pk), "to_log": last.get(s.pk) is None or last.get(s.pk) < week_from}
            for s in given]
    return {"template": "support/home_provider.html", "rows": rows, "to_log": sum(1 for r in rows if r["to_log"])}


def services_not_started(user, today=None):
    """Planned services in force, past their start by more than the service-start deadline, with no session.

    A service an amendment carried into a new version (same plan series, same catalogue service) has
    started when a session was logged for it in an earlier version since its start: the sessions stay on
    the earlier version's row, as the service-start clock does (``plans.clocks``).
    """
    today = today or timezone.localdate()
    limit = today - dt.timedelta(days=settings.BIRGE_DEADLINES.get("service_start", 14))
    start = Coalesce(OuterRef("starts_on"), OuterRef("plan__effective_from"))
    held = ServiceSession.objects.filter(
        withdrawn_at__isnull=True, learner_id=OuterRef("plan__learner_id"), plan_service__catalogue_id=OuterRef("catalogue_id"),
        plan_service__plan__series=OuterRef("plan__series")).filter(Q(held_on__gte=start) | Q(plan_service=OuterRef("pk")))
    return (PlanService.objects.visible_to(user).filter(plan__state__in=IN_FORCE)
            .filter(Q(starts_on__lte=limit) | Q(starts_on__isnull=True, plan__effective_from__lte=limit))
            .exclude(Exists(held)).select_related("plan__learner", "plan__organization", "catalogue"))


def oversight_section(request):
    user = request.user
    if not user.has_role(Role.DISTRICT_OFFICER, Role.REGIONAL_OFFICER):
        return None
    today = timezone.localdate()
    rows = delivery.planned_vs_delivered(user, date_from=today.replace(day=1), date_to=today, group="organization")
    overdue_reviews = list(IndividualPlan.objects.visible_to(user).filter(state__in=IN_FORCE, review_on__lt=today)
                           .select_related("learner", "organization").order_by("review_on")[:LIMIT])
    not_started = list(services_not_started(user, today)[:LIMIT])
    return {"template": "support/home_oversight.html", "rows": rows[:LIMIT], "total": delivery.totals(rows),
            "month_from": today.replace(day=1), "today": today, "overdue_reviews": overdue_reviews,
            "not_started": not_started}
