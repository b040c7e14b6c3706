"""The access matrix for learner records, written out by hand (not derived from access.MATRIX).

For every role, A's user is checked against the child placed in district A
and the child placed in district B (see conftest.py): which record types they
may read (r) or read and write (w), through the querysets (``visible_to``) and
through the HTTP layer (pages and API answer 404 out of reach).

Columns: learner, guardian, consent, disability, diagnosis, enrolment.
"""

import datetime as dt

import pytest

from birge.core.roles import OrgKind, Role
from birge.learners import services
from birge.learners.models import Consent, Diagnosis, DisabilityStatus, Enrolment, Guardian, Learner

KINDS = ["learner", "guardian", "consent", "disability", "diagnosis", "enrolment"]
MODELS = {"learner": Learner, "guardian": Guardian, "consent": Consent, "disability": DisabilityStatus,
          "diagnosis": Diagnosis, "enrolment": Enrolment}
API = {"learner": "learners", "guardian": "guardians", "consent": "consents", "disability": "disability-statuses",
       "diagnosis": "diagnoses", "enrolment": "enrolments"}

#                                   child in district A     child in district B
#                                   lrn grd cns dis dx enr
EXPECTED = {
    Role.MINISTRY_ANALYST:          ("- - - - - -",          "- - - - - -"),
    # Chüy region holds both districts: A's regional officer reads B's child too.
    Role.REGIONAL_OFFICER:          ("r - - - - r",          "r - - - - r"),
    Role.DISTRICT_OFFICER:          ("r - - - - r",          "- - - - - -"),
    # A PMPK reaches children linked to it (registered there, referred to it); these two are not.
    Role.PMPK_CHAIR:                ("- - - - - -",          "- - - - - -"),
    Role.PMPK_MEMBER:               ("- - - - - -",          "- - - - - -"),
    Role.SCHOOL_COORDINATOR:        ("w w w w - w",          "- - - - - -"),
    Role.TEACHER:                   ("r - - - - r",          "- - - - - -"),
    Role.SPEECH_THERAPIST:          ("r r - r - r",          "- - - - - -"),
    Role.TYPHLOPEDAGOGUE:           ("r r - r - r",          "- - - - - -"),
    Role.SURDOPEDAGOGUE:            ("r r - r - r",          "- - - - - -"),
    Role.SPECIAL_PEDAGOGUE:         ("r r - r - r",          "- - - - - -"),
    Role.PSYCHOLOGIST:              ("r r - r - r",          "- - - - - -"),
    Role.SOCIAL_PEDAGOGUE:          ("r r - r - r",          "- - - - - -"),
    Role.TUTOR:                     ("r - - - - r",          "- - - - - -"),
    # A health facility reaches the children it registered; this one was registered by the school.
    Role.HEALTH_WORKER:             ("- - - - - -",          "- - - - - -"),
    Role.SOCIAL_PROTECTION_OFFICER: ("w w w w - r",          "- - - - - -"),
    Role.LOCAL_GOVERNMENT_OFFICER:  ("w w w r - r",          "- - - - - -"),
    Role.TESTING_CENTRE_OFFICER:    ("- - - - - -",          "- - - - - -"),
    Role.PARENT:                    ("r r w r r r",          "- - - - - -"),
    Role.SYSTEM_ADMIN:              ("- - - - - -",          "- - - - - -"),
    "outsider":                     ("- - - - - -",          "- - - - - -"),
}  # fmt: skip

# Children registered by an organization are within its reach (created_by_org).
EXPECTED_OWN_REGISTRATION = {
    Role.PMPK_CHAIR:    "w w w r w r",
    Role.PMPK_MEMBER:   "w w w r w r",
    Role.HEALTH_WORKER: "w w w - w -",
}  # fmt: skip


def _row(text):
    return dict(zip(KINDS, text.split(), strict=True))


def _user(cast, role):
    return cast.outsider if role == "outsider" else cast.a.users[role]


def test_table_covers_every_role():
    assert set(EXPECTED) == set(Role) | {"outsider"}


def _check_querysets(user, placed_child, row, where):
    for kind in KINDS:
        record = placed_child.record(kind)
        model = MODELS[kind]
        readable = model.objects.visible_to(user).filter(pk=record.pk).exists()
        writable = model.objects.visible_to(user, "write").filter(pk=record.pk).exists()
        assert (readable, writable) == (row[kind] in "rw", row[kind] == "w"), f"{where} {kind}: expected {row[kind]}"
        # The same answer for adding a new record of this type about the child.
        assert services.may(user, "read", kind, placed_child.learner) == (row[kind] in "rw"), f"{where} may read {kind}"
        assert services.may(user, "write", kind, placed_child.learner) == (row[kind] == "w"), f"{where} may write {kind}"


def _check_http(client, placed_child, row, where):
    for kind in KINDS:
        record = placed_child.record(kind)
        response = client.get(f"/api/v1/{API[kind]}/{record.pk}/")
        assert response.status_code == (200 if row[kind] in "rw" else 404), f"{where} API {kind}"
    learner = placed_child.learner
    assert client.get(f"/learners/{learner.pk}/").status_code == (200 if row["learner"] in "rw" else 404), f"{where} page"
    assert client.get(f"/learners/{learner.pk}/edit/").status_code == (200 if row["learner"] == "w" else 404), f"{where} edit"
    status = placed_child.disability
    assert client.get(f"/learners/disability/{status.pk}/").status_code == (200 if row["disability"] in "rw" else 404), \
        f"{where} disability page"
    assert client.get(f"/learners/{learner.pk}/enrolments/new/").status_code == (200 if row["enrolment"] == "w" else 404), \
        f"{where} enrol page"
    assert client.get(f"/learners/{learner.pk}/consents/new/").status_code == (200 if row["consent"] == "w" else 404), \
        f"{where} consent page"


@pytest.mark.parametrize("role", list(EXPECTED), ids=str)
def test_learner_records_by_role(role, cast, placed, client):
    user = _user(cast, role)
    row_a, row_b = (_row(t) for t in EXPECTED[role])
    _check_querysets(user, placed["a"], row_a, "A")
    _check_querysets(user, placed["b"], row_b, "B")
    client.force_login(user)
    _check_http(client, placed["a"], row_a, "A")
    _check_http(client, placed["b"], row_b, "B")


@pytest.mark.parametrize("role", list(EXPECTED), ids=str)
def test_list_shows_exactly_the_reachable_children(role, cast, placed, client):
    user = _user(cast, role)
    row_a, row_b = (_row(t) for t in EXPECTED[role])
    expected = {p.learner.pk for p, row in ((placed["a"], row_a), (placed["b"], row_b)) if row["learner"] != "-"}
    assert set(Learner.objects.visible_to(user).values_list("pk", flat=True)) == expected
    client.force_login(user)
    response = client.get("/api/v1/learners/")
    assert response.status_code == 200
    assert {r["id"] for r in response.json()["results"]} == expected


@pytest.mark.parametrize("role", list(EXPECTED_OWN_REGISTRATION), ids=str)
def test_children_registered_by_the_organization(role, cast, client):
    from .conftest import place_child

    user = cast.a.users[role]
    child = place_child(cast.a, pin="10101201600001", last_name="Токтогулова", first_name="Нуриза", patronymic="",
                        birth_date=dt.date(2016, 1, 1), sex="female")
    Learner.objects.filter(pk=child.learner.pk).update(created_by_org=user.memberships.get().organization)
    # Not enrolled, not assigned: reached only through the registering organization.
    Enrolment.objects.filter(learner=child.learner).update(organization=cast.b.orgs[OrgKind.SCHOOL])
    child.learner.assignments.all().delete()
    _check_querysets(user, child, _row(EXPECTED_OWN_REGISTRATION[role]), "own")
    client.force_login(user)
    for kind in KINDS:
        response = client.get(f"/api/v1/{API[kind]}/{child.record(kind).pk}/")
        assert response.status_code == (200 if _row(EXPECTED_OWN_REGISTRATION[role])[kind] in "rw" else 404), kind
