"""Services delivered (sessions logged by specialists and tutors) and handovers between organizations."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from birge.core.models import Organization
from birge.core.querysets import VisibleQuerySet

MAX_SESSION_MINUTES = 480


class ServiceSession(models.Model):
    """One session of a planned service, as the provider logged it. Mistakes are withdrawn, never deleted."""

    class Setting(models.TextChoices):
        INDIVIDUAL = "individual", _("Individual")
        GROUP = "group", _("Group")

    class Attendance(models.TextChoices):
        ATTENDED = "attended", _("Held, the learner attended")
        MISSED = "missed", _("Missed")

    class MissedReason(models.TextChoices):
        LEARNER_ILL = "learner-ill", _("The learner was ill")
        LEARNER_ABSENT = "learner-absent", _("The learner was absent for another reason")
        PROVIDER_ABSENT = "provider-absent", _("The specialist was absent")
        SCHOOL_CLOSED = "school-closed", _("Holiday or the organization was closed")
        OTHER = "other", _("Other reason")

    plan_service = models.ForeignKey("plans.PlanService", models.PROTECT, related_name="sessions",
                                     verbose_name=_("planned service"))
    learner = models.ForeignKey("learners.Learner", models.PROTECT, related_name="service_sessions", verbose_name=_("learner"))
    organization = models.ForeignKey(Organization, models.PROTECT, related_name="service_sessions",
                                     verbose_name=_("organization"), help_text=_("The organization of the plan."))
    provider = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="service_sessions",
                                 verbose_name=_("provider"))
    held_on = models.DateField(_("date"))
    minutes = models.PositiveSmallIntegerField(_("minutes"))
    setting = models.CharField(_("individual or group"), max_length=12, choices=Setting.choices, default=Setting.INDIVIDUAL)
    attendance = models.CharField(_("held or missed"), max_length=10, choices=Attendance.choices, default=Attendance.ATTENDED)
    missed_reason = models.CharField(_("reason missed"), max_length=20, choices=MissedReason.choices, blank=True)
    note = models.TextField(_("note"), blank=True)
    recorded_at = models.DateTimeField(_("recorded"), auto_now_add=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, related_name="+", editable=False)
    withdrawn_at = models.DateTimeField(_("withdrawn"), null=True, blank=True)
    withdrawal_reason = models.TextField(_("reason for withdrawal"), blank=True)

    objects = VisibleQuerySet.as_manager()

    class Meta:
        ordering = ["-held_on", "-id"]
        verbose_name = _("service session")
        verbose_name_plural = _("service sessions")
        constraints = [
            models.CheckConstraint(condition=Q(minutes__gte=1, minutes__lte=MAX_SESSION_MINUTES), name="session_minutes_range"),
            models.CheckConstraint(condition=Q(attendance="attended", missed_reason="") | (Q(attendance="missed") & ~Q(missed_reason="")),
                                   name="session_missed_has_reason"),
        ]
        indexes = [models.Index(fields=["organization", "held_on"]), models.Index(fields=["learner", "held_on"]),
                   models.Index(fields=["provider", "held_on"])]

    def __str__(self):
        return f"{self.held_on:%Y-%m-%d} · {self.plan_service} · {self.minutes}′"

    def get_absolute_url(self):
        return reverse("support:sessions") + f"?plan_service={self.plan_service_id}"

    @property
    def counts(self) -> bool:
        """Does this session count as delivered?"""
        return self.withdrawn_at is None and self.attendance == self.Attendance.ATTENDED

    def clean(self):
        errors = {}
        if self.attendance == self.Attendance.MISSED and not self.missed_reason:
            errors["missed_reason"] = _("Say why the session was missed.")
        if self.attendance == self.Attendance.ATTENDED and self.missed_reason:
            errors["missed_reason"] = _("A session held has no reason for missing.")
        if self.minutes is not None and not 1 <= self.minutes <= MAX_SESSION_MINUTES:
            errors["minutes"] = _("A session lasts 1 to 480 minutes.")
        if errors:
            raise ValidationError(errors)


class Handover(models.Model):
    """What a receiving organization got when a learner moved, with the family's handover consent."""

    learner = models.ForeignKey("learners.Learner", models.PROTECT, related_name="handovers", verbose_name=_("learner"))
    from_organization = models.ForeignKey(Organization, models.PROTECT, null=True, blank=True, related_name="handovers_out",
                                          verbose_name=_("from"))
    to_organization = models.ForeignKey(Organization, models.PROTECT, related_name="handovers_in", verbose_name=_("to"))
    consent = models.ForeignKey("learners.Consent", models.PROTECT, related_name="handovers", verbose_name=_("consent"))
    enrolment = models.ForeignKey("learners.Enrolment", models.PROTECT, related_name="+",
                                  verbose_name=_("enrolment at the receiving organization"))
    from_plan = models.ForeignKey("plans.IndividualPlan", models.PROTECT, null=True, blank=True, related_name="+",
                                  verbose_name=_("plan handed over"))
    to_plan = models.ForeignKey("plans.IndividualPlan", models.PROTECT, null=True, blank=True, related_name="+",
                                verbose_name=_("plan continued"))
    summary = models.JSONField(_("handover summary"), default=dict)
    note = models.TextField(_("note"), blank=True)
    created_at = models.DateTimeField(_("handed over"), auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, related_name="+", editable=False)

    objects = VisibleQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("handover")
        verbose_name_plural = _("handovers")

    def __str__(self):
        return f"{self.learner} → {self.to_organization}"

    def get_absolute_url(self):
        return reverse("support:handover", args=[self.pk])
