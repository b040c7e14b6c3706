"""Dashboards by jurisdiction, indicator pages, parity and processes views, navigation."""

import pytest
from django.utils import translation

from birge.core.navigation import navigation_for
from birge.core.roles import Role
from birge.monitoring.models import IndicatorSnapshot

pytestmark = pytest.mark.django_db
P = {"period": "2025-2026"}


def _get(client, user, url, params=None):
    client.force_login(user)
    return client.get(url, params or P)


def _card(response, code):
    return next(c for c in response.context["cards"] if c["indicator"].code == code)


def test_ministry_dashboard_shows_national_figures_and_drills_down(client, dataset, cast):
    r = _get(client, cast.a.users[Role.MINISTRY_ANALYST], "/monitoring/")
    assert r.status_code == 200
    assert r.context["scope"].kind == "national"
    e2 = _card(r, "E2")["row"]
    assert (e2.numerator.value, e2.denominator.value) == (9, 20)
    assert {u["indicator"].code for u in r.context["unavailable"]} >= {"E6"}  # key ones without records
    e1 = _card(r, "E1")["row"]  # functioning screening: 4 of the 7 screened enrolled learners
    assert (e1.numerator.value, e1.denominator.value) == (4, 7)
    assert _card(r, "E9")["row"].value.value == pytest.approx(300 / 11)
    drill = r.context["drill"]
    assert drill["dimension"] == "region" and len(drill["pt"]["rows"]) == 2
    assert all(row["area"].startswith("t:") for row in drill["pt"]["rows"])
    # Every chart has its data table and a text alternative.
    html = r.content.decode()
    assert html.count('role="img"') >= 1 and "<caption" in html and "<title" in html
    # Down to Chüy region, then to district A, then to its organizations.
    r = _get(client, cast.a.users[Role.MINISTRY_ANALYST], "/monitoring/", {**P, "area": "t:41708000000000"})
    assert r.context["scope"].kind == "region" and r.context["drill"]["dimension"] == "district"
    r = _get(client, cast.a.users[Role.MINISTRY_ANALYST], "/monitoring/", {**P, "area": "t:41708222000000"})
    assert r.context["drill"]["dimension"] == "organization"
    assert len(r.context["breadcrumbs"]) == 3


def test_district_officer_dashboard_is_their_district_only(client, dataset, cast):
    officer = cast.a.users[Role.DISTRICT_OFFICER]
    r = _get(client, officer, "/monitoring/")
    assert r.context["scope"].key == "t:41708222000000"
    e2 = _card(r, "E2")["row"]
    assert (e2.numerator.value, e2.denominator.value) == (7, 15)
    assert {row["heads"][0] for row in r.context["drill"]["pt"]["rows"]} == {"school a", "Boarding A", "Kindergarten A"}
    assert _get(client, officer, "/monitoring/", {**P, "area": "t:41708203000000"}).status_code == 404
    assert _get(client, officer, "/monitoring/", {**P, "area": "national"}).status_code == 404
    assert _get(client, officer, "/monitoring/", {**P, "area": "o:T-SC"}).status_code == 404
    assert _get(client, officer, "/monitoring/", {**P, "area": "o:T-BA"}).status_code == 200


def test_coordinator_dashboard_is_their_school_only(client, dataset, cast):
    r = _get(client, cast.a.users[Role.SCHOOL_COORDINATOR], "/monitoring/")
    assert r.context["scope"].kind == "organization" and r.context["drill"] is None
    e2 = _card(r, "E2")["row"]
    assert (e2.numerator.value, e2.denominator.value) == (5, 12)
    assert _get(client, cast.a.users[Role.SCHOOL_COORDINATOR], "/monitoring/", {**P, "area": "o:T-b-school"}).status_code == 404


def test_published_view_hides_small_numbers(client, dataset, cast):
    r = _get(client, cast.a.users[Role.SCHOOL_COORDINATOR], "/monitoring/", {**P, "view": "published"})
    assert not _card(r, "E2")["row"].suppressed  # 5 of 12, 7 without: nobody singled out
    card = _card(r, "E11C")  # 2 of 12 dropped out
    assert card["row"].suppressed and card["value"] == "—" and card["reason"]
    r = _get(client, cast.a.users[Role.SCHOOL_COORDINATOR], "/monitoring/", P)
    assert _card(r, "E11C")["row"].numerator.value == 2


def test_pmpk_chair_sees_the_territory_the_commission_serves(client, dataset, cast):
    r = _get(client, cast.a.users[Role.PMPK_CHAIR], "/monitoring/")
    assert r.status_code == 200 and r.context["scope"].key == "t:41708222000000"


def test_no_monitoring_for_other_roles(client, dataset, cast):
    for user in (cast.outsider, cast.a.users[Role.TEACHER], cast.a.users[Role.PARENT], cast.a.users[Role.HEALTH_WORKER]):
        client.force_login(user)
        for url in ("/monitoring/", "/monitoring/indicators/", "/monitoring/indicators/E2/", "/monitoring/parity/",
                    "/monitoring/indicators/E2/export.csv", "/monitoring/dhis2/"):
            assert client.get(url).status_code == 404, (user, url)


def test_navigation_entry_follows_the_role(rf, cast):
    for role, visible in ((Role.MINISTRY_ANALYST, True), (Role.REGIONAL_OFFICER, True), (Role.DISTRICT_OFFICER, True),
                          (Role.SCHOOL_COORDINATOR, True), (Role.PMPK_CHAIR, True), (Role.TEACHER, False), (Role.PARENT, False)):
        request = rf.get("/")
        request.user = cast.a.users[role]
        urls = [item["url"] for item in navigation_for(request)]
        assert ("/monitoring/" in urls) is visible, role


def test_indicator_page_with_disaggregations_and_bad_input(client, dataset, cast):
    analyst = cast.a.users[Role.MINISTRY_ANALYST]
    r = _get(client, analyst, "/monitoring/indicators/E2/", {**P, "by": ["region", "sex"]})
    assert r.status_code == 200 and r.context["by"] == ["region", "sex"] and len(r.context["table"].rows) == 4
    r = _get(client, analyst, "/monitoring/indicators/E2/", {**P, "by": ["role"]})
    assert r.status_code == 200 and r.context["by_error"]
    r = _get(client, analyst, "/monitoring/indicators/E2/", {"period": "2031-2035"})
    assert r.status_code == 200 and r.context["period_error"]
    r = _get(client, analyst, "/monitoring/indicators/E10/")
    assert r.context["result"].status == "unavailable" and r.context["result"].message in r.content.decode()
    r = _get(client, analyst, "/monitoring/indicators/E1/", {**P, "by": ["domain"]})
    assert r.status_code == 200 and len(r.context["table"].rows) == 15
    assert _get(client, analyst, "/monitoring/indicators/NOPE/").status_code == 404


def test_parity_and_process_views(client, dataset, cast):
    analyst = cast.a.users[Role.MINISTRY_ANALYST]
    r = _get(client, analyst, "/monitoring/parity/")
    blocks = {b["indicator"].code: b for b in r.context["blocks"]}
    row = blocks["E12-PI"]["table"].rows[0]
    assert row.value.value == pytest.approx(2.2) and row.extra["parity"] == "disadvantage"
    assert blocks["E11A-PI"]["result"].status == "unavailable"
    html = r.content.decode()
    assert "hatch-E12-PI" in html  # the second series is hatched, not told apart by colour alone
    r = _get(client, analyst, "/monitoring/parity/", {**P, "by": "region"})
    assert len({b["indicator"].code for b in r.context["blocks"]}) >= 5
    r = _get(client, analyst, "/monitoring/processes/")
    items = {i["indicator"].code: i for s in r.context["sections"] for i in s["items"]}
    assert items["P4"]["result"].status == "unavailable"
    assert items["P3"]["table"].rows[0].value.value == pytest.approx(40500 / 3822)
    assert items["P1"]["table"].rows[0].value.value == 25  # median days, 4 referrals concluded
    assert items["P5"]["table"].rows[0].numerator.value == 1


def test_catalogue_and_status_pages(client, dataset, cast):
    analyst = cast.a.users[Role.MINISTRY_ANALYST]
    r = _get(client, analyst, "/monitoring/indicators/")
    items = {i["indicator"].code: i for i in r.context["items"]}
    assert items["E10"]["missing"] == ["device"] and not items["E2"]["missing"] and not items["E1"]["missing"]
    r = _get(client, analyst, "/monitoring/status/")
    assert r.status_code == 200 and r.context["is_steward"]
    client.force_login(cast.a.users[Role.DISTRICT_OFFICER])
    assert client.post("/monitoring/status/refresh/").status_code == 404


def test_snapshot_freezes_figures_with_the_classifier_version(client, dataset, cast):
    analyst = cast.a.users[Role.MINISTRY_ANALYST]
    client.force_login(analyst)
    r = client.post("/monitoring/indicators/E2/snapshot/?period=2025-2026&by=sex", {"note": "annual report"})
    snap = IndicatorSnapshot.objects.get()
    assert r.status_code == 302 and r["Location"].endswith(f"/monitoring/snapshots/{snap.pk}/")
    assert snap.classifier_version == "soate-2025" and snap.by == ["sex"] and snap.period == "2025-2026"
    assert {tuple(x["key"]): x["numerator"] for x in snap.result["rows"]} == {("female",): 4, ("male",): 5}
    # Later changes of the records do not change a snapshot.
    dataset.learners["a4"].disability_statuses.create(category="child", starts_on="2020-01-01", indefinite=True)
    r = client.get(f"/monitoring/snapshots/{snap.pk}/")
    rows = {row.key: row.numerator.value for row in r.context["table"].rows}
    assert rows == {("female",): 4, ("male",): 5}
    client.force_login(cast.a.users[Role.SCHOOL_COORDINATOR])
    assert client.get(f"/monitoring/snapshots/{snap.pk}/").status_code == 404  # national figures: out of reach
    assert client.get("/monitoring/snapshots/").context["items"] == []


def test_home_page_section(client, dataset, cast):
    client.force_login(cast.a.users[Role.DISTRICT_OFFICER])
    r = client.get("/")
    assert b"/monitoring/" in r.content
    client.force_login(cast.a.users[Role.TEACHER])
    assert b'id="home-monitoring"' not in client.get("/").content


@pytest.mark.parametrize("lang", ["ky", "ru", "en"])
def test_pages_render_in_every_language(client, dataset, cast, lang):
    client.force_login(cast.a.users[Role.MINISTRY_ANALYST])
    with translation.override(lang):
        for url in ("/monitoring/", "/monitoring/indicators/E4/", "/monitoring/parity/"):
            r = client.get(url, {**P}, HTTP_ACCEPT_LANGUAGE=lang)
            assert r.status_code == 200


def test_drill_down_reaches_the_organizations(client, dataset, cast):
    """Region → district → organization: each organization in a district's table links to its own figures."""
    officer = cast.a.users[Role.DISTRICT_OFFICER]
    r = _get(client, officer, "/monitoring/")
    rows = {row["heads"][0]: row for row in r.context["drill"]["pt"]["rows"]}
    assert rows["Boarding A"]["area"] == "o:T-BA" and rows["school a"]["area"] == "o:T-a-school"
    assert 'area=o%3AT-BA"' in r.content.decode()
    r = _get(client, officer, "/monitoring/", {**P, "area": "o:T-BA"})
    assert r.context["scope"].key == "o:T-BA" and [s.key for s in r.context["breadcrumbs"]] == ["t:41708222000000", "o:T-BA"]
    (e2,) = [c["row"] for c in r.context["cards"] if c["indicator"].code == "E2"]
    assert (e2.numerator.value, e2.denominator.value) == (1, 1)  # ba1


@pytest.mark.parametrize(("value", "kind", "text"), [
    (100 / 11, "percent", "9.1 %"), (200 / 11, "percent", "18.2 %"), (2 / 3, "ratio", "0.67"), (2.5, "count", "2"),
    (3.5, "count", "4"), (0.0, "percent", "0.0 %"), (None, "percent", "—"), (1234567.0, "count", "1,234,567"),
])
def test_figures_are_rounded_not_cut(value, kind, text):
    """Django's number_format cuts digits off; a published 1 of 11 is 9.1 %, not 9.0 %. Halves round to even."""
    from birge.monitoring.models import Indicator
    from birge.monitoring.present import fmt_value

    with translation.override("en"):
        assert fmt_value(value, Indicator(kind=kind)) == text


def test_dashboard_body_is_kept_per_state_of_everything_it_shows(client, dataset, cast, monkeypatch):
    """The rendered body of the dashboard is reused only while nothing it shows can differ: the same area,
    period, language and disclosure mode, and the same records and summary builds."""
    import datetime as dt

    from birge.learners.models import Enrolment
    from birge.monitoring import engine

    analyst, officer = cast.a.users[Role.MINISTRY_ANALYST], cast.a.users[Role.DISTRICT_OFFICER]
    first = _get(client, analyst, "/monitoring/")
    e2 = _card(first, "E2")["row"]
    assert (e2.numerator.value, e2.denominator.value) == (9, 20)
    calls = []
    real = engine.compute_many
    monkeypatch.setattr(engine, "compute_many", lambda *a, **k: calls.append(1) or real(*a, **k))
    again = _get(client, analyst, "/monitoring/")
    assert not calls and again.context["body"] == first.context["body"]  # kept: nothing was computed again
    published = _get(client, analyst, "/monitoring/", {**P, "view": "published"})
    assert calls and published.context["body"] != first.context["body"]
    calls.clear()
    district = _get(client, officer, "/monitoring/")  # another area: its own figures
    assert calls and _card(district, "E2")["row"].denominator.value == 15
    calls.clear()
    from django.conf import settings

    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ru"
    russian = _get(client, analyst, "/monitoring/")
    del client.cookies[settings.LANGUAGE_COOKIE_NAME]
    assert calls and russian.context["body"] != first.context["body"]
    calls.clear()
    # A record changes: the figures are computed again, never the kept ones shown as current.
    learner = dataset.learners["o3"]
    Enrolment.objects.create(learner=learner, organization=dataset.orgs["SB"], level="school", grade=8,
                             starts_on=dt.date(2025, 9, 1), status="active")
    changed = _get(client, analyst, "/monitoring/")
    assert calls and _card(changed, "E2")["row"].denominator.value == 21
