"""Monitoring records: the indicator catalogue, the learner summary table, snapshots.

Nothing here holds a child's record. ``LearnerCube`` holds counts of learners
grouped by the disaggregation columns and condition flags; it is rebuilt from
the source records by :mod:`birge.monitoring.summary` and read only through the
engine, whose published figures always pass :mod:`birge.monitoring.disclosure`.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy as _


def _lang() -> str:
    return (get_language() or "ky")[:2]


class Indicator(models.Model):
    """One entry of the indicator catalogue (loaded from ``catalogue.json``)."""

    class Kind(models.TextChoices):
        PERCENT = "percent", _("Percentage")
        RATIO = "ratio", _("Ratio")
        COUNT = "count", _("Count")
        MEDIAN_DAYS = "median-days", _("Median days")
        PARITY = "parity-index", _("Parity index")

    class Direction(models.TextChoices):
        HIGHER_BETTER = "higher-better", _("Higher is better")
        LOWER_BETTER = "lower-better", _("Lower is better")
        NEUTRAL = "neutral", _("Neither higher nor lower is better")

    code = models.CharField(_("code"), max_length=20, unique=True)
    group = models.CharField(_("group"), max_length=30, blank=True)
    order = models.PositiveIntegerField(_("order"), default=0)
    name_ky = models.CharField(_("name in Kyrgyz"), max_length=300)
    name_ru = models.CharField(_("name in Russian"), max_length=300)
    name_en = models.CharField(_("name in English"), max_length=300)
    description_ky = models.TextField(_("description in Kyrgyz"), blank=True)
    description_ru = models.TextField(_("description in Russian"), blank=True)
    description_en = models.TextField(_("description in English"), blank=True)
    notes_ky = models.TextField(_("notes in Kyrgyz"), blank=True)
    notes_ru = models.TextField(_("notes in Russian"), blank=True)
    notes_en = models.TextField(_("notes in English"), blank=True)
    kind = models.CharField(_("aggregate kind"), max_length=20, choices=Kind.choices)
    unit = models.CharField(_("unit"), max_length=30, help_text=_("e.g. %, learners per FTE, days, index"))
    direction = models.CharField(_("direction"), max_length=20, choices=Direction.choices, default=Direction.NEUTRAL)
    numerator = models.JSONField(_("numerator definition"))
    denominator = models.JSONField(_("denominator definition"), null=True, blank=True)
    share_of = models.JSONField(
        _("share of"), default=list, blank=True,
        help_text=_("Disaggregations over which the denominator is the total (a distribution, e.g. by form)."),
    )
    disaggregations = models.JSONField(_("allowed disaggregations"), default=list)
    standard = models.JSONField(_("standard disaggregations"), default=list, help_text=_("Lists of disaggregations shown and benchmarked."))
    sources = models.JSONField(_("source record types"), default=list)
    sdg = models.CharField(_("SDG indicator"), max_length=20, blank=True)
    key = models.BooleanField(_("key indicator"), default=False, help_text=_("Shown on the dashboards."))
    is_active = models.BooleanField(_("active"), default=True)
    catalogue_version = models.CharField(_("catalogue version"), max_length=40)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["order", "code"]
        verbose_name = _("indicator")
        verbose_name_plural = _("indicators")

    def __str__(self):
        return f"{self.code} {self.name}"

    @property
    def name(self) -> str:
        return getattr(self, f"name_{_lang()}", "") or self.name_en

    @property
    def description(self) -> str:
        return getattr(self, f"description_{_lang()}", "") or self.description_en

    @property
    def notes(self) -> str:
        return getattr(self, f"notes_{_lang()}", "") or self.notes_en


class SummaryRefresh(models.Model):
    """One build of the learner summary table for a period."""

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    period = models.CharField(_("period"), max_length=40, db_index=True)
    start = models.DateField(_("period start"))
    end = models.DateField(_("period end"))
    reference_date = models.DateField(_("reference date"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(_("started"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    fingerprint = models.JSONField(_("source fingerprint"), default=dict)
    layout = models.CharField(_("layout"), max_length=64, help_text=_("Hash of the summary layout and the sources wired."))
    classifier_version = models.CharField(_("classifier version"), max_length=40, blank=True)
    rows = models.PositiveIntegerField(_("rows"), default=0)
    learners = models.PositiveIntegerField(_("learners"), default=0)
    seconds = models.FloatField(_("seconds"), default=0)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        ordering = ["-started_at"]
        verbose_name = _("summary refresh")
        verbose_name_plural = _("summary refreshes")

    def __str__(self):
        return f"{self.period} · {self.started_at:%Y-%m-%d %H:%M}"


class LearnerCube(models.Model):
    """Learners of a period counted by every disaggregation column and condition flag."""

    refresh = models.ForeignKey(SummaryRefresh, models.DO_NOTHING, related_name="+")
    region_id = models.BigIntegerField(null=True)
    district_id = models.BigIntegerField(null=True)
    organization_id = models.BigIntegerField(null=True)
    org_kind = models.CharField(max_length=30, null=True)
    urban = models.BooleanField(null=True)
    level = models.CharField(max_length=30, null=True)
    form = models.CharField(max_length=20, null=True)
    lang = models.CharField(max_length=5, null=True)
    sex = models.CharField(max_length=6, null=True)
    age_band = models.SmallIntegerField(null=True)
    category = models.CharField(max_length=10, null=True)
    flags = models.BigIntegerField(default=0)
    n = models.IntegerField()

    class Meta:
        verbose_name = _("learner summary row")
        verbose_name_plural = _("learner summary rows")
        indexes = [
            models.Index(fields=["refresh", "region_id"], name="mon_cube_region"),
            models.Index(fields=["refresh", "district_id"], name="mon_cube_district"),
            models.Index(fields=["refresh", "organization_id"], name="mon_cube_org"),
        ]


class IndicatorSnapshot(models.Model):
    """An indicator run frozen for a reporting date, with the classifier and catalogue versions used."""

    indicator = models.ForeignKey(Indicator, models.PROTECT, related_name="snapshots", verbose_name=_("indicator"))
    period = models.CharField(_("period"), max_length=40)
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))
    reference_date = models.DateField(_("reference date"))
    reporting_date = models.DateField(_("reporting date"))
    by = models.JSONField(_("disaggregations"), default=list)
    scope = models.CharField(_("scope"), max_length=60, default="national")
    classifier_version = models.CharField(_("classifier version"), max_length=40)
    catalogue_version = models.CharField(_("catalogue version"), max_length=40)
    definition = models.JSONField(_("definition"))
    result = models.JSONField(_("result"))
    as_of = models.DateTimeField(_("figures as of"))
    note = models.TextField(_("note"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+",
                                   verbose_name=_("created by"))

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("indicator snapshot")
        verbose_name_plural = _("indicator snapshots")

    def __str__(self):
        return f"{self.indicator.code} · {self.period} · {self.reporting_date:%Y-%m-%d}"
