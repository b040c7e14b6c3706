"""Fixtures shared by every test: reference territory and a fixed cast.

The cast has two districts, A (Sokuluk) and B (Alamüdün), each with the same
organizations and one user per role, plus an outsider with no role who must
see nothing. Learner-side fixtures live in birge/learners/tests/conftest.py.
"""

import datetime as dt
from dataclasses import dataclass, field

import pytest
from django.utils import timezone

from birge.core.models import Membership, Organization, Territory, User
from birge.core.roles import OrgKind, Role
from birge.core.territory import load_reference

DISTRICT_A = "41708222000000"  # Sokuluk
DISTRICT_B = "41708203000000"  # Alamüdün
REGION_CHUY = "41708000000000"

# Where each role sits in a district (None: no organization).
ROLE_ORG = {
    Role.MINISTRY_ANALYST: OrgKind.MINISTRY,
    Role.REGIONAL_OFFICER: OrgKind.REGIONAL_EDUCATION,
    Role.DISTRICT_OFFICER: OrgKind.DISTRICT_EDUCATION,
    Role.PMPK_CHAIR: OrgKind.PMPK_TERRITORIAL,
    Role.PMPK_MEMBER: OrgKind.PMPK_TERRITORIAL,
    Role.SCHOOL_COORDINATOR: OrgKind.SCHOOL,
    Role.TEACHER: OrgKind.SCHOOL,
    Role.SPEECH_THERAPIST: OrgKind.SCHOOL,
    Role.TYPHLOPEDAGOGUE: OrgKind.SCHOOL,
    Role.SURDOPEDAGOGUE: OrgKind.SCHOOL,
    Role.SPECIAL_PEDAGOGUE: OrgKind.SCHOOL,
    Role.PSYCHOLOGIST: OrgKind.SCHOOL,
    Role.SOCIAL_PEDAGOGUE: OrgKind.SCHOOL,
    Role.TUTOR: OrgKind.SCHOOL,
    Role.HEALTH_WORKER: OrgKind.HEALTH_FACILITY,
    Role.SOCIAL_PROTECTION_OFFICER: OrgKind.SOCIAL_PROTECTION,
    Role.LOCAL_GOVERNMENT_OFFICER: OrgKind.LOCAL_GOVERNMENT,
    Role.TESTING_CENTRE_OFFICER: OrgKind.TESTING_CENTRE,
    Role.PARENT: None,
    Role.SYSTEM_ADMIN: None,
}


@dataclass
class Side:
    """One district's organizations and people."""

    district: Territory
    orgs: dict = field(default_factory=dict)  # kind -> Organization
    users: dict = field(default_factory=dict)  # role -> User


@dataclass
class Cast:
    a: Side
    b: Side
    outsider: User
    ministry: Organization
    testing: Organization

    def side(self, name):
        return {"a": self.a, "b": self.b}[name]


@pytest.fixture(autouse=True)
def _fast_tests(settings):
    """A fast password hasher (Argon2 is for production), and no login lockouts between tests."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.AXES_ENABLED = False


@pytest.fixture(autouse=True)
def _messages_in_english():
    """Code called directly in a test speaks English, so tests can read its messages; pages and the
    API still choose their language per request (Kyrgyz by default), as in production."""
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture
def reference(db):
    load_reference()
    return Territory.objects


def _side(tag: str, district_code: str) -> Side:
    district = Territory.objects.get(code=district_code)
    side = Side(district=district)
    for kind in {k for k in ROLE_ORG.values() if k} - {OrgKind.MINISTRY, OrgKind.TESTING_CENTRE, OrgKind.REGIONAL_EDUCATION}:
        side.orgs[kind] = Organization.objects.create(kind=kind, code=f"T-{tag}-{kind}", name=f"{kind} {tag}", territory=district)
    return side


def make_user(username: str, role=None, org=None) -> User:
    user = User.objects.create_user(username=username, password="test-pass-123", full_name=username)
    if role is not None:
        Membership.objects.create(user=user, role=role, organization=org, starts_on=timezone.localdate() - dt.timedelta(days=30))
    return user


@pytest.fixture
def cast(reference) -> Cast:
    a, b = _side("a", DISTRICT_A), _side("b", DISTRICT_B)
    capital = Territory.objects.get(code="41711201000000")
    ministry = Organization.objects.create(kind=OrgKind.MINISTRY, code="T-ministry", name="Ministry", territory=capital)
    testing = Organization.objects.create(kind=OrgKind.TESTING_CENTRE, code="T-testing", name="Testing", territory=capital)
    # Regional departments: Chüy region holds both districts; B's officer sits in Bishkek's region instead.
    regional_a = Organization.objects.create(kind=OrgKind.REGIONAL_EDUCATION, code="T-reg-a", name="Chüy region", territory=Territory.objects.get(code=REGION_CHUY))
    regional_b = Organization.objects.create(kind=OrgKind.REGIONAL_EDUCATION, code="T-reg-b", name="Naryn region", territory=Territory.objects.get(code="41704000000000"))
    for side, tag, regional in ((a, "a", regional_a), (b, "b", regional_b)):
        side.orgs[OrgKind.MINISTRY] = ministry
        side.orgs[OrgKind.TESTING_CENTRE] = testing
        side.orgs[OrgKind.REGIONAL_EDUCATION] = regional
        for role, kind in ROLE_ORG.items():
            org = side.orgs[kind] if kind else None
            side.users[role] = make_user(f"{tag}-{role.value}", role, org)
    outsider = make_user("outsider")
    return Cast(a=a, b=b, outsider=outsider, ministry=ministry, testing=testing)
