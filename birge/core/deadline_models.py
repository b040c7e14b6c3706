"""Records of the one deadline mechanism (``birge.core.deadlines``) and in-app notifications.

Imported from ``birge.core.models`` so they belong to the ``core`` app. The verbs live in
``birge.core.deadlines``; nothing else writes these tables.

A :class:`Deadline` is one running clock about one record (generic: content type + object id):
a PMPK acknowledging a referral, a school agreeing a plan after a release, a service starting…
It names who owns the work (an organization and/or a user), who waits for it (e.g. the
referrer), and the learner it is about (an id, so ``core`` does not depend on ``learners``; the
access policy reaches the learner through it). Clocks are never deleted: they are met,
or cancelled with a reason; a delay can carry a recorded reason.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Clock(models.TextChoices):
    """Every clock of the system. The number of days is ``settings.BIRGE_DEADLINES[code]``."""

    REFERRAL_ACKNOWLEDGE = "referral_acknowledge", _("Acknowledge a referral")
    REFERRAL_CONCLUDE = "referral_conclude", _("Conclude a referral")
    RELEASE_TO_PLAN = "release_to_plan", _("Agree an individual plan after a released conclusion")
    PLAN_REVIEW = "plan_review", _("Review an individual plan")
    CONCLUSION_REVIEW = "conclusion_review", _("Review a PMPK conclusion")
    SERVICE_START = "service_start", _("Start a planned service")
    OUTREACH_CONTACT = "outreach_contact", _("Contact an out-of-school child's family")
    DEVICE_DELIVERY = "device_delivery", _("Deliver an assistive device")


class DeadlineQuerySet(models.QuerySet):
    """Deadlines are narrowed by the clock's record type as well as by owner and learner.

    ``visible_to`` composes the access policy (``birge.core.access``) in ``birge.core.deadlines``;
    see ``deadlines.visible_q``.
    """

    def visible_to(self, user, action: str = "read"):
        from . import deadlines

        return self.filter(deadlines.visible_q(user, action))

    def open(self):
        return self.filter(met_at__isnull=True, cancelled_at__isnull=True)

    def overdue(self, today=None):
        today = today or timezone.localdate()
        return self.open().filter(due_on__lt=today)

    def due_soon(self, today=None, days: int | None = None):
        today = today or timezone.localdate()
        days = settings.BIRGE_DUE_SOON_DAYS if days is None else days
        return self.open().filter(due_on__gte=today, due_on__lte=today + dt.timedelta(days=days))

    def for_object(self, obj):
        return self.filter(content_type=ContentType.objects.get_for_model(type(obj)), object_id=obj.pk)


class Deadline(models.Model):
    """One clock about one record: started, due on a day, then met or cancelled."""

    content_type = models.ForeignKey(ContentType, models.PROTECT, related_name="+", verbose_name=_("record type"))
    object_id = models.PositiveBigIntegerField(_("record"))
    target = GenericForeignKey("content_type", "object_id")
    clock = models.CharField(_("clock"), max_length=40, choices=Clock.choices, db_index=True)
    learner_id = models.BigIntegerField(_("learner"), null=True, blank=True, db_index=True)
    owner_organization = models.ForeignKey(
        "core.Organization", models.PROTECT, null=True, blank=True, related_name="deadlines_owned",
        verbose_name=_("owner organization"), help_text=_("The organization that has to do the work."))
    owner_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="deadlines_owned",
        verbose_name=_("owner"), help_text=_("The person who has to do the work."))
    waiting_organization = models.ForeignKey(
        "core.Organization", models.PROTECT, null=True, blank=True, related_name="deadlines_awaited",
        verbose_name=_("waiting organization"), help_text=_("The organization waiting for the work, e.g. the referrer."))
    waiting_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="deadlines_awaited",
        verbose_name=_("waiting person"), help_text=_("The person waiting for the work, e.g. a parent who referred."))
    started_at = models.DateTimeField(_("started"), default=timezone.now)
    due_on = models.DateField(_("due on"), db_index=True)
    days = models.PositiveSmallIntegerField(_("days allowed"), default=0)
    met_at = models.DateTimeField(_("met"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled"), null=True, blank=True)
    cancel_reason = models.TextField(_("reason for cancelling"), blank=True)
    delay_reason = models.TextField(_("reason for the delay"), blank=True)
    delay_recorded_at = models.DateTimeField(_("delay reason recorded"), null=True, blank=True)
    delay_recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True,
                                          related_name="+", verbose_name=_("delay reason recorded by"))

    objects = DeadlineQuerySet.as_manager()

    class Meta:
        ordering = ["due_on", "id"]
        verbose_name = _("deadline")
        verbose_name_plural = _("deadlines")
        constraints = [
            models.UniqueConstraint(fields=["content_type", "object_id", "clock"],
                                    condition=Q(met_at__isnull=True, cancelled_at__isnull=True),
                                    name="deadline_one_open_clock_per_record"),
            models.CheckConstraint(condition=Q(owner_organization__isnull=False) | Q(owner_user__isnull=False),
                                   name="deadline_has_owner"),
        ]
        indexes = [
            models.Index(fields=["content_type", "object_id"]),
            models.Index(fields=["owner_organization", "due_on"]),
            models.Index(fields=["waiting_organization", "due_on"]),
        ]

    def __str__(self):
        return f"{self.get_clock_display()} · {self.due_on:%Y-%m-%d}"

    @property
    def is_open(self) -> bool:
        return self.met_at is None and self.cancelled_at is None

    @property
    def status(self) -> str:
        """overdue · due-soon · open · met · met-late · cancelled (words for pages, never colour alone)."""
        today = timezone.localdate()
        if self.cancelled_at is not None:
            return "cancelled"
        if self.met_at is not None:
            return "met-late" if timezone.localtime(self.met_at).date() > self.due_on else "met"
        if self.due_on < today:
            return "overdue"
        if (self.due_on - today).days <= settings.BIRGE_DUE_SOON_DAYS:
            return "due-soon"
        return "open"

    @property
    def days_left(self) -> int:
        return (self.due_on - timezone.localdate()).days


class Notification(models.Model):
    """An in-app message to one user: short text without personal data, and a link (ids only)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="notifications", verbose_name=_("user"))
    text = models.CharField(_("text"), max_length=300)
    link = models.CharField(_("link"), max_length=300, blank=True)
    event = models.CharField(_("event"), max_length=80, blank=True, help_text=_("Stable event code, e.g. referral.submitted"))
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        indexes = [models.Index(fields=["user", "read_at"])]

    def __str__(self):
        return self.text


def _register_with_access_policy():
    """A deadline is about a learner: register it (the manager narrows further by clock)."""
    from . import access
    from .access import Rec

    def owned_by_orgs(org_ids):
        return Q(owner_organization_id__in=org_ids) | Q(waiting_organization_id__in=org_ids)

    def owned_by_person(grant, via_learner):
        return Q(owner_user_id=grant.user_id) | Q(waiting_user_id=grant.user_id) | via_learner(access.learner_scope_q(grant))

    access.register(Deadline, Rec.LEARNER, learner_path="learner_id", organization_q=owned_by_orgs, organization_only=True,
                    relationship_q=owned_by_person)


_register_with_access_policy()
