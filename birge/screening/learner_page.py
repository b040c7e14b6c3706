"""The learner page's section: the learner's screenings (no results, so no read event) and how to start one."""

from __future__ import annotations

from . import display, services
from .models import Screening

SHOWN = 5


def section(request, learner):
    user = request.user
    if not services.may(user, "read", learner):
        return None
    rows = list(Screening.objects.visible_to(user).filter(learner=learner).order_by("-interview_date", "-id")[:SHOWN + 1])
    return {
        "template": "screening/includes/learner_section.html",
        "learner": learner, "rows": [display.summary(s) for s in rows[:SHOWN]], "more": len(rows) > SHOWN,
        "can_start": learner.archived_at is None and services.may(user, "write", learner),
    }
