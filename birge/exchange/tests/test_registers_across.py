"""Rows of different registers linked to each other before the child is a learner, and what follows.

District A's social-protection office imports the MSEK register (``REGISTER_ROWS``: M5, Мамытова
Жылдыз, is on no roster) and a health referral list in which the same girl appears in Latin letters
(H1), a girl with the same surname, patronymic and birth date but another given name (H2: possibly
the same child — a twin sister), and a boy in no other register (H3).
"""

import datetime as dt
from types import SimpleNamespace

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from rest_framework.test import APIClient

from birge.core import access
from birge.core.models import AuditEvent
from birge.core.roles import OrgKind, Role
from birge.exchange import services
from birge.exchange.models import (
    AgencyKind, ImportBatch, ImportedPerson, ImportSource, LinkMethod, LinkState, MatchLink, PersonLink,
)
from birge.learners.models import Learner, Sex

from .conftest import import_register

HEALTH_ROWS = [
    "H1,,Mamytova,Zhyldyz,Bekbolotovna,20.11.2016,F,Chuy,Sokuluk,",
    "H2,,Мамытова,Айзада,Бекболотовна,20.11.2016,F,Чүй,Сокулук,",
    "H3,,Садыров,Азамат,,01.01.2013,M,Чүй,Сокулук,",
]


@pytest.fixture
def health(db) -> ImportSource:
    return ImportSource.objects.create(name="Early identification, Chüy", kind=AgencyKind.HEALTH_REFERRALS)


@pytest.fixture
def registers(officer, msek, health, learners, placed):
    msek_batch = import_register(officer, msek).batch
    services.link_batch(officer, msek_batch)
    health_batch = import_register(officer, health, rows=HEALTH_ROWS, name="health.csv").batch
    stats = services.link_batch(officer, health_batch)
    rows = {p.record_id: p for p in ImportedPerson.objects.filter(batch__in=[msek_batch, health_batch])}
    return SimpleNamespace(msek=msek_batch, health=health_batch, rows=rows, stats=stats)


def _pair(a, b) -> PersonLink:
    low, high = sorted((a.pk, b.pk))
    return PersonLink.objects.get(person_a_id=low, person_b_id=high)


def _fresh(row) -> ImportedPerson:
    return ImportedPerson.objects.get(pk=row.pk)


def _api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


# --- linkage between registers ---------------------------------------------------------------------------


def test_rows_without_a_learner_are_linked_to_each_other(registers):
    rows, stats = registers.rows, registers.stats
    same = _pair(rows["M5"], rows["H1"])
    assert same.state == PersonLink.State.LINKED and same.score >= 0.9 and same.batch == registers.health
    assert same.person_a_id < same.person_b_id and same.method == LinkMethod.PROBABILISTIC
    assert [f[0] for f in same.fields] == ["pin", "first_name", "father", "family", "birth_date", "sex", "territory"]
    possibly = _pair(rows["M5"], rows["H2"])  # another given name: the twin signature is never automatic
    assert possibly.state == PersonLink.State.PENDING and possibly.reason == "different first names"
    assert PersonLink.objects.count() == 2  # H3 is nobody else; rows with a learner or in review are not compared
    assert (stats["register_rows_compared"], stats["same_child_links"], stats["possible_same_child"],
            stats["rows_in_other_registers"], stats["linked_through"]) == (1, 1, 1, 1, 0)
    assert (stats["linked"], stats["review"], stats["no_match"]) == (0, 0, 3)  # the learner run's counts are kept
    event = AuditEvent.objects.get(event="import_batch.linked_across", object_id=str(registers.health.pk))
    assert event.changes["same_child_links"] == 1 and event.changes["possible_same_child"] == 1
    # Nothing changes for the rows themselves: they still have no learner.
    assert {_fresh(rows[k]).link_state for k in ("M5", "H1", "H2", "H3")} == {LinkState.NO_MATCH}


def test_a_pair_is_stored_once_whichever_batch_runs_again(registers, officer):
    services.link_batch(officer, registers.msek)
    stats = services.link_batch(officer, registers.health)
    assert PersonLink.objects.count() == 2
    assert (stats["same_child_links"], stats["possible_same_child"], stats["rows_in_other_registers"]) == (0, 0, 1)


def test_a_child_in_several_registers_is_one_candidate(registers, officer, msek):
    """A third delivery of the same girl is linked automatically — not held as two rival candidates."""
    third = import_register(officer, msek, rows=["N1,,Мамытова,Жылдыз,Бекболотовна,20.11.2016,F,Чүй,Сокулук,"],
                            name="msek-december.csv").batch
    stats = services.link_batch(officer, third)
    n1 = third.persons.get()
    pairs = PersonLink.objects.filter(person_b=n1)
    assert [p.state for p in pairs] == [PersonLink.State.LINKED]
    assert stats["register_rows_compared"] == 3  # one row stood for the group M5 + H1; H2 and H3
    found = services.same_child_rows(officer, [n1])[n1.pk]
    assert {r.person.record_id for r in found} == {"M5", "H1"}
    assert all(r.is_same for r in found)
    direct = next(r for r in found if r.person.pk == pairs[0].person_a_id)
    through = next(r for r in found if r.person.pk != pairs[0].person_a_id)
    assert direct.score == pairs[0].score and through.score is None  # linked through the other row
    m5 = {(r.person.record_id, r.relation) for r in services.same_child_rows(officer, [registers.rows["M5"]])[
        registers.rows["M5"].pk]}
    assert m5 == {("H1", "same-child"), ("N1", "same-child"), ("H2", "possibly-same-child")}


# --- a learner passes to the rows of the same child -------------------------------------------------------


def test_registering_one_row_links_the_same_child_in_the_other_register(registers, officer):
    rows = registers.rows
    learner = services.register_person(officer, rows["M5"], confirm_new=True)
    h1 = _fresh(rows["H1"])
    assert (h1.link_state, h1.learner, h1.link_method) == (LinkState.LINKED, learner, LinkMethod.OTHER_REGISTER)
    pair = MatchLink.objects.get(person=h1)
    assert (pair.learner, pair.method, pair.state, pair.via_id) == (learner, LinkMethod.OTHER_REGISTER,
                                                                    MatchLink.State.LINKED, rows["M5"].pk)
    assert pair.score == _pair(rows["M5"], rows["H1"]).score
    assert [f[0] for f in pair.fields] == ["pin", "first_name", "father", "family", "birth_date", "sex", "territory"]
    event = AuditEvent.objects.get(event="match_link.linked_through", object_id=str(pair.pk))
    assert event.actor == officer and event.learner_id == learner.pk and "line 6 of batch" in event.reason
    # The possible twin is proposed in the review queue with that learner, not linked.
    h2 = _fresh(rows["H2"])
    proposed = MatchLink.objects.get(person=h2)
    assert (proposed.state, proposed.learner, proposed.via_id) == (MatchLink.State.PENDING, learner, rows["M5"].pk)
    assert proposed.reason == "possibly the same child as a row of another register"
    assert h2.link_state == LinkState.REVIEW and services.review_queue(officer).filter(pk=proposed.pk).exists()
    assert AuditEvent.objects.filter(event="match_link.proposed_through", object_id=str(proposed.pk)).exists()
    assert _fresh(rows["H3"]).link_state == LinkState.NO_MATCH
    # Both registers' rows now hang on one learner: the out-of-school search sees the child through both.
    assert set(ImportedPerson.objects.filter(learner=learner).values_list("record_id", flat=True)) == {"M5", "H1"}
    assert learner in set(services.out_of_school(Learner.objects.all()))
    with pytest.raises(ValidationError):
        services.register_person(officer, h1, confirm_new=True)  # no second learner for the same child


def test_a_later_run_links_the_same_child_through(registers, officer, cast):
    """The school registers the girl itself; the MSEK batch, linked again, finds her, and the health row follows."""
    rows = registers.rows
    school = cast.a.orgs[OrgKind.SCHOOL]
    learner = Learner.objects.create(last_name="Мамытова", first_name="Жылдыз", patronymic="Бекболотовна",
                                     birth_date=dt.date(2016, 11, 20), sex=Sex.FEMALE, territory=cast.a.district,
                                     created_by_org=school)
    stats = services.link_batch(officer, registers.msek)
    assert _fresh(rows["M5"]).learner == learner
    h1 = _fresh(rows["H1"])
    assert (h1.learner, h1.link_method) == (learner, LinkMethod.OTHER_REGISTER)
    assert stats["linked_through"] == 2  # H1 linked, H2 proposed


def test_accepting_a_pair_links_through_and_undoing_it_takes_them_back(registers, officer, cast):
    rows = registers.rows
    # Registered by the school under another given name: the MSEK row waits for review.
    learner = Learner.objects.create(last_name="Мамытова", first_name="Жылдызкан", patronymic="Бекболотовна",
                                     birth_date=dt.date(2016, 11, 20), sex=Sex.FEMALE, territory=cast.a.district,
                                     created_by_org=cast.a.orgs[OrgKind.SCHOOL])
    services.link_batch(officer, registers.msek)
    assert _fresh(rows["M5"]).link_state == LinkState.REVIEW
    pair = MatchLink.objects.get(person=rows["M5"], learner=learner)
    assert not MatchLink.objects.filter(person=rows["H1"]).exists()  # nothing passes on from a pair in review
    services.decide(officer, pair, "accept", reason="Жылдызкан is her name in the birth certificate.")
    h1 = _fresh(rows["H1"])
    assert (h1.link_state, h1.learner) == (LinkState.LINKED, learner)
    follower = MatchLink.objects.get(person=h1)
    services.undo(officer, pair, reason="Another child after all.")
    follower.refresh_from_db()
    h1 = _fresh(rows["H1"])
    assert follower.state == MatchLink.State.PENDING and (h1.link_state, h1.learner) == (LinkState.REVIEW, None)
    event = AuditEvent.objects.get(event="match_link.undone", object_id=str(follower.pk))
    assert f"Undone with pair {pair.pk}" in event.reason and event.changes == {"state": ["linked", "pending"]}
    # The reviewer decides the follower now; a rejection is never proposed again.
    services.decide(officer, follower, "reject", reason="Not the same child.")
    assert _fresh(rows["H1"]).link_state == LinkState.NO_MATCH


def test_a_rejected_pair_is_not_proposed_again(registers, officer):
    rows = registers.rows
    learner = services.register_person(officer, rows["M5"], confirm_new=True)
    proposed = MatchLink.objects.get(person=rows["H2"])
    services.decide(officer, proposed, "reject", reason="H2 is her twin sister Айзада.")
    assert _fresh(rows["H2"]).link_state == LinkState.NO_MATCH
    assert services._spread(officer, {rows["M5"].pk: learner.pk}) == 0
    assert MatchLink.objects.get(person=rows["H2"]).state == MatchLink.State.REJECTED


def test_a_row_linked_to_another_learner_keeps_it(registers, officer, learners):
    rows = registers.rows
    MatchLink.objects.create(person=rows["H1"], learner=learners.aiperi, score=1.0, weight=0.0,
                             method=LinkMethod.CLERICAL, state=MatchLink.State.ACCEPTED)
    services._refresh_person(_fresh(rows["H1"]))
    learner = services.register_person(officer, rows["M5"], confirm_new=True)
    assert _fresh(rows["H1"]).learner == learners.aiperi
    assert not MatchLink.objects.filter(person=rows["H1"], learner=learner).exists()
    assert MatchLink.objects.filter(person=rows["H2"], learner=learner).exists()  # the rest of the group still follows


# --- withdrawing ------------------------------------------------------------------------------------------


def test_withdrawing_a_batch_withdraws_its_pairs_of_rows(registers, officer, msek):
    rows = registers.rows
    services.withdraw_batch(officer, registers.health, reason="Sent to the wrong office.")
    assert set(PersonLink.objects.values_list("state", flat=True)) == {PersonLink.State.WITHDRAWN}
    assert all(p.withdrawn_at for p in PersonLink.objects.all())
    assert services.same_child_rows(officer, [rows["M5"]])[rows["M5"].pk] == []
    event = AuditEvent.objects.get(event="import_batch.withdrawn", object_id=str(registers.health.pk))
    assert event.changes["same_child_pairs_withdrawn"] == 2 and event.changes["state"] == ["linked", "withdrawn"]
    # Registering the MSEK row now passes nothing on; a new batch is not compared with the withdrawn rows.
    services.register_person(officer, rows["M5"], confirm_new=True)
    assert not MatchLink.objects.filter(person__batch=registers.health).exists()
    again = import_register(officer, msek, rows=["N1,,Mamytova,Aizada,Bekbolotovna,20.11.2016,F,Chuy,Sokuluk,"],
                            name="msek-december.csv").batch
    stats = services.link_batch(officer, again)
    assert stats["register_rows_compared"] == 0 and not PersonLink.objects.filter(batch=again).exists()


def test_withdrawing_takes_back_pairs_proposed_through_its_rows(registers, officer):
    rows = registers.rows
    services.register_person(officer, rows["M5"], confirm_new=True)
    services.withdraw_batch(officer, registers.msek, reason="Duplicate delivery.")
    assert MatchLink.objects.get(person=rows["H2"]).state == MatchLink.State.WITHDRAWN
    assert _fresh(rows["H2"]).link_state == LinkState.NO_MATCH
    assert _fresh(rows["H1"]).link_state == LinkState.LINKED  # links already made stay, as the batch's own do
    event = AuditEvent.objects.get(event="import_batch.withdrawn", object_id=str(registers.msek.pk))
    assert event.changes["pairs_through_it_withdrawn"] == 1


# --- access -----------------------------------------------------------------------------------------------


@pytest.fixture
def across_offices(registers, cast, health):
    """District B's social-protection office imports a health list with the same girl, written as living in B."""
    b_officer = cast.b.users[Role.SOCIAL_PROTECTION_OFFICER]
    batch = import_register(b_officer, health, rows=["Q1,,Мамытова,Жылдыз,,20.11.2016,F,Чүй,Аламүдүн,"],
                            name="health-b.csv").batch
    services.link_batch(b_officer, batch)
    q1 = batch.persons.get()
    assert q1.territory == cast.b.district
    assert _pair(registers.rows["M5"], q1).state == PersonLink.State.LINKED
    return SimpleNamespace(officer=b_officer, batch=batch, q1=q1)


def test_partners_out_of_reach_are_not_listed(registers, across_offices, officer):
    m5, q1, b_officer = registers.rows["M5"], across_offices.q1, across_offices.officer
    assert "Q1" not in {r.person.record_id for r in services.same_child_rows(officer, [m5])[m5.pk]}
    assert services.same_child_rows(b_officer, [q1])[q1.pk] == []
    # The pair of rows itself is reached only where both rows are.
    assert PersonLink.objects.visible_to(officer).filter(pk=_pair(m5, registers.rows["H1"]).pk).exists()
    assert not PersonLink.objects.visible_to(officer).filter(pk=_pair(m5, q1).pk).exists()
    assert not PersonLink.objects.visible_to(b_officer).filter(pk=_pair(m5, q1).pk).exists()
    assert _api(b_officer).get(f"/api/v1/exchange/rows/{q1.pk}/").json()["same_child_rows"] == []
    assert _api(b_officer).get(f"/api/v1/exchange/rows/{m5.pk}/").status_code == 404


def test_a_learner_passes_to_another_offices_row(registers, across_offices, officer, client):
    """A's registration links B's row too (B's office sees its row linked, the learner out of its reach)."""
    m5, q1, b_officer = registers.rows["M5"], across_offices.q1, across_offices.officer
    learner = services.register_person(officer, m5, confirm_new=True)
    q1 = _fresh(q1)
    assert (q1.link_state, q1.learner) == (LinkState.LINKED, learner)
    assert AuditEvent.objects.get(event="match_link.linked_through", learner_id=learner.pk,
                                  object_id=str(MatchLink.objects.get(person=q1).pk)).actor == officer
    body = _api(b_officer).get(f"/api/v1/exchange/rows/{q1.pk}/").json()
    assert body["linked"] is True and body["learner"] is None  # the learner lives in A
    pair = MatchLink.objects.get(person=q1)
    seen = _api(b_officer).get(f"/api/v1/exchange/pairs/{pair.pk}/").json()
    assert seen["method"] == "other-register" and seen["via"] is None  # A's row is out of B's reach
    client.force_login(b_officer)
    page = client.get(pair.get_absolute_url()).content.decode()
    assert "Found through the same child's row in another register (outside your reach)" in page


def test_outsider_and_other_districts_get_404(registers, cast, client):
    h1 = registers.rows["H1"]
    assert not PersonLink.objects.visible_to(cast.outsider).exists()
    for user in (cast.outsider, cast.b.users[Role.SOCIAL_PROTECTION_OFFICER], cast.a.users[Role.LOCAL_GOVERNMENT_OFFICER]):
        client.force_login(user)
        assert client.get(h1.get_absolute_url()).status_code == 404
        assert _api(user).get(f"/api/v1/exchange/rows/{h1.pk}/").status_code == 404


def test_the_system_check_knows_the_pairs_of_rows():
    from birge.core.checks import every_personal_model_is_registered

    assert every_personal_model_is_registered() == []
    assert PersonLink in access.REGISTRY


# --- API and pages ----------------------------------------------------------------------------------------


def test_api_shows_the_same_child_in_other_registers(registers, officer):
    rows = registers.rows
    client = _api(officer)
    body = client.get(f"/api/v1/exchange/rows/{rows['M5'].pk}/").json()
    assert body["same_child_rows"] == [
        {"id": rows["H1"].pk, "batch": registers.health.pk, "row_number": 2, "source_kind": "health-referrals",
         "relation": "same-child", "score": _pair(rows["M5"], rows["H1"]).score, "link_state": "no-match"},
        {"id": rows["H2"].pk, "batch": registers.health.pk, "row_number": 3, "source_kind": "health-referrals",
         "relation": "possibly-same-child", "score": _pair(rows["M5"], rows["H2"]).score, "link_state": "no-match"},
    ]
    listed = {r["record_id"]: r for r in client.get(f"/api/v1/exchange/rows/?batch={registers.health.pk}").json()["results"]}
    assert [r["id"] for r in listed["H1"]["same_child_rows"]] == [rows["M5"].pk]
    assert listed["H3"]["same_child_rows"] == []
    batch = client.get(f"/api/v1/exchange/batches/{registers.health.pk}/").json()
    assert batch["link_stats"]["same_child_links"] == 1 and batch["link_stats"]["rows_in_other_registers"] == 1
    learner = client.post(f"/api/v1/exchange/rows/{rows['M5'].pk}/register/", {"confirm_new": True},
                          format="json").json()["learner"]
    pair = MatchLink.objects.get(person=rows["H1"])
    seen = client.get(f"/api/v1/exchange/pairs/{pair.pk}/").json()
    assert (seen["via"], seen["learner"], seen["method"], seen["state"]) == (rows["M5"].pk, learner, "other-register",
                                                                              "linked")
    assert client.get(f"/api/v1/exchange/pairs/?batch={registers.health.pk}").json()["results"][0]["via"] == rows["M5"].pk


def test_pages_show_the_same_child_in_other_registers(registers, officer, client):
    rows = registers.rows
    client.force_login(officer)
    page = client.get(rows["M5"].get_absolute_url()).content.decode()
    assert "The same child in other registers" in page and rows["H1"].get_absolute_url() in page
    assert "Possibly the same child" in page and "Mamytova Zhyldyz" in page
    assert "No row of another register" in client.get(rows["H3"].get_absolute_url()).content.decode()
    batch_page = client.get(registers.health.get_absolute_url()).content.decode()
    assert "Also in other registers" in batch_page and "1 pairs of the same child" in batch_page
    client.post(reverse("exchange:person-register", args=[rows["M5"].pk]), {"confirm_new": "on"})
    pair = MatchLink.objects.get(person=rows["H1"])
    compare = client.get(pair.get_absolute_url()).content.decode()
    assert "Found through the same child's row in another register" in compare
    assert rows["M5"].get_absolute_url() in compare
    assert "Through the same child&#x27;s row in another register" in client.get(
        rows["H1"].get_absolute_url()).content.decode()
    assert ImportBatch.objects.count() == 2
