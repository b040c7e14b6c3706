"""The verbs of the learner registry and their rules."""

import datetime as dt

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from birge.core.models import AuditEvent, Membership
from birge.core.roles import OrgKind, Role
from birge.learners import services
from birge.learners.models import Consent, DisabilityStatus, Enrolment, Learner

CHILD = dict(pin="21503201512345", last_name="Асанов", first_name="Бакыт", patronymic="Асанович",
             birth_date=dt.date(2015, 3, 15), sex="male")


@pytest.fixture
def coordinator(cast):
    return cast.a.users[Role.SCHOOL_COORDINATOR]


def _create(user, cast, **over):
    data = {**CHILD, "territory": cast.a.district, **over}
    return services.create_learner(user, **data)


def _errors(exc_info):
    return exc_info.value.message_dict


# --- PIN ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("pin, fragment", [
    ("31503201512345", "first digit"),
    ("2150320151234", "14 digits"),
    ("2150320151234X", "digits 0 to 9"),
    ("23102201512345", "not a real date"),  # 31 February
    ("21503209912345", "future"),
])
def test_bad_pin_is_a_field_error_with_the_reason(cast, coordinator, pin, fragment):
    with pytest.raises(ValidationError) as exc:
        _create(coordinator, cast, pin=pin)
    assert fragment in " ".join(_errors(exc)["pin"])
    assert not Learner.objects.exists()


def test_pin_mismatch_needs_confirmation(cast, coordinator):
    with pytest.raises(ValidationError) as exc:
        _create(coordinator, cast, birth_date=dt.date(2015, 3, 16), sex="female")
    assert set(_errors(exc)) == {"birth_date", "sex"}
    learner = _create(coordinator, cast, birth_date=dt.date(2015, 3, 16), confirm_mismatch=True)
    assert learner.pin_mismatch_confirmed
    assert "confirmed" in AuditEvent.objects.get(event="learner.created").reason


def test_created_by_the_users_organization_and_audited(cast, coordinator):
    learner = _create(coordinator, cast)
    assert learner.created_by_org == cast.a.orgs[OrgKind.SCHOOL]
    assert learner.search_key == "asanov bakit asanovich"
    event = AuditEvent.objects.get(event="learner.created")
    assert event.learner_id == learner.pk and event.actor == coordinator
    assert "search_key" not in event.changes["after"]


def test_reader_cannot_create(cast):
    with pytest.raises(PermissionDenied):
        _create(cast.a.users[Role.TEACHER], cast)


def test_duplicate_pin_refused_with_the_existing_record_when_visible(cast, coordinator):
    existing = _create(coordinator, cast)
    with pytest.raises(services.DuplicatePin) as exc:
        _create(coordinator, cast, first_name="Другой", last_name="", patronymic="", confirm_new_despite_duplicates=True)
    assert exc.value.existing == existing
    assert str(existing.pk) in " ".join(_errors(exc)["pin"])
    # Another district's coordinator learns that the PIN is taken, but not whose it is.
    other = cast.b.users[Role.SCHOOL_COORDINATOR]
    with pytest.raises(services.DuplicatePin) as exc:
        services.create_learner(other, **{**CHILD, "territory": cast.b.district})
    assert exc.value.existing is None
    assert "Бакыт" not in " ".join(_errors(exc)["pin"])


def test_likely_duplicate_by_folded_name_and_birth_date(cast, coordinator):
    existing = _create(coordinator, cast)
    # The same child in the Kyrgyz naming form and another spelling, without a PIN.
    with pytest.raises(services.PossibleDuplicates) as exc:
        _create(coordinator, cast, pin="", last_name="", first_name="Bakyt", patronymic="Asan uulu")
    assert exc.value.candidates == [existing]
    confirmed = _create(coordinator, cast, pin="", last_name="", first_name="Bakyt", patronymic="Asan uulu",
                        confirm_new_despite_duplicates=True)
    assert str(existing.pk) in AuditEvent.objects.get(event="learner.created", object_id=str(confirmed.pk)).reason


def test_no_duplicate_warning_for_another_birth_date_or_sex(cast, coordinator):
    _create(coordinator, cast)
    _create(coordinator, cast, pin="", birth_date=dt.date(2015, 3, 16))
    _create(coordinator, cast, pin="", last_name="Асанова", first_name="Бакыт", patronymic="Асановна", sex="female")
    assert Learner.objects.count() == 3


def test_duplicates_out_of_reach_are_not_shown(cast, placed):
    other = cast.b.users[Role.SCHOOL_COORDINATOR]
    # B's coordinator registers a child like A's: A's child is not listed.
    learner = services.create_learner(other, **{**CHILD, "pin": "", "territory": cast.b.district})
    assert learner.pk


def test_birth_date_plausibility(cast, coordinator):
    with pytest.raises(ValidationError) as exc:
        _create(coordinator, cast, pin="", birth_date=timezone.localdate() + dt.timedelta(days=1))
    assert "future" in " ".join(_errors(exc)["birth_date"])


def test_cannot_register_out_of_own_reach(cast):
    officer = cast.a.users[Role.SOCIAL_PROTECTION_OFFICER]  # territorial reach: district A
    with pytest.raises(ValidationError) as exc:
        services.create_learner(officer, **{**CHILD, "territory": cast.b.district})
    assert "territory" in _errors(exc)
    assert not Learner.objects.exists()


def test_pin_change_keeps_history(cast, coordinator):
    learner = _create(coordinator, cast)
    with pytest.raises(ValidationError):
        services.change_pin(coordinator, learner, new_pin="21503201500001", reason="")
    services.change_pin(coordinator, learner, new_pin="21503201500001", reason="Civil registry correction")
    learner.refresh_from_db()
    assert learner.pin == "21503201500001"
    (change,) = learner.pin_history.all()
    assert (change.old_pin, change.new_pin, change.changed_by) == ("21503201512345", "21503201500001", coordinator)
    # The old PIN is free again for a new registration only through the history; a taken PIN is refused.
    other = _create(coordinator, cast, pin="21503201512399", first_name="Талант", last_name="Сыдыков", patronymic="")
    with pytest.raises(services.DuplicatePin):
        services.change_pin(coordinator, other, new_pin="21503201500001", reason="typo")


def test_update_keeps_pin_and_checks_mismatch(cast, coordinator):
    learner = _create(coordinator, cast)
    with pytest.raises(ValidationError):
        services.update_learner(coordinator, learner, pin="21503201500001")
    with pytest.raises(ValidationError) as exc:
        services.update_learner(coordinator, learner, birth_date=dt.date(2015, 4, 1))
    assert "birth_date" in _errors(exc)
    services.update_learner(coordinator, learner, first_name="Бакытбек")
    learner.refresh_from_db()
    assert learner.search_key == "asanov bakitbek asanovich"
    assert AuditEvent.objects.get(event="learner.updated").changes == {"first_name": ["Бакыт", "Бакытбек"]}


def test_archive_never_deletes(cast, coordinator):
    learner = _create(coordinator, cast)
    with pytest.raises(ValidationError):
        services.archive_learner(coordinator, learner, reason=" ")
    services.archive_learner(coordinator, learner, reason="Registered twice")
    learner.refresh_from_db()
    assert learner.archived_at and learner.archive_reason == "Registered twice"
    with pytest.raises(ValidationError):
        services.update_learner(coordinator, learner, first_name="X")
    services.restore_learner(coordinator, learner, reason="Archived by mistake")
    assert Learner.objects.get(pk=learner.pk).archived_at is None


# --- enrolments --------------------------------------------------------------------------------


def test_one_active_enrolment_per_level_is_a_clear_field_error(cast, placed):
    coordinator = cast.a.users[Role.SCHOOL_COORDINATOR]
    learner = placed["a"].learner
    with pytest.raises(ValidationError) as exc:
        services.enrol(coordinator, learner, organization=cast.a.orgs[OrgKind.SCHOOL], level="school", grade=4,
                       starts_on=timezone.localdate())
    assert "already has an active enrolment" in " ".join(_errors(exc)["level"])
    assert Enrolment.objects.filter(learner=learner).count() == 1


def test_enrolment_checks_level_and_organization(cast, placed):
    coordinator = cast.a.users[Role.SCHOOL_COORDINATOR]
    learner = placed["a"].learner
    with pytest.raises(ValidationError) as exc:
        services.enrol(coordinator, learner, organization=cast.a.orgs[OrgKind.SCHOOL], level="university",
                       starts_on=timezone.localdate())
    assert "organization" in _errors(exc)
    with pytest.raises(ValidationError) as exc:
        services.enrol(coordinator, learner, organization=cast.a.orgs[OrgKind.HEALTH_FACILITY], level="kindergarten",
                       starts_on=timezone.localdate())
    assert "organization" in _errors(exc)


def test_transfer_keeps_history_in_one_transaction(cast, placed):
    coordinator = cast.a.users[Role.SCHOOL_COORDINATOR]
    old = placed["a"].enrolment
    day = timezone.localdate()
    new = services.transfer(coordinator, old, to_organization=cast.b.orgs[OrgKind.SCHOOL], starts_on=day, reason="Family moved")
    old.refresh_from_db()
    assert (old.status, old.ends_on, old.end_reason) == ("transferred", day, "Family moved")
    assert (new.status, new.organization, new.grade, new.level) == ("active", cast.b.orgs[OrgKind.SCHOOL], 3, "school")
    assert list(Enrolment.objects.filter(learner=old.learner).order_by("pk").values_list("status", flat=True)) == [
        "transferred", "active"]
    assert AuditEvent.objects.filter(event__in=["enrolment.transferred", "enrolment.opened"]).count() == 2
    # The receiving school now reaches the child; the old one no longer does (it did not register them).
    assert Learner.objects.visible_to(cast.b.users[Role.SCHOOL_COORDINATOR]).filter(pk=old.learner_id).exists()


def test_failed_transfer_leaves_the_old_enrolment_active(cast, placed):
    coordinator = cast.a.users[Role.SCHOOL_COORDINATOR]
    old = placed["a"].enrolment
    with pytest.raises(ValidationError):
        services.transfer(coordinator, old, to_organization=cast.b.orgs[OrgKind.HEALTH_FACILITY])
    old.refresh_from_db()
    assert old.status == "active"
    assert Enrolment.objects.filter(learner=old.learner).count() == 1


def test_drop_out_needs_a_reason_and_complete_does_not(cast, placed):
    coordinator = cast.a.users[Role.SCHOOL_COORDINATOR]
    enrolment = placed["a"].enrolment
    with pytest.raises(ValidationError) as exc:
        services.drop_out(coordinator, enrolment, reason="")
    assert "reason" in _errors(exc)
    services.drop_out(coordinator, enrolment, reason="Family left the country")
    enrolment.refresh_from_db()
    assert enrolment.status == "dropped-out" and enrolment.ends_on == timezone.localdate()
    with pytest.raises(ValidationError):
        services.complete_enrolment(coordinator, enrolment)
    # A new one at the level may open now.
    services.enrol(coordinator, enrolment.learner, organization=cast.a.orgs[OrgKind.SCHOOL], level="school", grade=3,
                   starts_on=timezone.localdate())


def test_reader_cannot_change_enrolments(cast, placed):
    with pytest.raises(PermissionDenied):
        services.complete_enrolment(cast.a.users[Role.TEACHER], placed["a"].enrolment)


# --- guardians and consent ------------------------------------------------------------------------


def test_add_and_end_guardian_link(cast, placed):
    coordinator = cast.a.users[Role.SCHOOL_COORDINATOR]
    learner = placed["a"].learner
    link = services.add_guardian(coordinator, learner, relation="father", first_name="Асан", last_name="Сыдыков",
                                 phone="+996 555 123 456")
    assert link.guardian.search_key == "sidikov asan"
    with pytest.raises(ValidationError):
        services.link_guardian(coordinator, learner, link.guardian, relation="father")
    with pytest.raises(ValidationError):
        services.end_guardian_link(coordinator, link, reason="")
    services.end_guardian_link(coordinator, link, reason="Custody decision")
    link.refresh_from_db()
    assert link.ends_on == timezone.localdate() and link.end_reason == "Custody decision"
    events = set(AuditEvent.objects.filter(learner_id=learner.pk).values_list("event", flat=True))
    assert {"guardian.created", "guardian.linked", "guardian.unlinked"} <= events


def test_parent_account_creates_user_membership_and_sends_the_link(cast, placed, django_capture_on_commit_callbacks):
    coordinator = cast.a.users[Role.SCHOOL_COORDINATOR]
    link = services.add_guardian(coordinator, placed["a"].learner, relation="father", first_name="Асан", email="asan@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        user = services.give_parent_account(coordinator, link.guardian)
    assert user.username == "asan@example.org"
    assert Membership.objects.get(user=user).role == Role.PARENT
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["asan@example.org"]
    assert Learner.objects.visible_to(user).filter(pk=placed["a"].learner.pk).exists()
    with pytest.raises(ValidationError):
        services.give_parent_account(coordinator, link.guardian)


def test_consent_record_withdraw_and_has_consent(cast, placed):
    coordinator = cast.a.users[Role.SCHOOL_COORDINATOR]
    learner, guardian = placed["a"].learner, placed["a"].guardian
    pmpk = cast.a.orgs[OrgKind.PMPK_TERRITORIAL]
    with pytest.raises(ValidationError) as exc:
        services.record_consent(coordinator, learner, purpose="release-conclusion", method="paper", given_by=guardian)
    assert "recipient" in _errors(exc)
    consent = services.record_consent(coordinator, learner, purpose="release-conclusion", method="paper", given_by=guardian,
                                      recipient=cast.a.orgs[OrgKind.SCHOOL])
    assert consent.recorded_by == coordinator
    assert services.has_consent(learner, "release-conclusion", cast.a.orgs[OrgKind.SCHOOL])
    assert not services.has_consent(learner, "release-conclusion", pmpk)
    services.withdraw_consent(coordinator, consent, reason="The family changed its mind")
    assert not services.has_consent(learner, "release-conclusion")
    consent.refresh_from_db()
    assert consent.withdrawn_at and Consent.objects.filter(pk=consent.pk).exists()
    with pytest.raises(ValidationError):
        services.withdraw_consent(coordinator, consent, reason="again")


def test_expired_consent_does_not_count(cast, placed):
    coordinator = cast.a.users[Role.SCHOOL_COORDINATOR]
    learner = placed["a"].learner
    services.record_consent(coordinator, learner, purpose="services", method="paper", given_by=placed["a"].guardian,
                            given_at=timezone.now() - dt.timedelta(days=30), valid_until=timezone.localdate() - dt.timedelta(days=1))
    assert not services.has_consent(learner, "services")


def test_staff_cannot_claim_an_in_system_consent(cast, placed):
    coordinator = cast.a.users[Role.SCHOOL_COORDINATOR]
    with pytest.raises(ValidationError) as exc:
        services.record_consent(coordinator, placed["a"].learner, purpose="assessment", method="in-system",
                                given_by=placed["a"].guardian)
    assert "method" in _errors(exc)


def test_parent_gives_and_withdraws_consent_in_the_system(cast, placed):
    parent = cast.a.users[Role.PARENT]
    learner = placed["a"].learner
    consent = services.record_consent(parent, learner, purpose="assessment", method="in-system")
    assert consent.given_by == placed["a"].guardian and consent.method == "in-system"
    services.withdraw_consent(parent, consent, reason="Not now")
    with pytest.raises(PermissionDenied):
        services.record_consent(parent, placed["b"].learner, purpose="assessment", method="in-system")


def test_minor_cannot_consent_for_themselves(cast, placed):
    coordinator = cast.a.users[Role.SCHOOL_COORDINATOR]
    with pytest.raises(ValidationError) as exc:
        services.record_consent(coordinator, placed["a"].learner, purpose="services", method="paper", given_by_learner=True)
    assert "given_by_learner" in _errors(exc)


# --- disability and diagnosis ------------------------------------------------------------------------


@pytest.mark.parametrize("fields, field", [
    ({"category": "child", "indefinite": True, "ends_on": dt.date(2030, 1, 1)}, "ends_on"),
    ({"category": "child"}, "ends_on"),
    ({"category": "group-2", "indefinite": True}, "category"),
    ({"category": "child", "ends_on": dt.date(2020, 1, 1)}, "ends_on"),
])
def test_disability_rules(cast, placed, fields, field):
    coordinator = cast.a.users[Role.SCHOOL_COORDINATOR]
    with pytest.raises(ValidationError) as exc:
        services.record_disability(coordinator, placed["a"].learner, starts_on=dt.date(2021, 1, 1), **fields)
    assert field in _errors(exc)


def test_disability_record_and_close(cast, placed):
    officer = cast.a.users[Role.SOCIAL_PROTECTION_OFFICER]
    msek = cast.a.orgs[OrgKind.SOCIAL_PROTECTION]
    status = services.record_disability(officer, placed["a"].learner, category="child", starts_on=dt.date(2023, 5, 1),
                                        ends_on=dt.date(2026, 5, 1), certifying_body=msek, certificate_number="МСЭК-77")
    with pytest.raises(ValidationError):
        services.close_disability(officer, status, reason="")
    services.close_disability(officer, status, reason="Re-examination: status not extended")
    status.refresh_from_db()
    assert status.closed_at and not status.is_valid_on(timezone.localdate())
    with pytest.raises(ValidationError) as exc:
        services.record_disability(officer, placed["a"].learner, category="child", starts_on=dt.date(2023, 5, 1),
                                   indefinite=True, certifying_body=cast.a.orgs[OrgKind.SCHOOL])
    assert "certifying_body" in _errors(exc)


def test_opening_a_disability_status_is_audited(cast, placed, client):
    specialist = cast.a.users[Role.PSYCHOLOGIST]
    status = placed["a"].disability
    client.force_login(specialist)
    assert client.get(f"/learners/disability/{status.pk}/").status_code == 200
    assert client.get(f"/api/v1/disability-statuses/{status.pk}/").status_code == 200
    assert client.get(f"/learners/{placed['a'].learner.pk}/").status_code == 200
    reads = AuditEvent.objects.filter(action="read", object_type="learners.disabilitystatus", object_id=str(status.pk))
    assert reads.count() == 3
    assert set(reads.values_list("actor", flat=True)) == {specialist.pk}
    assert reads.first().learner_id == placed["a"].learner.pk


def test_a_teacher_opening_the_learner_page_writes_no_disability_read(cast, placed, client):
    client.force_login(cast.a.users[Role.TEACHER])
    response = client.get(f"/learners/{placed['a'].learner.pk}/")
    assert response.status_code == 200
    assert "Disability status" not in response.content.decode()
    assert not AuditEvent.objects.filter(action="read").exists()


def test_diagnosis_only_for_health_pmpk_and_family(cast, placed):
    coordinator = cast.a.users[Role.SCHOOL_COORDINATOR]
    with pytest.raises(PermissionDenied):
        services.record_diagnosis(coordinator, placed["a"].learner, code="F84.0")
    parent = cast.a.users[Role.PARENT]
    with pytest.raises(PermissionDenied):
        services.record_diagnosis(parent, placed["a"].learner, code="F84.0")


def test_diagnosis_code_format(cast):
    health = cast.a.users[Role.HEALTH_WORKER]
    learner = services.create_learner(health, **{**CHILD, "territory": cast.a.district})
    with pytest.raises(ValidationError) as exc:
        services.record_diagnosis(health, learner, code="autism")
    assert "code" in _errors(exc)
    diagnosis = services.record_diagnosis(health, learner, code="f84.0")
    assert diagnosis.code == "F84.0"
    services.withdraw_diagnosis(health, diagnosis, reason="Not confirmed")


# --- assignments --------------------------------------------------------------------------------------


def test_assignment_gives_a_specialist_access_and_ending_it_removes_it(cast, placed):
    coordinator = cast.a.users[Role.SCHOOL_COORDINATOR]
    learner = services.create_learner(coordinator, **{**CHILD, "pin": "", "first_name": "Нурлан", "territory": cast.a.district})
    therapist = cast.a.users[Role.SPEECH_THERAPIST]
    assert not Learner.objects.visible_to(therapist).filter(pk=learner.pk).exists()
    assignment = services.assign(coordinator, learner, user=therapist, kind="specialist")
    assert Learner.objects.visible_to(therapist).filter(pk=learner.pk).exists()
    assert DisabilityStatus.objects.visible_to(therapist).filter(learner=learner).count() == 0
    with pytest.raises(ValidationError):
        services.assign(coordinator, learner, user=therapist, kind="specialist")
    services.end_assignment(coordinator, assignment, reason="Course finished")
    therapist = type(therapist).objects.get(pk=therapist.pk)  # fresh grants cache
    assert not Learner.objects.visible_to(therapist).filter(pk=learner.pk).exists()


def test_only_staff_of_own_organization_with_the_right_role(cast, placed):
    coordinator = cast.a.users[Role.SCHOOL_COORDINATOR]
    learner = placed["a"].learner
    with pytest.raises(ValidationError) as exc:
        services.assign(coordinator, learner, user=cast.b.users[Role.SPEECH_THERAPIST], kind="specialist")
    assert "user" in _errors(exc)
    with pytest.raises(ValidationError):
        services.assign(coordinator, learner, user=cast.a.users[Role.TEACHER], kind="tutor")


def test_history_hides_records_the_user_may_not_see(cast, placed):
    coordinator = cast.a.users[Role.SCHOOL_COORDINATOR]
    officer = cast.a.users[Role.SOCIAL_PROTECTION_OFFICER]
    learner = placed["a"].learner
    services.record_disability(officer, learner, category="child", starts_on=dt.date(2023, 5, 1), indefinite=True)
    services.update_learner(coordinator, learner, address="Ленин көчөсү, 5")
    teacher_events = {e.event for e in services.learner_history(cast.a.users[Role.TEACHER], learner)}
    assert "learner.updated" in teacher_events and "disability.recorded" not in teacher_events
    assert "disability.recorded" in {e.event for e in services.learner_history(coordinator, learner)}
