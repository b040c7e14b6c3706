"""Whose figures a user sees: the monitoring jurisdiction, from ``access.grants(user)``.

Monitoring shows aggregates only, never a child's record, so it reads the
source tables directly and restricts *which* aggregates a user gets:

- ministry analyst: national;
- regional / district officer: the territory of their department (its SOATE prefix);
- school coordinator: their organization;
- PMPK chair: the territory their commission serves (a territorial PMPK its
  district or region, the republican PMPK the whole country).

Other roles have no monitoring jurisdiction (menus hide it; pages answer 404).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q
from django.http import Http404
from django.utils.translation import gettext as _

from birge.core import access
from birge.core.models import Organization, Territory
from birge.core.roles import Jurisdiction, OrgKind, Role

MONITORING_ROLES = frozenset(
    {Role.MINISTRY_ANALYST, Role.REGIONAL_OFFICER, Role.DISTRICT_OFFICER, Role.SCHOOL_COORDINATOR, Role.PMPK_CHAIR}
)
# Roles that may freeze snapshots and start a refresh of the summaries.
STEWARD_ROLES = frozenset({Role.MINISTRY_ANALYST})


@dataclass(frozen=True)
class Scope:
    kind: str  # national | region | district | organization
    key: str
    label: str
    territory_id: int | None = None
    territory_code: str = ""
    organization_id: int | None = None
    organization_territory_code: str = ""

    def q(self) -> Q:
        """A filter on rows carrying region_id / district_id / organization_id."""
        if self.kind == "national":
            return Q()
        if self.kind == "region":
            return Q(region_id=self.territory_id)
        if self.kind == "district":
            return Q(district_id=self.territory_id)
        return Q(organization_id=self.organization_id)

    @property
    def prefix(self) -> str:
        if self.kind == "region":
            return self.territory_code[:5]
        if self.kind == "district":
            return self.territory_code[:8]
        return ""

    def contains(self, other: "Scope") -> bool:
        if self.kind == "national":
            return True
        if self.kind == "organization":
            return other.kind == "organization" and other.organization_id == self.organization_id
        if other.kind == "national":
            return False
        code = other.territory_code if other.kind != "organization" else other.organization_territory_code
        if other.kind == "region" and self.kind == "district":
            return False
        return code.startswith(self.prefix)

    @property
    def drill_dimension(self) -> str | None:
        """The next level down: national → region → district → organization."""
        return {"national": "region", "region": "district", "district": "organization"}.get(self.kind)


def national() -> Scope:
    return Scope("national", "national", _("Kyrgyz Republic"))


def for_territory(unit: Territory) -> Scope:
    if unit.level in Territory.TOP_LEVELS:
        return Scope("region", f"t:{unit.code}", unit.name, unit.pk, unit.code)
    if unit.level in Territory.DISTRICT_LEVELS:
        return Scope("district", f"t:{unit.code}", unit.name, unit.pk, unit.code)
    raise ValueError("monitoring scopes are regions, districts or organizations")


def for_organization(org: Organization) -> Scope:
    return Scope("organization", f"o:{org.code}", str(org), organization_id=org.pk,
                 organization_territory_code=org.territory.code)


def _territory_for_prefix(prefix: str) -> Territory | None:
    if len(prefix) not in (5, 8):
        return None
    return Territory.objects.current().filter(code=prefix.ljust(14, "0")).first()


def allowed_scopes(user) -> list[Scope]:
    """The jurisdictions a user may see figures for, widest first (empty: no monitoring)."""
    out: dict[str, Scope] = {}
    for grant in access.grants(user):
        if grant.role not in MONITORING_ROLES:
            continue
        scope = None
        if grant.reach == Jurisdiction.NATIONAL:
            scope = national()
        elif grant.reach == Jurisdiction.TERRITORY:
            unit = _territory_for_prefix(grant.territory_prefix or "")
            scope = for_territory(unit) if unit else None
        elif grant.reach == Jurisdiction.ORGANIZATION and grant.organization_id:
            org = Organization.objects.select_related("territory").filter(pk=grant.organization_id).first()
            if org is None:
                continue
            if grant.role == Role.PMPK_CHAIR:
                if org.kind == OrgKind.PMPK_REPUBLICAN:
                    scope = national()
                else:
                    unit = _territory_for_prefix(org.territory.prefix) or org.territory.district or org.territory.region
                    scope = for_territory(unit) if unit else None
            else:
                scope = for_organization(org)
        if scope is not None:
            out.setdefault(scope.key, scope)
    order = {"national": 0, "region": 1, "district": 2, "organization": 3}
    return sorted(out.values(), key=lambda s: (order[s.kind], s.key))


def can_monitor(user) -> bool:
    return bool(allowed_scopes(user))


def is_steward(user) -> bool:
    return any(g.role in STEWARD_ROLES for g in access.grants(user))


def from_key(key: str) -> Scope | None:
    """A scope named by its key (``national``, ``t:<SOATE code>``, ``o:<organization code>``)."""
    if key == "national":
        return national()
    if key.startswith("t:"):
        unit = Territory.objects.current().filter(code=key[2:]).first()
        try:
            return for_territory(unit) if unit else None
        except ValueError:
            return None
    if key.startswith("o:"):
        org = Organization.objects.select_related("territory").filter(code=key[2:]).first()
        return for_organization(org) if org else None
    return None


def resolve(user, key: str | None) -> Scope:
    """The scope asked for, if the user may see it; otherwise 404 (existence does not leak)."""
    allowed = allowed_scopes(user)
    if not allowed:
        raise Http404
    if not key:
        return allowed[0]
    for scope in allowed:
        if scope.key == key:
            return scope
    wanted = from_key(key)
    if wanted is not None and any(s.contains(wanted) for s in allowed):
        return wanted
    raise Http404
