"""How agency registers, candidate pairs and outreach cases plug into the one access policy.

* An **import batch** and its **rows** (``Rec.REGISTER``: social-protection officers read and
  write, within their territory) are reached by the organization that imported them and by
  territory roles whose territory holds that organization — and a row also by the territory of
  the person's residence and through the learner it was linked to.
* A **candidate pair** is seen exactly where its imported row is seen through the row's own ties
  (the learner's side of a pair out of the reviewer's reach is shown without identifying values).
* A **pair of register rows** (the same child in two registers) is seen only where *both* rows are
  seen through their own ties under one grant; pages show a row's partners row by row, each
  through the rows' own policy, so a partner out of reach is simply not listed.
* An **outreach case** (``Rec.OUTREACH``: local self-government officers work them; district and
  regional officers and social protection read them) is reached by the territory of the case
  and by its assigned (or informed) organization — not through the learner, so a case passed on
  to another territory leaves the first one's work list. The child of an open case is reached by
  the case's territory (a learner link), so the officer can open the child's record.
"""

from django.db.models import Q

from birge.core import access
from birge.core.access import Rec

from .models import (
    OPEN_OUTREACH_STATES, ImportBatch, ImportedPerson, LearnerMerge, MatchLink, OutreachCase, PersonLink,
)


def _batch_org_q(org_ids) -> Q:
    return Q(organization_id__in=org_ids)


def _batch_territory_q(prefix) -> Q:
    return Q(organization__territory__code__startswith=prefix)


def _person_org_q(org_ids) -> Q:
    return Q(batch__organization_id__in=org_ids)


def _person_territory_q(prefix) -> Q:
    return Q(territory__code__startswith=prefix) | Q(batch__organization__territory__code__startswith=prefix)


def _pair_org_q(org_ids) -> Q:
    return Q(person__in=ImportedPerson.objects.filter(_person_org_q(org_ids)).values("pk"))


def _pair_territory_q(prefix) -> Q:
    return Q(person__in=ImportedPerson.objects.filter(_person_territory_q(prefix)).values("pk"))


def _rows_pair_q(rows) -> Q:
    return Q(person_a__in=rows.values("pk")) & Q(person_b__in=rows.values("pk"))


def _rows_pair_org_q(org_ids) -> Q:
    return _rows_pair_q(ImportedPerson.objects.filter(_person_org_q(org_ids)))


def _rows_pair_territory_q(prefix) -> Q:
    return _rows_pair_q(ImportedPerson.objects.filter(_person_territory_q(prefix)))


def _case_org_q(org_ids) -> Q:
    return Q(assigned_organization_id__in=org_ids) | Q(informed_organization_id__in=org_ids)


def _case_territory_q(prefix) -> Q:
    return Q(territory__code__startswith=prefix) | Q(assigned_organization__territory__code__startswith=prefix)


def _learners_with_open_case(prefix):
    return OutreachCase.objects.filter(_case_territory_q(prefix), state__in=OPEN_OUTREACH_STATES).values("learner_id")


access.register_learner_link("territory", _learners_with_open_case)

access.register(ImportBatch, Rec.REGISTER, learner_path="persons__learner", organization_q=_batch_org_q,
                organization_only=True, territory_q=_batch_territory_q, territory_only=True)
access.register(ImportedPerson, Rec.REGISTER, learner_path="learner", organization_q=_person_org_q,
                territory_q=_person_territory_q, sensitive=True)
access.register(MatchLink, Rec.REGISTER, learner_path="person__learner", organization_q=_pair_org_q,
                organization_only=True, territory_q=_pair_territory_q, territory_only=True, sensitive=True)
access.register(PersonLink, Rec.REGISTER, learner_path="person_a__learner", organization_q=_rows_pair_org_q,
                organization_only=True, territory_q=_rows_pair_territory_q, territory_only=True, sensitive=True)
access.register(OutreachCase, Rec.OUTREACH, organization_q=_case_org_q, organization_only=True,
                territory_q=_case_territory_q, territory_only=True)

# A merge is about the record kept (and reached through it); its merged record is shown only when in reach too.
access.register(LearnerMerge, Rec.LEARNER, learner_path="kept")
