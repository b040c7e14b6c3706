"""Who sees referrals, observations, attachments and concerns — querysets, pages and API alike.

The referral was made by district A's school about A's child to A's PMPK and submitted."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from birge.core.roles import OrgKind, Role
from birge.learners.models import Learner
from birge.referrals import services
from birge.referrals.models import Attachment, Concern, Observation, Referral

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

# r: reads, w: reads and may write, -: nothing (A's user, about A's submitted referral)
EXPECTED = {
    Role.MINISTRY_ANALYST: "-",
    Role.REGIONAL_OFFICER: "r",  # Chüy region holds district A
    Role.DISTRICT_OFFICER: "r",
    Role.PMPK_CHAIR: "w",  # the receiving PMPK
    Role.PMPK_MEMBER: "w",
    Role.SCHOOL_COORDINATOR: "w",  # the referring school
    Role.TEACHER: "w",
    Role.SPEECH_THERAPIST: "r",  # assigned to the child
    Role.TYPHLOPEDAGOGUE: "r",
    Role.SURDOPEDAGOGUE: "r",
    Role.SPECIAL_PEDAGOGUE: "r",
    Role.PSYCHOLOGIST: "r",
    Role.SOCIAL_PEDAGOGUE: "r",
    Role.TUTOR: "-",
    Role.HEALTH_WORKER: "-",  # not its referral
    Role.SOCIAL_PROTECTION_OFFICER: "w",  # territory roles that may write referrals (observations)
    Role.LOCAL_GOVERNMENT_OFFICER: "w",
    Role.TESTING_CENTRE_OFFICER: "-",
    Role.PARENT: "w",
    Role.SYSTEM_ADMIN: "-",
}


def test_table_covers_every_role():
    assert set(EXPECTED) == set(Role)


@pytest.fixture
def referral(cast, make_referral):
    r = make_referral("a", "submitted")
    coordinator = cast.a.users[Role.SCHOOL_COORDINATOR]
    services.add_observation(cast.a.users[Role.TEACHER], r, domain="communication", text="Answers in single words.")
    services.add_attachment(coordinator, r, file=SimpleUploadedFile("report.pdf", PDF, "application/pdf"), description="Report")
    return r


@pytest.mark.parametrize("role", list(Role))
def test_matrix(cast, referral, client, role):
    user = cast.a.users[role]
    expected = EXPECTED[role]
    obs = Observation.objects.get(referral=referral)
    att = Attachment.objects.get(referral=referral)
    for model, pk in ((Referral, referral.pk), (Observation, obs.pk), (Attachment, att.pk)):
        assert model.objects.visible_to(user).filter(pk=pk).exists() is (expected in "rw"), (role, model)
        assert model.objects.visible_to(user, "write").filter(pk=pk).exists() is (expected == "w"), (role, model)
    client.force_login(user)
    status = 200 if expected in "rw" else 404
    assert client.get(f"/referrals/{referral.pk}/").status_code == status
    assert client.get(f"/referrals/attachments/{att.pk}/").status_code == status
    assert client.get(f"/api/v1/referrals/{referral.pk}/").status_code == status
    assert client.get(f"/api/v1/referral-attachments/{att.pk}/download/").status_code == status
    # District B's user of the same role sees nothing of it.
    other = cast.b.users[role]
    assert not Referral.objects.visible_to(other).exists()
    client.force_login(other)
    assert client.get(f"/referrals/{referral.pk}/").status_code == 404
    assert client.get(f"/referrals/attachments/{att.pk}/").status_code == 404
    assert client.get(f"/api/v1/referrals/{referral.pk}/").status_code == 404


def test_outsider_and_anonymous_see_nothing(cast, referral, client):
    att = Attachment.objects.get(referral=referral)
    for model in (Referral, Observation, Attachment, Concern):
        assert not model.objects.visible_to(cast.outsider).exists()
    client.force_login(cast.outsider)
    assert client.get(f"/referrals/{referral.pk}/").status_code == 404
    assert client.get(f"/referrals/attachments/{att.pk}/").status_code == 404
    assert client.get("/api/v1/referrals/").json()["count"] == 0
    assert client.get(f"/api/v1/referral-attachments/{att.pk}/download/").status_code == 404
    client.logout()
    assert client.get(f"/referrals/attachments/{att.pk}/").status_code == 302  # to the sign-in page
    assert client.get(f"/api/v1/referral-attachments/{att.pk}/download/").status_code in (401, 403)


def test_a_draft_stays_with_the_referrer(cast, make_referral):
    draft = make_referral("a", "draft")
    chair = cast.a.users[Role.PMPK_CHAIR]
    assert not Referral.objects.visible_to(chair).filter(pk=draft.pk).exists()
    assert not Learner.objects.visible_to(chair).filter(pk=draft.learner_id).exists()
    services.submit(cast.a.users[Role.SCHOOL_COORDINATOR], draft)
    chair = type(chair).objects.get(pk=chair.pk)  # fresh grants cache
    assert Referral.objects.visible_to(chair).filter(pk=draft.pk).exists()
    # The learner link: the PMPK reaches the child referred to it.
    assert Learner.objects.visible_to(chair).filter(pk=draft.learner_id).exists()
    assert not Learner.objects.visible_to(cast.b.users[Role.PMPK_CHAIR]).filter(pk=draft.learner_id).exists()


def test_a_health_facility_reaches_the_children_it_referred(cast, placed, young):
    health = cast.a.users[Role.HEALTH_WORKER]
    referral = services.create_referral(health, young, reason="Does not walk at two.", submit=True)
    assert referral.referring_organization == cast.a.orgs[OrgKind.HEALTH_FACILITY]
    assert Referral.objects.visible_to(health).filter(pk=referral.pk).exists()
    # The placed child (registered by the school) is not its child: referring it is refused.
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.create_referral(health, placed["a"].learner, reason="x")
    from birge.referrals.policy import _org_referred

    assert young.pk in {row["learner_id"] for row in _org_referred([cast.a.orgs[OrgKind.HEALTH_FACILITY].pk])}


def test_another_organizations_referral_is_not_the_schools(cast, placed):
    """A school does not see a referral a parent made about its pupil (organization_only); the PMPK does."""
    parent = cast.a.users[Role.PARENT]
    referral = services.create_referral(parent, placed["a"].learner, reason="Speech", submit=True)
    assert not Referral.objects.visible_to(cast.a.users[Role.SCHOOL_COORDINATOR]).filter(pk=referral.pk).exists()
    assert Referral.objects.visible_to(cast.a.users[Role.PMPK_CHAIR]).filter(pk=referral.pk).exists()
    assert Referral.objects.visible_to(parent).filter(pk=referral.pk).exists()


def test_attachment_files_are_not_public(cast, referral):
    att = Attachment.objects.get(referral=referral)
    assert att.file.name.startswith("referrals/") and "report" not in att.file.name  # a random name, no personal data
    from django.urls import Resolver404, resolve

    with pytest.raises(Resolver404):
        resolve("/" + att.file.name)
