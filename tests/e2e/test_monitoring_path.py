"""Monitoring, clicked through in headless Chromium on the small demo (issue 5, "done when").

A ministry analyst, a district officer and a school coordinator each open their dashboard and see real
figures: the E2 card of each jurisdiction (and of every area drilled into) shows exactly what the
engine computes from the records for that scope. The analyst drills down region → district →
organization, the district officer district → organization. Each role opens the parity view and the
waiting-time / planned-vs-delivered view (their figures checked against the engine too), an indicator
page and the catalogue; every chart on those pages comes with its data table and a text alternative.
Every page passes ``assert_page_ok`` (lang, one h1, main, skip link, axe) in Kyrgyz, Russian and English.
The pages also work with JavaScript switched off (links, the GET forms, a download), and the XLSX export
downloaded from the indicator page opens with its definitions sheet.
"""

from __future__ import annotations

import io
import re
from urllib.parse import parse_qs, urlsplit

import openpyxl
import pytest
from django.urls import reverse
from django.utils import translation
from playwright.sync_api import Page, expect

from birge.core.roles import Role

from .helpers import (
    AXE_JS,
    DEFAULT_LANGUAGE,
    LANGUAGES,
    Report,
    at,
    login,
    page_problems,
    path_of,
    set_language,
    username_for,
)

pytestmark = pytest.mark.e2e

ROLES = [Role.MINISTRY_ANALYST, Role.DISTRICT_OFFICER, Role.SCHOOL_COORDINATOR]
CHUY, SOKULUK = "41708000000000", "41708222000000"  # where the demo's district and school are


@pytest.fixture
def context_init_scripts():
    return [AXE_JS]  # so page_problems can run axe on every page


# --------------------------------------------------------------------------- the engine's figures

def _user(role):
    from birge.core.models import User

    return User.objects.get(username=username_for(role))


def _scope(role, key: str | None = None, lang: str = DEFAULT_LANGUAGE):
    """The jurisdiction (or an area inside it), labelled in ``lang`` as the page labels it."""
    from birge.monitoring import scope as scopes

    with translation.override(lang):
        return scopes.resolve(_user(role), key)


def _table(code: str, scope, by=(), *, published=False, period=None):
    from birge.monitoring import disclosure, engine, periods
    from birge.monitoring.models import Indicator

    ind = Indicator.objects.get(code=code)
    res = engine.compute(ind, period or periods.current_school_year(), list(by), scope)
    assert res.ok, (code, scope.key, res.status, res.message)
    return ind, disclosure.protect(res, published=published)


def _counts(text: str) -> list[int]:
    """ "1 234 / 5 678" (any language's grouping) → [1234, 5678]."""
    return [int(re.sub(r"\D", "", part)) for part in text.split("/") if re.search(r"\d", part)]


def _expect_card(page: Page, code: str, scope, lang: str, *, period=None) -> tuple:
    """The dashboard card of ``code`` shows the engine's internal figure for ``scope``: value, numerator, denominator."""
    from birge.monitoring import present

    ind, table = _table(code, scope, period=period)
    (row,) = table.rows
    card = page.locator(f'main article.mon-kpi[aria-labelledby="kpi-{code}"]')
    with translation.override(lang):
        value = present.fmt_value(row.value.value, ind)
    expect(card.locator(".big-number")).to_have_text(value)
    fraction = _counts(card.locator(".mon-fraction").inner_text())
    assert fraction == [row.numerator.value, row.denominator.value], (code, scope.key, fraction)
    return row.numerator.value, row.denominator.value


def _area(page: Page) -> str | None:
    return parse_qs(urlsplit(page.url).query).get("area", [None])[0]


# --------------------------------------------------------------------------- page checks

CHARTS_WITH_TABLES_JS = """
() => Array.from(document.querySelectorAll('main svg[role="img"]')).map(svg => {
  const ids = (svg.getAttribute('aria-labelledby') || '').split(/\\s+/).filter(Boolean);
  const texts = ids.map(id => (document.getElementById(id) || {}).textContent || '').map(t => t.trim());
  const box = svg.closest('article, section, main');
  const tables = box ? Array.from(box.querySelectorAll('table')) : [];
  return {id: ids.join(' '), texts, tables: tables.length,
          rows: tables.reduce((n, t) => n + t.querySelectorAll('tbody tr').length, 0),
          captioned: tables.every(t => t.querySelector('caption') && t.querySelector('th[scope]'))};
})
"""


def chart_problems(page: Page) -> list[str]:
    """Every chart has a title and a description, and its data table (captioned, with header scopes) beside it."""
    problems = []
    for chart in page.evaluate(CHARTS_WITH_TABLES_JS):
        if len(chart["texts"]) < 2 or not all(chart["texts"]):
            problems.append(f"chart {chart['id']!r} lacks a title or a description: {chart['texts']}")
        if not chart["tables"] or not chart["rows"]:
            problems.append(f"chart {chart['id']!r} has no data table beside it")
        elif not chart["captioned"]:
            problems.append(f"chart {chart['id']!r}: its table has no caption or no header scopes")
    return problems


class Walk:
    """Pages visited by one role in one language, with every problem collected (reported together)."""

    def __init__(self, page: Page, role, lang: str, check_cache: dict):
        self.page, self.lang, self.cache = page, lang, check_cache
        self.report = Report(f"monitoring as {username_for(role)}, language {lang}")
        self.paths: list[str] = []

    def check(self, label: str) -> None:
        path = path_of(self.page.url)
        self.paths.append(path)
        problems = chart_problems(self.page)
        problems += page_problems(self.page, self.lang, cache=self.cache)
        self.report.add(f"{path} ({label})", problems)

    def goto(self, path: str, label: str) -> None:
        response = self.page.goto(path)
        assert response is not None and response.status == 200, (path, response and response.status)
        self.check(label)

    def follow(self, locator, label: str) -> None:
        with self.page.expect_navigation():
            locator.first.click()
        self.check(label)

    def done(self) -> None:
        assert not self.report, self.report.text()


def _drill_link(page: Page, key: str):
    """The drill-down table's link to an area (t:<SOATE> / o:<code>)."""
    from urllib.parse import quote

    return page.locator(f'main section[aria-labelledby="drill-title"] table th[scope="row"] a[href*="area={quote(key, safe="")}"]')


def _processes_row(page: Page, code: str):
    return page.locator(f'main h3:has(a[href^="/monitoring/indicators/{code}/"]) + table tbody tr')


# --------------------------------------------------------------------------- the dashboards, in every language

@pytest.mark.parametrize("role", ROLES, ids=[r.value for r in ROLES])
def test_dashboard_drill_down_and_views_with_real_figures(page: Page, role, check_cache):
    from birge.monitoring import present

    login(page, role)
    home = _scope(role)
    org_key = _scope(Role.SCHOOL_COORDINATOR).key  # the demo coordinator's school, in district Sokuluk
    dashboard = reverse("monitoring:dashboard")
    for lang in sorted(LANGUAGES, key=lambda c: c != DEFAULT_LANGUAGE):
        if lang != DEFAULT_LANGUAGE:
            set_language(page, lang)
        walk = Walk(page, role, lang, check_cache)
        home = _scope(role, lang=lang)

        # The dashboard of the role's jurisdiction: real figures, the same as the engine's.
        walk.goto(dashboard, "dashboard")
        expect(page.locator("main h1")).to_contain_text(home.label)
        num, den = _expect_card(page, "E2", home, lang)
        assert den > 0 and num > 0, "the demo's figures are real, not empty"
        _expect_card(page, "E11C", home, lang)
        # Indicators whose records do not exist are listed with the reason, without a figure.
        expect(page.locator("main ul.mon-unavailable li").first).to_be_visible()
        expect(page.locator('main article.mon-kpi[aria-labelledby="kpi-E6"]')).to_have_count(0)
        expect(page.locator("main ul.mon-unavailable")).to_contain_text("E6")
        # Functioning screening (E1) is computed from the screenings now: a card, not a reason.
        expect(page.locator('main article.mon-kpi[aria-labelledby="kpi-E1"]')).to_have_count(1)

        # Drill-down: region → district → organization, as far as the jurisdiction goes.
        chain = {Role.MINISTRY_ANALYST: [f"t:{CHUY}", f"t:{SOKULUK}", org_key],
                 Role.DISTRICT_OFFICER: [org_key], Role.SCHOOL_COORDINATOR: []}[role]
        if not chain:
            expect(page.locator('main section[aria-labelledby="drill-title"]')).to_have_count(0)
        for depth, key in enumerate(chain, start=1):
            link = _drill_link(page, key)
            expect(link).to_have_count(1)
            # The drill table's row is the area's figure: the same as its own dashboard card after the click.
            row_cells = link.locator("xpath=ancestor::tr[1]/td[contains(@class,'num')]").all_inner_texts()
            walk.follow(link, f"drilled into {key}")
            assert _area(page) == key
            area = _scope(role, key, lang)
            expect(page.locator("main h1")).to_contain_text(area.label)
            assert _expect_card(page, "E2", area, lang) == tuple(_counts(" / ".join(row_cells[:2])))
            expect(page.locator("nav.breadcrumbs li")).to_have_count(depth + 1)
        if chain:  # back up through the breadcrumbs to the jurisdiction
            with page.expect_navigation():
                page.locator("nav.breadcrumbs li a").first.click()
            assert _area(page) is None

        # The parity view: SDG 4.5.1, paired bars (solid and hatched) with the figures in a table.
        walk.goto(reverse("monitoring:parity"), "parity")
        ind, table = _table("E12-PI", home)
        block = page.locator('main section[aria-labelledby="par-E12-PI"]')
        expect(block.locator("table tbody tr")).to_have_count(len(table.rows))
        if table.rows and table.rows[0].extra.get("parity"):
            with translation.override(lang):
                expect(block.locator("table tbody tr").first).to_contain_text(present.parity_text(table.rows[0].extra["parity"]))
            expect(block.locator("svg pattern[id='hatch-E12-PI']")).to_have_count(1)
        walk.follow(page.locator('main a[href*="by=sex"]'), "parity by sex")

        # Waiting times and planned vs delivered support.
        walk.goto(reverse("monitoring:processes"), "waiting times and support")
        for code in ("P1", "P3"):
            ind, table = _table(code, home)
            cells = _processes_row(page, code)
            expect(cells).to_have_count(max(1, len(table.rows)))
            if table.rows:
                (row,) = table.rows
                nums = cells.first.locator("td.num").all_inner_texts()
                want = [row.numerator.value] if code == "P1" else [row.numerator.value, row.denominator.value]
                assert [int(re.sub(r"\D", "", t)) for t in nums[:len(want)]] == want, (code, nums, want)
                with translation.override(lang):
                    assert nums[len(want)].strip() == present.fmt_value(row.value.value, ind), (code, nums)
        expect(page.locator('main h3:has(a[href^="/monitoring/indicators/P4/"]) + p .mon-state-off')).to_be_visible()

        # An indicator page (chart + table + downloads) and the catalogue.
        walk.goto(reverse("monitoring:indicator", args=["E2"]) + "?by=sex", "indicator E2 by sex")
        ind, table = _table("E2", home, ["sex"])
        expect(page.locator("main table.table tbody tr")).to_have_count(len(table.rows))
        walk.goto(reverse("monitoring:catalogue"), "catalogue")
        walk.done()


# --------------------------------------------------------------------------- without JavaScript

def test_monitoring_works_without_javascript(browser, live_url):
    from birge.monitoring import periods

    context = browser.new_context(base_url=live_url, locale="ru-RU", java_script_enabled=False, accept_downloads=True)
    context.set_default_timeout(10_000)
    try:
        page = context.new_page()
        login(page, Role.DISTRICT_OFFICER)
        home = _scope(Role.DISTRICT_OFFICER)
        page.goto(reverse("monitoring:dashboard"))
        _expect_card(page, "E2", home, DEFAULT_LANGUAGE)
        expect(page.locator('main svg[role="img"]').first).to_be_visible()  # charts are server-drawn SVG

        # The period form (GET): last school year.
        previous = periods.current_school_year().previous()
        page.fill("#mon-period", previous.code)
        with page.expect_navigation():
            page.locator("main form.mon-controls button[type=submit]").click()
        assert parse_qs(urlsplit(page.url).query)["period"] == [previous.code]
        _expect_card(page, "E2", home, DEFAULT_LANGUAGE, period=previous)
        # The published view hides small numbers, saying why, still without any script.
        page.check("#mon-view-published")
        with page.expect_navigation():
            page.locator("main form.mon-controls button[type=submit]").click()
        assert parse_qs(urlsplit(page.url).query)["view"] == ["published"]

        # Drill-down to an organization through a plain link.
        key = _scope(Role.SCHOOL_COORDINATOR).key
        page.goto(reverse("monitoring:dashboard"))
        with page.expect_navigation():
            _drill_link(page, key).first.click()
        _expect_card(page, "E2", _scope(Role.DISTRICT_OFFICER, key), DEFAULT_LANGUAGE)

        # The indicator page's disaggregation form: tick "sex", show.
        page.goto(reverse("monitoring:indicator", args=["E2"]))
        page.check("#by-sex")
        with page.expect_navigation():
            page.locator("main form.mon-controls button[type=submit]").click()
        assert "sex" in parse_qs(urlsplit(page.url).query)["by"]
        _ind, table = _table("E2", home, ["sex"])
        expect(page.locator("main table.table tbody tr")).to_have_count(len(table.rows))

        # A download is a plain link too.
        with page.expect_download() as download:
            page.locator(f'main a[href^="{reverse("monitoring:export-csv", args=["E2"])}"]').click()
        assert download.value.suggested_filename.endswith(".csv")
    finally:
        context.close()


# --------------------------------------------------------------------------- the XLSX export

def test_xlsx_export_downloads_and_opens(page: Page):
    login(page, Role.MINISTRY_ANALYST)
    page.goto(reverse("monitoring:indicator", args=["E2"]) + "?by=region")
    expect(page).to_have_url(at(reverse("monitoring:indicator", args=["E2"])))
    with page.expect_download() as download:
        page.locator(f'main a[href^="{reverse("monitoring:export-xlsx", args=["E2"])}"]').click()
    assert download.value.suggested_filename.endswith(".xlsx")
    with open(download.value.path(), "rb") as fh:
        wb = openpyxl.load_workbook(io.BytesIO(fh.read()))
    assert len(wb.worksheets) == 2
    header, *lines = list(wb.worksheets[0].iter_rows(values_only=True))
    _ind, table = _table("E2", _scope(Role.MINISTRY_ANALYST), ["region"], published=True)
    assert len(lines) == len(table.rows) > 0
    published = {row.labels[0].value: row for row in table.rows}
    for line in lines:
        row = published[line[2]]
        assert line[4] == (None if row.numerator.hidden else row.numerator.value)
        assert line[5] == (None if row.denominator.hidden else row.denominator.value)
    definitions = " ".join(str(c) for r in wb.worksheets[1].iter_rows(values_only=True) for c in r if c)
    assert "E2" in definitions and str(table.threshold) in definitions
