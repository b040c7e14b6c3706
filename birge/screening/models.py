"""A functioning screening: one questionnaire (CFM 2-4, CFM 5-17, WG-SS …) answered about one learner.

The questionnaire itself is data (``instruments/*.json``, read by ``engine``); a :class:`Screening`
stores which questionnaire was used (code, its ``version`` text and the SHA-256 of the file as it
was), the interview (date, age in completed years on that date, who answered, who recorded it, on
behalf of which organization), every answer as its meaning (``engine.clean_answers``: skipped
branches dropped), and, once complete, the scored results: the flag per domain, the overall
tri-state *functional difficulty*, the number of flagged domains and, for the WG-SS, the four
disability identifiers. A screening identifies functional difficulty; it never decides eligibility.

States: ``draft`` (answers being entered) → ``complete`` (scored), or ``withdrawn`` with a reason
(recorded in error). Nothing is deleted. Writes go through ``services``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from birge.core.models import Organization
from birge.core.querysets import VisibleQuerySet

from . import engine


class Respondent(models.TextChoices):
    """Who answered the questions."""

    PARENT = "parent", _("Parent or legal representative")
    CARER = "carer", _("Other relative or carer")
    SELF = "self", _("The person themselves")
    TEACHER = "teacher", _("Teacher")


# Which respondents may answer a questionnaire written for ``Instrument.respondent``. The CFM is
# answered by the mother or main carer; the WG-SS by the adult, or by a proxy when they cannot.
RESPONDENTS_FOR = {
    "parent": (Respondent.PARENT, Respondent.CARER),
    "self": (Respondent.SELF, Respondent.PARENT, Respondent.CARER),
    "teacher": (Respondent.TEACHER,),
}


class Status(models.TextChoices):
    DRAFT = "draft", _("Draft")
    COMPLETE = "complete", _("Completed")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class Screening(models.Model):
    learner = models.ForeignKey("learners.Learner", models.PROTECT, related_name="screenings", verbose_name=_("learner"))
    instrument = models.CharField(_("questionnaire"), max_length=40, help_text=_("Code of the questionnaire, e.g. cfm-5-17."))
    instrument_version = models.CharField(_("questionnaire version"), max_length=300, blank=True)
    instrument_hash = models.CharField(_("questionnaire fingerprint"), max_length=64, blank=True,
                                       help_text=_("SHA-256 of the questionnaire definition used."))
    interview_date = models.DateField(_("interview date"))
    age_years = models.PositiveSmallIntegerField(_("age on the interview date"),
                                                 help_text=_("Completed years on the interview date."))
    respondent = models.CharField(_("respondent"), max_length=10, choices=Respondent.choices)
    respondent_guardian = models.ForeignKey("learners.Guardian", models.PROTECT, null=True, blank=True, related_name="+",
                                            verbose_name=_("respondent (guardian)"))
    respondent_name = models.CharField(_("respondent's name"), max_length=200, blank=True)
    organization = models.ForeignKey(Organization, models.PROTECT, null=True, blank=True, related_name="+",
                                     verbose_name=_("organization"))
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+",
                                    verbose_name=_("recorded by"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT, db_index=True)
    answers = models.JSONField(_("answers"), default=dict, blank=True,
                               help_text=_("Question code → answer code (meanings, never numbers)."))
    # Results: set when the screening is completed (None / empty while a draft).
    domains = models.JSONField(_("result per domain"), default=dict, blank=True,
                               help_text=_("Domain code → true (difficulty), false (none) or null (indeterminate)."))
    functional_difficulty = models.BooleanField(_("functional difficulty"), null=True, blank=True)
    domain_count = models.PositiveSmallIntegerField(_("number of domains with difficulty"), null=True, blank=True)
    disability_1 = models.BooleanField(_("WG-SS disability identifier 1"), null=True, blank=True)
    disability_2 = models.BooleanField(_("WG-SS disability identifier 2"), null=True, blank=True)
    disability_3 = models.BooleanField(_("WG-SS disability identifier 3"), null=True, blank=True)
    disability_4 = models.BooleanField(_("WG-SS disability identifier 4"), null=True, blank=True)
    missing = models.JSONField(_("questions without a usable answer"), default=list, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)
    withdrawn_at = models.DateTimeField(_("withdrawn"), null=True, blank=True)
    withdraw_reason = models.TextField(_("reason for withdrawal"), blank=True)
    is_synthetic = models.BooleanField(_("synthetic"), default=False)

    objects = VisibleQuerySet.as_manager()

    class Meta:
        ordering = ["-interview_date", "-id"]
        verbose_name = _("functioning screening")
        verbose_name_plural = _("functioning screenings")
        indexes = [
            # A learner's screenings of a period (the monitoring flags look them up per learner): with the
            # date in the index no planner prefers scanning every screening of the period instead.
            models.Index(fields=["learner", "status", "interview_date"], name="screening_learner_period"),
            models.Index(fields=["status", "interview_date"]),
            models.Index(fields=["instrument", "status"]),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(status="complete", completed_at__isnull=False) | ~Q(status="complete"),
                                   name="screening_complete_has_time"),
            models.CheckConstraint(condition=Q(status="withdrawn", withdrawn_at__isnull=False) | ~Q(status="withdrawn"),
                                   name="screening_withdrawn_has_time"),
        ]

    def __str__(self):
        return f"{self.instrument} · {self.interview_date:%Y-%m-%d}"

    def get_absolute_url(self):
        return reverse("screening:detail", args=[self.pk])

    @property
    def definition(self) -> engine.Instrument | None:
        """The questionnaire as it is now (None if its file is gone); compare ``instrument_hash``."""
        try:
            return engine.load_instrument(self.instrument)
        except engine.UnknownInstrument:
            return None

    @property
    def is_draft(self) -> bool:
        return self.status == Status.DRAFT

    @property
    def is_complete(self) -> bool:
        return self.status == Status.COMPLETE

    @property
    def respondent_label(self) -> str:
        who = str(self.respondent_guardian) if self.respondent_guardian_id else self.respondent_name
        return f"{self.get_respondent_display()}: {who}" if who else str(self.get_respondent_display())

    def clean(self):
        from django.core.exceptions import ValidationError

        errors = {}
        try:
            engine.load_instrument(self.instrument)
        except engine.UnknownInstrument:
            errors["instrument"] = _("There is no such questionnaire.")
        if self.learner_id and self.interview_date and self.interview_date < self.learner.birth_date:
            errors["interview_date"] = _("The interview date is before the learner's birth date.")
        if self.status == Status.WITHDRAWN and not (self.withdraw_reason or "").strip():
            errors["withdraw_reason"] = _("Say why the screening is withdrawn.")
        if errors:
            raise ValidationError(errors)
