"""The learner page's section: the child's individual education plans (every version) and how to start one."""

from __future__ import annotations

from birge.core.access import Rec
from birge.learners import services as learner_services

from .models import IndividualPlan
from .views import learners_for_new_plan


def section(request, learner):
    user = request.user
    if not learner_services.may(user, "read", Rec.PLAN, learner):
        return None
    plans = list(IndividualPlan.objects.visible_to(user).filter(learner=learner)
                 .select_related("organization").order_by("-created_at", "-id"))
    return {
        "template": "plans/learner_section.html",
        "plans": plans,
        # A coordinator of the child's school, with no plan in preparation or in force there.
        "can_create": learners_for_new_plan(user).filter(pk=learner.pk).exists(),
    }
