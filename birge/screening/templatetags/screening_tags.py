"""``{% screening_section learner %}``: the learner page's screening section.

The learner page (``learners``, earlier in the flow) cannot import this app; its template loads this
tag instead. The section lists the learner's screenings the user may see (date, questionnaire,
respondent, status: no results, so no read event) and links to the list and to starting a new one.
"""

from django import template

from birge.core import access
from birge.core.access import Rec

from .. import display, services
from ..models import Screening

register = template.Library()
SHOWN = 5


@register.inclusion_tag("screening/includes/learner_section.html", takes_context=True)
def screening_section(context, learner):
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not access.can(user, "read", Rec.SCREENING) or not services.may(user, "read", learner):
        return {"show": False}
    qs = Screening.objects.visible_to(user).filter(learner=learner).order_by("-interview_date", "-id")
    rows = list(qs[:SHOWN + 1])
    return {
        "show": True, "learner": learner, "rows": [display.summary(s) for s in rows[:SHOWN]], "more": len(rows) > SHOWN,
        "can_start": learner.archived_at is None and services.may(user, "write", learner),
    }
