"""Roles, organization kinds and the jurisdiction each role carries.

The slugs are stable contracts (demo logins are ``demo-<role slug>``); the
labels are the concept's official terms in three languages.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _, pgettext_lazy


class OrgKind(models.TextChoices):
    EARLY_INTERVENTION = "early-intervention", _("Early-intervention service")
    KINDERGARTEN = "kindergarten", _("Kindergarten")
    SCHOOL = "school", _("School")
    SPECIAL_SCHOOL = "special-school", _("Special school / resource centre")
    BOARDING_SCHOOL = "boarding-school", _("Boarding school")
    VOCATIONAL_PRIMARY = "vocational-primary", _("Primary vocational school")
    VOCATIONAL_SECONDARY = "vocational-secondary", _("Secondary vocational school (college)")
    UNIVERSITY = "university", _("University")
    PMPK_REPUBLICAN = "pmpk-republican", _("Republican PMPK")
    PMPK_TERRITORIAL = "pmpk-territorial", _("Territorial PMPK")
    HEALTH_FACILITY = "health-facility", _("Health facility")
    SOCIAL_PROTECTION = "social-protection", _("Social protection office / MSEK")
    LOCAL_GOVERNMENT = "local-government", _("Local self-government")
    DISTRICT_EDUCATION = "district-education", _("District education department")
    REGIONAL_EDUCATION = "regional-education", _("Regional education department")
    MINISTRY = "ministry", _("Ministry of Education and Science")
    TESTING_CENTRE = "testing-centre", _("Testing centre")


EDUCATION_KINDS = frozenset(
    {
        OrgKind.EARLY_INTERVENTION,
        OrgKind.KINDERGARTEN,
        OrgKind.SCHOOL,
        OrgKind.SPECIAL_SCHOOL,
        OrgKind.BOARDING_SCHOOL,
        OrgKind.VOCATIONAL_PRIMARY,
        OrgKind.VOCATIONAL_SECONDARY,
        OrgKind.UNIVERSITY,
    }
)
PMPK_KINDS = frozenset({OrgKind.PMPK_REPUBLICAN, OrgKind.PMPK_TERRITORIAL})


class Jurisdiction(models.TextChoices):
    """How far a role reaches from the organization of its membership."""

    RELATIONSHIP = "relationship", _("Own children only (guardian or assigned)")
    ORGANIZATION = "organization", _("Own organization")
    TERRITORY = "territory", _("Territory of the organization (district or region)")
    NATIONAL = "national", _("National")
    NONE = "none", _("No access to personal records")


class Role(models.TextChoices):
    MINISTRY_ANALYST = "ministry-analyst", _("Ministry analyst")
    REGIONAL_OFFICER = "regional-officer", _("Regional education officer")
    DISTRICT_OFFICER = "district-officer", _("District education officer")
    PMPK_CHAIR = "pmpk-chair", _("PMPK chair")
    PMPK_MEMBER = "pmpk-member", _("PMPK member")
    SCHOOL_COORDINATOR = "school-coordinator", _("Inclusion coordinator")
    TEACHER = "teacher", pgettext_lazy("role", "Teacher")
    SPEECH_THERAPIST = "speech-therapist", _("Speech therapist")
    TYPHLOPEDAGOGUE = "typhlopedagogue", _("Typhlopedagogue")
    SURDOPEDAGOGUE = "surdopedagogue", _("Surdopedagogue")
    SPECIAL_PEDAGOGUE = "special-pedagogue", _("Special pedagogue")
    PSYCHOLOGIST = "psychologist", _("Psychologist")
    SOCIAL_PEDAGOGUE = "social-pedagogue", _("Social pedagogue")
    TUTOR = "tutor", _("Tutor / assistant")
    HEALTH_WORKER = "health-worker", _("Health worker")
    SOCIAL_PROTECTION_OFFICER = "social-protection-officer", _("Social protection officer")
    LOCAL_GOVERNMENT_OFFICER = "local-government-officer", _("Local self-government officer")
    TESTING_CENTRE_OFFICER = "testing-centre-officer", _("Testing centre officer")
    PARENT = "parent", _("Parent / guardian")
    SYSTEM_ADMIN = "system-admin", _("System administrator")


SPECIALIST_ROLES = frozenset(
    {
        Role.SPEECH_THERAPIST,
        Role.TYPHLOPEDAGOGUE,
        Role.SURDOPEDAGOGUE,
        Role.SPECIAL_PEDAGOGUE,
        Role.PSYCHOLOGIST,
        Role.SOCIAL_PEDAGOGUE,
    }
)
PMPK_ROLES = frozenset({Role.PMPK_CHAIR, Role.PMPK_MEMBER})
STAFF_OF_EDUCATION = frozenset({Role.SCHOOL_COORDINATOR, Role.TEACHER, Role.TUTOR} | SPECIALIST_ROLES)

# Where a membership of each role may be held, and how far it reaches.
ROLE_ORG_KINDS: dict[str, frozenset] = {
    Role.MINISTRY_ANALYST: frozenset({OrgKind.MINISTRY}),
    Role.REGIONAL_OFFICER: frozenset({OrgKind.REGIONAL_EDUCATION}),
    Role.DISTRICT_OFFICER: frozenset({OrgKind.DISTRICT_EDUCATION}),
    Role.PMPK_CHAIR: PMPK_KINDS,
    Role.PMPK_MEMBER: PMPK_KINDS,
    Role.SCHOOL_COORDINATOR: EDUCATION_KINDS,
    Role.TEACHER: EDUCATION_KINDS,
    Role.TUTOR: EDUCATION_KINDS,
    **{r: EDUCATION_KINDS | PMPK_KINDS for r in SPECIALIST_ROLES},
    Role.HEALTH_WORKER: frozenset({OrgKind.HEALTH_FACILITY}),
    Role.SOCIAL_PROTECTION_OFFICER: frozenset({OrgKind.SOCIAL_PROTECTION}),
    Role.LOCAL_GOVERNMENT_OFFICER: frozenset({OrgKind.LOCAL_GOVERNMENT}),
    Role.TESTING_CENTRE_OFFICER: frozenset({OrgKind.TESTING_CENTRE}),
    Role.PARENT: frozenset(),
    Role.SYSTEM_ADMIN: frozenset({OrgKind.MINISTRY}),
}
ROLES_WITHOUT_ORGANIZATION = frozenset({Role.PARENT, Role.SYSTEM_ADMIN})

ROLE_JURISDICTION: dict[str, str] = {
    Role.MINISTRY_ANALYST: Jurisdiction.NATIONAL,
    Role.REGIONAL_OFFICER: Jurisdiction.TERRITORY,
    Role.DISTRICT_OFFICER: Jurisdiction.TERRITORY,
    Role.PMPK_CHAIR: Jurisdiction.ORGANIZATION,
    Role.PMPK_MEMBER: Jurisdiction.ORGANIZATION,
    Role.SCHOOL_COORDINATOR: Jurisdiction.ORGANIZATION,
    Role.TEACHER: Jurisdiction.ORGANIZATION,
    Role.TUTOR: Jurisdiction.RELATIONSHIP,
    **{r: Jurisdiction.RELATIONSHIP for r in SPECIALIST_ROLES},
    Role.HEALTH_WORKER: Jurisdiction.ORGANIZATION,
    Role.SOCIAL_PROTECTION_OFFICER: Jurisdiction.TERRITORY,
    Role.LOCAL_GOVERNMENT_OFFICER: Jurisdiction.TERRITORY,
    Role.TESTING_CENTRE_OFFICER: Jurisdiction.NATIONAL,
    Role.PARENT: Jurisdiction.RELATIONSHIP,
    Role.SYSTEM_ADMIN: Jurisdiction.NONE,
}
