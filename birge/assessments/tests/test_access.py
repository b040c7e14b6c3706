"""Who sees sessions and conclusions — querysets, pages and API alike. A's child, A's PMPK; the
conclusion is issued to the family and, in the released case, released to A's school (the school
that referred). District B's users of every role see nothing; out of reach is a 404."""

import pytest
from rest_framework.test import APIClient

from birge.assessments import services
from birge.assessments.models import AssessmentSession, Conclusion, ConclusionItem, Finding, Obligation, Release
from birge.core.models import AuditEvent
from birge.core.roles import Role

pytestmark = pytest.mark.django_db

PMPK = {Role.PMPK_CHAIR: "w", Role.PMPK_MEMBER: "w"}
SPECIALISTS = {r: "r" for r in (Role.SPEECH_THERAPIST, Role.TYPHLOPEDAGOGUE, Role.SURDOPEDAGOGUE, Role.SPECIAL_PEDAGOGUE,
                                Role.PSYCHOLOGIST, Role.SOCIAL_PEDAGOGUE)}
# role -> expected reach of the conclusion: r reads, w reads and writes, - nothing
EXPECTED = {
    "draft": {**PMPK},
    "issued": {**PMPK, Role.PARENT: "r"},  # issued to the family only: the referring school sees nothing
    "released": {**PMPK, Role.PARENT: "r", Role.SCHOOL_COORDINATOR: "r", **SPECIALISTS},
    "consent-withdrawn": {**PMPK, Role.PARENT: "r"},
}
SESSION = {**PMPK, Role.PARENT: "r"}


def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def case(world, request):
    state = request.param
    if state == "draft":
        conclusion = world.draft()
    else:
        conclusion = world.issued()
    if state in ("released", "consent-withdrawn"):
        release = world.released(conclusion)
        if state == "consent-withdrawn":
            services.revoke_release(world.parent, release, reason="Moved away")
    return world, state, conclusion


@pytest.mark.parametrize("case", list(EXPECTED), indirect=True)
@pytest.mark.parametrize("role", list(Role))
def test_conclusion_matrix(case, role, client):
    world, state, conclusion = case
    expected = EXPECTED[state].get(role, "-")
    user = world.user("a", role)
    item = conclusion.items.first()
    assert Conclusion.objects.visible_to(user).filter(pk=conclusion.pk).exists() is (expected in "rw"), (state, role)
    assert Conclusion.objects.visible_to(user, "write").filter(pk=conclusion.pk).exists() is (expected == "w"), (state, role)
    assert ConclusionItem.objects.visible_to(user).filter(pk=item.pk).exists() is (expected in "rw"), (state, role)
    status = 200 if expected in "rw" else 404
    client.force_login(user)
    assert client.get(f"/assessments/conclusions/{conclusion.pk}/").status_code == status
    assert api(user).get(f"/api/v1/conclusions/{conclusion.pk}/").status_code == status
    assert api(user).get(f"/api/v1/conclusion-items/{item.pk}/").status_code == status
    if state != "draft":
        assert client.get(f"/assessments/conclusions/{conclusion.pk}/document/").status_code == status
    other = world.user("b", role)
    assert not Conclusion.objects.visible_to(other).exists()
    assert not Release.objects.visible_to(other).exists() and not Obligation.objects.visible_to(other).exists()
    client.force_login(other)
    assert client.get(f"/assessments/conclusions/{conclusion.pk}/").status_code == 404
    assert api(other).get(f"/api/v1/conclusions/{conclusion.pk}/").status_code == 404


@pytest.mark.parametrize("role", list(Role))
def test_session_matrix(world, role, client):
    session = world.held()
    finding = Finding.objects.get(session=session)
    expected = SESSION.get(role, "-")
    user = world.user("a", role)
    assert AssessmentSession.objects.visible_to(user).filter(pk=session.pk).exists() is (expected in "rw")
    assert Finding.objects.visible_to(user).filter(pk=finding.pk).exists() is (expected in "rw")
    status = 200 if expected in "rw" else 404
    client.force_login(user)
    assert client.get(f"/assessments/sessions/{session.pk}/").status_code == status
    assert api(user).get(f"/api/v1/assessment-sessions/{session.pk}/").status_code == status
    assert not AssessmentSession.objects.visible_to(world.user("b", role)).exists()


def test_another_school_sees_only_what_was_released_to_it(world, client):
    conclusion = world.issued()
    world.released(conclusion, world.school_b)
    assert Conclusion.objects.visible_to(world.coordinator_b).filter(pk=conclusion.pk).exists()
    assert not Conclusion.objects.visible_to(world.coordinator).exists()  # the referring school
    client.force_login(world.coordinator)
    assert client.get(f"/assessments/conclusions/{conclusion.pk}/").status_code == 404


def test_outsider_and_anonymous_see_nothing(world, client):
    conclusion = world.issued()
    release = world.released(conclusion)
    for model in (AssessmentSession, Finding, Conclusion, ConclusionItem, Release, Obligation):
        assert not model.objects.visible_to(world.cast.outsider).exists()
    client.force_login(world.cast.outsider)
    for url in (f"/assessments/conclusions/{conclusion.pk}/", f"/assessments/conclusions/{conclusion.pk}/document/",
                f"/assessments/conclusions/{conclusion.pk}/release/", f"/assessments/releases/{release.pk}/revoke/",
                f"/assessments/sessions/{conclusion.session_id}/", "/assessments/released/"):
        assert client.get(url).status_code == 404, url
    assert api(world.cast.outsider).get("/api/v1/conclusions/").json()["count"] == 0
    client.logout()
    assert client.get(f"/assessments/conclusions/{conclusion.pk}/").status_code == 302
    assert APIClient().get(f"/api/v1/conclusions/{conclusion.pk}/").status_code == 401


def test_opening_a_conclusion_is_recorded(world, client):
    conclusion = world.issued()
    client.force_login(world.parent)
    client.get(f"/assessments/conclusions/{conclusion.pk}/")
    api(world.parent).get(f"/api/v1/conclusions/{conclusion.pk}/")
    reads = AuditEvent.objects.filter(action="read", object_type="assessments.conclusion", object_id=str(conclusion.pk),
                                      actor=world.parent)
    assert reads.count() == 2 and reads.first().learner_id == world.learner.pk
