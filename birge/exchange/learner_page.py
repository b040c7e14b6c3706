"""The learner page's section: the child's rows in agency registers, outreach cases, and merges."""

from __future__ import annotations

from birge.core import access
from birge.core.access import Rec

from .models import ImportedPerson, LearnerMerge, OutreachCase


def section(request, learner):
    user = request.user
    rows = (list(ImportedPerson.objects.visible_to(user).filter(learner=learner)
                 .select_related("batch", "batch__source").order_by("-batch__uploaded_at")[:20])
            if access.can(user, "read", Rec.REGISTER) else [])
    cases = (list(OutreachCase.objects.visible_to(user).filter(learner=learner).select_related("assigned_organization")
                  .order_by("-opened_at")[:20]) if access.can(user, "read", Rec.OUTREACH) else [])
    merges = list(LearnerMerge.objects.visible_to(user).filter(kept=learner).order_by("-merged_at")[:10])
    if not (rows or cases or merges or learner.merged_into_id):
        return None
    return {"template": "exchange/learner_section.html", "rows": rows, "cases": cases, "merges": merges}
