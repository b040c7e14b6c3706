"""The learner page's section: the child's referrals and recorded concerns, and how to add one."""

from __future__ import annotations

from birge.core import access
from birge.core.access import Rec
from birge.learners import services as learner_services

from .models import OPEN_STATES, Concern, Referral


def section(request, learner):
    user = request.user
    may = {rec: {action: learner_services.may(user, action, rec, learner) for action in ("read", "write")}
           for rec in (Rec.REFERRAL, Rec.CONCERN)}
    if not (may[Rec.REFERRAL]["read"] or may[Rec.CONCERN]["read"]):
        return None
    referrals = (list(Referral.objects.visible_to(user).filter(learner=learner)
                      .select_related("receiving_organization").order_by("-created_at", "-id"))
                 if may[Rec.REFERRAL]["read"] else [])
    concerns = (list(Concern.objects.visible_to(user).filter(learner=learner).order_by("-noticed_on", "-id"))
                if may[Rec.CONCERN]["read"] else [])
    # One open PMPK referral at a time: while one is open, its page is the way on, not a new one.
    open_to_refer = not learner.archived_at and not Referral.objects.filter(
        learner=learner, kind=Referral.Kind.PMPK, state__in=OPEN_STATES).exists()
    return {
        "template": "referrals/learner_section.html",
        "referrals": referrals,
        "concerns": concerns,
        "can_refer": open_to_refer and may[Rec.REFERRAL]["write"] and access.can(user, "write", Rec.REFERRAL),
        "can_record_concern": not learner.archived_at and may[Rec.CONCERN]["write"] and access.can(user, "write", Rec.CONCERN),
    }
