"""How referrals and concerns plug into the one access policy (core/access.py).

* A referral is seen by the referring organization (always) and by the receiving PMPK (or
  early-intervention service) once it is submitted; drafts stay with the referrer. Territory
  roles, parents and assigned specialists reach it through its learner.
* The receiving organization reaches the learners referred to it (non-draft referrals) and the
  referring organization reaches the learners it referred: a learner link for organizations.
* Observations and attachments follow their referral; a concern is seen by the organization that
  recorded it, by the receiver of the referral it opened, and through its learner.
"""

from django.db.models import Q

from birge.core import access
from birge.core.access import Rec

from .models import Attachment, Concern, Observation, Referral, State


def _referrals_of(org_ids):
    """Referrals tied to these organizations: made by them, or received by them once submitted."""
    made = Referral.objects.filter(referring_organization_id__in=org_ids).values("pk")
    received = Referral.objects.filter(receiving_organization_id__in=org_ids).exclude(state=State.DRAFT).values("pk")
    return made, received


def referral_organization_q(org_ids) -> Q:
    made, received = _referrals_of(org_ids)
    return Q(pk__in=made) | Q(pk__in=received)


def following_referral_q(org_ids) -> Q:
    made, received = _referrals_of(org_ids)
    return Q(referral_id__in=made) | Q(referral_id__in=received)


def concern_organization_q(org_ids) -> Q:
    made, received = _referrals_of(org_ids)
    return (Q(pk__in=Concern.objects.filter(organization_id__in=org_ids).values("pk"))
            | Q(referral_id__in=received))


def _org_referred(org_ids):
    """Learners referred to these organizations (not drafts) or by them."""
    return Referral.objects.filter(
        Q(receiving_organization_id__in=org_ids, state__in=[s for s in State.values if s != State.DRAFT])
        | Q(referring_organization_id__in=org_ids)
    ).values("learner_id")


access.register_learner_link("organization", _org_referred)
# At organization level only the organization's own ties count (organization_only): a school does not
# see a referral a health facility made, nor a PMPK another PMPK's. Territory roles, parents and
# assigned specialists reach them through the learner.
access.register(Referral, Rec.REFERRAL, organization_q=referral_organization_q, organization_only=True)
access.register(Observation, Rec.REFERRAL, learner_path="referral__learner", organization_q=following_referral_q,
                organization_only=True)
access.register(Attachment, Rec.REFERRAL, learner_path="referral__learner", organization_q=following_referral_q,
                organization_only=True)
access.register(Concern, Rec.CONCERN, organization_q=concern_organization_q, organization_only=True)
