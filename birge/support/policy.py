"""How services delivered and handovers plug into the one access policy (core/access.py).

- Service sessions (``Rec.SERVICE``): staff of the plan's organization, the specialists and tutors
  assigned to the learner there, the family, and district and regional officers of the territory.
- Handovers (``Rec.PLAN``, they carry a plan summary): the sending and the receiving organization,
  the family, and officers of the territory. A receiving organization sees nothing of the sending
  organization's records; it sees only the summary made with the family's consent.
"""

from django.db.models import Exists, OuterRef, Q

from birge.core import access
from birge.core.access import Rec
from birge.core.roles import Role
from birge.plans.policy import current_assignments, organization_q, relationship_q

from .models import Handover, ServiceSession

access.register(ServiceSession, Rec.SERVICE, organization_q=organization_q(""), organization_only=True,
                relationship_q=relationship_q(""))


def _handover_org_q(org_ids):
    return Q(to_organization_id__in=org_ids) | Q(from_organization_id__in=org_ids)


def _handover_relationship_q(grant, via_learner):
    if grant.role == Role.PARENT:
        return via_learner(access.learner_scope_q(grant))
    assigned = current_assignments(grant.user_id).filter(learner_id=OuterRef("learner_id")).filter(
        Q(organization_id=OuterRef("to_organization_id")) | Q(organization_id=OuterRef("from_organization_id")))
    return Q(Exists(assigned))


access.register(Handover, Rec.PLAN, organization_q=_handover_org_q, organization_only=True,
                relationship_q=_handover_relationship_q)
