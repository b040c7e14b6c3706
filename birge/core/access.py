"""The one access policy of Birge (DESIGN.md rule 1).

Who may see or change a record is decided here and nowhere else:

    role × jurisdiction (organization, territory, national)
         × relationship (guardian of, assigned specialist or tutor)
         × consent (a conclusion reaches an organization only when released)

``MATRIX`` says, for each role and record type, whether the role may read
(``r``) or read and write (``w``) such records; ``ROLE_JURISDICTION`` (in
``roles.py``) says how far: the records of learners linked to the
membership's organization, of learners within its territory, national, or
only of the learners the person is related to.

Apps register their personal-data models with :func:`register` and the ways a
learner is linked to an organization, a territory or a person with
:func:`register_learner_link`; querysets call :func:`restrict`. A record out of
reach is simply absent, so pages and API answer 404. A Django system check
(``birge.E001``) fails when a model holding personal data is not registered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import ObjectDoesNotExist
from django.db import models
from django.db.models import Q
from django.http import Http404
from django.utils.translation import gettext_lazy as _

from .roles import ROLE_JURISDICTION, Jurisdiction, Role


class Rec(models.TextChoices):
    """Record types the policy knows. New personal-data models map onto one."""

    LEARNER = "learner", _("Learner identity")
    GUARDIAN = "guardian", _("Guardians")
    CONSENT = "consent", _("Consents")
    DISABILITY = "disability", _("Disability status")
    DIAGNOSIS = "diagnosis", _("Medical diagnosis")
    ENROLMENT = "enrolment", _("Enrolment")
    SCREENING = "screening", _("Functioning screening")
    CONCERN = "concern", _("Developmental concern")
    REFERRAL = "referral", _("Referral to PMPK")
    ASSESSMENT = "assessment", _("PMPK assessment")
    CONCLUSION = "conclusion", _("PMPK conclusion")
    PLAN = "plan", _("Individual education plan")
    SERVICE = "service", _("Services delivered")
    DEVICE = "device", _("Assistive devices")
    OUTREACH = "outreach", _("Outreach case")
    REGISTER = "register", _("Agency register records")
    TEST_ACCOMMODATION = "test-accommodation", _("Test accommodations")


# Columns, in order, of the matrix below.
_COLS = [
    Rec.LEARNER, Rec.GUARDIAN, Rec.CONSENT, Rec.DISABILITY, Rec.DIAGNOSIS, Rec.ENROLMENT,
    Rec.SCREENING, Rec.CONCERN, Rec.REFERRAL, Rec.ASSESSMENT, Rec.CONCLUSION, Rec.PLAN,
    Rec.SERVICE, Rec.DEVICE, Rec.OUTREACH, Rec.REGISTER, Rec.TEST_ACCOMMODATION,
]  # fmt: skip
# - none · r read · w read and write. Reach is the role's jurisdiction.
#                                  lrn grd cns dis dx enr scr con ref asm ccl pln srv dev out reg tst
_TABLE = {
    Role.MINISTRY_ANALYST:          "-   -   -   -   -  -   -   -   -   -   -   -   -   -   -   -   -",
    Role.REGIONAL_OFFICER:          "r   -   -   -   -  r   -   -   r   -   -   r   r   r   r   -   -",
    Role.DISTRICT_OFFICER:          "r   -   -   -   -  r   -   -   r   -   -   r   r   r   r   -   -",
    Role.PMPK_CHAIR:                "w   w   w   r   w  r   w   r   w   w   w   r   -   r   -   -   r",
    Role.PMPK_MEMBER:               "w   w   w   r   w  r   w   r   w   w   w   r   -   r   -   -   r",
    Role.SCHOOL_COORDINATOR:        "w   w   w   w   -  w   w   w   w   -   r   w   w   w   -   -   w",
    Role.TEACHER:                   "r   -   -   -   -  r   w   w   w   -   -   r   -   -   -   -   r",
    Role.SPEECH_THERAPIST:          "r   r   -   r   -  r   w   w   r   -   r   w   w   r   -   -   r",
    Role.TYPHLOPEDAGOGUE:           "r   r   -   r   -  r   w   w   r   -   r   w   w   r   -   -   r",
    Role.SURDOPEDAGOGUE:            "r   r   -   r   -  r   w   w   r   -   r   w   w   r   -   -   r",
    Role.SPECIAL_PEDAGOGUE:         "r   r   -   r   -  r   w   w   r   -   r   w   w   r   -   -   r",
    Role.PSYCHOLOGIST:              "r   r   -   r   -  r   w   w   r   -   r   w   w   r   -   -   r",
    Role.SOCIAL_PEDAGOGUE:          "r   r   -   r   -  r   w   w   r   -   r   w   w   r   -   -   r",
    Role.TUTOR:                     "r   -   -   -   -  r   -   -   -   -   -   r   w   -   -   -   r",
    Role.HEALTH_WORKER:             "w   w   w   -   w  -   w   w   w   -   -   -   -   -   -   -   -",
    Role.SOCIAL_PROTECTION_OFFICER: "w   w   w   w   -  r   -   w   w   -   -   -   -   w   r   w   -",
    Role.LOCAL_GOVERNMENT_OFFICER:  "w   w   w   r   -  r   -   w   w   -   -   -   -   w   w   -   -",
    Role.TESTING_CENTRE_OFFICER:    "-   -   -   -   -  -   -   -   -   -   -   -   -   -   -   -   w",
    Role.PARENT:                    "r   r   w   r   r  r   r   w   w   r   r   w   r   r   -   -   r",
    Role.SYSTEM_ADMIN:              "-   -   -   -   -  -   -   -   -   -   -   -   -   -   -   -   -",
}  # fmt: skip

MATRIX: dict[str, dict[str, str]] = {
    role: dict(zip(_COLS, row.split(), strict=True)) for role, row in _TABLE.items()
}


@dataclass(frozen=True)
class Grant:
    """One active membership turned into a reach."""

    role: str
    reach: str  # a Jurisdiction value
    organization_id: int | None = None
    territory_prefix: str | None = None
    user_id: int | None = None


@dataclass
class Registration:
    model: type[models.Model]
    record_type: str
    learner_path: str  # "" for the learner itself, "learner" for records about one
    # Extra ways a record is tied to an organization (e.g. a referral's PMPK). Use
    # ``pk__in`` subqueries, not joins, so rows are never duplicated.
    organization_q: Callable[[list[int]], Q] | None = None
    # When set, only organization_q counts at organization level (consent-gated records).
    organization_only: bool = False
    # Relationship override (e.g. a conclusion reaches an assigned specialist only when released).
    relationship_q: Callable[[Grant, Callable[[str], Q]], Q] | None = None
    # Extra ways a record is tied to a territory (argument: a SOATE prefix), for records about
    # people who need not be learners yet (an agency register's rows, an outreach case).
    territory_q: Callable[[str], Q] | None = None
    # When set, only territory_q counts at territory level.
    territory_only: bool = False
    sensitive: bool = False


REGISTRY: dict[type[models.Model], Registration] = {}
# kind -> providers returning a queryset of learner ids for the argument.
_LEARNER_LINKS: dict[str, list[Callable]] = {"organization": [], "territory": [], "guardian": [], "assigned": []}
# Models that hold no personal data although they look as if they might, with the reason.
NOT_PERSONAL: dict[str, str] = {}


def register(model, record_type: str, learner_path: str = "learner", **options) -> None:
    REGISTRY[model] = Registration(model=model, record_type=record_type, learner_path=learner_path, **options)


def register_learner_link(kind: str, provider: Callable) -> None:
    """provider(argument) -> queryset of learner ids linked by ``kind``.

    organization: argument is a list of organization ids;
    territory: a SOATE prefix; guardian and assigned: a user id.
    """
    _LEARNER_LINKS[kind].append(provider)


def declare_not_personal(label: str, reason: str) -> None:
    NOT_PERSONAL[label] = reason


def grants(user) -> list[Grant]:
    """The reaches of a user's active memberships (cached on the user object)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return []
    cached = getattr(user, "_birge_grants", None)
    if cached is not None:
        return cached
    out = []
    for m in user.active_memberships():
        reach = ROLE_JURISDICTION.get(m.role, Jurisdiction.NONE)
        org = m.organization
        prefix = org.territory.prefix if (org and reach == Jurisdiction.TERRITORY) else None
        out.append(Grant(m.role, reach, org.pk if org else None, prefix, user.pk))
    user._birge_grants = out
    return out


def permission(role: str, record_type: str) -> str:
    return MATRIX.get(role, {}).get(record_type, "-")


def _learner_ids(kind: str, argument) -> Q:
    providers = _LEARNER_LINKS[kind]
    q = Q(pk__in=[])
    for provider in providers:
        q |= Q(pk__in=provider(argument))
    return q


def learner_scope_q(grant: Grant) -> Q:
    """Q on Learner for the learners a grant reaches (ignoring record type)."""
    if grant.reach == Jurisdiction.NATIONAL:
        return Q()
    if grant.reach == Jurisdiction.TERRITORY:
        return _learner_ids("territory", grant.territory_prefix)
    if grant.reach == Jurisdiction.ORGANIZATION:
        return _learner_ids("organization", [grant.organization_id])
    if grant.reach == Jurisdiction.RELATIONSHIP:
        kind = "guardian" if grant.role == Role.PARENT else "assigned"
        return _learner_ids(kind, grant.user_id)
    return Q(pk__in=[])


def _through(model, path: str, q: Q, model_learner) -> Q:
    """Move a Q on Learner onto a record through its learner path (never duplicating rows)."""
    if not path:
        return q
    learners = model_learner.objects.filter(q).values("pk")
    if "__" in path:  # through a to-many relation: a subquery keeps each row once
        return Q(pk__in=model._default_manager.filter(**{f"{path}__in": learners}).values("pk"))
    return Q(**{f"{path}__in": learners})


def grant_q(grant: Grant, reg: Registration) -> Q:
    from django.apps import apps

    learner_model = apps.get_model("learners", "Learner")
    via_learner = lambda q: _through(reg.model, reg.learner_path, q, learner_model)  # noqa: E731
    if grant.reach == Jurisdiction.NATIONAL:
        return Q()
    if grant.reach == Jurisdiction.ORGANIZATION and reg.organization_q is not None:
        own = reg.organization_q([grant.organization_id])
        return own if reg.organization_only else own | via_learner(learner_scope_q(grant))
    if grant.reach == Jurisdiction.RELATIONSHIP and reg.relationship_q is not None:
        return reg.relationship_q(grant, via_learner)
    if grant.reach == Jurisdiction.TERRITORY and reg.territory_q is not None:
        own = reg.territory_q(grant.territory_prefix)
        return own if reg.territory_only else own | via_learner(learner_scope_q(grant))
    return via_learner(learner_scope_q(grant))


def restrict(user, queryset: models.QuerySet, action: str = "read") -> models.QuerySet:
    """The part of ``queryset`` the user may read (or write, with action='write')."""
    reg = REGISTRY.get(queryset.model)
    if reg is None:
        raise LookupError(f"{queryset.model._meta.label} is not registered with the access policy")
    needed = {"read": ("r", "w"), "write": ("w",)}[action]
    q = None
    for grant in grants(user):
        if permission(grant.role, reg.record_type) not in needed:
            continue
        gq = grant_q(grant, reg)
        if gq == Q():  # national reach: everything
            return queryset
        q = gq if q is None else q | gq
    if q is None:
        return queryset.none()
    return queryset.filter(q)


def can(user, action: str, record_type: str) -> bool:
    """May the user do ``action`` on some records of this type at all (menus, buttons)?"""
    needed = {"read": ("r", "w"), "write": ("w",)}[action]
    return any(permission(g.role, record_type) in needed for g in grants(user))


def can_write(user, obj: models.Model) -> bool:
    """May the user change this particular record?"""
    model = type(obj)
    return restrict(user, model._default_manager.filter(pk=obj.pk), "write").exists()


def get_visible_or_404(user, queryset: models.QuerySet, action: str = "read", **lookup):
    """The one way views and the API fetch a record: missing and forbidden look alike."""
    try:
        return restrict(user, queryset, action).get(**lookup)
    except (ObjectDoesNotExist, ValueError, TypeError):
        raise Http404 from None


def grant_organizations(user, *roles) -> list[int]:
    """Ids of organizations where the user holds one of ``roles`` (all roles if none given)."""
    return [g.organization_id for g in grants(user) if g.organization_id and (not roles or g.role in roles)]
