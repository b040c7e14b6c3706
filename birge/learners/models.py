"""The child: identity, family, consent, disability status, enrolments."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from birge.core import names
from birge.core.models import Organization, Territory
from birge.core.querysets import VisibleQuerySet


class Sex(models.TextChoices):
    FEMALE = "female", _("Female")
    MALE = "male", _("Male")


class Learner(models.Model):
    """A person from birth to university. The PIN is an attribute, never the key."""

    pin = models.CharField(_("PIN"), max_length=14, blank=True, db_index=True)
    last_name = models.CharField(_("surname"), max_length=100, blank=True)
    first_name = models.CharField(_("given name"), max_length=100)
    patronymic = models.CharField(_("patronymic or уулу/кызы form"), max_length=100, blank=True)
    birth_date = models.DateField(_("birth date"))
    sex = models.CharField(_("sex"), max_length=6, choices=Sex.choices)
    territory = models.ForeignKey(Territory, models.PROTECT, related_name="learners", verbose_name=_("address (territory)"))
    address = models.CharField(_("street address"), max_length=300, blank=True)
    languages = models.CharField(_("languages"), max_length=40, blank=True, help_text=_("Comma-separated codes, e.g. ky,ru."))
    pin_mismatch_confirmed = models.BooleanField(
        _("PIN mismatch confirmed"), default=False,
        help_text=_("The PIN's birth date or sex differs from the entered values and an authorized user confirmed them."),
    )
    search_key = models.CharField(max_length=400, editable=False, db_index=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    created_by_org = models.ForeignKey(Organization, models.SET_NULL, null=True, blank=True, related_name="+", editable=False)
    archived_at = models.DateTimeField(_("archived"), null=True, blank=True)
    archive_reason = models.TextField(_("archive reason"), blank=True)
    merged_into = models.ForeignKey("self", models.PROTECT, null=True, blank=True, related_name="merged", editable=False)
    is_synthetic = models.BooleanField(_("synthetic"), default=False)

    objects = VisibleQuerySet.as_manager()

    class Meta:
        ordering = ["last_name", "first_name"]
        verbose_name = _("learner")
        verbose_name_plural = _("learners")
        constraints = [
            models.UniqueConstraint(fields=["pin"], condition=~Q(pin="") & Q(merged_into__isnull=True),
                                    name="learner_pin_unique"),
        ]
        indexes = [models.Index(fields=["birth_date"]), models.Index(fields=["territory", "birth_date"])]

    def __str__(self):
        return self.full_name

    def get_absolute_url(self) -> str:
        return reverse("learners:detail", args=[self.pk])

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.last_name, self.first_name, self.patronymic) if p)

    def age_on(self, day) -> int:
        years = day.year - self.birth_date.year
        if (day.month, day.day) < (self.birth_date.month, self.birth_date.day):
            years -= 1
        return years

    @property
    def age(self) -> int:
        return self.age_on(timezone.localdate())

    def save(self, *args, **kwargs):
        self.last_name = names.normalize_display(self.last_name)
        self.first_name = names.normalize_display(self.first_name)
        self.patronymic = names.normalize_display(self.patronymic)
        self.pin = (self.pin or "").strip()
        self.search_key = names.search_key(self.full_name)
        super().save(*args, **kwargs)


class PinChange(models.Model):
    """PIN history: a PIN can be changed by a legal procedure."""

    learner = models.ForeignKey(Learner, models.CASCADE, related_name="pin_history", verbose_name=_("learner"))
    old_pin = models.CharField(_("old PIN"), max_length=14, blank=True)
    new_pin = models.CharField(_("new PIN"), max_length=14, blank=True)
    changed_at = models.DateTimeField(_("changed"), default=timezone.now)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, related_name="+")
    reason = models.TextField(_("reason"), blank=True)

    objects = VisibleQuerySet.as_manager()

    class Meta:
        ordering = ["-changed_at"]
        verbose_name = _("PIN change")
        verbose_name_plural = _("PIN changes")


class Guardian(models.Model):
    """A parent, legal guardian or other family member; may have a user account."""

    last_name = models.CharField(_("surname"), max_length=100, blank=True)
    first_name = models.CharField(_("given name"), max_length=100)
    patronymic = models.CharField(_("patronymic or уулу/кызы form"), max_length=100, blank=True)
    pin = models.CharField(_("PIN"), max_length=14, blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    preferred_language = models.CharField(_("preferred language"), max_length=5, choices=settings.LANGUAGES, default="ky")
    user = models.OneToOneField(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="guardian",
                                verbose_name=_("user account"))
    search_key = models.CharField(max_length=400, editable=False, db_index=True, default="")

    objects = VisibleQuerySet.as_manager()

    class Meta:
        ordering = ["last_name", "first_name"]
        verbose_name = _("guardian")
        verbose_name_plural = _("guardians")

    def __str__(self):
        return self.full_name

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.last_name, self.first_name, self.patronymic) if p)

    def save(self, *args, **kwargs):
        self.last_name = names.normalize_display(self.last_name)
        self.first_name = names.normalize_display(self.first_name)
        self.patronymic = names.normalize_display(self.patronymic)
        self.pin = (self.pin or "").strip()
        self.search_key = names.search_key(self.full_name)
        super().save(*args, **kwargs)


class GuardianLink(models.Model):
    class Relation(models.TextChoices):
        MOTHER = "mother", _("Mother")
        FATHER = "father", _("Father")
        LEGAL_GUARDIAN = "legal-guardian", _("Legal guardian")
        OTHER = "other", _("Other relative or carer")

    learner = models.ForeignKey(Learner, models.CASCADE, related_name="guardian_links", verbose_name=_("learner"))
    guardian = models.ForeignKey(Guardian, models.CASCADE, related_name="links", verbose_name=_("guardian"))
    relation = models.CharField(_("relation"), max_length=20, choices=Relation.choices)
    is_legal_representative = models.BooleanField(_("legal representative"), default=True)
    starts_on = models.DateField(_("from"), default=timezone.localdate)
    ends_on = models.DateField(_("until"), null=True, blank=True)
    end_reason = models.TextField(_("reason for ending"), blank=True)

    objects = VisibleQuerySet.as_manager()

    class Meta:
        verbose_name = _("guardian link")
        verbose_name_plural = _("guardian links")
        constraints = [
            models.UniqueConstraint(fields=["learner", "guardian"], condition=Q(ends_on__isnull=True), name="guardian_link_active_unique"),
        ]

    def __str__(self):
        return f"{self.guardian} → {self.learner} ({self.get_relation_display()})"


class Consent(models.Model):
    """The consent register: purpose, scope, recipient, given by, when, how, withdrawn."""

    class Purpose(models.TextChoices):
        ASSESSMENT = "assessment", _("PMPK assessment")
        RELEASE_CONCLUSION = "release-conclusion", _("Release of a PMPK conclusion to an organization")
        SERVICES = "services", _("Special services")
        SHARING = "sharing", _("Sharing with an agency")
        DATA_PROCESSING = "data-processing", _("Processing of personal data")
        HANDOVER = "handover", _("Handover to a receiving organization")

    class Method(models.TextChoices):
        PAPER = "paper", _("Signed on paper (scanned)")
        IN_SYSTEM = "in-system", _("Given in the system")

    learner = models.ForeignKey(Learner, models.CASCADE, related_name="consents", verbose_name=_("learner"))
    purpose = models.CharField(_("purpose"), max_length=30, choices=Purpose.choices)
    scope = models.TextField(_("scope"), blank=True, help_text=_("What exactly may be done or shared."))
    recipient = models.ForeignKey(Organization, models.PROTECT, null=True, blank=True, related_name="consents_received",
                                  verbose_name=_("recipient organization"))
    given_by = models.ForeignKey(Guardian, models.PROTECT, null=True, blank=True, related_name="consents_given",
                                 verbose_name=_("given by"))
    given_by_learner = models.BooleanField(_("given by the learner (adult)"), default=False)
    given_at = models.DateTimeField(_("given"), default=timezone.now)
    method = models.CharField(_("how"), max_length=12, choices=Method.choices)
    document = models.FileField(_("scanned document"), upload_to="consents/%Y/", blank=True)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    withdrawn_at = models.DateTimeField(_("withdrawn"), null=True, blank=True)
    withdrawal_reason = models.TextField(_("reason for withdrawal"), blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, related_name="+", editable=False)

    objects = VisibleQuerySet.as_manager()

    class Meta:
        ordering = ["-given_at"]
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        indexes = [models.Index(fields=["learner", "purpose"])]

    def __str__(self):
        return f"{self.get_purpose_display()} · {self.given_at:%Y-%m-%d}"

    @property
    def is_active(self) -> bool:
        today = timezone.localdate()
        return self.withdrawn_at is None and (self.valid_until is None or self.valid_until >= today)

    def clean(self):
        if self.purpose in (self.Purpose.RELEASE_CONCLUSION, self.Purpose.HANDOVER, self.Purpose.SHARING) and not self.recipient_id:
            raise ValidationError({"recipient": _("A release or sharing consent names the receiving organization.")})
        if not self.given_by_id and not self.given_by_learner:
            raise ValidationError({"given_by": _("Say who gave the consent.")})


def active_consents(purpose: str, on=None):
    on = on or timezone.localdate()
    return Consent.objects.filter(purpose=purpose, withdrawn_at__isnull=True).filter(
        Q(valid_until__isnull=True) | Q(valid_until__gte=on)
    )


class DisabilityStatus(models.Model):
    """A status certified by the medico-social commission (MSEK); sensitive."""

    class Category(models.TextChoices):
        CHILD = "child", _("Child with limited health capabilities")
        GROUP_I = "group-1", _("Group I")
        GROUP_II = "group-2", _("Group II")
        GROUP_III = "group-3", _("Group III")

    learner = models.ForeignKey(Learner, models.CASCADE, related_name="disability_statuses", verbose_name=_("learner"))
    category = models.CharField(_("category"), max_length=10, choices=Category.choices)
    certifying_body = models.ForeignKey(Organization, models.PROTECT, null=True, blank=True, related_name="+",
                                        verbose_name=_("certifying body (MSEK)"))
    certificate_number = models.CharField(_("certificate number"), max_length=40, blank=True)
    starts_on = models.DateField(_("from"))
    ends_on = models.DateField(_("until"), null=True, blank=True)
    indefinite = models.BooleanField(_("indefinite"), default=False)
    reexamination_on = models.DateField(_("re-examination date"), null=True, blank=True)
    rehabilitation_programme = models.CharField(_("individual rehabilitation programme (IPR) reference"), max_length=100, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    close_reason = models.TextField(_("reason for closing"), blank=True)

    objects = VisibleQuerySet.as_manager()

    class Meta:
        ordering = ["-starts_on"]
        verbose_name = _("disability status")
        verbose_name_plural = _("disability statuses")
        constraints = [
            models.CheckConstraint(condition=Q(ends_on__isnull=True) | Q(ends_on__gte=models.F("starts_on")), name="disability_period"),
        ]

    def __str__(self):
        return f"{self.get_category_display()} ({self.starts_on:%Y-%m-%d})"

    def is_valid_on(self, day) -> bool:
        return self.closed_at is None and self.starts_on <= day and (self.indefinite or self.ends_on is None or self.ends_on >= day)

    def clean(self):
        errors = {}
        if self.indefinite and self.ends_on:
            errors["ends_on"] = _("An indefinite status has no end date.")
        if not self.indefinite and not self.ends_on:
            errors["ends_on"] = _("Give the end date, or mark the status indefinite.")
        if self.ends_on and self.starts_on and self.ends_on < self.starts_on:
            errors["ends_on"] = _("The end date is before the start date.")
        if self.learner_id and self.starts_on and self.category:
            adult = self.learner.age_on(self.starts_on) >= 18
            if adult and self.category == self.Category.CHILD:
                errors["category"] = _("From 18 years a disability group (I, II or III) is given.")
            if not adult and self.category != self.Category.CHILD:
                errors["category"] = _("Under 18 the category is a child with limited health capabilities.")
        if errors:
            raise ValidationError(errors)


class Diagnosis(models.Model):
    """Optional medical diagnosis codes (ICD-10), for health and PMPK roles only."""

    learner = models.ForeignKey(Learner, models.CASCADE, related_name="diagnoses", verbose_name=_("learner"))
    code = models.CharField(_("ICD-10 code"), max_length=10)
    note = models.CharField(_("note"), max_length=300, blank=True)
    recorded_on = models.DateField(_("recorded on"), default=timezone.localdate)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, related_name="+", editable=False)
    withdrawn_at = models.DateTimeField(_("withdrawn"), null=True, blank=True)

    objects = VisibleQuerySet.as_manager()

    class Meta:
        ordering = ["-recorded_on"]
        verbose_name = _("diagnosis")
        verbose_name_plural = _("diagnoses")


class Level(models.TextChoices):
    EARLY_INTERVENTION = "early-intervention", _("Early intervention")
    KINDERGARTEN = "kindergarten", _("Kindergarten")
    PRESCHOOL_PREPARATION = "preschool-preparation", _("Pre-school preparation")
    SCHOOL = "school", _("School")
    VOCATIONAL_PRIMARY = "vocational-primary", _("Primary vocational")
    VOCATIONAL_SECONDARY = "vocational-secondary", _("Secondary vocational")
    UNIVERSITY = "university", _("University")


class FormOfEducation(models.TextChoices):
    MAINSTREAM = "mainstream", _("Mainstream class")
    SEPARATE_CLASS = "separate-class", _("Separate (correctional) class")
    SPECIAL_SCHOOL = "special-school", _("Special school")
    BOARDING = "boarding", _("Boarding school")
    HOME = "home", _("Individual home-based education")
    FAMILY = "family", _("Family form")
    ONLINE = "online", _("Online school")


class Programme(models.TextChoices):
    GENERAL = "general", _("General programme")
    ADAPTED = "adapted", _("Adapted programme")
    INDIVIDUAL = "individual", _("Individual programme")


class Enrolment(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        COMPLETED = "completed", _("Completed")
        TRANSFERRED = "transferred", _("Transferred")
        DROPPED_OUT = "dropped-out", _("Dropped out")

    learner = models.ForeignKey(Learner, models.CASCADE, related_name="enrolments", verbose_name=_("learner"))
    organization = models.ForeignKey(Organization, models.PROTECT, related_name="enrolments", verbose_name=_("organization"))
    level = models.CharField(_("level"), max_length=30, choices=Level.choices)
    grade = models.PositiveSmallIntegerField(_("grade"), null=True, blank=True, help_text=_("School grade 1-12."))
    class_name = models.CharField(_("class or group"), max_length=40, blank=True)
    form = models.CharField(_("form of education"), max_length=20, choices=FormOfEducation.choices, default=FormOfEducation.MAINSTREAM)
    programme = models.CharField(_("programme"), max_length=20, choices=Programme.choices, default=Programme.GENERAL)
    with_tutor = models.BooleanField(_("with a tutor or assistant"), default=False)
    language = models.CharField(_("language of instruction"), max_length=5, blank=True)
    starts_on = models.DateField(_("from"))
    ends_on = models.DateField(_("until"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.ACTIVE)
    end_reason = models.TextField(_("reason"), blank=True)

    objects = VisibleQuerySet.as_manager()

    class Meta:
        ordering = ["-starts_on"]
        verbose_name = _("enrolment")
        verbose_name_plural = _("enrolments")
        constraints = [
            models.UniqueConstraint(fields=["learner", "level"], condition=Q(status="active"), name="enrolment_one_active_per_level"),
            models.CheckConstraint(condition=Q(ends_on__isnull=True) | Q(ends_on__gte=models.F("starts_on")), name="enrolment_period"),
            models.CheckConstraint(condition=Q(grade__isnull=True) | Q(grade__gte=1, grade__lte=12), name="enrolment_grade_range"),
        ]
        indexes = [models.Index(fields=["organization", "status"]), models.Index(fields=["status", "level"])]

    def __str__(self):
        return f"{self.organization} · {self.get_level_display()}"

    def clean(self):
        errors = {}
        if self.grade is not None and self.level != Level.SCHOOL:
            errors["grade"] = _("Only school enrolments have a grade.")
        if self.status != self.Status.ACTIVE and not self.ends_on:
            errors["ends_on"] = _("An ended enrolment has an end date.")
        if self.status == self.Status.DROPPED_OUT and not self.end_reason:
            errors["end_reason"] = _("Give the reason the learner dropped out.")
        if errors:
            raise ValidationError(errors)


class Assignment(models.Model):
    """A specialist or tutor assigned to a learner: the relationship the access policy reads."""

    class Kind(models.TextChoices):
        SPECIALIST = "specialist", _("Specialist")
        TUTOR = "tutor", _("Tutor / assistant")

    learner = models.ForeignKey(Learner, models.CASCADE, related_name="assignments", verbose_name=_("learner"))
    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="assignments", verbose_name=_("staff member"))
    organization = models.ForeignKey(Organization, models.PROTECT, related_name="+", verbose_name=_("organization"))
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    starts_on = models.DateField(_("from"), default=timezone.localdate)
    ends_on = models.DateField(_("until"), null=True, blank=True)
    end_reason = models.TextField(_("reason for ending"), blank=True)

    objects = VisibleQuerySet.as_manager()

    class Meta:
        verbose_name = _("assignment")
        verbose_name_plural = _("assignments")
        indexes = [models.Index(fields=["user", "ends_on"])]

    def __str__(self):
        return f"{self.user} → {self.learner}"
