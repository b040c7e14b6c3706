"""Source record types, and whether each exists in this installation.

An indicator names the record types it is computed from. A record type is
*available* when its app is installed and its model is there; until then
every indicator that needs it answers "source not available: <record type>"
and shows no figure (never a zero).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Source:
    key: str
    label: object
    app: str  # the Django app that owns the records
    models: tuple[str, ...]  # "app_label.Model" candidates, the first found is used

    def model(self):
        # The app registry does not change once it is ready: look each source up once per process.
        if self.key not in _MODELS or not apps.ready:
            _MODELS[self.key] = self._find_model()
        return _MODELS[self.key]

    def _find_model(self):
        if not apps.is_installed(self.app):
            return None
        for label in self.models:
            try:
                return apps.get_model(label)
            except LookupError:
                continue
        return None

    @property
    def available(self) -> bool:
        return self.model() is not None


_MODELS: dict[str, object] = {}
SOURCES: dict[str, Source] = {
    s.key: s
    for s in [
        Source("organization", _("Organizations"), "birge.core", ("core.Organization",)),
        Source("membership", _("Staff memberships"), "birge.core", ("core.Membership",)),
        Source("learner", _("Learner identity"), "birge.learners", ("learners.Learner",)),
        Source("enrolment", _("Enrolment"), "birge.learners", ("learners.Enrolment",)),
        Source("disability", _("Disability status"), "birge.learners", ("learners.DisabilityStatus",)),
        Source("grade-history", _("Grade history by school year"), "birge.learners",
               ("learners.GradeHistory", "learners.EnrolmentYear")),
        Source("screening", _("Functioning screening"), "birge.screening",
               ("screening.Screening", "screening.FunctioningScreening", "screening.CFMScreening")),
        Source("referral", _("Referral to PMPK"), "birge.referrals", ("referrals.Referral",)),
        Source("conclusion", _("PMPK conclusion"), "birge.assessments", ("assessments.Conclusion",)),
        Source("consent", _("Consents"), "birge.learners", ("learners.Consent",)),
        Source("plan", _("Individual education plan"), "birge.plans", ("plans.IndividualPlan",)),
        Source("service", _("Services delivered"), "birge.support", ("support.ServiceSession",)),
        Source("device", _("Assistive devices"), "birge.support", ("support.DeviceRequest",)),
        Source("accessibility", _("Accessibility audits"), "birge.support", ("support.AccessibilityAudit",)),
        Source("training", _("Teacher training records"), "birge.support", ("support.TrainingRecord",)),
        Source("test-result", _("National test results and accommodations"), "birge.support",
               ("support.TestAccommodation", "support.TestResult")),
        Source("outreach", _("Outreach case"), "birge.exchange", ("exchange.OutreachCase",)),
    ]
}


def get(key: str) -> Source:
    return SOURCES[key]


def label(key: str) -> str:
    source = SOURCES.get(key)
    return str(source.label) if source else key


def missing(keys) -> list[str]:
    """The keys among ``keys`` whose records do not exist in this installation."""
    return [k for k in keys if k not in SOURCES or not SOURCES[k].available]
