"""Who sees register batches, rows, pairs and outreach cases: every role of district A, B's, and the outsider.

The batch was imported and linked by district A's social-protection office; the outreach case is about
A's out-of-school child, assigned to A's local self-government.
"""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from birge.core import access
from birge.core.roles import Role
from birge.exchange import services
from birge.exchange.models import ImportBatch, ImportedPerson, MatchLink, OutreachCase

from .conftest import import_register

# r: reads, w: reads and may write, -: nothing
REGISTER = {role: "-" for role in Role} | {Role.SOCIAL_PROTECTION_OFFICER: "w"}
OUTREACH = {role: "-" for role in Role} | {
    Role.REGIONAL_OFFICER: "r",  # Chüy region holds district A
    Role.DISTRICT_OFFICER: "r",
    Role.SOCIAL_PROTECTION_OFFICER: "r",
    Role.LOCAL_GOVERNMENT_OFFICER: "w",
}


def test_tables_follow_the_matrix():
    for role in Role:
        assert access.permission(role, "register") in ("-", "r", "w")
        assert REGISTER[role] == ("w" if access.permission(role, "register") == "w" else "-"), role
        assert access.permission(role, "outreach") == OUTREACH[role], role


@pytest.fixture
def records(cast, officer, msek, learners, placed):
    batch = import_register(officer, msek).batch
    services.link_batch(officer, batch)
    case = services.find_out_of_school(cast.a.users[Role.LOCAL_GOVERNMENT_OFFICER]).opened[0]
    return {"batch": batch, "person": batch.persons.first(), "pair": MatchLink.objects.first(), "case": case}


@pytest.mark.parametrize("role", list(Role))
def test_matrix_in_district_a(cast, records, role):
    user = cast.a.users[role]
    for key, model, table in (("batch", ImportBatch, REGISTER), ("person", ImportedPerson, REGISTER),
                              ("pair", MatchLink, REGISTER), ("case", OutreachCase, OUTREACH)):
        obj = records[key]
        expected = table[role]
        assert model.objects.visible_to(user).filter(pk=obj.pk).exists() is (expected in "rw"), (role, key)
        assert access.can_write(user, obj) is (expected == "w"), (role, key)


@pytest.mark.parametrize("role", list(Role))
def test_nothing_in_district_b(cast, records, role):
    user = cast.b.users[role]
    for key, model in (("batch", ImportBatch), ("person", ImportedPerson), ("pair", MatchLink), ("case", OutreachCase)):
        assert not model.objects.visible_to(user).filter(pk=records[key].pk).exists(), (role, key)


def test_outsider_sees_nothing_and_gets_404(cast, records, client):
    outsider = cast.outsider
    for model in (ImportBatch, ImportedPerson, MatchLink, OutreachCase):
        assert not model.objects.visible_to(outsider).exists()
    client.force_login(outsider)
    for url in (records["batch"].get_absolute_url(), records["person"].get_absolute_url(),
                records["pair"].get_absolute_url(), records["case"].get_absolute_url(), reverse("exchange:batch-list"),
                reverse("exchange:case-list")):
        assert client.get(url).status_code == 404, url
    api = APIClient()
    api.force_authenticate(outsider)
    for url in (f"/api/v1/exchange/batches/{records['batch'].pk}/", f"/api/v1/exchange/rows/{records['person'].pk}/",
                f"/api/v1/exchange/pairs/{records['pair'].pk}/", f"/api/v1/exchange/outreach-cases/{records['case'].pk}/"):
        assert api.get(url).status_code == 404, url


def test_a_row_is_seen_where_the_person_lives(cast, officer, msek):
    """A row of A's batch whose person lives in B is seen by B's social-protection office too."""
    batch = import_register(officer, msek, rows=["Q1,,Мамытова,Жылдыз,,2016-11-20,F,Чүй,Аламүдүн,"]).batch
    person = batch.persons.get()
    assert person.territory == cast.b.district
    b_officer = cast.b.users[Role.SOCIAL_PROTECTION_OFFICER]
    assert ImportedPerson.objects.visible_to(b_officer).filter(pk=person.pk).exists()
    assert not ImportBatch.objects.visible_to(b_officer).filter(pk=batch.pk).exists()  # the batch stays with A
    assert not MatchLink.objects.visible_to(b_officer).exists()


def test_the_system_check_knows_every_model():
    from birge.core.checks import every_personal_model_is_registered

    assert every_personal_model_is_registered() == []
    for model in (ImportBatch, ImportedPerson, MatchLink, OutreachCase):
        assert model in access.REGISTRY
