"""The one deadline mechanism of Birge (DESIGN.md rule 3), and notifications.

Every workflow clock — a PMPK acknowledging a referral, concluding it, a school agreeing a plan
after a release, a plan review, a conclusion review, a service starting, an outreach contact, a
device delivery — is a :class:`~birge.core.deadline_models.Deadline` row started, stopped and
explained through the functions here. The number of days is configuration
(``settings.BIRGE_DEADLINES[clock]``, ``BIRGE_DEADLINE_<CLOCK>=days`` in the environment);
"due soon" is ``settings.BIRGE_DUE_SOON_DAYS``. Overdue work is a query
(:func:`overdue_for`, :func:`due_soon_for`), shown to whoever owns it.

Who sees a deadline (composed from the access policy's own parts, like a queryset):

* the members of the organization that owns it or waits for it, and the person who owns it or
  waits for it — when their role may read the clock's record type (``CLOCKS``);
* territory and national roles: deadlines about learners within their reach, same condition;
* a parent: the deadlines about their own children; an assigned specialist or tutor: those
  about the learners assigned to them.

Only an owner (organization member whose role may write the record type, or the owner user)
records a delay reason.

Notifications: :func:`notify` writes in-app :class:`~birge.core.deadline_models.Notification`
rows and sends e-mail through Django's mail backend, both only after the surrounding transaction
commits (``transaction.on_commit``). Texts carry no personal data; links carry ids only.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from . import access, audit
from .access import Rec
from .deadline_models import Clock, Deadline, Notification
from .models import AuditEvent, Membership, Organization
from .roles import Jurisdiction

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClockRule:
    code: str
    record_type: str  # whoever may read this record type may see the clock (within their reach)


CLOCKS: dict[str, ClockRule] = {
    Clock.REFERRAL_ACKNOWLEDGE: ClockRule(Clock.REFERRAL_ACKNOWLEDGE, Rec.REFERRAL),
    Clock.REFERRAL_CONCLUDE: ClockRule(Clock.REFERRAL_CONCLUDE, Rec.REFERRAL),
    Clock.RELEASE_TO_PLAN: ClockRule(Clock.RELEASE_TO_PLAN, Rec.PLAN),
    Clock.PLAN_REVIEW: ClockRule(Clock.PLAN_REVIEW, Rec.PLAN),
    Clock.CONCLUSION_REVIEW: ClockRule(Clock.CONCLUSION_REVIEW, Rec.CONCLUSION),
    Clock.SERVICE_START: ClockRule(Clock.SERVICE_START, Rec.SERVICE),
    Clock.OUTREACH_CONTACT: ClockRule(Clock.OUTREACH_CONTACT, Rec.OUTREACH),
    Clock.DEVICE_DELIVERY: ClockRule(Clock.DEVICE_DELIVERY, Rec.DEVICE),
}


def days_for(clock: str) -> int:
    """The configured number of days of a clock."""
    if clock not in CLOCKS:
        raise ValueError(f"Unknown clock {clock!r}")
    try:
        return int(settings.BIRGE_DEADLINES[clock])
    except KeyError:
        raise ValueError(f"settings.BIRGE_DEADLINES has no entry for {clock!r}") from None


def due_date(clock: str, start) -> dt.date:
    """The day a clock started at ``start`` (a date or a datetime) falls due: start + configured days."""
    if isinstance(start, dt.datetime):
        start = timezone.localtime(start).date() if timezone.is_aware(start) else start.date()
    return start + dt.timedelta(days=days_for(clock))


# --- who sees what ---------------------------------------------------------------------------------


def _clocks_readable(role: str, action: str) -> list[str]:
    needed = {"read": ("r", "w"), "write": ("w",)}[action]
    return [c for c, rule in CLOCKS.items() if access.permission(role, rule.record_type) in needed]


def _learner_q(q_on_learner: Q) -> Q:
    from django.apps import apps

    learner_model = apps.get_model("learners", "Learner")
    return Q(learner_id__in=learner_model.objects.filter(q_on_learner).values("pk"))


def visible_q(user, action: str = "read") -> Q:
    """Q on Deadline for what ``user`` may read (or, with action='write', act on: record a delay)."""
    q = None
    for grant in access.grants(user):
        clocks = _clocks_readable(grant.role, action)
        if not clocks:
            continue
        if action == "write":  # only owners act on a clock
            if grant.reach == Jurisdiction.ORGANIZATION and grant.organization_id:
                gq = Q(owner_organization_id=grant.organization_id)
            elif grant.reach == Jurisdiction.RELATIONSHIP:
                gq = Q(owner_user_id=grant.user_id)
            else:
                gq = Q(owner_user_id=grant.user_id) | (
                    Q(owner_organization_id=grant.organization_id) if grant.organization_id else Q(pk__in=[]))
        elif grant.reach == Jurisdiction.NATIONAL:
            gq = Q()
        elif grant.reach == Jurisdiction.ORGANIZATION:
            gq = Q(owner_organization_id=grant.organization_id) | Q(waiting_organization_id=grant.organization_id)
        elif grant.reach == Jurisdiction.TERRITORY:
            gq = _learner_q(access.learner_scope_q(grant))
        elif grant.reach == Jurisdiction.RELATIONSHIP:
            gq = Q(owner_user_id=grant.user_id) | Q(waiting_user_id=grant.user_id) | _learner_q(access.learner_scope_q(grant))
        else:
            continue
        gq = Q(clock__in=clocks) & gq
        q = gq if q is None else q | gq
    return q if q is not None else Q(pk__in=[])


def get_visible_or_404(user, pk, action: str = "read") -> Deadline:
    from django.http import Http404

    try:
        return Deadline.objects.visible_to(user, action).select_related("content_type").get(pk=pk)
    except (Deadline.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def overdue_for(user, today=None):
    """Open deadlines past their day that the user sees (oldest first)."""
    return Deadline.objects.visible_to(user).overdue(today).order_by("due_on", "id")


def due_soon_for(user, today=None, days: int | None = None):
    """Open deadlines due from today to ``BIRGE_DUE_SOON_DAYS`` days ahead that the user sees."""
    return Deadline.objects.visible_to(user).due_soon(today, days).order_by("due_on", "id")


def open_for(obj):
    """The open clocks of a record."""
    return Deadline.objects.for_object(obj).open()


# --- the verbs --------------------------------------------------------------------------------------


def _as_datetime(value) -> dt.datetime:
    if value is None:
        return timezone.now()
    if isinstance(value, dt.datetime):
        return value if timezone.is_aware(value) else timezone.make_aware(value)
    return timezone.make_aware(dt.datetime.combine(value, dt.time(9)))


def _learner_of(target) -> int | None:
    if getattr(target, "_meta", None) and target._meta.label_lower == "learners.learner":
        return target.pk
    return getattr(target, "learner_id", None)


@transaction.atomic
def start_clock(actor, target, clock: str, *, owner_organization: Organization | None = None, owner_user=None,
                waiting_organization: Organization | None = None, waiting_user=None, learner=None, start=None,
                due_on: dt.date | None = None, restart: bool = False) -> Deadline:
    """Start ``clock`` about ``target`` (a saved record). Due ``BIRGE_DEADLINES[clock]`` days after ``start``
    (default now) unless ``due_on`` gives the day (e.g. a plan's review date).

    One clock of a kind runs per record: when one is open already it is returned unchanged, or with
    ``restart=True`` cancelled and started again. The learner defaults to ``target.learner_id``.
    Called by services inside their transaction; the caller has checked the actor's right to the
    transition that starts the clock.
    """
    days = days_for(clock)
    if target is None or getattr(target, "pk", None) is None:
        raise ValueError("A clock runs about a saved record.")
    if owner_organization is None and owner_user is None:
        raise ValueError("A clock has an owner: an organization, a user or both.")
    started = _as_datetime(start)
    existing = open_for(target).filter(clock=clock).select_for_update().first()
    if existing is not None:
        if not restart:
            return existing
        _close(actor, existing, cancelled=True, reason=_("Started again."), at=started)
    due = due_on or due_date(clock, started)
    learner_id = getattr(learner, "pk", learner) if learner is not None else _learner_of(target)
    deadline = Deadline(
        content_type=ContentType.objects.get_for_model(type(target)), object_id=target.pk, clock=clock, learner_id=learner_id,
        owner_organization=owner_organization, owner_user=owner_user, waiting_organization=waiting_organization,
        waiting_user=waiting_user, started_at=started, due_on=due,
        days=max(0, (due - timezone.localtime(started).date()).days) if due_on else days,
    )
    deadline.full_clean(exclude=["content_type"])
    deadline.save()
    audit.record(actor, AuditEvent.Action.CREATE, deadline, event="deadline.started", learner_id=learner_id,
                 changes={"after": audit.snapshot(deadline)})
    return deadline


def _close(actor, deadline: Deadline, *, cancelled: bool, reason: str = "", at=None) -> Deadline:
    at = at or timezone.now()
    if cancelled:
        deadline.cancelled_at, deadline.cancel_reason = at, reason or ""
        deadline.save(update_fields=["cancelled_at", "cancel_reason"])
        audit.record_transition(actor, deadline, "open", "cancelled", event="deadline.cancelled", reason=reason or "")
    else:
        deadline.met_at = at
        deadline.save(update_fields=["met_at"])
        late = timezone.localtime(at).date() > deadline.due_on
        audit.record_transition(actor, deadline, "open", "met-late" if late else "met", event="deadline.met")
    return deadline


@transaction.atomic
def stop_clock(actor, target, clock: str | None = None, *, cancel: bool = False, reason: str = "", at=None) -> list[Deadline]:
    """Stop the open ``clock`` (all open clocks when None) of ``target``: met, or with ``cancel=True``
    cancelled with a reason (the work is no longer needed). Returns the clocks stopped; stopping a
    clock that is not running does nothing."""
    qs = open_for(target)
    if clock is not None:
        days_for(clock)  # unknown clock: an error, not a silent no-op
        qs = qs.filter(clock=clock)
    stopped = []
    for deadline in qs.select_for_update().order_by("id"):
        stopped.append(_close(actor, deadline, cancelled=cancel, reason=reason, at=_as_datetime(at) if at else None))
    return stopped


def cancel_clock(actor, target, clock: str | None = None, *, reason: str) -> list[Deadline]:
    return stop_clock(actor, target, clock, cancel=True, reason=reason)


@transaction.atomic
def record_delay_reason(actor, deadline: Deadline, reason: str) -> Deadline:
    """Record why a clock is (or will be) late. Only its owners may; the clock keeps running."""
    if not Deadline.objects.visible_to(actor, "write").filter(pk=deadline.pk).exists():
        raise PermissionDenied
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the work is delayed.")})
    if len(reason) > 2000:
        raise ValidationError({"reason": _("Keep the reason under 2000 characters.")})
    deadline = Deadline.objects.select_for_update().get(pk=deadline.pk)
    if not deadline.is_open:
        raise ValidationError({"reason": _("This deadline is closed already; a delay reason is recorded while it runs.")})
    before = audit.snapshot(deadline)
    deadline.delay_reason = reason
    deadline.delay_recorded_at = timezone.now()
    deadline.delay_recorded_by = actor
    deadline.save(update_fields=["delay_reason", "delay_recorded_at", "delay_recorded_by"])
    audit.record_update(actor, deadline, before, event="deadline.delay_reason", reason=reason)
    return deadline


# --- links -------------------------------------------------------------------------------------------


def _targets(user, model, ids) -> dict:
    """The records ``ids`` of ``model`` that ``user`` may open (all of them for a model outside the policy)."""
    manager = model._default_manager
    qs = manager.visible_to(user) if user is not None and hasattr(manager, "visible_to") else manager.all()
    return qs.in_bulk(ids)


def _url(target) -> str:
    return target.get_absolute_url() if target is not None and hasattr(target, "get_absolute_url") else ""


def link_for(deadline: Deadline, user=None) -> str:
    """Where the deadline's record is worked on (the target's ``get_absolute_url``), or '' when
    there is no such page or ``user`` may not open it (a link never leads to a 404)."""
    model = deadline.content_type.model_class() if deadline.content_type_id else None
    if model is None:
        return ""
    return _url(_targets(user, model, [deadline.object_id]).get(deadline.object_id))


def attach_links(deadlines: Iterable[Deadline], user=None) -> list[Deadline]:
    """Set ``.link`` on each deadline (see ``link_for``), loading targets in one query per record type."""
    items = list(deadlines)
    by_type: dict[int, list[Deadline]] = {}
    for d in items:
        by_type.setdefault(d.content_type_id, []).append(d)
    for ct_id, group in by_type.items():
        model = ContentType.objects.get_for_id(ct_id).model_class()
        targets = _targets(user, model, [d.object_id for d in group]) if model is not None else {}
        for d in group:
            d.link = _url(targets.get(d.object_id))
    return items


# --- notifications -----------------------------------------------------------------------------------


def organization_users(organization, roles: Iterable[str] | None = None):
    """Users with an active membership at ``organization`` (optionally in ``roles``)."""
    from .models import User

    today = timezone.localdate()
    memberships = Membership.objects.filter(organization=organization, starts_on__lte=today).filter(
        Q(ends_on__isnull=True) | Q(ends_on__gt=today))
    if roles is not None:
        memberships = memberships.filter(role__in=list(roles))
    return User.objects.filter(pk__in=memberships.values("user_id"), is_active=True)


def notify(users, message, link: str = "", *, event: str = "", email: bool = True) -> None:
    """Tell each user ``message`` (a lazy translation, rendered in their language) with ``link``.

    The in-app notification is written and the e-mail sent only after the current transaction
    commits; nothing is sent when it rolls back. Keep ``message`` free of personal data and
    ``link`` to ids only: e-mail leaves the system.
    """
    recipients = {u.pk: u for u in users if u is not None and getattr(u, "pk", None)}
    if not recipients:
        return

    def deliver():
        now = timezone.now()
        rows = []
        mails = []
        for user in recipients.values():
            with translation.override(user.preferred_language or settings.LANGUAGE_CODE):
                text = str(message)[:300]
                subject = f"{settings.BIRGE_SERVICE_NAME}: {text}"[:200]
                body = text
                if link:
                    body += "\n\n" + getattr(settings, "BIRGE_SITE_URL", "").rstrip("/") + link
            rows.append(Notification(user=user, text=text, link=link, event=event, created_at=now))
            if email and user.email:
                mails.append((subject, body, user.email))
        Notification.objects.bulk_create(rows)
        for subject, body, address in mails:
            try:
                send_mail(subject, body, None, [address])
            except Exception:  # a mail server down must not undo the work
                log.exception("notification e-mail failed", extra={"event": event})

    transaction.on_commit(deliver)


def unread_count(user) -> int:
    if not getattr(user, "is_authenticated", False):
        return 0
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


def mark_read(user, notification: Notification) -> Notification:
    if notification.user_id != user.pk:
        raise PermissionDenied
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification


def mark_all_read(user) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).update(read_at=timezone.now())
