"""Linking a batch to the learners, and the clerical review queue: decide, undo, register."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from birge.core.models import AuditEvent
from birge.core.roles import Role
from birge.exchange import services
from birge.exchange.models import ImportBatch, LinkMethod, LinkState, MatchLink
from birge.learners.models import DisabilityStatus, Learner

from .conftest import import_register


@pytest.fixture
def linked(cast, officer, msek, learners, placed):
    batch = import_register(officer, msek).batch
    stats = services.link_batch(officer, batch)
    batch.refresh_from_db()
    rows = {p.record_id: p for p in batch.persons.all()}
    return batch, rows, stats


def test_link_batch_links_reviews_and_reports(linked, learners, placed, officer):
    batch, rows, stats = linked
    assert batch.status == ImportBatch.Status.LINKED and batch.linked_at
    m1 = rows["M1"]
    assert (m1.link_state, m1.learner, m1.link_method) == (LinkState.LINKED, placed["a"].learner, LinkMethod.PIN)
    m2 = rows["M2"]  # Latin spelling, no PIN
    assert (m2.link_state, m2.learner, m2.link_method) == (LinkState.LINKED, learners.sooronbai, LinkMethod.PROBABILISTIC)
    assert m2.link_score >= 0.9
    m3 = rows["M3"]  # Kyrgyz naming form: "Талант кызы" = Талантовна
    assert m3.learner == learners.aiperi
    m4 = rows["M4"]  # twin signature: never automatic
    assert m4.link_state == LinkState.REVIEW and m4.learner is None
    pairs = MatchLink.objects.filter(person=m4)
    assert pairs and all(p.state == MatchLink.State.PENDING for p in pairs)
    assert {p.learner for p in pairs} <= {learners.erlan, learners.nurbek}
    assert all(p.reason == "different first names" for p in pairs)
    field_names = [f[0] for f in pairs[0].fields]
    assert field_names == ["pin", "first_name", "father", "family", "birth_date", "sex", "territory"]
    assert rows["M5"].link_state == LinkState.NO_MATCH
    assert (stats["linked"], stats["review"], stats["no_match"]) == (3, 1, 1)
    assert AuditEvent.objects.filter(event="import_batch.linked", object_id=str(batch.pk)).exists()


def test_thresholds_come_from_settings(cast, officer, msek, learners, settings):
    settings.BIRGE_LINKAGE = {"link_threshold": 1.0, "review_threshold": 0.99}
    batch = import_register(officer, msek).batch
    services.link_batch(officer, batch)
    linked = batch.persons.filter(link_state=LinkState.LINKED)
    assert [p.record_id for p in linked] == ["M1"]  # only the exact PIN link


def test_accept_links_and_undo_reverses(linked, learners, officer):
    batch, rows, _ = linked
    pair = MatchLink.objects.get(person=rows["M4"], learner=learners.erlan) if MatchLink.objects.filter(
        person=rows["M4"], learner=learners.erlan).exists() else MatchLink.objects.filter(person=rows["M4"]).first()
    services.decide(officer, pair, "accept", reason="The family confirmed: Эркин is Эрлан's name at home.")
    person = rows["M4"]
    person.refresh_from_db()
    assert (person.link_state, person.learner_id, person.link_method) == (LinkState.LINKED, pair.learner_id,
                                                                           LinkMethod.CLERICAL)
    assert not services.review_queue(officer).filter(person=person).exists()
    event = AuditEvent.objects.get(event="match_link.accepted", object_id=str(pair.pk))
    assert event.learner_id == pair.learner_id and event.changes == {"state": ["pending", "accepted"]}
    # A second decision needs an undo first.
    with pytest.raises(ValidationError):
        services.decide(officer, pair, "reject", reason="x")
    services.undo(officer, pair, reason="Accepted by mistake.")
    person.refresh_from_db()
    assert (person.link_state, person.learner) == (LinkState.REVIEW, None)
    pair.refresh_from_db()
    assert pair.state == MatchLink.State.PENDING
    assert AuditEvent.objects.filter(event="match_link.undone", object_id=str(pair.pk)).exists()


def test_reject_needs_a_reason_and_ends_in_no_match(linked, officer):
    batch, rows, _ = linked
    pairs = list(MatchLink.objects.filter(person=rows["M4"]))
    with pytest.raises(ValidationError) as exc:
        services.decide(officer, pairs[0], "reject")
    assert "reason" in exc.value.message_dict
    services.decide(officer, pairs[0], "unsure", reason="Ask the school about twins.")
    assert services.review_queue(officer).filter(pk=pairs[0].pk).exists()  # unsure stays in the queue
    for p in pairs:
        services.decide(officer, p, "reject", reason="Different child: the register names Эркин, a third brother.")
    rows["M4"].refresh_from_db()
    assert rows["M4"].link_state == LinkState.NO_MATCH
    # A rejected pair is not proposed again by another run.
    services.link_batch(officer, batch)
    assert set(MatchLink.objects.filter(person=rows["M4"]).values_list("state", flat=True)) == {"rejected"}


def test_undo_an_automatic_link_sends_it_to_review(linked, officer):
    batch, rows, _ = linked
    pair = MatchLink.objects.get(person=rows["M2"])
    assert pair.state == MatchLink.State.LINKED
    services.undo(officer, pair, reason="The birth certificate shows another father.")
    rows["M2"].refresh_from_db()
    assert rows["M2"].link_state == LinkState.REVIEW
    assert services.review_queue(officer).filter(pk=pair.pk).exists()


def test_one_learner_per_batch(linked, learners, officer):
    batch, rows, _ = linked
    pair = MatchLink.objects.create(person=rows["M5"], learner=learners.sooronbai, score=0.5, weight=0.0,
                                    method="probabilistic", fields=[], state="pending")
    rows["M5"].link_state = LinkState.REVIEW
    rows["M5"].save()
    with pytest.raises(ValidationError) as exc:
        services.decide(officer, pair, "accept")
    assert "line 3" in exc.value.messages[0]


def test_other_district_and_other_roles_cannot_decide(cast, linked):
    batch, rows, _ = linked
    pair = MatchLink.objects.filter(person=rows["M4"]).first()
    for user in (cast.b.users[Role.SOCIAL_PROTECTION_OFFICER], cast.a.users[Role.LOCAL_GOVERNMENT_OFFICER], cast.outsider):
        assert not MatchLink.objects.visible_to(user).filter(pk=pair.pk).exists()
        with pytest.raises(PermissionDenied):
            services.decide(user, pair, "accept")


def test_register_a_child_found_on_no_roster(cast, linked, officer):
    batch, rows, _ = linked
    person = rows["M5"]
    with pytest.raises(ValidationError):
        services.register_person(officer, rows["M4"])  # still in review
    learner = services.register_person(officer, person)
    assert (learner.first_name, learner.last_name, learner.territory) == ("Жылдыз", "Мамытова", cast.a.district)
    status = DisabilityStatus.objects.get(learner=learner)  # from the MSEK register
    assert status.category == "child" and status.ends_on.isoformat() == "2034-11-19"
    person.refresh_from_db()
    assert (person.link_state, person.learner, person.link_method) == (LinkState.LINKED, learner, LinkMethod.REGISTERED)
    with pytest.raises(ValidationError):
        services.register_person(officer, person)
    assert AuditEvent.objects.filter(event="imported_person.registered").exists()
    assert Learner.objects.filter(first_name="Жылдыз").count() == 1


def test_withdrawn_batch_leaves_the_queue(linked, officer):
    batch, rows, _ = linked
    assert services.review_queue(officer).exists()
    services.withdraw_batch(officer, batch, reason="Sent to the wrong office.")
    assert not services.review_queue(officer).exists()
    with pytest.raises(ValidationError):
        services.link_batch(officer, batch)
