"""How learners' records plug into the one access policy (core/access.py)."""

from django.db.models import Q
from django.utils import timezone

from birge.core import access
from birge.core.access import Rec

from .models import (
    Assignment, Consent, Diagnosis, DisabilityStatus, Enrolment, Guardian, GuardianLink, Learner, PinChange,
)


def _current(qs, start="starts_on", end="ends_on"):
    today = timezone.localdate()
    return qs.filter(**{f"{start}__lte": today}).filter(Q(**{f"{end}__isnull": True}) | Q(**{f"{end}__gt": today}))  # the end day is the first day without it


def _org_learners(org_ids):
    return Enrolment.objects.filter(organization_id__in=org_ids, status=Enrolment.Status.ACTIVE).values("learner_id")


def _org_created(org_ids):
    return Learner.objects.filter(created_by_org_id__in=org_ids).values("pk")


def _org_assigned(org_ids):
    return _current(Assignment.objects.filter(organization_id__in=org_ids)).values("learner_id")


def _territory_residents(prefix):
    return Learner.objects.filter(territory__code__startswith=prefix).values("pk")


def _territory_enrolled(prefix):
    return Enrolment.objects.filter(
        organization__territory__code__startswith=prefix, status=Enrolment.Status.ACTIVE
    ).values("learner_id")


def _guardian_of(user_id):
    return _current(GuardianLink.objects.filter(guardian__user_id=user_id)).values("learner_id")


def _assigned_to(user_id):
    return _current(Assignment.objects.filter(user_id=user_id)).values("learner_id")


access.register_learner_link("organization", _org_learners)
access.register_learner_link("organization", _org_created)
access.register_learner_link("organization", _org_assigned)
access.register_learner_link("territory", _territory_residents)
access.register_learner_link("territory", _territory_enrolled)
access.register_learner_link("guardian", _guardian_of)
access.register_learner_link("assigned", _assigned_to)

access.register(Learner, Rec.LEARNER, learner_path="")
access.register(PinChange, Rec.LEARNER)
access.register(Assignment, Rec.LEARNER)
access.register(Guardian, Rec.GUARDIAN, learner_path="links__learner")
access.register(GuardianLink, Rec.GUARDIAN)
access.register(Consent, Rec.CONSENT)
access.register(DisabilityStatus, Rec.DISABILITY, sensitive=True)
access.register(Diagnosis, Rec.DIAGNOSIS, sensitive=True)
access.register(Enrolment, Rec.ENROLMENT)
