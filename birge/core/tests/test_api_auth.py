import pytest
from rest_framework.test import APIClient

from birge.core.models import ApiToken, AuditEvent


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def person(cast):
    return cast.a.users["school-coordinator"]


def test_token_contract(api, person):
    r = api.post("/api/v1/auth/token/", {"username": person.username, "password": "test-pass-123"}, format="json")
    assert r.status_code == 200
    key = r.json()["token"]
    assert len(key) > 30
    stored = ApiToken.objects.get(user=person)
    assert stored.key_hash != key and stored.prefix == key[:8]  # only a hash is kept
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    me = api.get("/api/v1/me/")
    assert me.status_code == 200 and me.json()["username"] == person.username
    assert me.json()["memberships"][0]["role"] == "school-coordinator"


def test_wrong_password_is_refused_with_detail(api, person):
    r = api.post("/api/v1/auth/token/", {"username": person.username, "password": "nope"}, format="json")
    assert r.status_code in (401, 403)
    assert set(r.json()) == {"detail", "code"}
    assert AuditEvent.objects.filter(event="auth.login_failed").exists()


def test_missing_fields_are_field_errors(api):
    r = api.post("/api/v1/auth/token/", {}, format="json")
    assert r.status_code == 400
    assert "username" in r.json() and "password" in r.json()


def test_revoked_token_stops_working(api, person):
    key = api.post("/api/v1/auth/token/", {"username": person.username, "password": "test-pass-123"}, format="json").json()["token"]
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.post("/api/v1/auth/token/revoke/").status_code == 204
    assert api.get("/api/v1/me/").status_code in (401, 403)


def test_unauthenticated_api_is_refused(api, cast):
    assert api.get("/api/v1/organizations/").status_code in (401, 403)
    assert api.get("/api/v1/me/", HTTP_AUTHORIZATION="Token not-a-real-token").status_code == 401


def test_schema_is_openapi3(api, person):
    api.force_authenticate(person)
    r = api.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert r.status_code == 200
    assert str(r.json()["openapi"]).startswith("3.")
    assert "/api/v1/auth/token/" in r.json()["paths"]


def test_docs_served_locally(client, person):
    client.force_login(person)
    r = client.get("/api/v1/docs/")
    assert r.status_code == 200
    assert b"cdn" not in r.content.lower() and b"https://" not in r.content


def test_inactive_user_token_refused(api, person):
    key = api.post("/api/v1/auth/token/", {"username": person.username, "password": "test-pass-123"}, format="json").json()["token"]
    person.is_active = False
    person.save()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/v1/me/").status_code == 401


def test_organizations_admin_only_writes(api, cast):
    api.force_authenticate(cast.a.users["teacher"])
    body = {"code": "NEW-1", "kind": "school", "name": "Жаңы мектеп", "territory": "41708222000000"}
    assert api.post("/api/v1/organizations/", body, format="json").status_code == 403
    api.force_authenticate(cast.a.users["system-admin"])
    r = api.post("/api/v1/organizations/", body, format="json")
    assert r.status_code == 201, r.json()
    assert AuditEvent.objects.filter(event="organization.created").exists()
    bad = api.post("/api/v1/organizations/", {**body, "code": "NEW-2", "territory": "999"}, format="json")
    assert bad.status_code == 400 and "territory" in bad.json()


def test_organization_filter_within(api, cast):
    api.force_authenticate(cast.a.users["teacher"])
    rows = api.get("/api/v1/organizations/?within=41708222000000").json()["results"]
    assert rows and all(r["territory"].startswith("41708222") for r in rows)
