"""PMPK assessment: sessions, findings, conclusions, the catalogue of recommendations, releases.

Under the 2025 PMPK rules (Cabinet resolution No. 680, ``shared/reference/rules.md``):
the conclusion is issued only to the family; it reaches an organization only
through a :class:`Release` backed by the family's consent, and the release makes
its recommendations that organization's obligations. An issued conclusion is
never edited: a correction or review issues a new one that supersedes it.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy as _

from birge.core.models import Organization
from birge.core.querysets import VisibleQuerySet
from birge.learners.models import FormOfEducation, Programme


# --- the catalogue (data, loaded from catalogue.json) -------------------------------------------------


class CatalogueItem(models.Model):
    """One recommendation a conclusion can name: a form or condition of education, a service,
    a device or a test accommodation. Kept as data (``catalogue.json``); codes are stable."""

    class Kind(models.TextChoices):
        FORM = "form", _("Form of education")
        CONDITION = "condition", _("Condition of education")
        SERVICE = "service", _("Special service")
        DEVICE = "device", _("Assistive device")
        TEST_ACCOMMODATION = "test-accommodation", _("Exam and test accommodation")

    class Unit(models.TextChoices):
        NONE = "", _("No frequency")
        MINUTES_WEEK = "minutes-week", _("Minutes per week")
        SESSIONS_MONTH = "sessions-month", _("Sessions per month")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, db_index=True)
    code = models.SlugField(_("code"), max_length=60, unique=True)
    name_ky = models.CharField(_("name in Kyrgyz"), max_length=200)
    name_ru = models.CharField(_("name in Russian"), max_length=200)
    name_en = models.CharField(_("name in English"), max_length=200)
    unit = models.CharField(_("frequency unit"), max_length=20, choices=Unit.choices, blank=True, default="")
    is_active = models.BooleanField(_("active"), default=True)
    position = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["kind", "position", "code"]
        verbose_name = _("catalogue item")
        verbose_name_plural = _("catalogue of recommendations")

    def __str__(self):
        return self.name

    @property
    def name(self) -> str:
        return self.name_in(get_language())

    def name_in(self, language: str | None) -> str:
        lang = (language or "ky")[:2]
        return getattr(self, f"name_{lang}", None) or self.name_ky


# --- PMPK sessions ------------------------------------------------------------------------------------


class Specialty(models.TextChoices):
    """The specialties of an interdisciplinary PMPK team."""

    PSYCHOLOGIST = "psychologist", _("Psychologist")
    SPECIAL_PEDAGOGUE = "special-pedagogue", _("Special pedagogue (defectologist)")
    SPEECH_THERAPIST = "speech-therapist", _("Speech therapist")
    TYPHLOPEDAGOGUE = "typhlopedagogue", _("Typhlopedagogue")
    SURDOPEDAGOGUE = "surdopedagogue", _("Surdopedagogue")
    SOCIAL_PEDAGOGUE = "social-pedagogue", _("Social pedagogue")
    PAEDIATRICIAN = "paediatrician", _("Paediatrician")
    NEUROLOGIST = "neurologist", _("Neurologist")
    PSYCHIATRIST = "psychiatrist", _("Child psychiatrist")
    OPHTHALMOLOGIST = "ophthalmologist", _("Ophthalmologist")
    AUDIOLOGIST = "audiologist", _("Audiologist (ENT)")
    ORTHOPAEDIST = "orthopaedist", _("Orthopaedist")
    OTHER = "other", _("Other specialist")


class Domain(models.TextChoices):
    """Areas of functioning: the CFM domains first, then the other areas a PMPK looks at."""

    SEEING = "seeing", _("Seeing")
    HEARING = "hearing", _("Hearing")
    WALKING = "walking", _("Walking and moving")
    FINE_MOTOR = "fine-motor", _("Fine motor skills")
    SELF_CARE = "self-care", _("Self-care")
    COMMUNICATION = "communication", _("Communication (understanding and being understood)")
    LEARNING = "learning", _("Learning")
    REMEMBERING = "remembering", _("Remembering")
    CONCENTRATING = "concentrating", _("Concentrating")
    ACCEPTING_CHANGE = "accepting-change", _("Accepting change")
    CONTROLLING_BEHAVIOUR = "controlling-behaviour", _("Controlling behaviour")
    MAKING_FRIENDS = "making-friends", _("Making friends")
    PLAYING = "playing", _("Playing")
    ANXIETY = "anxiety", _("Anxiety")
    DEPRESSION = "depression", _("Depression")
    # other areas
    SPEECH_LANGUAGE = "speech-language", _("Speech and language")
    COGNITIVE = "cognitive", _("Thinking and cognitive development")
    ACADEMIC = "academic", _("Reading, writing and counting")
    SOCIAL_EMOTIONAL = "social-emotional", _("Social and emotional development")
    HEALTH = "health", _("Health and physical development")
    FAMILY = "family", _("Family and living situation")
    OTHER = "other", _("Other area")


CFM_DOMAINS = frozenset({
    Domain.SEEING, Domain.HEARING, Domain.WALKING, Domain.FINE_MOTOR, Domain.SELF_CARE, Domain.COMMUNICATION,
    Domain.LEARNING, Domain.REMEMBERING, Domain.CONCENTRATING, Domain.ACCEPTING_CHANGE, Domain.CONTROLLING_BEHAVIOUR,
    Domain.MAKING_FRIENDS, Domain.PLAYING, Domain.ANXIETY, Domain.DEPRESSION,
})


class Difficulty(models.TextChoices):
    """The degree of difficulty, in the CFM's words (meanings, never numbers)."""

    NOT_ASSESSED = "", _("Not rated")
    NONE = "no_difficulty", _("No difficulty")
    SOME = "some_difficulty", _("Some difficulty")
    A_LOT = "a_lot_of_difficulty", _("A lot of difficulty")
    CANNOT = "cannot_do_at_all", _("Cannot do at all")


class Source(models.TextChoices):
    """What the PMPK based its findings on (the observations used)."""

    OBSERVATION = "observation", _("Observation during the session")
    PLAY = "play", _("Observation in play or activity")
    CONVERSATION = "conversation", _("Conversation with the child")
    FAMILY = "family", _("Conversation with the family")
    SCREENING = "screening", _("Functioning screening (CFM) results")
    SCHOOL_REPORT = "school-report", _("Report from the kindergarten or school")
    WORK_SAMPLES = "work-samples", _("Samples of the child's work")
    TESTS = "tests", _("Standardised tests or tasks")
    MEDICAL = "medical", _("Medical documents")
    PREVIOUS = "previous", _("Previous PMPK conclusion")


class AssessmentSession(models.Model):
    """A PMPK session for one referral: when and where, who sat, who came, what was found."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        HELD = "held", _("Held")
        CANCELLED = "cancelled", _("Cancelled")

    class Mode(models.TextChoices):
        IN_PERSON = "in-person", _("In person")
        REMOTE = "remote", _("Remote (video call)")

    referral = models.ForeignKey("referrals.Referral", models.PROTECT, related_name="assessment_sessions",
                                 verbose_name=_("referral"))
    learner = models.ForeignKey("learners.Learner", models.PROTECT, related_name="assessment_sessions",
                                verbose_name=_("learner"))
    pmpk = models.ForeignKey(Organization, models.PROTECT, related_name="assessment_sessions", verbose_name=_("PMPK"))
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.SCHEDULED, db_index=True)
    scheduled_at = models.DateTimeField(_("date and time"))
    mode = models.CharField(_("how"), max_length=12, choices=Mode.choices, default=Mode.IN_PERSON)
    place = models.CharField(_("place"), max_length=300, blank=True,
                             help_text=_("The address and room, for a session in person."))
    remote_details = models.CharField(_("how to join"), max_length=300, blank=True,
                                      help_text=_("The link or phone number, for a remote session."))
    family_invited_at = models.DateTimeField(_("family invited"), null=True, blank=True)
    invitation_note = models.TextField(_("note to the family"), blank=True)
    parent_present = models.BooleanField(_("parent or legal representative present"), null=True, blank=True)
    attendance_note = models.TextField(_("attendance note"), blank=True)
    sources = models.JSONField(_("observations used"), default=list, blank=True)
    observations = models.TextField(_("observations"), blank=True)
    held_at = models.DateTimeField(_("held"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled"), null=True, blank=True)
    cancel_reason = models.TextField(_("reason for cancelling"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, related_name="+", editable=False)

    objects = VisibleQuerySet.as_manager()

    class Meta:
        ordering = ["-scheduled_at"]
        verbose_name = _("PMPK session")
        verbose_name_plural = _("PMPK sessions")
        indexes = [models.Index(fields=["pmpk", "status", "scheduled_at"])]

    def __str__(self):
        return f"{self.learner} · {timezone.localtime(self.scheduled_at):%Y-%m-%d %H:%M}"

    def get_absolute_url(self):
        return reverse("assessments:session-detail", args=[self.pk])

    def get_sources_display(self) -> list[str]:
        labels = dict(Source.choices)
        return [str(labels.get(code, code)) for code in self.sources or []]

    def clean(self):
        errors = {}
        if self.mode == self.Mode.IN_PERSON and not (self.place or "").strip():
            errors["place"] = _("Say where the session takes place.")
        if self.mode == self.Mode.REMOTE and not (self.remote_details or "").strip():
            errors["remote_details"] = _("Say how the family joins the remote session.")
        bad = [s for s in (self.sources or []) if s not in Source.values]
        if bad:
            errors["sources"] = _("Unknown source: %(codes)s.") % {"codes": ", ".join(map(str, bad))}
        if errors:
            raise ValidationError(errors)


class SessionMember(models.Model):
    """A commission member who sat in the session, with the specialty they brought."""

    session = models.ForeignKey(AssessmentSession, models.CASCADE, related_name="members", verbose_name=_("session"))
    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="pmpk_sessions",
                             verbose_name=_("member"))
    specialty = models.CharField(_("specialty"), max_length=30, choices=Specialty.choices)
    is_chair = models.BooleanField(_("chairs the session"), default=False)

    objects = VisibleQuerySet.as_manager()

    class Meta:
        ordering = ["-is_chair", "specialty", "id"]
        verbose_name = _("session member")
        verbose_name_plural = _("session members")
        constraints = [models.UniqueConstraint(fields=["session", "user"], name="session_member_once")]

    def __str__(self):
        return f"{self.user} ({self.get_specialty_display()})"


class Finding(models.Model):
    """One specialist's finding about one area of the child's functioning."""

    session = models.ForeignKey(AssessmentSession, models.CASCADE, related_name="findings", verbose_name=_("session"))
    member = models.ForeignKey(SessionMember, models.PROTECT, related_name="findings", verbose_name=_("specialist"))
    domain = models.CharField(_("area of functioning"), max_length=30, choices=Domain.choices)
    difficulty = models.CharField(_("degree of difficulty"), max_length=30, choices=Difficulty.choices, blank=True, default="")
    text = models.TextField(_("finding"))
    strengths = models.TextField(_("strengths"), blank=True, help_text=_("What the child does well in this area."))
    recorded_at = models.DateTimeField(_("recorded"), default=timezone.now)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, related_name="+", editable=False)

    objects = VisibleQuerySet.as_manager()

    class Meta:
        ordering = ["member__specialty", "domain", "id"]
        verbose_name = _("finding")
        verbose_name_plural = _("findings")

    def __str__(self):
        return f"{self.get_domain_display()}: {self.text[:40]}"


# --- conclusions ----------------------------------------------------------------------------------------


class IssuedConclusionError(ValidationError):
    """An issued conclusion (or an item of one) was about to be changed."""


class Conclusion(models.Model):
    """The PMPK's structured conclusion. Issued to the family; never edited after issue."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        ISSUED = "issued", _("Issued")
        SUPERSEDED = "superseded", _("Superseded")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    class Language(models.TextChoices):
        KY = "ky", _("Kyrgyz")
        RU = "ru", _("Russian")

    # Fields that may still change once the conclusion is issued (the transitions themselves).
    AFTER_ISSUE = frozenset({"status", "withdrawn_at", "withdrawn_by", "withdrawal_reason"})

    learner = models.ForeignKey("learners.Learner", models.PROTECT, related_name="conclusions", verbose_name=_("learner"))
    referral = models.ForeignKey("referrals.Referral", models.PROTECT, null=True, blank=True, related_name="conclusions",
                                 verbose_name=_("referral"))
    session = models.ForeignKey(AssessmentSession, models.PROTECT, null=True, blank=True, related_name="conclusions",
                                verbose_name=_("session"))
    pmpk = models.ForeignKey(Organization, models.PROTECT, related_name="conclusions", verbose_name=_("PMPK"))
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.DRAFT, db_index=True)
    number = models.CharField(_("number"), max_length=40, blank=True, default="")
    issued_at = models.DateTimeField(_("issued"), null=True, blank=True)
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+",
                                  verbose_name=_("signed by (chair)"))
    programme = models.CharField(_("recommended programme"), max_length=20, choices=Programme.choices,
                                 default=Programme.GENERAL)
    recommended_form = models.CharField(_("recommended form of education"), max_length=20, choices=FormOfEducation.choices,
                                        default=FormOfEducation.MAINSTREAM)
    with_tutor = models.BooleanField(_("with a tutor or assistant"), default=False)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    next_review_on = models.DateField(_("next review"), null=True, blank=True)
    family_language = models.CharField(_("language of the document"), max_length=2, choices=Language.choices,
                                       default=Language.KY, help_text=_("The family chooses Kyrgyz or Russian."))
    supersedes = models.ForeignKey("self", models.PROTECT, null=True, blank=True, related_name="superseded_by",
                                   verbose_name=_("supersedes"))
    summary = models.TextField(_("summary of the findings"), blank=True)
    withdrawn_at = models.DateTimeField(_("withdrawn"), null=True, blank=True)
    withdrawn_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+",
                                     editable=False)
    withdrawal_reason = models.TextField(_("reason for withdrawal"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, related_name="+", editable=False)

    objects = VisibleQuerySet.as_manager()

    class Meta:
        ordering = ["-issued_at", "-id"]
        verbose_name = _("PMPK conclusion")
        verbose_name_plural = _("PMPK conclusions")
        constraints = [
            models.UniqueConstraint(fields=["number"], condition=~Q(number=""), name="conclusion_number_unique"),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(issued_at__isnull=False, issued_by__isnull=False) | Q(status="withdrawn"),
                name="conclusion_issued_signed",
            ),
        ]
        indexes = [models.Index(fields=["learner", "status"]), models.Index(fields=["pmpk", "status"])]

    def __str__(self):
        return self.number or str(_("Draft conclusion"))

    def get_absolute_url(self):
        return reverse("assessments:conclusion-detail", args=[self.pk])

    @property
    def is_draft(self) -> bool:
        return self.status == self.Status.DRAFT

    def clean(self):
        errors = {}
        if self.valid_until and self.next_review_on and self.next_review_on > self.valid_until:
            errors["next_review_on"] = _("The next review is due no later than the conclusion's end of validity.")
        if self.supersedes_id and self.learner_id and self.supersedes.learner_id != self.learner_id:
            errors["supersedes"] = _("A conclusion supersedes only a conclusion about the same learner.")
        if errors:
            raise ValidationError(errors)

    def save(self, *args, **kwargs):
        """The model-level guard: after issue only the transition fields may change."""
        if self.pk is not None:
            stored = type(self)._default_manager.filter(pk=self.pk).first()
            if stored is not None and stored.status != self.Status.DRAFT:
                changed = [
                    f.attname for f in self._meta.concrete_fields
                    if f.attname not in self.AFTER_ISSUE and f.name not in self.AFTER_ISSUE
                    and getattr(stored, f.attname) != getattr(self, f.attname)
                ]
                if changed:
                    raise IssuedConclusionError(
                        _("An issued conclusion is never edited. Issue a new conclusion that supersedes it."))
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise IssuedConclusionError(_("A conclusion is not deleted; withdraw it with a reason."))


class ConclusionItem(models.Model):
    """One recommendation from the catalogue, with its frequency for a service."""

    conclusion = models.ForeignKey(Conclusion, models.CASCADE, related_name="items", verbose_name=_("conclusion"))
    catalogue = models.ForeignKey(CatalogueItem, models.PROTECT, related_name="+", verbose_name=_("recommendation"))
    kind = models.CharField(_("kind"), max_length=20, choices=CatalogueItem.Kind.choices, editable=False)
    minutes_per_week = models.PositiveSmallIntegerField(_("minutes per week"), null=True, blank=True)
    sessions_per_month = models.PositiveSmallIntegerField(_("sessions per month"), null=True, blank=True)
    detail = models.CharField(_("detail"), max_length=500, blank=True)
    position = models.PositiveSmallIntegerField(_("order"), default=0)

    objects = VisibleQuerySet.as_manager()

    class Meta:
        ordering = ["conclusion", "kind", "position", "id"]
        verbose_name = _("conclusion item")
        verbose_name_plural = _("conclusion items")
        constraints = [models.UniqueConstraint(fields=["conclusion", "catalogue"], name="conclusion_item_once")]

    def __str__(self):
        return str(self.catalogue)

    @property
    def frequency(self) -> int | None:
        return self.minutes_per_week if self.minutes_per_week is not None else self.sessions_per_month

    def clean(self):
        errors = {}
        if not self.catalogue_id:
            return
        item = self.catalogue
        self.kind = item.kind
        unit = item.unit
        if unit == CatalogueItem.Unit.MINUTES_WEEK:
            if not self.minutes_per_week:
                errors["minutes_per_week"] = _("Give the minutes per week for this service.")
            elif self.minutes_per_week > 2400:
                errors["minutes_per_week"] = _("A week holds at most 2,400 minutes of service.")
            if self.sessions_per_month is not None:
                errors["sessions_per_month"] = _("This service is given in minutes per week, not sessions per month.")
        elif unit == CatalogueItem.Unit.SESSIONS_MONTH:
            if not self.sessions_per_month:
                errors["sessions_per_month"] = _("Give the sessions per month for this service.")
            elif self.sessions_per_month > 62:
                errors["sessions_per_month"] = _("At most 62 sessions per month.")
            if self.minutes_per_week is not None:
                errors["minutes_per_week"] = _("This service is given in sessions per month, not minutes per week.")
        elif self.minutes_per_week is not None or self.sessions_per_month is not None:
            errors["catalogue"] = _("Only a service has a frequency.")
        if errors:
            raise ValidationError(errors)

    def _guard(self):
        status = Conclusion.objects.filter(pk=self.conclusion_id).values_list("status", flat=True).first()
        if status is not None and status != Conclusion.Status.DRAFT:
            raise IssuedConclusionError(_("An issued conclusion is never edited. Issue a new conclusion that supersedes it."))

    def save(self, *args, **kwargs):
        self._guard()
        if self.catalogue_id and not self.kind:
            self.kind = self.catalogue.kind
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        self._guard()
        return super().delete(*args, **kwargs)


# --- releases -----------------------------------------------------------------------------------------


class Release(models.Model):
    """The family releases an issued conclusion to an organization, with consent to that organization."""

    conclusion = models.ForeignKey(Conclusion, models.PROTECT, related_name="releases", verbose_name=_("conclusion"))
    organization = models.ForeignKey(Organization, models.PROTECT, related_name="conclusion_releases",
                                     verbose_name=_("organization"))
    consent = models.ForeignKey("learners.Consent", models.PROTECT, related_name="releases", verbose_name=_("consent"))
    released_at = models.DateTimeField(_("released"), default=timezone.now)
    released_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, related_name="+",
                                    verbose_name=_("released by"))
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+",
                                   editable=False)
    revoke_reason = models.TextField(_("reason for revoking"), blank=True)

    objects = VisibleQuerySet.as_manager()

    class Meta:
        ordering = ["-released_at"]
        verbose_name = _("release of a conclusion")
        verbose_name_plural = _("releases of conclusions")
        constraints = [
            models.UniqueConstraint(fields=["conclusion", "organization"], condition=Q(revoked_at__isnull=True),
                                    name="release_once_per_organization"),
        ]

    def __str__(self):
        return f"{self.conclusion} → {self.organization}"

    def get_absolute_url(self):
        return reverse("assessments:conclusion-detail", args=[self.conclusion_id])

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and self.consent.is_active


class Obligation(models.Model):
    """A recommended service or device that a release made an organization's obligation.

    One row per (release, item): the record its ``service_start`` or ``device_delivery`` clock
    runs about (the plan's own clock, ``release_to_plan``, runs about the release itself).
    """

    class Kind(models.TextChoices):
        SERVICE = "service", _("Arrange a service")
        DEVICE = "device", _("Request a device")

    release = models.ForeignKey(Release, models.PROTECT, related_name="obligations", verbose_name=_("release"))
    item = models.ForeignKey(ConclusionItem, models.PROTECT, related_name="obligations", verbose_name=_("recommendation"))
    catalogue = models.ForeignKey(CatalogueItem, models.PROTECT, related_name="+", verbose_name=_("catalogue item"))
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    learner = models.ForeignKey("learners.Learner", models.PROTECT, related_name="+", verbose_name=_("learner"))
    organization = models.ForeignKey(Organization, models.PROTECT, related_name="+", verbose_name=_("organization"))
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    objects = VisibleQuerySet.as_manager()

    class Meta:
        ordering = ["release", "kind", "id"]
        verbose_name = _("obligation")
        verbose_name_plural = _("obligations")
        constraints = [models.UniqueConstraint(fields=["release", "item"], name="obligation_once_per_release")]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.catalogue}"

    def get_absolute_url(self):
        return reverse("assessments:conclusion-detail", args=[self.release.conclusion_id])
