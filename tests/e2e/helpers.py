"""Helpers for the browser tests: sign-in, language, forms, page checks, axe, crawling.

Everything here takes a Playwright ``page`` whose context has ``base_url`` set to the live
server, so paths from ``django.urls.reverse`` can be used directly. Selectors prefer URLs and
field names over visible text, so the same helper works in ky, ru and en.

Adding a main path later (tests/e2e/test_paths.py) is meant to read like the steps a person
takes::

    login(page, Role.SCHOOL_COORDINATOR)
    open_nav(page, "learner-list")
    click_link(page, "learner-create")
    fill_form(page, {"last_name": "Асанов", "birth_date": "2015-03-01"})
    submit(page)
    expect_notice(page)
    assert_page_ok(page)          # lang, one h1, main, skip link, axe
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from django.conf import settings
from django.urls import reverse
from playwright.sync_api import Error as PlaywrightError, Page, expect

from birge.core.roles import Role

DEMO_PASSWORD = "birge-demo"  # settings.BIRGE_DEMO_PASSWORD; spelled out: it is the documented contract
LANGUAGES = tuple(code for code, _name in settings.LANGUAGES)  # ("ky", "ru", "en"), ky first
DEFAULT_LANGUAGE = settings.LANGUAGE_CODE

AXE_JS = Path(__file__).parent / "vendor" / "axe.min.js"
STATS: Counter = Counter()  # pages checked, axe runs, axe results reused: printed at the end of the run
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


# ---------------------------------------------------------------- people and sign-in

def username_for(role) -> str:
    """The demo login of a role: ``demo-<role slug>``."""
    return f"demo-{Role(role).value}"


def login(page: Page, role=None, *, username: str | None = None, password: str = DEMO_PASSWORD) -> None:
    """Sign in through the sign-in form and land on the home page."""
    page.goto(reverse("login"))
    page.fill("#id_username", username or username_for(role))
    page.fill("#id_password", password)
    submit(page, form=login_form(page))
    expect(page).not_to_have_url(re.compile(re.escape(reverse("login"))))
    expect(header_nav(page)).to_be_visible()


def logout(page: Page) -> None:
    """Sign out with the header's sign-out button and land on the sign-in page."""
    form = page.locator(f'header form[action="{reverse("logout")}"]')
    submit(page, form=form)
    expect(page).to_have_url(at(reverse("login")))


def login_form(page: Page):
    return page.locator("main form[method=post]").first


def header_nav(page: Page):
    """The main navigation (shown to signed-in people)."""
    return page.locator("header nav.main-nav")


# ---------------------------------------------------------------- language

def set_language(page: Page, code: str) -> None:
    """Switch language with the header's switcher (a POST form, one button per language)."""
    button = page.locator(f'header form[action="{reverse("set_language")}"] button[name="language"][value="{code}"]')
    with page.expect_navigation():
        button.click()
    expect(page.locator("html")).to_have_attribute("lang", code)


# ---------------------------------------------------------------- navigating and forms

def nav_links(page: Page) -> list[str]:
    """The hrefs of the main navigation, in order."""
    return header_nav(page).locator("ul a").evaluate_all("els => els.map(a => a.getAttribute('href'))")


def open_nav(page: Page, url_name: str, *args) -> None:
    """Follow the main-navigation entry that points at ``reverse(url_name)``."""
    href = reverse(url_name, args=args)
    with page.expect_navigation():
        header_nav(page).locator(f'a[href="{href}"]').click()
    expect(page).to_have_url(at(href))


def click_link(page: Page, url_name: str, *args, within: str = "main") -> None:
    """Follow a link in the page (by default inside main) that points at ``reverse(url_name)``."""
    href = reverse(url_name, args=args)
    with page.expect_navigation():
        page.locator(f'{within} a[href="{href}"]').first.click()


def fill_form(page: Page, values: dict, *, form=None) -> None:
    """Fill fields by their ``name``: text, date, textarea, select (by value), checkbox/radio (True/value)."""
    scope = form if form is not None else page.locator("main")
    for name, value in values.items():
        field_ = scope.locator(f'[name="{name}"]')
        first = field_.first
        tag = first.evaluate("el => el.tagName.toLowerCase()")
        kind = (first.get_attribute("type") or "").lower()
        if tag == "select":
            first.select_option(value=[str(v) for v in value] if isinstance(value, (list, tuple)) else str(value))
        elif kind == "checkbox":
            first.set_checked(bool(value))
        elif kind == "radio":
            scope.locator(f'[name="{name}"][value="{value}"]').check()
        else:
            first.fill(str(value))


def submit(page: Page, *, form=None, button_name: str | None = None) -> None:
    """Press a form's submit button (the one with ``name=button_name`` if given) and wait for the next page."""
    scope = form if form is not None else page.locator("main form[method=post]").first
    selector = f'button[type=submit][name="{button_name}"]' if button_name else "button[type=submit]"
    with page.expect_navigation():
        scope.locator(selector).first.click()


def expect_notice(page: Page, kind: str = "success") -> None:
    expect(page.locator(f"main .notice-{kind}")).to_be_visible()


def error_summary_problems(page: Page) -> list[str]:
    """After sending a form with mistakes: exactly one error summary, and it has focus."""
    page.wait_for_load_state()
    state = page.evaluate("""() => {
      const all = Array.from(document.querySelectorAll('main [data-error-summary]'));
      return {n: all.length, focused: all.includes(document.activeElement),
              active: document.activeElement ? document.activeElement.outerHTML.slice(0, 100) : null};
    }""")
    problems = []
    if state["n"] != 1:
        problems.append(f"{state['n']} error summaries, expected exactly one (for the form that was sent)")
    if state["n"] and not state["focused"]:
        problems.append(f"focus is not on the error summary but on {state['active']}")
    return problems


def expect_error_summary(page: Page) -> None:
    """One error summary (for the form that was sent), visible and focused."""
    summary = page.locator("main [data-error-summary]")
    expect(summary, "exactly one error summary: the one of the form that was sent").to_have_count(1)
    expect(summary).to_be_visible()
    expect(summary, "focus moves to the error summary (birge.js)").to_be_focused()


# ---------------------------------------------------------------- page checks

_STRUCTURE_JS = """
() => {
  const main = document.querySelectorAll('main, [role="main"]');
  const focusable = Array.from(document.querySelectorAll(
      'a[href], button, input:not([type="hidden"]), select, textarea, [tabindex]'))
    .filter(el => el.tabIndex >= 0 && !el.disabled && !el.closest('[hidden], [inert]'));
  const first = focusable[0] || null;
  return {
    lang: document.documentElement.getAttribute('lang'),
    h1: Array.from(document.querySelectorAll('h1')).map(h => h.textContent.trim()),
    main: main.length,
    mainId: main.length ? main[0].id : null,
    first: first ? first.outerHTML.slice(0, 160) : null,
    firstHref: first && first.tagName === 'A' ? first.getAttribute('href') : null,
    activeIsBody: document.activeElement === document.body || document.activeElement === null,
  };
}
"""

_ACTIVE_JS = """
() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const main = document.querySelector('main, [role="main"]');
  return {html: el.outerHTML.slice(0, 160), isMain: el === main, inMain: !!(main && main.contains(el)),
          skip: el.matches('a.skip-link'), id: el.id};
}
"""

FOCUS_STYLE_JS = """
() => {
  const el = document.activeElement;
  if (!el || el === document.body) return {visible: false, why: 'nothing focused', html: ''};
  const s = getComputedStyle(el);
  const outline = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0 && s.outlineColor !== 'transparent'
                  && !/rgba\\(\\d+, \\d+, \\d+, 0\\)/.test(s.outlineColor);
  const shadow = s.boxShadow && s.boxShadow !== 'none';
  const r = el.getBoundingClientRect();
  const onScreen = r.width > 1 && r.height > 1 && r.right > 0 && r.bottom > 0
                   && r.left < window.innerWidth + 1 && r.top < document.documentElement.scrollHeight;
  return {visible: (outline || shadow) && onScreen, outline: s.outline, boxShadow: s.boxShadow,
          rect: [r.left, r.top, r.width, r.height], html: el.outerHTML.slice(0, 160)};
}
"""


def structure_problems(page: Page, lang: str) -> list[str]:
    """``<html lang>`` is the active language, exactly one h1, one main landmark, a working skip link.

    The skip link is checked with the keyboard: on a page that did not move focus itself, the
    first Tab must land on it; Enter must then move focus to main.
    """
    info = page.evaluate(_STRUCTURE_JS)
    problems = []
    if info["lang"] != lang:
        problems.append(f'<html lang="{info["lang"]}">, expected "{lang}"')
    if len(info["h1"]) != 1:
        problems.append(f"{len(info['h1'])} <h1> elements, expected exactly one: {info['h1']}")
    if info["main"] != 1:
        problems.append(f"{info['main']} main landmarks, expected exactly one")
    target = f"#{info['mainId']}" if info["mainId"] else None
    if not target or info["firstHref"] != target:
        problems.append(f"the first focusable element is not a skip link to {target or 'main (main has no id)'}: {info['first']}")
        return problems
    skip = page.locator(f'a[href="{target}"]').first
    if info["activeIsBody"]:
        page.keyboard.press("Tab")
        active = page.evaluate(_ACTIVE_JS)
        if not active or not active["skip"]:
            problems.append(f"the first Tab stop is not the skip link but {active and active['html']}")
            skip.focus()
    else:  # the page moved focus itself (an error summary): check the link from where it is
        skip.focus()
    focus = page.evaluate(FOCUS_STYLE_JS)
    if not focus["visible"]:
        problems.append(f"the focused skip link is not visible (outline {focus.get('outline')}, rect {focus.get('rect')})")
    page.keyboard.press("Enter")
    active = page.evaluate(_ACTIVE_JS)
    if not active or not (active["isMain"] or active["inMain"]):
        problems.append(f"the skip link does not move focus to main (focus is on {active and active['html']})")
    return problems


_FINGERPRINT_JS = """
() => {
  const doc = document.documentElement.cloneNode(true);
  doc.querySelectorAll('input[name="csrfmiddlewaretoken"]').forEach(el => el.removeAttribute('value'));
  doc.querySelectorAll('header .who').forEach(el => { el.textContent = '-'; });
  return doc.outerHTML;
}
"""


_SHAPE_JS = """
() => {
  const KEEP = ['class', 'role', 'type', 'hidden', 'disabled', 'aria-hidden', 'aria-current', 'aria-expanded',
                'aria-invalid', 'aria-live', 'required', 'tabindex', 'open', 'multiple', 'colspan', 'scope'];
  function sig(el) {
    let s = el.tagName;
    for (const k of KEEP) if (el.hasAttribute(k)) s += '[' + k + '=' + el.getAttribute(k) + ']';
    if (el.id) s += '#';  // has an id (not which)
    if (!el.textContent.trim()) s += '~';  // empty: a link or button without text is another shape
    const kids = [];
    let prev = null;
    for (const child of el.children) {
      const c = sig(child);
      if (c !== prev) kids.push(c);  // runs of identical siblings (table rows, list items) count once
      prev = c;
    }
    return kids.length ? s + '(' + kids.join(',') + ')' : s;
  }
  return sig(document.documentElement);
}
"""


def page_shape(page: Page) -> str:
    """A digest of what the page is made of, without its text, ids or data: elements with their
    classes, roles, states and whether they are empty, runs of identical siblings folded. Two
    pages with the same shape are the same template parts filled with other data or text."""
    return hashlib.sha256(page.evaluate(_SHAPE_JS).encode()).hexdigest()[:16]


def fingerprint(page: Page) -> str:
    """A digest of the page's DOM with the CSRF token and the signed-in person's name masked.

    Two roles seeing the same page in the same language get the same document; axe need not
    analyse it twice (its results depend only on the document and the styles).
    """
    return hashlib.sha256(page.evaluate(_FINGERPRINT_JS).encode()).hexdigest()


def run_axe(page: Page) -> list[dict]:
    """Run the vendored axe-core on the page with the WCAG 2.0/2.1/2.2 A and AA tags; return the violations.

    Fastest with axe loaded into every document by the context (``add_init_script``, see
    test_a11y); otherwise it is injected here, which needs a context with ``bypass_csp=True``.
    """
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE_JS))
    return page.evaluate(
        """async (tags) => {
          const r = await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
          return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
            nodes: v.nodes.map(n => ({target: n.target.map(String), summary: n.failureSummary || '', html: n.html}))}));
        }""",
        AXE_TAGS,
    )


def format_violations(violations: list[dict], *, max_nodes: int = 6) -> list[str]:
    lines = []
    for v in violations:
        lines.append(f"axe {v['id']} ({v['impact']}): {v['help']} — {v['helpUrl']}")
        for node in v["nodes"][:max_nodes]:
            summary = " ".join(node["summary"].split())[:300]
            lines.append(f"    at {' '.join(node['target'])}: {summary}")
        if len(v["nodes"]) > max_nodes:
            lines.append(f"    … and {len(v['nodes']) - max_nodes} more elements")
    return lines


def page_problems(page: Page, lang: str, *, axe: bool = True, cache: dict | None = None) -> list[str]:
    """Everything checked on every page: structure and keyboard skip link, then axe.

    With ``cache``, a document already checked (same fingerprint, same language: another role
    seeing exactly the same page) reuses its result instead of being checked again.
    """
    STATS["pages checked"] += 1
    key = (lang, axe, fingerprint(page)) if cache is not None else None
    if key is not None and key in cache:
        STATS["results reused (identical document)"] += 1
        return list(cache[key])
    problems = structure_problems(page, lang)
    if axe:
        problems += format_violations(run_axe(page))
        STATS["axe runs"] += 1
    if key is not None:
        cache[key] = list(problems)
    return problems


@dataclass
class Report:
    """Problems collected over many pages, printed grouped by page."""

    title: str
    pages: dict = field(default_factory=dict)  # url -> [problem]
    checked: list = field(default_factory=list)

    def add(self, url: str, problems: list[str]) -> None:
        self.checked.append(url)
        if problems:
            self.pages.setdefault(url, []).extend(problems)

    def __bool__(self) -> bool:
        return bool(self.pages)

    def text(self) -> str:
        out = [f"{self.title}: problems on {len(self.pages)} of {len(self.checked)} pages checked"]
        for url, problems in self.pages.items():
            out.append(f"  {url}")
            out += [f"    - {p}" if not p.startswith("    ") else f"      {p.strip()}" for p in problems]
        return "\n".join(out)


def assert_page_ok(page: Page, lang: str = DEFAULT_LANGUAGE, *, axe: bool = True, label: str = "") -> None:
    """One page: fail with a readable report if any check finds a problem."""
    report = Report(label or "page")
    report.add(path_of(page.url), page_problems(page, lang, axe=axe))
    assert not report, report.text()


# ---------------------------------------------------------------- crawling

SKIP_PREFIXES = ("/admin/", "/api/", "/static/", "/media/", "/i18n/", "/jsi18n/", "/healthz", "/readyz")
SKIP_SUFFIXES = (".csv", ".xlsx", ".xls", ".pdf", ".zip", ".json", ".yaml", ".txt", ".png", ".svg")


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(("", "", parts.path, parts.query, ""))


def url_pattern(url: str) -> str:
    """One representative per URL pattern: path segments with a digit (ids, codes such as ``E11C``,
    SOATE codes, periods) become <id>, query values are dropped (only the keys count)."""
    parts = urlsplit(url)
    path = re.sub(r"/[^/]*\d[^/]*(?=/|$)", "/<id>", parts.path)
    keys = sorted({k for k, _v in parse_qsl(parts.query, keep_blank_values=True)})
    return path + ("?" + "&".join(keys) if keys else "")


def crawlable(url: str, origin: str) -> str | None:
    """The path+query to visit, or None for links a crawler must not follow."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or f"{parts.scheme}://{parts.netloc}" != origin:
        return None
    path = parts.path
    if path.startswith(SKIP_PREFIXES) or path.lower().endswith(SKIP_SUFFIXES):
        return None
    if path in (reverse("logout"), reverse("login")) or "download" in path or "/export" in path:
        return None
    query = parse_qsl(parts.query, keep_blank_values=True)
    if any(k == "page" and v not in ("", "1") for k, v in query):
        return None
    if any(k in ("format", "download", "export") for k, _v in query):
        return None
    return urlunsplit(("", "", path, urlencode(query), ""))


def links_on(page: Page) -> list[str]:
    return page.evaluate(
        "() => Array.from(document.querySelectorAll('a[href]')).filter(a => !a.hasAttribute('download'))"
        ".map(a => a.href)"
    )


class _AlreadyHere:
    """Stands for the response of the page the browser shows already (freshly loaded)."""

    status = 200
    headers = {"content-type": "text/html"}


def visit(page: Page, path: str, *, reuse: bool = False):
    """Open a path; return the response, or None when it turned out to be a download.

    With ``reuse``, a page the browser has just loaded at that path (after signing in or
    switching language) is checked as it is instead of being loaded again.
    """
    if reuse and path_of(page.url) == path:
        return _AlreadyHere()
    try:
        response = page.goto(path)
    except PlaywrightError as exc:
        if "Download is starting" in str(exc) or "ERR_ABORTED" in str(exc):
            return None
        raise
    if response is not None and "text/html" not in (response.headers.get("content-type") or ""):
        return None
    return response


def crawl(page: Page, origin: str, check, *, max_pages: int = 40, max_depth: int = 2) -> list[tuple[str, str]]:
    """Breadth-first from the home page and the main navigation (depth 1) to the links on those pages.

    ``check(path, response, linked_from)`` runs on every page visited. Returns ``(path,
    linked_from)`` for the pages visited, one per URL pattern, so the same set can be checked
    again in another language without crawling.
    """
    home = reverse("home")
    queue: list[tuple[str | None, int, str]] = [(home, 1, "")]
    seen_patterns: set[str] = set()
    visited: list[tuple[str, str]] = []
    while queue and len(visited) < max_pages:
        path, depth, source = queue.pop(0)
        if not path or url_pattern(path) in seen_patterns:
            continue
        seen_patterns.add(url_pattern(path))
        response = visit(page, path, reuse=not visited)
        if response is None:
            continue
        final = path_of(page.url)
        if final != path and url_pattern(final) in seen_patterns:
            continue  # redirected to a page already checked
        seen_patterns.add(url_pattern(final))
        visited.append((path, source))
        check(path, response, source)
        if path == home and len(visited) == 1:  # the main navigation, at the depth of home
            queue += [(crawlable(urljoin(origin, href), origin), 1, "the main navigation") for href in nav_links(page) if href]
        if depth < max_depth:
            for href in links_on(page):
                target = crawlable(href, origin)
                if target and url_pattern(target) not in seen_patterns:
                    queue.append((target, depth + 1, path))
    return visited


def unique(prefix: str) -> str:
    """A fresh name for a record a test creates (tests share the demo data and never reuse records)."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def at(path: str) -> re.Pattern:
    """For ``expect(page).to_have_url(at(path))``: exactly that path, any query or fragment."""
    return re.compile(r"^https?://[^/]+" + re.escape(path) + r"(\?[^#]*)?(#.*)?$")
