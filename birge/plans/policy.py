"""How plans plug into the one access policy (core/access.py).

The matrix says which roles read or write plans (``Rec.PLAN``); this module says
which plans they reach:

- staff of an education organization (coordinator, teachers): the plans *of
  their own organization* only. A plan made at another school does not follow
  the child: it reaches a receiving organization only through a handover with
  the family's consent, as a new version made there.
- staff of other organizations with plan reading in the matrix (PMPK): plans of
  the learners linked to their organization;
- assigned specialists and tutors: the plans of the organization where they are
  assigned to the learner;
- parents: their children's plans;
- district and regional officers: plans of learners in their territory.
"""

from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from birge.core import access
from birge.core.access import Grant, Rec
from birge.core.models import Organization
from birge.core.roles import EDUCATION_KINDS, Jurisdiction, Role
from birge.learners.models import Assignment, Learner

from .models import GoalProgress, IndividualPlan, PlanAccommodation, PlanGoal, PlanMember, PlanReview, PlanService


def current_assignments(user_id):
    today = timezone.localdate()
    return Assignment.objects.filter(user_id=user_id, starts_on__lte=today).filter(
        Q(ends_on__isnull=True) | Q(ends_on__gt=today))


def organization_q(prefix: str):
    """Plans (or their parts, through ``prefix``) an organization-level grant reaches."""

    def build(org_ids):
        q = Q(**{f"{prefix}organization_id__in": org_ids})
        # Organizations that do not teach (a PMPK) read the plans of the learners linked to them.
        others = Organization.objects.filter(pk__in=org_ids).exclude(kind__in=EDUCATION_KINDS).values_list("pk", flat=True)
        for org_id in others:
            linked = Learner.objects.filter(
                access.learner_scope_q(Grant(role="", reach=Jurisdiction.ORGANIZATION, organization_id=org_id))).values("pk")
            q |= Q(**{f"{prefix}learner_id__in": linked})
        return q

    return build


def relationship_q(prefix: str):
    """Parents reach their children's plans; specialists and tutors the plans where they are assigned."""

    def build(grant: Grant, via_learner):
        if grant.role == Role.PARENT:
            return via_learner(access.learner_scope_q(grant))
        assigned = current_assignments(grant.user_id).filter(
            learner_id=OuterRef(f"{prefix}learner_id"), organization_id=OuterRef(f"{prefix}organization_id"))
        return Q(Exists(assigned))

    return build


def register_plan_part(model, prefix: str, learner_path: str) -> None:
    access.register(model, Rec.PLAN, learner_path=learner_path, organization_q=organization_q(prefix),
                    organization_only=True, relationship_q=relationship_q(prefix))


register_plan_part(IndividualPlan, "", "learner")
for _model in (PlanGoal, PlanAccommodation, PlanService, PlanMember, PlanReview):
    register_plan_part(_model, "plan__", "plan__learner")
register_plan_part(GoalProgress, "review__plan__", "review__plan__learner")
