"""Individual education plans: goals, accommodations, planned services, the team, reviews.

One row of :class:`IndividualPlan` is one *version* of a plan. The versions of
a plan share ``series`` and are chained by ``previous``; a change to an active
plan is an amendment: a new version effective from a date, while the old
version's rows stay exactly as they were (only its lifecycle state moves to
``superseded`` when the new version takes over). Content rows (goals,
accommodations, services, team) belong to one version and change only while
that version is a draft.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from birge.core.models import Organization
from birge.core.querysets import VisibleQuerySet
from birge.learners.models import FormOfEducation, Programme


class PlanState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PROPOSED = "proposed", _("Proposed to the family")
    AGREED = "agreed", _("Agreed")
    ACTIVE = "active", _("Active")
    UNDER_REVIEW = "under-review", _("Under review")
    CLOSED = "closed", _("Closed")
    SUPERSEDED = "superseded", _("Replaced by a later version")


# A version in one of these states is the plan in force for its learner and organization.
IN_FORCE = (PlanState.ACTIVE, PlanState.UNDER_REVIEW)
# A version in one of these states is still being prepared.
IN_PREPARATION = (PlanState.DRAFT, PlanState.PROPOSED, PlanState.AGREED)


class Agreement(models.TextChoices):
    IN_SYSTEM = "in-system", _("Agreed by the parent in the system")
    PAPER = "paper", _("Agreed on paper (signed)")
    NOT_OBTAINED = "not-obtained", _("Not agreed: reason recorded")


class IndividualPlan(models.Model):
    """One version of a learner's individual education plan at an organization."""

    series = models.UUIDField(_("plan"), default=uuid.uuid4, db_index=True, editable=False,
                              help_text=_("Shared by every version of the same plan."))
    version = models.PositiveSmallIntegerField(_("version"), default=1)
    previous = models.ForeignKey("self", models.PROTECT, null=True, blank=True, related_name="next_versions",
                                 verbose_name=_("previous version"))
    learner = models.ForeignKey("learners.Learner", models.PROTECT, related_name="plans", verbose_name=_("learner"))
    organization = models.ForeignKey(Organization, models.PROTECT, related_name="plans", verbose_name=_("organization"))
    enrolment = models.ForeignKey("learners.Enrolment", models.PROTECT, related_name="plans", verbose_name=_("enrolment"))
    conclusion = models.ForeignKey("assessments.Conclusion", models.PROTECT, null=True, blank=True, related_name="plans",
                                   verbose_name=_("PMPK conclusion"))
    own_basis = models.TextField(
        _("the organization's own basis"), blank=True,
        help_text=_("When there is no PMPK conclusion released to the organization: why and on what the organization plans."))
    state = models.CharField(_("state"), max_length=16, choices=PlanState.choices, default=PlanState.DRAFT, db_index=True)
    effective_from = models.DateField(_("effective from"), null=True, blank=True,
                                      help_text=_("The first day this version applies."))
    review_on = models.DateField(_("review date"), help_text=_("When the team reviews the plan with the family."))
    form = models.CharField(_("form of education"), max_length=20, choices=FormOfEducation.choices,
                            default=FormOfEducation.MAINSTREAM)
    programme = models.CharField(_("programme"), max_length=20, choices=Programme.choices, default=Programme.GENERAL)
    tutor = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+",
                              verbose_name=_("tutor or assistant"))
    timetable_notes = models.TextField(_("timetable notes"), blank=True)
    strengths = models.TextField(_("strengths and interests"), blank=True)
    amendment_reason = models.TextField(_("reason for this version"), blank=True)
    # Family agreement: in the system by the parent, on paper, or a recorded reason why not.
    agreement = models.CharField(_("family agreement"), max_length=14, choices=Agreement.choices, blank=True)
    agreed_by = models.ForeignKey("learners.Guardian", models.PROTECT, null=True, blank=True, related_name="+",
                                  verbose_name=_("agreed by"))
    agreed_at = models.DateTimeField(_("agreed"), null=True, blank=True)
    agreement_recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True,
                                              related_name="+", editable=False)
    agreement_note = models.TextField(_("agreement note or reason"), blank=True)
    proposed_at = models.DateTimeField(_("proposed"), null=True, blank=True)
    activated_at = models.DateTimeField(_("activated"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    close_reason = models.TextField(_("reason for closing"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, related_name="+", editable=False)
    lock_version = models.PositiveIntegerField(
        _("edit counter"), default=0, editable=False,
        help_text=_("Grows with every change; a save based on an older value is refused (no lost update)."))

    objects = VisibleQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("individual education plan")
        verbose_name_plural = _("individual education plans")
        constraints = [
            models.UniqueConstraint(fields=["series", "version"], name="plan_version_unique"),
            models.UniqueConstraint(fields=["learner", "organization"], condition=Q(state__in=["active", "under-review"]),
                                    name="plan_one_in_force_per_learner_org"),
            models.UniqueConstraint(fields=["previous"], condition=Q(state__in=["draft", "proposed", "agreed"]),
                                    name="plan_one_amendment_in_preparation"),
            models.CheckConstraint(condition=Q(conclusion__isnull=False) | ~Q(own_basis=""), name="plan_has_basis"),
            models.CheckConstraint(condition=Q(version__gte=1), name="plan_version_positive"),
        ]
        indexes = [models.Index(fields=["organization", "state"]), models.Index(fields=["learner", "state"]),
                   models.Index(fields=["state", "review_on"])]

    def __str__(self):
        return _("Plan for %(learner)s, version %(version)s") % {"learner": self.learner, "version": self.version}

    def get_absolute_url(self):
        return reverse("plans:detail", args=[self.pk])

    @property
    def is_in_force(self) -> bool:
        return self.state in IN_FORCE

    @property
    def is_draft(self) -> bool:
        return self.state == PlanState.DRAFT

    def clean(self):
        errors = {}
        if not self.conclusion_id and not (self.own_basis or "").strip():
            errors["own_basis"] = _("A plan rests on a PMPK conclusion released to the organization, or on the "
                                    "organization's own basis: describe it.")
        if self.enrolment_id and self.learner_id and self.enrolment.learner_id != self.learner_id:
            errors["enrolment"] = _("The enrolment is another learner's.")
        if self.enrolment_id and self.organization_id and self.enrolment.organization_id != self.organization_id:
            errors["enrolment"] = _("The enrolment is at another organization.")
        if self.agreement == Agreement.NOT_OBTAINED and not (self.agreement_note or "").strip():
            errors["agreement_note"] = _("Say why the family's agreement was not obtained.")
        if errors:
            raise ValidationError(errors)


class GoalArea(models.TextChoices):
    ACADEMIC = "academic", _("Academic")
    COMMUNICATION = "communication", _("Communication")
    SELF_CARE = "self-care", _("Self-care")
    SOCIAL = "social", _("Social and emotional")
    MOTOR = "motor", _("Motor")
    OTHER = "other", _("Other")


class PlanGoal(models.Model):
    plan = models.ForeignKey(IndividualPlan, models.PROTECT, related_name="goals", verbose_name=_("plan"))
    area = models.CharField(_("area"), max_length=16, choices=GoalArea.choices)
    description = models.TextField(_("goal"))
    baseline = models.TextField(_("baseline"), help_text=_("What the learner does now."))
    target = models.TextField(_("target"), help_text=_("What the learner will do by the review date."))
    measure = models.CharField(_("measure"), max_length=300, help_text=_("How progress is measured."))
    criteria = models.TextField(_("success criteria"), help_text=_("When the goal counts as reached."))
    review_on = models.DateField(_("review date"))
    position = models.PositiveSmallIntegerField(_("order"), default=0)
    origin = models.ForeignKey("self", models.PROTECT, null=True, blank=True, related_name="+",
                               verbose_name=_("same goal in the previous version"))

    objects = VisibleQuerySet.as_manager()

    class Meta:
        ordering = ["plan", "position", "id"]
        verbose_name = _("goal")
        verbose_name_plural = _("goals")

    def __str__(self):
        return f"{self.get_area_display()}: {self.description[:60]}"


class AccommodationKind(models.TextChoices):
    ACCOMMODATION = "accommodation", _("Accommodation (how the learner learns)")
    MODIFICATION = "modification", _("Modification (what the learner learns)")


class PlanAccommodation(models.Model):
    plan = models.ForeignKey(IndividualPlan, models.PROTECT, related_name="accommodations", verbose_name=_("plan"))
    kind = models.CharField(_("kind"), max_length=16, choices=AccommodationKind.choices, default=AccommodationKind.ACCOMMODATION)
    catalogue = models.ForeignKey("assessments.CatalogueItem", models.PROTECT, null=True, blank=True, related_name="+",
                                  verbose_name=_("from the catalogue"))
    description = models.TextField(_("description"), blank=True)
    from_conclusion = models.BooleanField(_("recommended by the PMPK"), default=False, editable=False)
    position = models.PositiveSmallIntegerField(_("order"), default=0)

    objects = VisibleQuerySet.as_manager()

    class Meta:
        ordering = ["plan", "position", "id"]
        verbose_name = _("accommodation or modification")
        verbose_name_plural = _("accommodations and modifications")

    def __str__(self):
        return str(self.catalogue) if self.catalogue_id else self.description[:60]

    def clean(self):
        if not self.catalogue_id and not (self.description or "").strip():
            raise ValidationError({"description": _("Choose from the catalogue or describe the accommodation.")})


class PlanService(models.Model):
    """A planned service: type, provider (a specialist or an outside organization), dosage, period."""

    plan = models.ForeignKey(IndividualPlan, models.PROTECT, related_name="services", verbose_name=_("plan"))
    catalogue = models.ForeignKey("assessments.CatalogueItem", models.PROTECT, related_name="+",
                                  verbose_name=_("service"), limit_choices_to={"kind": "service"})
    provider_user = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+",
                                      verbose_name=_("provider (specialist or tutor)"))
    provider_organization = models.ForeignKey(Organization, models.PROTECT, null=True, blank=True, related_name="+",
                                              verbose_name=_("provider (outside organization)"),
                                              help_text=_("For example a resource centre."))
    minutes_per_week = models.PositiveSmallIntegerField(_("minutes per week"), null=True, blank=True)
    starts_on = models.DateField(_("starts on"), null=True, blank=True)
    ends_on = models.DateField(_("ends on"), null=True, blank=True, help_text=_("The last day of the service."))
    notes = models.CharField(_("notes"), max_length=500, blank=True)
    from_conclusion = models.BooleanField(_("recommended by the PMPK"), default=False, editable=False)
    origin = models.ForeignKey("self", models.PROTECT, null=True, blank=True, related_name="+",
                               verbose_name=_("same service in the previous version"))

    objects = VisibleQuerySet.as_manager()

    class Meta:
        ordering = ["plan", "starts_on", "id"]
        verbose_name = _("planned service")
        verbose_name_plural = _("planned services")
        constraints = [
            models.CheckConstraint(condition=Q(provider_user__isnull=True) | Q(provider_organization__isnull=True),
                                   name="plan_service_one_provider"),
            models.CheckConstraint(condition=Q(ends_on__isnull=True) | Q(starts_on__isnull=True)
                                   | Q(ends_on__gte=models.F("starts_on")), name="plan_service_period"),
        ]

    def __str__(self):
        return str(self.catalogue)

    def get_absolute_url(self):
        return reverse("plans:detail", args=[self.plan_id]) + "#services"

    @property
    def provider(self):
        return self.provider_user or self.provider_organization

    @property
    def has_provider(self) -> bool:
        return bool(self.provider_user_id or self.provider_organization_id)


class MemberRole(models.TextChoices):
    COORDINATOR = "coordinator", _("Inclusion coordinator")
    TEACHER = "teacher", _("Teacher")
    SPECIALIST = "specialist", _("Specialist")
    TUTOR = "tutor", _("Tutor or assistant")
    FAMILY = "family", _("Family")
    LEARNER = "learner", _("The learner")
    OTHER = "other", _("Other")


class PlanMember(models.Model):
    """A member of the plan's team; the family is a member."""

    plan = models.ForeignKey(IndividualPlan, models.PROTECT, related_name="members", verbose_name=_("plan"))
    role = models.CharField(_("role in the team"), max_length=14, choices=MemberRole.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="plan_memberships",
                             verbose_name=_("staff member"))
    guardian = models.ForeignKey("learners.Guardian", models.PROTECT, null=True, blank=True, related_name="+",
                                 verbose_name=_("family member"))
    name = models.CharField(_("name"), max_length=200, blank=True, help_text=_("For a member without an account."))

    objects = VisibleQuerySet.as_manager()

    class Meta:
        ordering = ["plan", "role", "id"]
        verbose_name = _("team member")
        verbose_name_plural = _("team members")

    def __str__(self):
        return self.display_name

    @property
    def display_name(self) -> str:
        if self.user_id:
            return str(self.user)
        if self.guardian_id:
            return self.guardian.full_name
        return self.name

    def clean(self):
        if not (self.user_id or self.guardian_id or (self.name or "").strip()):
            raise ValidationError({"name": _("Choose a person or give a name.")})


class ReviewDecision(models.TextChoices):
    CONTINUE = "continue", _("Continue the plan")
    AMEND = "amend", _("Amend the plan")
    CLOSE = "close", _("Close the plan")


class PlanReview(models.Model):
    plan = models.ForeignKey(IndividualPlan, models.PROTECT, related_name="reviews", verbose_name=_("plan"))
    held_on = models.DateField(_("held on"))
    decision = models.CharField(_("decision"), max_length=10, choices=ReviewDecision.choices)
    summary = models.TextField(_("summary"), blank=True)
    family_present = models.BooleanField(_("family took part"), default=False)
    next_review_on = models.DateField(_("next review"), null=True, blank=True)
    recorded_at = models.DateTimeField(_("recorded"), auto_now_add=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, related_name="+", editable=False)

    objects = VisibleQuerySet.as_manager()

    class Meta:
        ordering = ["-held_on", "-id"]
        verbose_name = _("plan review")
        verbose_name_plural = _("plan reviews")

    def __str__(self):
        return f"{self.held_on:%Y-%m-%d} · {self.get_decision_display()}"


class Progress(models.TextChoices):
    NOT_STARTED = "not-started", _("Not started")
    NO_PROGRESS = "no-progress", _("No progress yet")
    SOME = "some", _("Some progress")
    GOOD = "good", _("Good progress")
    ACHIEVED = "achieved", _("Achieved")


class GoalProgress(models.Model):
    review = models.ForeignKey(PlanReview, models.PROTECT, related_name="progress", verbose_name=_("review"))
    goal = models.ForeignKey(PlanGoal, models.PROTECT, related_name="progress", verbose_name=_("goal"))
    rating = models.CharField(_("progress"), max_length=12, choices=Progress.choices)
    comment = models.TextField(_("comment"), blank=True)

    objects = VisibleQuerySet.as_manager()

    class Meta:
        ordering = ["review", "goal__position", "goal_id"]
        verbose_name = _("progress on a goal")
        verbose_name_plural = _("progress on goals")
        constraints = [models.UniqueConstraint(fields=["review", "goal"], name="goal_progress_once")]

    def __str__(self):
        return f"{self.goal} · {self.get_rating_display()}"
