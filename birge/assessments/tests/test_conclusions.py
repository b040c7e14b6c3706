"""Conclusions: drafted by the PMPK, issued by the chair only, never edited after issue, superseded with
the history kept, withdrawn with a reason; issuing concludes the referral and starts the review clock."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from birge.assessments import services
from birge.assessments.models import Conclusion, ConclusionItem, IssuedConclusionError
from birge.core.deadline_models import Clock, Deadline
from birge.core.models import AuditEvent
from birge.core.roles import Role
from birge.referrals.models import State

from .conftest import item

pytestmark = pytest.mark.django_db


def test_a_conclusion_is_written_after_the_session_is_held(world):
    session = world.schedule()
    with pytest.raises(ValidationError) as exc:
        services.start_conclusion(world.member, session)
    assert "session" in exc.value.message_dict


def test_items_follow_the_catalogue_units(world):
    c = world.draft()
    assert [i.kind for i in c.items.order_by("position")] == ["service", "service", "condition", "device", "test-accommodation"]
    with pytest.raises(ValidationError) as exc:
        services.set_items(world.member, c, [
            {"catalogue": item("speech-therapy")},
            {"catalogue": item("social-pedagogy"), "minutes_per_week": 30},
            {"catalogue": item("seating"), "minutes_per_week": 30},
            {"catalogue": item("wheelchair")}, {"catalogue": item("wheelchair")},
        ])
    errors = exc.value.message_dict
    assert set(errors) == {"items-0-minutes_per_week", "items-1-sessions_per_month", "items-1-minutes_per_week",
                           "items-2-catalogue", "items-4-catalogue"}
    assert c.items.count() == 5  # nothing half-saved


def test_only_the_chair_issues(world):
    c = world.draft()
    with pytest.raises(ValidationError) as exc:
        services.issue_conclusion(world.member, c)
    assert "Only the chair" in " ".join(exc.value.messages)
    for user in (world.user("b", Role.PMPK_CHAIR), world.coordinator, world.parent):
        with pytest.raises(PermissionDenied):
            services.issue_conclusion(user, c)
    c.refresh_from_db()
    assert c.status == Conclusion.Status.DRAFT and not c.number


def test_issuing_signs_numbers_concludes_the_referral_and_starts_the_review_clock(world):
    c = world.issued()
    assert c.status == Conclusion.Status.ISSUED and c.issued_by == world.chair and c.issued_at and c.number
    world.referral.refresh_from_db()
    assert world.referral.state == State.CONCLUDED
    conclude = Deadline.objects.for_object(world.referral).get(clock=Clock.REFERRAL_CONCLUDE)
    assert conclude.met_at is not None
    review = Deadline.objects.for_object(c).get(clock=Clock.CONCLUSION_REVIEW)
    assert review.due_on == c.next_review_on and review.owner_organization == world.pmpk and review.is_open


def test_issuing_needs_the_dates(world):
    c = world.draft()
    services.update_conclusion(world.member, c, valid_until=None, next_review_on=None)
    with pytest.raises(ValidationError) as exc:
        services.issue_conclusion(world.chair, c)
    assert set(exc.value.message_dict) == {"valid_until", "next_review_on"}
    with pytest.raises(ValidationError) as exc:
        services.update_conclusion(world.member, c, valid_until=timezone.localdate() + dt.timedelta(days=100),
                                   next_review_on=timezone.localdate() + dt.timedelta(days=200))
    assert "next_review_on" in exc.value.message_dict


def test_never_edited_after_issue(world):
    c = world.issued()
    with pytest.raises(IssuedConclusionError):
        services.update_conclusion(world.member, c, summary="Changed")
    with pytest.raises(IssuedConclusionError):
        services.set_items(world.member, c, [])
    with pytest.raises(IssuedConclusionError):
        services.add_item(world.member, c, catalogue=item("breaks"))
    first = c.items.first()
    with pytest.raises(IssuedConclusionError):
        services.remove_item(world.member, first)
    # the model-level guard, for code that bypasses the services
    c.summary = "Changed behind the service's back"
    with pytest.raises(IssuedConclusionError):
        c.save()
    first.detail = "x"
    with pytest.raises(IssuedConclusionError):
        first.save()
    with pytest.raises(IssuedConclusionError):
        first.delete()
    with pytest.raises(IssuedConclusionError):
        c.delete()
    c.refresh_from_db()
    assert c.summary == "Needs speech therapy." and c.items.count() == 5


def test_supersede_keeps_the_history(world):
    old = world.issued()
    draft = services.supersede_conclusion(world.member, old)
    assert draft.status == Conclusion.Status.DRAFT and draft.supersedes == old
    assert draft.items.count() == old.items.count()
    with pytest.raises(ValidationError):
        services.supersede_conclusion(world.member, old)  # one correction at a time
    services.add_item(world.member, draft, catalogue=item("tutor"), minutes_per_week=300)
    new = services.issue_conclusion(world.chair, draft)
    old.refresh_from_db()
    assert old.status == Conclusion.Status.SUPERSEDED and old.items.count() == 5 and old.summary == "Needs speech therapy."
    assert new.status == Conclusion.Status.ISSUED and new.items.count() == 6 and new.number != old.number
    assert Deadline.objects.for_object(old).get(clock=Clock.CONCLUSION_REVIEW).met_at is not None
    assert Deadline.objects.for_object(new).get(clock=Clock.CONCLUSION_REVIEW).is_open
    assert AuditEvent.objects.filter(event="conclusion.superseded", object_id=str(old.pk)).exists()
    with pytest.raises(ValidationError):
        services.supersede_conclusion(world.member, old)


def test_withdraw_with_a_reason(world):
    draft = world.draft()
    with pytest.raises(ValidationError) as exc:
        services.withdraw_conclusion(world.member, draft, reason=" ")
    assert "reason" in exc.value.message_dict
    services.withdraw_conclusion(world.member, draft, reason="Started by mistake")
    draft.refresh_from_db()
    assert draft.status == Conclusion.Status.WITHDRAWN and draft.withdrawal_reason == "Started by mistake"
    assert Conclusion.objects.filter(pk=draft.pk).exists()  # never deleted


def test_only_the_chair_withdraws_an_issued_conclusion(world):
    c = world.issued()
    release = world.released(c)
    with pytest.raises(ValidationError):
        services.withdraw_conclusion(world.member, c, reason="Wrong child")
    services.withdraw_conclusion(world.chair, c, reason="Wrong child")
    assert Deadline.objects.for_object(c).get(clock=Clock.CONCLUSION_REVIEW).cancelled_at is not None
    assert not Deadline.objects.for_object(release).open().exists()
    with pytest.raises(ValidationError):
        services.release_conclusion(world.parent, c, organization=world.school_b, give_consent=True)


def test_no_contraindications_to_mainstream_schooling():
    """The 2025 rules move away from them: no field, no catalogue entry."""
    names = {f.name for f in Conclusion._meta.get_fields()} | {f.name for f in ConclusionItem._meta.get_fields()}
    assert not any("contraindication" in n for n in names)
