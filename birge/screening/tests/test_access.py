"""Who sees and records screenings, written out by hand (not derived from access.MATRIX).

For every role, A's user is checked against a screening of the child placed in district A (enrolled
at A's school, A's parent as guardian, assigned to A's specialists and tutor) and one of the child in
district B: through the querysets, the services' ``may``, the pages and the API. Functioning results
are health-like: territory officers and the ministry see none; out of reach is a 404.
"""

import datetime as dt

import pytest
from django.utils import timezone

from birge.core.models import AuditEvent
from birge.core.roles import OrgKind, Role
from birge.learners.models import Enrolment, Learner
from birge.screening import services
from birge.screening.models import Screening

from .conftest import BASE_5_17

#                                  child A  child B
EXPECTED = {
    Role.MINISTRY_ANALYST:          ("-",    "-"),
    Role.REGIONAL_OFFICER:          ("-",    "-"),
    Role.DISTRICT_OFFICER:          ("-",    "-"),
    # A PMPK reaches children linked to it (registered there, referred to it); these two are not.
    Role.PMPK_CHAIR:                ("-",    "-"),
    Role.PMPK_MEMBER:               ("-",    "-"),
    Role.SCHOOL_COORDINATOR:        ("w",    "-"),
    Role.TEACHER:                   ("w",    "-"),
    Role.SPEECH_THERAPIST:          ("w",    "-"),
    Role.TYPHLOPEDAGOGUE:           ("w",    "-"),
    Role.SURDOPEDAGOGUE:            ("w",    "-"),
    Role.SPECIAL_PEDAGOGUE:         ("w",    "-"),
    Role.PSYCHOLOGIST:              ("w",    "-"),
    Role.SOCIAL_PEDAGOGUE:          ("w",    "-"),
    Role.TUTOR:                     ("-",    "-"),
    # A health facility reaches the children it registered; this one was registered by the school.
    Role.HEALTH_WORKER:             ("-",    "-"),
    Role.SOCIAL_PROTECTION_OFFICER: ("-",    "-"),
    Role.LOCAL_GOVERNMENT_OFFICER:  ("-",    "-"),
    Role.TESTING_CENTRE_OFFICER:    ("-",    "-"),
    Role.PARENT:                    ("r",    "-"),
    Role.SYSTEM_ADMIN:              ("-",    "-"),
    "outsider":                     ("-",    "-"),
}  # fmt: skip


@pytest.fixture
def screenings(cast, placed, record):
    b = services.record_screening(cast.b.users[Role.SCHOOL_COORDINATOR], placed["b"].learner, answers=BASE_5_17,
                                  interview_date=timezone.localdate(), respondent="parent",
                                  respondent_guardian=placed["b"].guardian)
    return {"a": record(), "b": b}


def _user(cast, role):
    return cast.outsider if role == "outsider" else cast.a.users[role]


def test_table_covers_every_role():
    assert set(EXPECTED) == set(Role) | {"outsider"}


def _check(user, client, screening, expected, where):
    readable = Screening.objects.visible_to(user).filter(pk=screening.pk).exists()
    writable = Screening.objects.visible_to(user, "write").filter(pk=screening.pk).exists()
    assert (readable, writable) == (expected in "rw", expected == "w"), f"{where}: expected {expected}"
    learner = screening.learner
    assert services.may(user, "read", learner) == (expected in "rw"), f"{where} may read"
    assert services.may(user, "write", learner) == (expected == "w"), f"{where} may write"
    read, write = (200 if expected in "rw" else 404), (200 if expected == "w" else 404)
    assert client.get(f"/screening/{screening.pk}/").status_code == read, f"{where} detail page"
    assert client.get(f"/screening/learner/{learner.pk}/").status_code == read, f"{where} list page"
    assert client.get(f"/screening/learner/{learner.pk}/new/").status_code == write, f"{where} start page"
    assert client.get(f"/screening/{screening.pk}/withdraw/").status_code == write, f"{where} withdraw page"
    assert client.get(f"/api/v1/screenings/{screening.pk}/").status_code == read, f"{where} API"


@pytest.mark.parametrize("role", list(EXPECTED), ids=str)
def test_screenings_by_role(role, cast, screenings, client):
    user = _user(cast, role)
    client.force_login(user)
    for side, expected in zip("ab", EXPECTED[role], strict=True):
        _check(user, client, screenings[side], expected, side.upper())
    listed = {r["id"] for r in client.get("/api/v1/screenings/").json()["results"]}
    assert listed == {screenings[s].pk for s, e in zip("ab", EXPECTED[role], strict=True) if e != "-"}


@pytest.mark.parametrize("role", [Role.PMPK_CHAIR, Role.HEALTH_WORKER])
def test_children_registered_by_the_organization(role, cast, placed, client):
    """A PMPK or health facility records screenings of the children it registered (not enrolled elsewhere)."""
    user = cast.a.users[role]
    org = user.memberships.get().organization
    child = Learner.objects.create(first_name="Нуриза", birth_date=dt.date(2016, 1, 1), sex="female",
                                   territory=cast.a.district, created_by_org=org)
    screening = services.record_screening(user, child, answers=BASE_5_17, interview_date=timezone.localdate(),
                                          respondent="carer", respondent_name="Апасы")
    assert screening.organization == org
    client.force_login(user)
    _check(user, client, screening, "w", "own")


def test_moving_school_moves_the_reach(cast, placed, record, client):
    screening = record()
    Enrolment.objects.filter(learner=placed["a"].learner).update(organization=cast.b.orgs[OrgKind.SCHOOL])
    Learner.objects.filter(pk=placed["a"].learner.pk).update(created_by_org=cast.b.orgs[OrgKind.SCHOOL])
    placed["a"].learner.assignments.all().delete()  # the specialists' assignments tie A's school too
    teacher_a, teacher_b = cast.a.users[Role.TEACHER], cast.b.users[Role.TEACHER]
    assert not Screening.objects.visible_to(teacher_a).filter(pk=screening.pk).exists()
    assert Screening.objects.visible_to(teacher_b).filter(pk=screening.pk).exists()


def test_opening_writes_read_events(screenings, cast, client):
    parent = cast.a.users[Role.PARENT]
    client.force_login(parent)
    screening = screenings["a"]
    reads = AuditEvent.objects.filter(event="screening.read", object_id=str(screening.pk), actor=parent)
    client.get(f"/screening/{screening.pk}/")
    assert reads.count() == 1
    client.get(f"/screening/learner/{screening.learner_id}/")
    assert reads.count() == 2
    client.get(f"/api/v1/screenings/{screening.pk}/")
    client.get("/api/v1/screenings/")
    assert reads.count() == 4
    # Out of reach: nothing is read, nothing recorded.
    other = screenings["b"]
    assert client.get(f"/screening/{other.pk}/").status_code == 404
    assert not AuditEvent.objects.filter(event="screening.read", object_id=str(other.pk)).exists()


def test_learner_page_section(screenings, cast, placed, client):
    learner = placed["a"].learner
    client.force_login(cast.a.users[Role.SCHOOL_COORDINATOR])
    page = client.get(f"/learners/{learner.pk}/").content.decode()
    assert 'id="screenings"' in page and f'href="/screening/{screenings["a"].pk}/"' in page
    assert f'href="/screening/learner/{learner.pk}/new/"' in page
    client.force_login(cast.a.users[Role.PARENT])
    page = client.get(f"/learners/{learner.pk}/").content.decode()
    assert f'href="/screening/{screenings["a"].pk}/"' in page and f"/screening/learner/{learner.pk}/new/" not in page
    client.force_login(cast.a.users[Role.DISTRICT_OFFICER])  # reads the learner, not their screenings
    page = client.get(f"/learners/{learner.pk}/").content.decode()
    assert 'id="screenings"' not in page and "/screening/" not in page
