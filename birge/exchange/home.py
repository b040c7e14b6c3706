"""Home-page sections: the register work of a social-protection officer, the outreach work list."""

from __future__ import annotations

from birge.core import access
from birge.core.access import Rec

from . import services
from .models import OPEN_OUTREACH_STATES, ImportBatch, OutreachCase


def registers_section(request):
    user = request.user
    if not user.is_authenticated or not access.can(user, "read", Rec.REGISTER):
        return None
    batches = ImportBatch.objects.visible_to(user)
    return {
        "template": "exchange/home_registers.html",
        "queue_count": services.review_queue(user).count(),
        "unlinked_batches": batches.filter(status=ImportBatch.Status.IMPORTED).count(),
        "can_import": services.can_import(user),
    }


def outreach_section(request):
    user = request.user
    if not user.is_authenticated or not access.can(user, "read", Rec.OUTREACH):
        return None
    cases = OutreachCase.objects.visible_to(user)
    open_cases = cases.filter(state__in=OPEN_OUTREACH_STATES)
    return {
        "template": "exchange/home_outreach.html",
        "to_contact": open_cases.filter(state="to-contact").count(),
        "open_count": open_cases.count(),
        "can_find": services.can_find_out_of_school(user),
    }
