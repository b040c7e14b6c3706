"""Registers from other agencies, their linkage to learners, and outreach to out-of-school children.

* :class:`ImportSource` — one agency feed (the MSEK / social-protection register of persons with
  disabilities, health early-identification referrals, a civil-registry extract, a school
  roster) with the column mapping saved for its files.
* :class:`ImportBatch` — one file (or one API delivery) with its provenance: source, file name,
  SHA-256 of the content (the same file is never imported twice), who, when, on which legal basis
  and for which purpose (``rules.md``: every query records both), row counts and the per-row report.
* :class:`ImportedPerson` — one row: the normalised fields, the row as read, the problems found
  (kept with the row), and where linkage put it.
* :class:`MatchLink` — one candidate pair (imported person × learner) from the linkage engine,
  with its score and per-field levels and weights: linked automatically, or waiting in the
  clerical review queue until a person accepts, rejects or marks it unsure (reversible).
* :class:`PersonLink` — two rows of different batches (registers) that the same engine found to
  be one child while neither has a learner: "the same child" from the link threshold, "possibly
  the same child" between the thresholds. When one of them gets a learner, the rows that are the
  same child follow it (a :class:`MatchLink` through the other register's row).
* :class:`OutreachCase` — an out-of-school child with a disability or a concern, assigned to the
  local self-government of residence, worked through named states to an outcome.

Nothing here is hard-deleted: batches are withdrawn, decisions undone, cases closed, each with a
reason, through ``services``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from birge.core import names
from birge.core.models import Organization, Territory
from birge.core.querysets import VisibleQuerySet
from birge.learners.models import Enrolment, Learner, Sex


class AgencyKind(models.TextChoices):
    DISABILITY_REGISTER = "disability-register", _("MSEK / social-protection register of persons with disabilities")
    HEALTH_REFERRALS = "health-referrals", _("Health early-identification referrals")
    CIVIL_REGISTRY = "civil-registry", _("Civil registry extract")
    SCHOOL_ROSTER = "school-roster", _("School roster")


class LegalBasis(models.TextChoices):
    LAW = "law", _("A duty or power set by a law or a government decree")
    AGREEMENT = "agreement", _("An inter-agency data exchange agreement")
    CONSENT = "consent", _("Written consent of the persons or their parents")


class Purpose(models.TextChoices):
    OUT_OF_SCHOOL = "out-of-school", _("Finding children with disabilities who are out of education")
    EARLY_IDENTIFICATION = "early-identification", _("Following up early-identification referrals")
    ENROLMENT_CHECK = "enrolment-check", _("Checking the identity and enrolment of learners")
    STATISTICS = "statistics", _("Official statistics (pseudonymised)")


class ImportSource(models.Model):
    """An agency feed and the column mapping its files use."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    kind = models.CharField(_("kind of register"), max_length=30, choices=AgencyKind.choices)
    description = models.TextField(_("description"), blank=True)
    column_mapping = models.JSONField(
        _("column mapping"), default=dict, blank=True,
        help_text=_("For each Birge field, the column heading the agency's files use for it."))
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["name"]
        verbose_name = _("import source")
        verbose_name_plural = _("import sources")

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("exchange:source-edit", args=[self.pk])


class ImportBatch(models.Model):
    class Status(models.TextChoices):
        IMPORTED = "imported", _("Imported, not linked yet")
        LINKED = "linked", _("Linked")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    class Via(models.TextChoices):
        PAGE = "page", _("File uploaded on the page")
        API_FILE = "api-file", _("File sent through the API")
        API_ROWS = "api-rows", _("Rows sent through the API")
        COMMAND = "command", _("Command line")

    source = models.ForeignKey(ImportSource, models.PROTECT, related_name="batches", verbose_name=_("source"))
    organization = models.ForeignKey(Organization, models.PROTECT, related_name="import_batches",
                                     verbose_name=_("imported by organization"))
    file_name = models.CharField(_("file name"), max_length=255)
    sha256 = models.CharField(_("SHA-256 of the content"), max_length=64, db_index=True)
    via = models.CharField(_("received"), max_length=10, choices=Via.choices, default=Via.PAGE)
    external_reference = models.CharField(
        _("message reference"), max_length=200, blank=True,
        help_text=_("The sender's reference, e.g. the Tunduk (X-Road) message id."))
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("imported by"))
    uploaded_at = models.DateTimeField(_("imported"), default=timezone.now, db_index=True)
    legal_basis = models.CharField(_("legal basis"), max_length=20, choices=LegalBasis.choices)
    legal_reference = models.CharField(
        _("act, agreement or consents"), max_length=300,
        help_text=_("Name, number and date of the act or agreement, or where the written consents are kept."))
    purpose = models.CharField(_("purpose"), max_length=30, choices=Purpose.choices)
    purpose_detail = models.TextField(_("purpose in detail"), blank=True)
    rows_total = models.PositiveIntegerField(_("rows in the file"), default=0)
    rows_imported = models.PositiveIntegerField(_("rows imported"), default=0)
    rows_rejected = models.PositiveIntegerField(_("rows rejected"), default=0)
    rows_with_warnings = models.PositiveIntegerField(_("rows with warnings"), default=0)
    encoding = models.CharField(_("encoding"), max_length=20, blank=True)
    report = models.JSONField(_("validation report"), default=dict, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.IMPORTED)
    linked_at = models.DateTimeField(_("linked"), null=True, blank=True)
    link_stats = models.JSONField(_("linkage statistics"), default=dict, blank=True)
    withdrawn_at = models.DateTimeField(_("withdrawn"), null=True, blank=True)
    withdraw_reason = models.TextField(_("reason for withdrawing"), blank=True)

    objects = VisibleQuerySet.as_manager()

    class Meta:
        ordering = ["-uploaded_at", "-id"]
        verbose_name = _("import batch")
        verbose_name_plural = _("import batches")

    def __str__(self):
        return str(_("Batch %(id)s · %(file)s")) % {"id": self.pk, "file": self.file_name}

    def get_absolute_url(self):
        return reverse("exchange:batch-detail", args=[self.pk])


class LinkState(models.TextChoices):
    NOT_LINKED = "not-linked", _("Not linked yet")
    LINKED = "linked", _("Linked to a learner")
    REVIEW = "review", _("Waiting for clerical review")
    NO_MATCH = "no-match", _("No learner found")


class LinkMethod(models.TextChoices):
    PIN = "pin", _("Exact: the same valid PIN, birth date and sex")
    PROBABILISTIC = "probabilistic", _("Probabilistic: names, birth date, sex and territory")
    CLERICAL = "clerical", _("Accepted by a reviewer")
    REGISTERED = "registered", _("Registered as a new learner")
    OTHER_REGISTER = "other-register", _("Through the same child's row in another register")


class ImportedPerson(models.Model):
    """One row of an import batch, normalised, with the row as read and its problems."""

    batch = models.ForeignKey(ImportBatch, models.CASCADE, related_name="persons", verbose_name=_("batch"))
    row_number = models.PositiveIntegerField(_("line in the file"))
    record_id = models.CharField(_("id in the source"), max_length=100, blank=True)
    pin = models.CharField(_("PIN"), max_length=14, blank=True, db_index=True)
    last_name = models.CharField(_("surname"), max_length=100, blank=True)
    first_name = models.CharField(_("given name"), max_length=100)
    patronymic = models.CharField(_("patronymic or уулу/кызы form"), max_length=100, blank=True)
    birth_date = models.DateField(_("birth date"))
    sex = models.CharField(_("sex"), max_length=6, choices=Sex.choices, blank=True)
    region = models.CharField(_("region as written"), max_length=200, blank=True)
    district = models.CharField(_("district as written"), max_length=200, blank=True)
    settlement = models.CharField(_("settlement as written"), max_length=200, blank=True)
    territory = models.ForeignKey(Territory, models.PROTECT, null=True, blank=True, related_name="+",
                                  verbose_name=_("territory of residence"))
    details = models.JSONField(_("register details"), default=dict, blank=True)
    raw = models.JSONField(_("row as read"), default=dict, blank=True)
    problems = models.JSONField(_("problems"), default=list, blank=True)
    link_state = models.CharField(_("linkage"), max_length=12, choices=LinkState.choices, default=LinkState.NOT_LINKED,
                                  db_index=True)
    learner = models.ForeignKey(Learner, models.PROTECT, null=True, blank=True, related_name="register_records",
                                verbose_name=_("linked learner"))
    link_method = models.CharField(_("linked by"), max_length=15, choices=LinkMethod.choices, blank=True)
    link_score = models.FloatField(_("match probability"), null=True, blank=True)
    search_key = models.CharField(max_length=400, editable=False, db_index=True, default="")

    objects = VisibleQuerySet.as_manager()

    class Meta:
        ordering = ["batch", "row_number"]
        verbose_name = _("imported person")
        verbose_name_plural = _("imported persons")
        indexes = [models.Index(fields=["batch", "link_state"]), models.Index(fields=["birth_date"])]

    def __str__(self):
        return self.full_name

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.last_name, self.first_name, self.patronymic) if p)

    def get_absolute_url(self):
        return reverse("exchange:person-detail", args=[self.pk])

    def save(self, *args, **kwargs):
        self.search_key = names.search_key(self.full_name)
        super().save(*args, **kwargs)


class Decision(models.TextChoices):
    """What a reviewer decides about a pair (not stored: the pair's state records it)."""

    ACCEPT = "accept", _("Accept: the same child")
    REJECT = "reject", _("Reject: different children")
    UNSURE = "unsure", _("Unsure: needs more information")


class MatchLink(models.Model):
    """A candidate pair from the linkage engine, and what became of it."""

    class State(models.TextChoices):
        LINKED = "linked", _("Linked automatically")
        PENDING = "pending", _("Waiting for review")
        ACCEPTED = "accepted", _("Accepted: the same child")
        REJECTED = "rejected", _("Rejected: different children")
        UNSURE = "unsure", _("Unsure: needs more information")
        WITHDRAWN = "withdrawn", _("Withdrawn with the batch")

    person = models.ForeignKey(ImportedPerson, models.CASCADE, related_name="candidates", verbose_name=_("imported person"))
    learner = models.ForeignKey(Learner, models.PROTECT, related_name="match_links", verbose_name=_("learner"))
    score = models.FloatField(_("match probability"))
    weight = models.FloatField(_("weight (log2 odds)"))
    method = models.CharField(_("method"), max_length=15, choices=LinkMethod.choices)
    reason = models.CharField(_("why it was sent to review"), max_length=200, blank=True)
    fields = models.JSONField(_("per-field levels and weights"), default=list)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, db_index=True)
    created_at = models.DateTimeField(_("found"), default=timezone.now)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+",
                                   verbose_name=_("decided by"))
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decision_reason = models.TextField(_("reason"), blank=True)
    via = models.ForeignKey(ImportedPerson, models.SET_NULL, null=True, blank=True, related_name="+",
                            verbose_name=_("through the register row"),
                            help_text=_("For a pair made through another register: the row of the same child that was "
                                        "linked to this learner."))

    objects = VisibleQuerySet.as_manager()

    class Meta:
        ordering = ["-score", "id"]
        verbose_name = _("candidate pair")
        verbose_name_plural = _("candidate pairs")
        constraints = [models.UniqueConstraint(fields=["person", "learner"], name="matchlink_pair_unique")]

    def __str__(self):
        return str(_("Pair %(id)s")) % {"id": self.pk}

    def get_absolute_url(self):
        return reverse("exchange:pair-detail", args=[self.pk])


class PersonLink(models.Model):
    """Two rows of different batches that the linkage engine found to be one child (neither had a learner).

    Stored once per unordered pair (``person_a`` is the row with the smaller id). The rows linked to
    each other from the link threshold form a group: the same child in several registers.
    """

    class State(models.TextChoices):
        LINKED = "linked", _("The same child")
        PENDING = "pending", _("Possibly the same child")
        WITHDRAWN = "withdrawn", _("Withdrawn with a batch")

    person_a = models.ForeignKey(ImportedPerson, models.CASCADE, related_name="person_links_a",
                                 verbose_name=_("register row"))
    person_b = models.ForeignKey(ImportedPerson, models.CASCADE, related_name="person_links_b",
                                 verbose_name=_("row in another register"))
    batch = models.ForeignKey(ImportBatch, models.CASCADE, related_name="person_links",
                              verbose_name=_("found when linking batch"))
    score = models.FloatField(_("match probability"))
    weight = models.FloatField(_("weight (log2 odds)"))
    method = models.CharField(_("method"), max_length=15, choices=LinkMethod.choices)
    reason = models.CharField(_("why it was not linked"), max_length=200, blank=True)
    fields = models.JSONField(_("per-field levels and weights"), default=list)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, db_index=True)
    created_at = models.DateTimeField(_("found"), default=timezone.now)
    withdrawn_at = models.DateTimeField(_("withdrawn"), null=True, blank=True)

    objects = VisibleQuerySet.as_manager()

    class Meta:
        ordering = ["-score", "id"]
        verbose_name = _("pair of register rows")
        verbose_name_plural = _("pairs of register rows")
        constraints = [
            models.UniqueConstraint(fields=["person_a", "person_b"], name="personlink_pair_unique"),
            models.CheckConstraint(condition=Q(person_a__lt=models.F("person_b")), name="personlink_pair_ordered"),
        ]

    def __str__(self):
        return str(_("Rows %(a)s and %(b)s")) % {"a": self.person_a_id, "b": self.person_b_id}

    def other(self, person_id: int) -> int:
        """The id of the pair's other row."""
        return self.person_b_id if person_id == self.person_a_id else self.person_a_id


class SameChildRelation(models.TextChoices):
    """How a row of another register relates to a given row (shown on the row, not stored)."""

    SAME = "same-child", _("The same child")
    POSSIBLY = "possibly-same-child", _("Possibly the same child")


class OutreachState(models.TextChoices):
    TO_CONTACT = "to-contact", _("To contact")
    CONTACTED = "contacted", _("Contacted")
    REFERRED_TO_PMPK = "referred-to-pmpk", _("Referred to the PMPK")
    ENROLLED = "enrolled", _("Enrolled")
    FAMILY_DECLINED = "family-declined", _("Family declined")
    MOVED = "moved", _("Moved away (passed on)")
    NOT_FOUND = "not-found", _("Not found")
    DECEASED = "deceased", _("Deceased")


OPEN_OUTREACH_STATES = (OutreachState.TO_CONTACT, OutreachState.CONTACTED, OutreachState.REFERRED_TO_PMPK)


class OutreachCase(models.Model):
    """An out-of-school child found in the registers, and the work to bring them into education."""

    class Ground(models.TextChoices):
        DISABILITY = "disability", _("Disability status")
        CONCERN = "concern", _("Developmental concern or health referral")

    learner = models.ForeignKey(Learner, models.PROTECT, related_name="outreach_cases", verbose_name=_("child"))
    ground = models.CharField(_("found because of"), max_length=12, choices=Ground.choices)
    found_in = models.ForeignKey(ImportedPerson, models.SET_NULL, null=True, blank=True, related_name="+",
                                 verbose_name=_("register record"))
    territory = models.ForeignKey(Territory, models.PROTECT, related_name="+", verbose_name=_("territory of residence"))
    assigned_organization = models.ForeignKey(Organization, models.PROTECT, related_name="outreach_cases",
                                              verbose_name=_("local self-government"))
    informed_organization = models.ForeignKey(Organization, models.PROTECT, null=True, blank=True, related_name="+",
                                              verbose_name=_("district education department"))
    state = models.CharField(_("state"), max_length=20, choices=OutreachState.choices, default=OutreachState.TO_CONTACT,
                             db_index=True)
    opened_at = models.DateTimeField(_("opened"), default=timezone.now)
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+",
                                  verbose_name=_("opened by"))
    contacted_at = models.DateTimeField(_("contacted"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    note = models.TextField(_("latest note"), blank=True)
    outcome_reason = models.TextField(_("reason"), blank=True)
    enrolment = models.ForeignKey(Enrolment, models.PROTECT, null=True, blank=True, related_name="+",
                                  verbose_name=_("enrolment"))
    moved_to = models.ForeignKey(Territory, models.PROTECT, null=True, blank=True, related_name="+",
                                 verbose_name=_("moved to"))
    previous_case = models.OneToOneField("self", models.PROTECT, null=True, blank=True, related_name="next_case",
                                         verbose_name=_("passed on from"))

    objects = VisibleQuerySet.as_manager()

    class Meta:
        ordering = ["-opened_at", "-id"]
        verbose_name = _("outreach case")
        verbose_name_plural = _("outreach cases")
        constraints = [
            models.UniqueConstraint(fields=["learner"], condition=Q(state__in=[s.value for s in OPEN_OUTREACH_STATES]),
                                    name="outreach_one_open_case_per_child"),
        ]
        indexes = [models.Index(fields=["assigned_organization", "state"])]

    def __str__(self):
        return str(_("Outreach case %(id)s")) % {"id": self.pk}

    def get_absolute_url(self):
        return reverse("exchange:case-detail", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_OUTREACH_STATES


class LearnerMerge(models.Model):
    """Two records of one child combined: every record of ``merged`` moved to ``kept``; reversible."""

    kept = models.ForeignKey(Learner, models.PROTECT, related_name="merges_kept", verbose_name=_("record kept"))
    merged = models.ForeignKey(Learner, models.PROTECT, related_name="merges_merged", verbose_name=_("record merged into it"))
    score = models.FloatField(_("match probability"), null=True, blank=True)
    moved = models.JSONField(_("records moved"), default=dict, blank=True,
                             help_text=_("For each kind of record, the ids moved from the merged record to the kept one."))
    pin_moved = models.BooleanField(_("PIN moved to the kept record"), default=False)
    reason = models.TextField(_("reason"))
    merged_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("merged by"))
    merged_at = models.DateTimeField(_("merged"), default=timezone.now)
    undone_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+",
                                  verbose_name=_("undone by"))
    undone_at = models.DateTimeField(_("undone"), null=True, blank=True)
    undo_reason = models.TextField(_("reason for undoing"), blank=True)

    objects = VisibleQuerySet.as_manager()

    class Meta:
        ordering = ["-merged_at", "-id"]
        verbose_name = _("learner merge")
        verbose_name_plural = _("learner merges")

    def __str__(self):
        return str(_("Merge %(id)s")) % {"id": self.pk}

    def get_absolute_url(self):
        return reverse("exchange:merge-detail", args=[self.pk])
