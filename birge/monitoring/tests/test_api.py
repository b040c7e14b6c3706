"""The indicators API: the contract, bad input, disclosure and jurisdiction."""

import pytest
from rest_framework.test import APIClient

from birge.core.roles import Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    return APIClient()


def _as(api, user):
    api.force_authenticate(user)
    return api


def test_catalogue_lists_every_indicator_with_its_status(api, cast):
    r = _as(api, cast.outsider).get("/api/v1/indicators/", {"page_size": 200})
    assert r.status_code == 200
    items = {i["code"]: i for i in r.json()["results"]}
    assert {"E2", "E12", "E1", "E12-PI", "E6"} <= set(items)
    assert items["E2"]["status"] == "available" and items["E2"]["names"]["ru"]
    assert items["E1"]["status"] == "available"
    assert items["E10"]["status"] == "unavailable"
    assert {m["source"] for m in items["E10"]["missing_sources"]} == {"device"}
    assert items["E6"]["sdg"] == "4.a.1(d)"


def test_catalogue_needs_authentication(api):
    assert api.get("/api/v1/indicators/").status_code in (401, 403)


def test_values_contract(api, dataset, cast):
    r = _as(api, cast.a.users[Role.MINISTRY_ANALYST]).get(
        "/api/v1/indicators/E2/values/", {"period": "2025-2026", "by": "region,sex"})
    assert r.status_code == 200
    body = r.json()
    assert body["indicator"]["code"] == "E2" and body["by"] == ["region", "sex"]
    assert body["period"] == {"code": "2025-2026", "start": "2025-09-01", "end": "2026-08-31",
                              "reference_date": "2026-08-31", "ongoing": False}
    assert body["disclosure"] == "published" and body["threshold"] == 5 and body["status"] == "ok"
    assert body["scope"]["key"] == "national"
    rows = {(row["region"], row["sex"]): row for row in body["rows"]}
    # Chüy: F 3 of 10 (a1 a3 b1 ... k1 → 4 with k1), M; Bishkek: c1 M 1 of 1, c2 F 0 of 1.
    assert set(rows) == {("41708000000000", "female"), ("41708000000000", "male"),
                         ("41711000000000", "female"), ("41711000000000", "male")}
    for row in body["rows"]:
        assert set(row) >= {"region", "region_label", "sex", "sex_label", "numerator", "denominator", "value",
                            "suppressed", "suppression_reason"}
        if row["suppressed"]:
            assert row["value"] is None and row["suppression_reason"]
    bishkek_male = rows[("41711000000000", "male")]
    assert bishkek_male["suppressed"] and bishkek_male["numerator"] is None


def test_internal_figures_for_a_monitoring_role(api, dataset, cast):
    r = _as(api, cast.a.users[Role.MINISTRY_ANALYST]).get(
        "/api/v1/indicators/E2/values/", {"period": "2025-2026", "by": "sex", "disclosure": "internal"})
    rows = {row["sex"]: row for row in r.json()["rows"]}
    assert (rows["female"]["numerator"], rows["female"]["denominator"]) == (4, 11)
    assert rows["female"]["value"] == pytest.approx(400 / 11) and not rows["female"]["suppressed"]


def test_district_officer_sees_only_their_district(api, dataset, cast):
    client = _as(api, cast.a.users[Role.DISTRICT_OFFICER])
    r = client.get("/api/v1/indicators/E2/values/", {"period": "2025-2026", "by": "district", "disclosure": "internal"})
    body = r.json()
    assert body["scope"]["key"] == "t:41708222000000"
    assert [row["district"] for row in body["rows"]] == ["41708222000000"]
    assert (body["rows"][0]["numerator"], body["rows"][0]["denominator"]) == (7, 15)
    assert client.get("/api/v1/indicators/E2/values/", {"scope": "t:41708203000000"}).status_code == 404
    assert client.get("/api/v1/indicators/E2/values/", {"scope": "national"}).status_code == 404
    # A school inside the district is within reach.
    r = client.get("/api/v1/indicators/E2/values/", {"period": "2025-2026", "scope": "o:T-BA", "disclosure": "internal"})
    assert r.status_code == 200 and r.json()["rows"][0]["denominator"] == 1


def test_coordinator_sees_only_their_organization(api, dataset, cast):
    client = _as(api, cast.a.users[Role.SCHOOL_COORDINATOR])
    body = client.get("/api/v1/indicators/E2/values/",
                      {"period": "2025-2026", "by": "organization", "disclosure": "internal"}).json()
    assert [row["organization"] for row in body["rows"]] == ["T-a-school"]
    assert (body["rows"][0]["numerator"], body["rows"][0]["denominator"]) == (5, 12)
    assert client.get("/api/v1/indicators/E2/values/", {"scope": "o:T-BA"}).status_code == 404


def test_roles_without_monitoring_get_404_for_values(api, dataset, cast):
    for user in (cast.outsider, cast.a.users[Role.TEACHER], cast.a.users[Role.PARENT]):
        r = _as(api, user).get("/api/v1/indicators/E2/values/")
        assert r.status_code == 404 and r.json()["detail"]


def test_unknown_indicator_values_are_a_400_naming_it(api, cast):
    r = _as(api, cast.a.users[Role.MINISTRY_ANALYST]).get("/api/v1/indicators/NOPE/values/")
    assert r.status_code == 400
    assert "NOPE" in str(r.json()["indicator"])
    assert api.get("/api/v1/indicators/NOPE/").status_code == 404  # the catalogue entry itself: no such resource


@pytest.mark.parametrize("params, field", [
    ({"period": "2025-2027"}, "period"),
    ({"period": "last year"}, "period"),
    ({"period": "2026-02-30..2026-03-01"}, "period"),
    ({"period": "2099-2100"}, "period"),
    ({"by": "planet"}, "by"),
    ({"by": "role"}, "by"),
    ({"by": "sex,sex"}, "by"),
    ({"by": "region,district,sex,level,form"}, "by"),
    ({"disclosure": "everything"}, "disclosure"),
])
def test_bad_parameters_are_400_naming_the_parameter(api, cast, params, field):
    r = _as(api, cast.a.users[Role.MINISTRY_ANALYST]).get("/api/v1/indicators/E2/values/", params)
    assert r.status_code == 400
    assert list(r.json()) == [field] and r.json()[field][0]


def test_indicator_without_records_says_so(api, dataset, cast):
    r = _as(api, cast.a.users[Role.MINISTRY_ANALYST]).get("/api/v1/indicators/E10/values/", {"period": "2025-2026"})
    body = r.json()
    assert r.status_code == 200 and body["status"] == "unavailable" and body["rows"] == []
    assert "device" in [m["source"] for m in body["missing_sources"]]
    assert body["message"]


def test_parity_index_rows(api, dataset, cast):
    r = _as(api, cast.a.users[Role.MINISTRY_ANALYST]).get(
        "/api/v1/indicators/E12-PI/values/", {"period": "2025-2026", "disclosure": "internal"})
    (row,) = r.json()["rows"]
    assert row["value"] == pytest.approx(2.2) and row["adjusted_index"] == pytest.approx(2 - 1 / 2.2)
    assert row["parity"] == "disadvantage"


def test_openapi_schema_describes_the_values_endpoint(api, cast):
    r = _as(api, cast.a.users[Role.MINISTRY_ANALYST]).get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert r.status_code == 200
    assert b"/api/v1/indicators/{code}/values/" in r.content
