"""Home-page sections: notifications, each user's overdue and due-soon work, referrals."""

from __future__ import annotations

from django.db.models import Count

from birge.core import access, deadlines
from birge.core.access import Rec
from birge.core.deadline_models import Clock, Notification
from birge.core.roles import Role

from .filters import mark_due, with_clocks
from .models import OPEN_STATES, Referral, State

HOME_LIMIT = 10


def decorate(user, items):
    """Links, days, the child's name (only when the user sees the child) and whether the user may explain a delay."""
    from birge.core.deadline_models import Deadline
    from birge.learners.models import Learner

    items = deadlines.attach_links(items, user)
    ids = {d.learner_id for d in items if d.learner_id}
    names = {lr.pk: lr.full_name for lr in Learner.objects.visible_to(user).filter(pk__in=ids)} if ids else {}
    writable = set(Deadline.objects.visible_to(user, "write").filter(pk__in=[d.pk for d in items]).values_list("pk", flat=True))
    for d in items:
        d.abs_days = abs(d.days_left)
        d.learner_name = names.get(d.learner_id, "")
        d.can_explain = d.pk in writable and d.is_open
    return items


def notifications_section(request):
    user = request.user
    if not user.is_authenticated:
        return None
    unread = list(Notification.objects.filter(user=user, read_at__isnull=True).order_by("-created_at", "-id")[:5])
    if not unread:
        return None
    return {"template": "referrals/home_notifications.html", "unread": unread, "count": deadlines.unread_count(user)}


def deadlines_section(request):
    """Overdue and due-soon work the user sees, filterable by kind of work (``?deadline_clock=``)."""
    user = request.user
    if not user.is_authenticated or not access.grants(user):
        return None
    clock = request.GET.get("deadline_clock", "")
    overdue = deadlines.overdue_for(user)
    soon = deadlines.due_soon_for(user)
    if clock in Clock.values:
        overdue, soon = overdue.filter(clock=clock), soon.filter(clock=clock)
    else:
        clock = ""
    overdue_items = decorate(user, overdue.select_related("content_type", "owner_organization", "owner_user")[:HOME_LIMIT])
    soon_items = decorate(user, soon.select_related("content_type", "owner_organization", "owner_user")[:HOME_LIMIT])
    return {"template": "referrals/home_deadlines.html", "overdue": overdue_items, "soon": soon_items,
            "overdue_count": overdue.count(), "soon_count": soon.count(), "clock": clock, "clocks": Clock.choices}


def referrals_section(request):
    user = request.user
    if not user.is_authenticated or not access.can(user, "read", Rec.REFERRAL):
        return None
    visible = Referral.objects.visible_to(user)
    if user.role_set == {Role.PARENT}:
        children = mark_due(with_clocks(visible).select_related("learner", "receiving_organization").order_by("-created_at")[:20])
        return {"template": "referrals/home_referrals.html", "parent": True, "referrals": children}
    grouped = visible.filter(state__in=OPEN_STATES).order_by().values("state").annotate(n=Count("pk"))
    counts = {row["state"]: row["n"] for row in grouped}
    rows = [(value, label, counts.get(value, 0)) for value, label in State.choices if value in OPEN_STATES]
    return {"template": "referrals/home_referrals.html", "parent": False, "rows": rows,
            "can_create": access.can(user, "write", Rec.REFERRAL), "can_concern": access.can(user, "write", Rec.CONCERN)}
