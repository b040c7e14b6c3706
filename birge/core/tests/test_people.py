import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from birge.core import services
from birge.core.models import ApiToken, AuditEvent, Membership
from birge.core.roles import OrgKind, Role


@pytest.fixture
def admin(cast):
    return cast.a.users[Role.SYSTEM_ADMIN]


def test_admin_creates_user_and_gives_role(admin, cast):
    user = services.create_user(admin, username="new.teacher", full_name="Жаңы Мугалим", email="t@example.org")
    assert not user.has_usable_password()
    m = services.add_membership(admin, user, role=Role.TEACHER, organization=cast.a.orgs[OrgKind.SCHOOL])
    assert user.has_role(Role.TEACHER)
    assert AuditEvent.objects.filter(event="user.created", object_id=str(user.pk)).exists()
    assert AuditEvent.objects.filter(event="membership.created", object_id=str(m.pk)).exists()


def test_role_must_fit_the_organization(admin, cast):
    user = services.create_user(admin, username="u2", full_name="U")
    with pytest.raises(ValidationError) as exc:
        services.add_membership(admin, user, role=Role.PMPK_CHAIR, organization=cast.a.orgs[OrgKind.SCHOOL])
    assert "organization" in exc.value.message_dict
    with pytest.raises(ValidationError):
        services.add_membership(admin, user, role=Role.TEACHER, organization=None)
    assert not Membership.objects.filter(user=user).exists()


def test_only_admin_manages_people(cast):
    with pytest.raises(PermissionDenied):
        services.create_user(cast.a.users[Role.DISTRICT_OFFICER], username="x", full_name="x")


def test_deactivation_revokes_tokens_and_needs_reason(admin, cast):
    person = cast.a.users[Role.TEACHER]
    services.issue_token(person, "sys")
    services.set_user_active(admin, person, False, "left the school")
    assert not ApiToken.objects.filter(user=person, revoked_at__isnull=True).exists()
    evt = AuditEvent.objects.get(event="user.deactivated")
    assert evt.reason == "left the school"
    with pytest.raises(ValidationError):
        services.set_user_active(admin, admin, False, "oops")


def test_ended_membership_removes_the_role(admin, cast):
    person = cast.a.users[Role.TEACHER]
    m = person.memberships.get()
    services.end_membership(admin, m, reason="moved")
    person = type(person).objects.get(pk=person.pk)
    assert not person.has_role(Role.TEACHER)


def test_people_pages_are_404_for_non_admins(client, cast):
    client.force_login(cast.a.users[Role.DISTRICT_OFFICER])
    assert client.get("/people/").status_code == 404
    assert client.get("/audit/").status_code == 404


def test_people_pages_for_admin(client, admin, cast):
    client.force_login(admin)
    assert client.get("/people/").status_code == 200
    r = client.post("/people/new/", {"username": "web.user", "full_name": "Веб Колдонуучу", "email": "", "preferred_language": "ru"})
    assert r.status_code == 302
    from birge.core.models import User

    person = User.objects.get(username="web.user")
    r = client.post(f"/people/{person.pk}/", {"add_membership": "1", "m-role": Role.TEACHER, "m-organization": cast.a.orgs[OrgKind.SCHOOL].pk,
                                              "m-starts_on": "2026-01-01", "m-fte": "1"})
    assert r.status_code == 302, r.content.decode()[:2000]
    assert person.memberships.filter(role=Role.TEACHER).exists()
    bad = client.post(f"/people/{person.pk}/", {"add_membership": "1", "m-role": Role.PMPK_CHAIR,
                                                "m-organization": cast.a.orgs[OrgKind.SCHOOL].pk, "m-starts_on": "2026-01-01", "m-fte": "1"})
    assert bad.status_code == 200 and "error-summary" in bad.content.decode()


def test_audit_export_streams_csv(client, admin, cast):
    client.force_login(admin)
    r = client.get("/audit/?date_from=2020-01-01&date_to=2099-12-31")
    assert r.status_code == 200 and r["Content-Type"].startswith("text/csv")
    body = b"".join(r.streaming_content).decode("utf-8-sig")
    assert body.splitlines()[0].startswith("id,at,actor_name")
    assert AuditEvent.objects.filter(event="audit.exported").exists()
    bad = client.get("/audit/?date_from=2026-02-01&date_to=2026-01-01")
    assert bad.status_code == 200 and "error-summary" in bad.content.decode()
