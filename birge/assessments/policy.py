"""How PMPK sessions, conclusions and releases plug into the one access policy (core/access.py).

- Sessions, members and findings (``Rec.ASSESSMENT``): the PMPK that holds the session, and the
  family (guardian users) through the learner.
- Conclusions and their items (``Rec.CONCLUSION``) are issued to the family only. At
  organization level they reach the PMPK that wrote them and the organizations they were
  released to while the family's release consent is active (``organization_only``: enrolment or
  any other link to the learner gives nothing). A guardian sees their child's conclusions once
  issued; an assigned specialist (or tutor, where the matrix allows) sees those released to an
  organization where they hold a membership. Withdrawing the consent ends access at once: the
  queries below read the consent every time.
"""

from django.db.models import F, Q

from birge.core import access
from birge.core.access import Rec
from birge.core.roles import Role
from birge.learners.models import Consent, Learner, active_consents

from .models import AssessmentSession, Conclusion, ConclusionItem, Finding, Obligation, Release, SessionMember


def active_releases(org_ids) -> "Q":
    """Q on Release: not revoked, to these organizations, under an active release consent to them."""
    consents = active_consents(Consent.Purpose.RELEASE_CONCLUSION).values("pk")
    return Q(organization_id__in=org_ids, revoked_at__isnull=True, consent_id__in=consents,
             consent__recipient_id=F("organization_id"))


def released_conclusion_ids(org_ids):
    return Release.objects.filter(active_releases(org_ids)).values("conclusion_id")


def conclusion_org_q(org_ids) -> Q:
    return Q(pmpk_id__in=org_ids) | Q(pk__in=released_conclusion_ids(org_ids))


def _learner_via(path):
    return lambda q: Q(**{f"{path}__in": Learner.objects.filter(q).values("pk")})


def conclusion_relationship_q(grant, via_learner) -> Q:
    related = via_learner(access.learner_scope_q(grant))
    if grant.role == Role.PARENT:
        return related & ~Q(status=Conclusion.Status.DRAFT)
    if not grant.organization_id:
        return Q(pk__in=[])
    return related & Q(pk__in=released_conclusion_ids([grant.organization_id]))


def _conclusions_q(grant_or_ids, relationship=False) -> Q:
    if relationship:
        return Q(conclusion_id__in=Conclusion.objects.filter(
            conclusion_relationship_q(grant_or_ids, _learner_via("learner"))).values("pk"))
    return Q(conclusion_id__in=Conclusion.objects.filter(conclusion_org_q(grant_or_ids)).values("pk"))


def release_org_q(org_ids) -> Q:
    own = Release.objects.filter(active_releases(org_ids)).values("pk")
    return Q(conclusion__pmpk_id__in=org_ids) | Q(pk__in=own)


def release_relationship_q(grant, via_learner) -> Q:
    related = via_learner(access.learner_scope_q(grant))
    if grant.role == Role.PARENT:
        return related
    if not grant.organization_id:
        return Q(pk__in=[])
    return related & Q(pk__in=Release.objects.filter(active_releases([grant.organization_id])).values("pk"))


access.register(AssessmentSession, Rec.ASSESSMENT, organization_q=lambda ids: Q(pmpk_id__in=ids),
                organization_only=True, sensitive=True)
access.register(SessionMember, Rec.ASSESSMENT, learner_path="session__learner",
                organization_q=lambda ids: Q(session__pmpk_id__in=ids), organization_only=True)
access.register(Finding, Rec.ASSESSMENT, learner_path="session__learner",
                organization_q=lambda ids: Q(session__pmpk_id__in=ids), organization_only=True, sensitive=True)
access.register(Conclusion, Rec.CONCLUSION, organization_q=conclusion_org_q, organization_only=True,
                relationship_q=conclusion_relationship_q, sensitive=True)
access.register(ConclusionItem, Rec.CONCLUSION, learner_path="conclusion__learner",
                organization_q=lambda ids: _conclusions_q(ids), organization_only=True,
                relationship_q=lambda grant, via: _conclusions_q(grant, relationship=True))
access.register(Release, Rec.CONCLUSION, learner_path="conclusion__learner", organization_q=release_org_q,
                organization_only=True, relationship_q=release_relationship_q)


def obligation_org_q(org_ids) -> Q:
    own = Release.objects.filter(active_releases(org_ids)).values("pk")
    return Q(release__conclusion__pmpk_id__in=org_ids) | Q(release_id__in=own)


def obligation_relationship_q(grant, via_learner) -> Q:
    related = via_learner(access.learner_scope_q(grant))
    if grant.role == Role.PARENT:
        return related
    if not grant.organization_id:
        return Q(pk__in=[])
    return related & Q(release_id__in=Release.objects.filter(active_releases([grant.organization_id])).values("pk"))


access.register(Obligation, Rec.CONCLUSION, organization_q=obligation_org_q, organization_only=True,
                relationship_q=obligation_relationship_q)
