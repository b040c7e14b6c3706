"""API parity: import (file and rows), link, review, register, outreach — under the same policy as the pages."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from birge.core.models import AuditEvent
from birge.core.roles import OrgKind, Role
from birge.exchange.models import ImportBatch, MatchLink, OutreachCase
from birge.learners.models import Enrolment

from .conftest import REGISTER_ROWS, csv_bytes

PROVENANCE = {"legal_basis": "law", "legal_reference": "Decree No. 68 of 31 January 2012", "purpose": "out-of-school"}


@pytest.fixture
def api(settings):
    def as_user(user):
        client = APIClient()
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
        client.force_authenticate(user)
        return client

    return as_user


def _rows():
    header = "id,pin,last_name,first_name,patronymic,birth_date,sex,region,district,settlement".split(",")
    return [dict(zip(header, r.split(","), strict=True)) for r in REGISTER_ROWS]


def test_file_import_link_review_through_the_api(cast, api, officer, msek, learners, placed):
    client = api(officer)
    upload = SimpleUploadedFile("msek.csv", csv_bytes(REGISTER_ROWS), "text/csv")
    created = client.post("/api/v1/exchange/batches/", {"source": msek.pk, "file": upload, **PROVENANCE},
                          format="multipart")
    assert created.status_code == 201, created.json()
    body = created.json()
    bid = body["id"]
    assert body["via"] == "api-file" and body["rows_imported"] == 5 and body["uploaded_by"] == officer.username
    assert body["organization"] == cast.a.orgs[OrgKind.SOCIAL_PROTECTION].code
    # The same file again: 409 naming the batch.
    again = client.post("/api/v1/exchange/batches/", {"source": msek.pk, **PROVENANCE,
                                                      "file": SimpleUploadedFile("x.csv", csv_bytes(REGISTER_ROWS))},
                        format="multipart")
    assert again.status_code == 409 and again.json()["batch"] == bid and again.json()["code"] == "duplicate"
    linked = client.post(f"/api/v1/exchange/batches/{bid}/link/")
    assert linked.status_code == 200 and linked.json()["status"] == "linked"
    assert linked.json()["counts"] == {"linked": 3, "review": 1, "no-match": 1}
    queue = client.get("/api/v1/exchange/pairs/?queue=1").json()
    assert queue["count"] == 2
    pair = queue["results"][0]
    assert pair["state"] == "pending" and pair["learner"] in (learners.erlan.pk, learners.nurbek.pk)
    assert [c["comparison"] for c in pair["comparisons"]] == ["pin", "first_name", "father", "family", "birth_date", "sex",
                                                                "territory"]
    assert pair["comparisons"][1]["agreement"] == "differ" and pair["allowed_actions"] == ["accept", "reject", "unsure"]
    refused = client.post(f"/api/v1/exchange/pairs/{pair['id']}/decide/", {"decision": "reject"}, format="json")
    assert refused.status_code == 400 and list(refused.json()) == ["reason"]
    decided = client.post(f"/api/v1/exchange/pairs/{pair['id']}/decide/", {"decision": "accept", "reason": "Checked."},
                          format="json")
    assert decided.status_code == 200 and decided.json()["state"] == "accepted"
    assert client.get("/api/v1/exchange/pairs/?queue=1").json()["count"] == 0
    undone = client.post(f"/api/v1/exchange/pairs/{pair['id']}/undo/", {"reason": "Wrong twin."}, format="json")
    assert undone.json()["state"] == "pending"
    # Rows: the one without a match is registered as a learner.
    rows = client.get(f"/api/v1/exchange/rows/?batch={bid}&link_state=no-match").json()["results"]
    assert [r["record_id"] for r in rows] == ["M5"]
    registered = client.post(f"/api/v1/exchange/rows/{rows[0]['id']}/register/", {}, format="json")
    assert registered.status_code == 201
    row = client.get(f"/api/v1/exchange/rows/{rows[0]['id']}/").json()
    assert row["learner"] == registered.json()["learner"] and row["link_state"] == "linked"
    assert AuditEvent.objects.filter(action="read", object_type="exchange.importedperson", actor=officer).exists()
    withdrawn = client.post(f"/api/v1/exchange/batches/{bid}/withdraw/", {"reason": "Test run."}, format="json")
    assert withdrawn.json()["status"] == "withdrawn"


def test_rows_variant_for_an_xroad_adapter(api, officer, msek):
    client = api(officer)
    payload = {"source": msek.pk, **PROVENANCE, "external_reference": "KG/GOV/70000002/msek/2026-11-24/001",
               "rows": _rows()}
    created = client.post("/api/v1/exchange/batches/", payload, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["via"] == "api-rows" and created.json()["external_reference"].startswith("KG/GOV")
    assert client.post("/api/v1/exchange/batches/", payload, format="json").status_code == 409
    bad = client.post("/api/v1/exchange/batches/", {**payload, "external_reference": "other", "rows": [
        {"id": "Z1", "first_name": "Асан", "birth_date": "2015-02-30"}, {"id": "Z2", "birth_date": "2015-02-01"}]},
        format="json")
    assert bad.status_code == 400
    assert bad.json()["report"]["errors"] == [
        {"line": 2, "field": "birth_date", "message": "Not a real date: 2015-02-30 (use 2015-09-01 or 01.09.2015)."},
        {"line": 3, "field": "first_name", "message": "The given name is required."}]
    unknown = client.post("/api/v1/exchange/batches/", {**payload, "rows": [{"mother": "x"}]}, format="json")
    assert unknown.status_code == 400 and "rows" in unknown.json()
    missing = client.post("/api/v1/exchange/batches/", {"rows": _rows()}, format="json")
    assert missing.status_code == 400 and {"source", "legal_basis", "legal_reference", "purpose"} <= set(missing.json())


@pytest.mark.parametrize("role", [Role.SCHOOL_COORDINATOR, Role.LOCAL_GOVERNMENT_OFFICER, Role.MINISTRY_ANALYST])
def test_other_roles_cannot_import(cast, api, msek, role):
    response = api(cast.a.users[role]).post("/api/v1/exchange/batches/", {"source": msek.pk, **PROVENANCE,
                                                                          "rows": _rows()}, format="json")
    assert response.status_code == 403
    assert ImportBatch.objects.count() == 0


def test_out_of_jurisdiction_is_404(cast, api, officer, msek, learners):
    client = api(officer)
    bid = client.post("/api/v1/exchange/batches/", {"source": msek.pk, **PROVENANCE, "rows": _rows()},
                      format="json").json()["id"]
    client.post(f"/api/v1/exchange/batches/{bid}/link/")
    pair = MatchLink.objects.filter(state="pending").first()
    other = api(cast.b.users[Role.SOCIAL_PROTECTION_OFFICER])
    assert other.get(f"/api/v1/exchange/batches/{bid}/").status_code == 404
    assert other.post(f"/api/v1/exchange/batches/{bid}/link/").status_code == 404
    assert other.get(f"/api/v1/exchange/pairs/{pair.pk}/").status_code == 404
    assert other.post(f"/api/v1/exchange/pairs/{pair.pk}/decide/", {"decision": "accept"}, format="json").status_code == 404
    assert other.get("/api/v1/exchange/rows/").json()["count"] == 0
    assert api(cast.outsider).get("/api/v1/exchange/batches/").json()["count"] == 0


def test_outreach_through_the_api(cast, api, learners):
    lsg = api(cast.a.users[Role.LOCAL_GOVERNMENT_OFFICER])
    found = lsg.post("/api/v1/exchange/outreach-cases/find/", {}, format="json")
    assert found.status_code == 200 and len(found.json()["opened"]) == 1
    cid = found.json()["opened"][0]
    case = lsg.get(f"/api/v1/exchange/outreach-cases/{cid}/").json()
    assert case["state"] == "to-contact" and case["learner"] == learners.aiperi.pk
    assert case["allowed_actions"] == ["contacted", "enrolled", "moved", "not-found", "deceased"]
    assert lsg.post(f"/api/v1/exchange/outreach-cases/{cid}/contacted/", {"reason": "Phoned."},
                    format="json").json()["state"] == "contacted"
    refused = lsg.post(f"/api/v1/exchange/outreach-cases/{cid}/enrolled/", {}, format="json")
    assert refused.status_code == 400
    Enrolment.objects.create(learner=learners.aiperi, organization=cast.a.orgs[OrgKind.SCHOOL], level="school", grade=1,
                             starts_on=dt.date.today())
    done = lsg.post(f"/api/v1/exchange/outreach-cases/{cid}/enrolled/", {}, format="json")
    assert done.status_code == 200 and done.json()["state"] == "enrolled" and done.json()["enrolment"]
    history = lsg.get(f"/api/v1/exchange/outreach-cases/{cid}/history/").json()
    assert {"outreach.opened", "outreach.contact", "outreach.enrol", "deadline.started", "deadline.met"} <= {
        e["event"] for e in history}
    # The district officer reads, cannot act; another district sees nothing.
    district = api(cast.a.users[Role.DISTRICT_OFFICER])
    assert district.get(f"/api/v1/exchange/outreach-cases/{cid}/").json()["allowed_actions"] == []
    assert district.post("/api/v1/exchange/outreach-cases/find/", {}, format="json").status_code == 403
    assert api(cast.b.users[Role.LOCAL_GOVERNMENT_OFFICER]).get(f"/api/v1/exchange/outreach-cases/{cid}/").status_code == 404


def test_moved_through_the_api(cast, api, learners):
    lsg = api(cast.a.users[Role.LOCAL_GOVERNMENT_OFFICER])
    cid = lsg.post("/api/v1/exchange/outreach-cases/find/", {}, format="json").json()["opened"][0]
    moved = lsg.post(f"/api/v1/exchange/outreach-cases/{cid}/moved/",
                     {"reason": "Moved to Alamüdün.", "moved_to": cast.b.district.code}, format="json")
    assert moved.status_code == 200 and moved.json()["moved_to"] == cast.b.district.code
    new = OutreachCase.objects.get(previous_case_id=cid)
    assert moved.json()["next_case"] == new.pk
    b = api(cast.b.users[Role.LOCAL_GOVERNMENT_OFFICER])
    assert b.get(f"/api/v1/exchange/outreach-cases/{new.pk}/").json()["assigned_organization"] == cast.b.orgs[
        OrgKind.LOCAL_GOVERNMENT].code
    # The child's address moved with the case: B reads the learner, A no longer does.
    assert b.get(f"/api/v1/learners/{new.learner_id}/").status_code == 200
    assert lsg.get(f"/api/v1/learners/{new.learner_id}/").status_code == 404


def test_sources_api(api, officer, cast):
    client = api(officer)
    created = client.post("/api/v1/exchange/sources/", {"name": "Civil registry, Chüy", "kind": "civil-registry",
                                                        "column_mapping": {"pin": "ПИН"}}, format="json")
    assert created.status_code == 201 and created.json()["column_mapping"] == {"pin": "ПИН"}
    changed = client.patch(f"/api/v1/exchange/sources/{created.json()['id']}/", {"is_active": False}, format="json")
    assert changed.json()["is_active"] is False and changed.json()["column_mapping"] == {"pin": "ПИН"}
    bad = client.post("/api/v1/exchange/sources/", {"name": "X", "kind": "civil-registry", "column_mapping": {"x": "y"}},
                      format="json")
    assert bad.status_code == 400 and "column_mapping" in bad.json()
    assert api(cast.a.users[Role.TEACHER]).post("/api/v1/exchange/sources/", {"name": "Y", "kind": "civil-registry"},
                                                format="json").status_code == 403


def test_openapi_describes_the_exchange_endpoints(cast, client):
    client.force_login(cast.a.users[Role.SOCIAL_PROTECTION_OFFICER])
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    for path in ["/api/v1/exchange/batches/", "/api/v1/exchange/batches/{id}/link/", "/api/v1/exchange/rows/{id}/register/",
                 "/api/v1/exchange/pairs/{id}/decide/", "/api/v1/exchange/pairs/{id}/undo/",
                 "/api/v1/exchange/outreach-cases/find/", "/api/v1/exchange/outreach-cases/{id}/moved/",
                 "/api/v1/exchange/sources/"]:
        assert path in schema["paths"], path
    body = schema["paths"]["/api/v1/exchange/batches/"]["post"]["requestBody"]["content"]
    assert {"multipart/form-data", "application/json"} <= set(body)


def test_a_file_over_the_size_limit_is_refused_before_anything_is_read(cast, api, officer, msek, settings):
    settings.BIRGE_IMPORT = {"max_file_mb": 1}
    big = csv_bytes(REGISTER_ROWS) + b"\n" * (1024 * 1024 + 1)
    r = api(officer).post("/api/v1/exchange/batches/", {"source": msek.pk, "file": SimpleUploadedFile("big.csv", big),
                                                        **PROVENANCE}, format="multipart")
    assert r.status_code == 400 and list(r.json()) == ["file"]
    assert "files up to 1 MB" in r.json()["file"][0] and "birge link" in r.json()["file"][0]
    assert not ImportBatch.objects.exists()
