"""Referral fixtures on top of the shared cast: placed children (as in the learners tests), a child
under four in district A, a referral factory and consent to the assessment."""

import datetime as dt

import pytest
from django.utils import timezone

from birge.core.roles import OrgKind, Role
from birge.learners.models import Consent, GuardianLink, Learner, Sex
from birge.learners.tests.conftest import place_child
from birge.referrals import services


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path / "media")}}}
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture(autouse=True)
def _english(client, settings):
    """Tests read English messages; the Kyrgyz and Russian catalogues are filled separately."""
    from django.utils import translation

    translation.activate("en")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    yield
    translation.deactivate()


@pytest.fixture
def placed(cast):
    a = place_child(cast.a, pin="21503201512345", last_name="Асанов", first_name="Бакыт", patronymic="Асанович",
                    birth_date=dt.date(2015, 3, 15), sex=Sex.MALE)
    b = place_child(cast.b, pin="10107201500011", last_name="", first_name="Айгүл", patronymic="Мамбет кызы",
                    birth_date=dt.date(2015, 7, 1), sex=Sex.FEMALE)
    return {"a": a, "b": b}


def consent_to_assessment(placed_child) -> Consent:
    return Consent.objects.create(learner=placed_child.learner, purpose=Consent.Purpose.ASSESSMENT,
                                  given_by=placed_child.guardian, method=Consent.Method.PAPER)


@pytest.fixture
def make_referral(cast, placed):
    """make_referral(side="a", state="submitted", consent=False) -> a referral by the side's school coordinator."""

    def make(side="a", state="draft", consent=False, reason="Does not speak in sentences; hard to follow lessons."):
        s = cast.side(side)
        child = placed[side]
        actor = s.users[Role.SCHOOL_COORDINATOR]
        pmpk = s.users[Role.PMPK_CHAIR]
        if consent:
            consent_to_assessment(child)
        referral = services.create_referral(actor, child.learner, reason=reason, tried="Extra lessons twice a week.")
        steps = ["submit", "accept", "schedule", "mark_assessed", "conclude"]
        target_index = {"draft": 0, "submitted": 1, "accepted": 2, "scheduled": 3, "assessed": 4, "concluded": 5}
        for name in steps[: target_index.get(state, 0)]:
            who = actor if name == "submit" else pmpk
            extra = {"appointment_at": timezone.now() + dt.timedelta(days=3)} if name == "schedule" else {}
            referral = services.perform(who, referral, name, **extra)
        if state == "withdrawn":
            referral = services.withdraw(actor, referral, reason="The family moved.")
        if state == "declined":
            referral = services.submit(actor, referral)
            referral = services.decline(pmpk, referral, reason="Belongs to another district.")
        referral.refresh_from_db()
        return referral

    return make


@pytest.fixture
def young(cast, placed):
    """A two-year-old in district A, registered by the health facility; A's parent (guardian of the placed child)
    is her mother too."""
    side = cast.a
    today = timezone.localdate()
    birth = dt.date(today.year - 2, 1, 1)  # two years old all year
    learner = Learner.objects.create(first_name="Нурай", patronymic="Бакыт кызы", birth_date=birth, sex=Sex.FEMALE,
                                     territory=side.district, created_by_org=side.orgs[OrgKind.HEALTH_FACILITY])
    GuardianLink.objects.create(learner=learner, guardian=placed["a"].guardian, relation="mother", starts_on=birth)
    return learner


@pytest.fixture
def early_service(cast):
    from birge.core.models import Organization

    return Organization.objects.create(kind=OrgKind.EARLY_INTERVENTION, code="T-a-ei", name="Early intervention A",
                                       territory=cast.a.district)

