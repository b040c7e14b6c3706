"""Home-page work lists of plans: coordinators (plans to prepare, reviews due) and parents (plans to agree)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from birge.learners.models import Consent, active_consents

from . import services
from .models import IN_FORCE, IN_PREPARATION, IndividualPlan, PlanState

LIMIT = 20


def releases_without_plan(org_ids):
    """Active releases of issued conclusions to these organizations whose learner has no plan there yet."""
    from birge.assessments.models import Conclusion, Release

    consents = active_consents(Consent.Purpose.RELEASE_CONCLUSION).values("pk")
    releases = Release.objects.filter(
        organization_id__in=org_ids, revoked_at__isnull=True, consent_id__in=consents,
        conclusion__status=Conclusion.Status.ISSUED)
    planned = IndividualPlan.objects.filter(organization_id__in=org_ids, state__in=[*IN_PREPARATION, *IN_FORCE])
    taken = {(lid, oid) for lid, oid in planned.values_list("learner_id", "organization_id")}
    out = []
    for release in releases.select_related("conclusion__learner", "organization").order_by("released_at"):
        if (release.conclusion.learner_id, release.organization_id) not in taken:
            out.append(release)
    return out


def status(day, today) -> str:
    if day < today:
        return "overdue"
    if day <= today + dt.timedelta(days=settings.BIRGE_DUE_SOON_DAYS):
        return "soon"
    return "ok"


def coordinator_section(request):
    user = request.user
    orgs = services.coordinator_organizations(user)
    if not orgs:
        return None
    today = timezone.localdate()
    plan_days = settings.BIRGE_DEADLINES.get("release_to_plan", 30)
    to_prepare = []
    for release in releases_without_plan(orgs)[:LIMIT]:
        due = timezone.localtime(release.released_at).date() + dt.timedelta(days=plan_days)
        to_prepare.append({"release": release, "learner": release.conclusion.learner, "due": due, "status": status(due, today)})
    visible = IndividualPlan.objects.visible_to(user).filter(organization_id__in=orgs).select_related("learner", "organization")
    in_preparation = list(visible.filter(state__in=IN_PREPARATION).order_by("created_at")[:LIMIT])
    horizon = today + dt.timedelta(days=settings.BIRGE_DUE_SOON_DAYS)
    reviews = [{"plan": p, "status": status(p.review_on, today)}
               for p in visible.filter(state__in=IN_FORCE, review_on__lte=horizon).order_by("review_on")[:LIMIT]]
    missing_provider = list(visible.filter(state__in=IN_FORCE).filter(
        Q(services__provider_user__isnull=True) & Q(services__provider_organization__isnull=True)).distinct()[:LIMIT])
    return {"template": "plans/home_coordinator.html", "to_prepare": to_prepare, "in_preparation": in_preparation,
            "reviews": reviews, "missing_provider": missing_provider}


def parent_section(request):
    user = request.user
    plans = [p for p in IndividualPlan.objects.visible_to(user).filter(state=PlanState.PROPOSED).select_related(
        "learner", "organization").order_by("proposed_at")[:LIMIT] if services.guardian_of(user, p.learner) is not None]
    recent = [p for p in IndividualPlan.objects.visible_to(user).filter(state__in=IN_FORCE).select_related(
        "learner", "organization").order_by("learner__first_name")[:LIMIT] if services.guardian_of(user, p.learner) is not None]
    if not plans and not recent:
        return None
    return {"template": "plans/home_parent.html", "to_agree": plans, "in_force": recent}
