"""Early identification and referral to the PMPK.

A :class:`Concern` is a developmental concern noticed about a young child (0-3) by a health
worker, social worker, local self-government officer, kindergarten staff or a parent; recording
it opens an early-intervention :class:`Referral`. A referral (of kind ``pmpk`` or
``early-intervention``) goes draft → submitted → accepted → scheduled → assessed → concluded, or
ends withdrawn / declined with a reason (``services.TRANSITIONS``). Teachers add
:class:`Observation` s by area of functioning; documents are :class:`Attachment` s stored under
MEDIA_ROOT with random names and served only through an access-checked view.
"""

from __future__ import annotations

import os
import uuid

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from birge.core.models import Organization
from birge.core.querysets import VisibleQuerySet


class Domain(models.TextChoices):
    """Areas of functioning (codes shared with the PMPK findings of ``assessments``)."""

    SEEING = "seeing", _("Seeing")
    HEARING = "hearing", _("Hearing")
    WALKING = "walking", _("Walking and moving")
    FINE_MOTOR = "fine-motor", _("Fine motor skills")
    COMMUNICATION = "communication", _("Communication (understanding and being understood)")
    SPEECH_LANGUAGE = "speech-language", _("Speech and language")
    LEARNING = "learning", _("Learning")
    COGNITIVE = "cognitive", _("Thinking and cognitive development")
    ACADEMIC = "academic", _("Reading, writing and counting")
    CONCENTRATING = "concentrating", _("Concentrating")
    SELF_CARE = "self-care", _("Self-care")
    CONTROLLING_BEHAVIOUR = "controlling-behaviour", _("Controlling behaviour")
    SOCIAL_EMOTIONAL = "social-emotional", _("Social and emotional development")
    PLAYING = "playing", _("Playing")
    HEALTH = "health", _("Health and physical development")
    OTHER = "other", _("Other area")


# Areas offered for a concern about a child under four (no reading or writing yet).
EARLY_DOMAINS = [
    Domain.SEEING, Domain.HEARING, Domain.WALKING, Domain.FINE_MOTOR, Domain.COMMUNICATION, Domain.SPEECH_LANGUAGE,
    Domain.COGNITIVE, Domain.SELF_CARE, Domain.CONTROLLING_BEHAVIOUR, Domain.SOCIAL_EMOTIONAL, Domain.PLAYING,
    Domain.HEALTH, Domain.OTHER,
]


class State(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    ACCEPTED = "accepted", _("Accepted")
    SCHEDULED = "scheduled", _("Assessment scheduled")
    ASSESSED = "assessed", _("Assessed")
    CONCLUDED = "concluded", _("Concluded")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    DECLINED = "declined", _("Declined")


OPEN_STATES = (State.DRAFT, State.SUBMITTED, State.ACCEPTED, State.SCHEDULED, State.ASSESSED)
CLOSED_STATES = (State.CONCLUDED, State.WITHDRAWN, State.DECLINED)


class Referral(models.Model):
    class Kind(models.TextChoices):
        PMPK = "pmpk", _("Referral to the PMPK")
        EARLY_INTERVENTION = "early-intervention", _("Early-intervention referral")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.PMPK)
    learner = models.ForeignKey("learners.Learner", models.PROTECT, related_name="referrals", verbose_name=_("learner"))
    state = models.CharField(_("state"), max_length=12, choices=State.choices, default=State.DRAFT, db_index=True)
    receiving_organization = models.ForeignKey(
        Organization, models.PROTECT, related_name="referrals_received", verbose_name=_("referred to"),
        help_text=_("The territorial PMPK (or early-intervention service) of the child's district."))
    referring_organization = models.ForeignKey(
        Organization, models.PROTECT, null=True, blank=True, related_name="referrals_made", verbose_name=_("referring organization"),
        help_text=_("Empty when a parent refers their own child."))
    by_parent = models.BooleanField(_("referred by a parent"), default=False)
    referring_guardian = models.ForeignKey("learners.Guardian", models.PROTECT, null=True, blank=True, related_name="+",
                                           verbose_name=_("referring parent"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+",
                                   verbose_name=_("referred by"))
    reason = models.TextField(_("reason for the referral"), blank=True,
                              help_text=_("What worries you about the child's development or learning, and since when."))
    tried = models.TextField(_("what was tried"), blank=True,
                             help_text=_("Support, adaptations or consultations already tried, and how they worked."))
    consent = models.ForeignKey("learners.Consent", models.PROTECT, null=True, blank=True, related_name="+",
                                verbose_name=_("consent to the assessment"))
    appointment_at = models.DateTimeField(_("assessment date"), null=True, blank=True)
    appointment_place = models.CharField(_("place of the assessment"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True, db_index=True)
    accepted_at = models.DateTimeField(_("accepted"), null=True, blank=True)
    scheduled_at = models.DateTimeField(_("scheduled"), null=True, blank=True)
    assessed_at = models.DateTimeField(_("assessed"), null=True, blank=True)
    concluded_at = models.DateTimeField(_("concluded"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    close_reason = models.TextField(_("reason"), blank=True, help_text=_("Why the referral was withdrawn or declined."))
    is_synthetic = models.BooleanField(_("synthetic"), default=False)

    objects = VisibleQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("referral")
        verbose_name_plural = _("referrals")
        indexes = [
            models.Index(fields=["receiving_organization", "state"]),
            models.Index(fields=["referring_organization", "state"]),
            models.Index(fields=["learner", "state"]),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} #{self.pk}"

    def get_absolute_url(self):
        return reverse("referrals:detail", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    @property
    def referrer_label(self) -> str:
        if self.referring_organization_id:
            return str(self.referring_organization)
        return str(_("Parent or legal representative")) if self.by_parent else ""


class Observation(models.Model):
    """What a teacher or specialist observed about the child in one area of functioning."""

    referral = models.ForeignKey(Referral, models.PROTECT, related_name="observations", verbose_name=_("referral"))
    domain = models.CharField(_("area of functioning"), max_length=30, choices=Domain.choices)
    text = models.TextField(_("observation"))
    strengths = models.TextField(_("strengths"), blank=True, help_text=_("What the child does well in this area."))
    observed_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, related_name="+",
                                    verbose_name=_("observed by"))
    organization = models.ForeignKey(Organization, models.PROTECT, null=True, blank=True, related_name="+",
                                     verbose_name=_("organization"))
    recorded_at = models.DateTimeField(_("recorded"), default=timezone.now)

    objects = VisibleQuerySet.as_manager()

    class Meta:
        ordering = ["domain", "recorded_at", "id"]
        verbose_name = _("observation")
        verbose_name_plural = _("observations")

    def __str__(self):
        return f"{self.get_domain_display()}: {self.text[:40]}"


def attachment_path(instance, filename):
    """A random name (no personal data in paths) keeping only a known extension."""
    ext = os.path.splitext(filename or "")[1].lower()
    return f"referrals/{timezone.now():%Y}/{uuid.uuid4().hex}{ext}"


class Attachment(models.Model):
    """A document added to a referral (report, work sample, medical letter). Never served directly."""

    referral = models.ForeignKey(Referral, models.PROTECT, related_name="attachments", verbose_name=_("referral"))
    file = models.FileField(_("file"), upload_to=attachment_path, max_length=200)
    original_name = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(_("file type"), max_length=100)
    size = models.PositiveIntegerField(_("size in bytes"))
    description = models.CharField(_("description"), max_length=300, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, related_name="+",
                                    verbose_name=_("uploaded by"))
    uploaded_at = models.DateTimeField(_("uploaded"), default=timezone.now)

    objects = VisibleQuerySet.as_manager()

    class Meta:
        ordering = ["uploaded_at", "id"]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self):
        return self.original_name

    def get_absolute_url(self):
        return reverse("referrals:attachment", args=[self.pk])


class Concern(models.Model):
    """A developmental concern about a young child: what was noticed (by area), by whom, when, where."""

    class Reporter(models.TextChoices):
        HEALTH_WORKER = "health-worker", _("Health worker")
        SOCIAL_WORKER = "social-worker", _("Social worker")
        LOCAL_GOVERNMENT = "local-government", _("Local self-government officer")
        KINDERGARTEN = "kindergarten", _("Kindergarten or early-intervention staff")
        EDUCATION = "education", _("Other education staff")
        PARENT = "parent", _("Parent or legal representative")

    class Place(models.TextChoices):
        HOME = "home", _("At home (home visit)")
        HEALTH_FACILITY = "health-facility", _("At a health facility")
        KINDERGARTEN = "kindergarten", _("At a kindergarten or early-intervention service")
        COMMUNITY = "community", _("In the community")
        OTHER = "other", _("Elsewhere")

    learner = models.ForeignKey("learners.Learner", models.PROTECT, related_name="concerns", verbose_name=_("child"))
    noticed_on = models.DateField(_("noticed on"))
    place = models.CharField(_("where"), max_length=20, choices=Place.choices)
    place_detail = models.CharField(_("place details"), max_length=200, blank=True)
    reporter = models.CharField(_("noticed by"), max_length=20, choices=Reporter.choices)
    noticed = models.JSONField(_("what was noticed"), default=dict,
                               help_text=_("By area of functioning: {area code: what was noticed}."))
    summary = models.TextField(_("other remarks"), blank=True)
    organization = models.ForeignKey(Organization, models.PROTECT, null=True, blank=True, related_name="+",
                                     verbose_name=_("organization"))
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, related_name="+",
                                    verbose_name=_("recorded by"))
    recorded_at = models.DateTimeField(_("recorded"), default=timezone.now)
    referral = models.ForeignKey(Referral, models.PROTECT, null=True, blank=True, related_name="concerns",
                                 verbose_name=_("early-intervention referral"))
    is_synthetic = models.BooleanField(_("synthetic"), default=False)

    objects = VisibleQuerySet.as_manager()

    class Meta:
        ordering = ["-noticed_on", "-id"]
        verbose_name = _("developmental concern")
        verbose_name_plural = _("developmental concerns")

    def __str__(self):
        return f"{self.get_reporter_display()} · {self.noticed_on:%Y-%m-%d}"

    def get_absolute_url(self):
        return reverse("referrals:concern-detail", args=[self.pk])

    def noticed_items(self) -> list[tuple[str, str]]:
        labels = dict(Domain.choices)
        order = {code: i for i, code in enumerate(Domain.values)}
        return [(str(labels.get(k, k)), v) for k, v in sorted((self.noticed or {}).items(), key=lambda kv: order.get(kv[0], 99))]
