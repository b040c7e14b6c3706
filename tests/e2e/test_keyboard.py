"""Keyboard only: sign in and use the main navigation without a mouse, with focus always visible.

The skip link must be the first Tab stop and move focus to main; every element that takes
focus on the way must show it (a computed outline or box-shadow, on screen).
"""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from birge.core.roles import Role

from .helpers import DEMO_PASSWORD, FOCUS_STYLE_JS, at, header_nav, login, username_for

pytestmark = pytest.mark.e2e

MAX_TABS = 40

_ACTIVE = """
() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  return {id: el.id, tag: el.tagName.toLowerCase(), href: el.getAttribute('href'), skip: el.matches('a.skip-link'),
          isMain: el.matches('main, [role=main]'), inNav: !!el.closest('nav.main-nav'), html: el.outerHTML.slice(0, 160)};
}
"""


class Keyboard:
    """Tab through a page, checking that every focused element shows its focus."""

    def __init__(self, page: Page):
        self.page = page
        self.path: list[str] = []  # what took focus, for failure messages

    def active(self):
        return self.page.evaluate(_ACTIVE)

    def tab(self):
        self.page.keyboard.press("Tab")
        active = self.active()
        assert active is not None, f"Tab left the page; focus went {self.path}"
        self.path.append(active["html"][:80])
        focus = self.page.evaluate(FOCUS_STYLE_JS)
        assert focus["visible"], (
            f"focus is not visible on {focus['html']} (outline {focus.get('outline')!r}, "
            f"box-shadow {focus.get('boxShadow')!r}, rect {focus.get('rect')})"
        )
        return active

    def tab_until(self, predicate, what: str):
        for _ in range(MAX_TABS):
            active = self.tab()
            if predicate(active):
                return active
        raise AssertionError(f"{what} not reached with {MAX_TABS} Tab presses; focus went: {self.path}")


def test_sign_in_and_main_navigation_by_keyboard_only(page: Page):
    keys = Keyboard(page)
    page.goto(reverse("login"))

    first = keys.tab()
    assert first["skip"], f"the first Tab stop is not the skip link but {first['html']}"
    page.keyboard.press("Enter")
    assert (keys.active() or {}).get("isMain"), f"the skip link did not move focus to main: {keys.active()}"

    keys.tab_until(lambda a: a["id"] == "id_username", "the username field")
    page.keyboard.type(username_for(Role.SCHOOL_COORDINATOR))
    keys.tab_until(lambda a: a["id"] == "id_password", "the password field")
    page.keyboard.type(DEMO_PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page).to_have_url(at(reverse("home")))
    expect(header_nav(page)).to_be_visible()

    # From the top of the home page (loaded afresh: the sign-in kept the #main fragment, which
    # rightly starts Tab in main): the skip link first again, then on to a navigation link.
    page.goto(reverse("home"))
    keys = Keyboard(page)
    first = keys.tab()
    assert first["skip"], f"the first Tab stop on the home page is not the skip link but {first['html']}"
    home = reverse("home")
    target = keys.tab_until(lambda a: a["inNav"] and a["href"] not in (None, home), "a main-navigation link")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page).to_have_url(at(target["href"]))
    expect(page.locator("h1")).to_have_count(1)
    expect(header_nav(page).locator(f'a[href="{target["href"]}"]')).to_have_attribute("aria-current", "page")


def test_language_switch_and_sign_out_by_keyboard(page: Page):
    """The header's language buttons and the sign-out button work with Tab and Enter (or Space)."""
    login(page, Role.TEACHER)
    keys = Keyboard(page)
    keys.tab_until(lambda a: a["tag"] == "button" and 'value="en"' in a["html"], "the English language button")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator("html")).to_have_attribute("lang", "en")

    keys = Keyboard(page)
    logout_action = reverse("logout")
    keys.tab_until(
        lambda a: a["tag"] == "button" and page.evaluate(
            f"() => !!document.activeElement.closest('form[action=\"{logout_action}\"]')"),
        "the sign-out button",
    )
    with page.expect_navigation():
        page.keyboard.press("Space")
    expect(page).to_have_url(at(reverse("login")))


def test_error_summary_takes_focus_after_the_skip_link(page: Page):
    """Skip link, then send the sign-in form empty: focus must land on the error summary.

    (The form posts to the page's URL, which now ends in #main; the error page must still put
    focus on its error summary, not on the #main target.)
    """
    keys = Keyboard(page)
    page.goto(reverse("login"))
    assert keys.tab()["skip"]
    page.keyboard.press("Enter")
    keys.tab_until(lambda a: a["id"] == "id_username", "the username field")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    summary = page.locator("main [data-error-summary]")
    expect(summary).to_be_visible()
    active = keys.active()
    assert active and "data-error-summary" in active["html"], (
        f"after sending the form from {page.url}, focus is on {active and active['html']} instead of the error summary"
    )
