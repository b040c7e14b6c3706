"""The access policy's own machinery (the per-record matrices live beside each app)."""

import pytest
from django.http import Http404

from birge.core import access, checks
from birge.core.roles import ROLE_JURISDICTION, Jurisdiction, Role


def test_matrix_covers_every_role_and_record_type():
    assert set(access.MATRIX) == set(Role)
    for role, row in access.MATRIX.items():
        assert set(row) == set(access.Rec), role
        assert set(row.values()) <= {"-", "r", "w"}


def test_no_personal_access_for_analyst_and_admin():
    for role in (Role.MINISTRY_ANALYST, Role.SYSTEM_ADMIN):
        assert set(access.MATRIX[role].values()) == {"-"}


def test_diagnosis_only_for_health_pmpk_and_family():
    readers = {role for role, row in access.MATRIX.items() if row[access.Rec.DIAGNOSIS] != "-"}
    assert readers == {Role.HEALTH_WORKER, Role.PMPK_CHAIR, Role.PMPK_MEMBER, Role.PARENT}


def test_grants_follow_memberships(cast):
    officer = cast.a.users[Role.DISTRICT_OFFICER]
    (grant,) = access.grants(officer)
    assert grant.reach == Jurisdiction.TERRITORY and grant.territory_prefix == "41708222"
    regional = cast.a.users[Role.REGIONAL_OFFICER]
    assert access.grants(regional)[0].territory_prefix == "41708"
    coordinator = cast.a.users[Role.SCHOOL_COORDINATOR]
    assert access.grants(coordinator)[0].organization_id == cast.a.orgs["school"].pk
    assert access.grants(cast.outsider) == []


def test_inactive_user_has_no_grants(cast):
    user = cast.a.users[Role.TEACHER]
    user.is_active = False
    assert access.grants(user) == []


def test_every_role_has_a_jurisdiction():
    assert set(ROLE_JURISDICTION) == set(Role)


def test_unregistered_model_is_refused(cast):
    from birge.core.models import Organization

    with pytest.raises(LookupError):
        access.restrict(cast.outsider, Organization.objects.all())


def test_get_visible_or_404_hides_existence(cast):
    from birge.learners.models import Learner

    with pytest.raises(Http404):
        access.get_visible_or_404(cast.outsider, Learner.objects.all(), pk=1)
    with pytest.raises(Http404):
        access.get_visible_or_404(cast.outsider, Learner.objects.all(), pk="not-a-number")


def test_system_check_passes_for_the_project():
    assert checks.every_personal_model_is_registered() == []


def test_system_check_fails_for_an_unregistered_personal_model(monkeypatch):
    from birge.learners.models import DisabilityStatus

    registry = dict(access.REGISTRY)
    registry.pop(DisabilityStatus)
    monkeypatch.setattr(access, "REGISTRY", registry)
    errors = checks.every_personal_model_is_registered()
    assert [e.id for e in errors] == ["birge.E001"]
    assert "DisabilityStatus" in errors[0].msg
