"""Main paths, clicked through in the browser as people take them.

Foundation paths: the administrator adds a person and gives them a role; every demo role signs
in and sees its home page; the language switcher changes ``lang``; signing out. Later issues add
their paths here (a referral from school to PMPK, a plan agreed with the family, …) with the
helpers in ``helpers.py``: ``login``, ``open_nav``, ``click_link``, ``fill_form``, ``submit``,
``expect_notice``, ``assert_page_ok`` and ``unique``. Paths write only into fresh records.
"""

from __future__ import annotations

import datetime as dt
import pytest
from django.urls import reverse
from django.utils import translation
from playwright.sync_api import Page, expect

from birge.core.roles import OrgKind, Role

from .helpers import (
    AXE_JS,
    DEFAULT_LANGUAGE,
    LANGUAGES,
    assert_page_ok,
    at,
    click_link,
    expect_notice,
    fill_form,
    header_nav,
    login,
    logout,
    open_nav,
    set_language,
    submit,
    unique,
)

pytestmark = pytest.mark.e2e


@pytest.fixture
def context_init_scripts():
    return [AXE_JS]  # so assert_page_ok can run axe on the pages a path creates


def label(choice, lang: str = DEFAULT_LANGUAGE) -> str:
    with translation.override(lang):
        return str(choice.label)


def test_admin_adds_a_person_and_gives_them_a_role(page: Page):
    from birge.core.models import Membership, Organization, User

    login(page, Role.SYSTEM_ADMIN)
    open_nav(page, "user-list")
    click_link(page, "user-create")
    username = unique("e2e-person")
    fill_form(page, {"username": username, "full_name": "Жаңыл Өмүрбекова", "email": f"{username}@example.org",
                     "preferred_language": "ru"})
    submit(page)
    expect_notice(page)
    person = User.objects.get(username=username)
    expect(page).to_have_url(at(reverse("user-detail", args=[person.pk])))
    expect(page.locator("h1")).to_contain_text("Жаңыл Өмүрбекова")

    school = Organization.objects.filter(kind=OrgKind.SCHOOL, is_active=True).order_by("name").first()
    role_form = page.locator("main form:has(button[name=add_membership])")
    fill_form(page, {"m-role": Role.TEACHER.value, "m-organization": school.pk,
                     "m-starts_on": dt.date.today().isoformat(), "m-fte": "1"}, form=role_form)
    submit(page, form=role_form, button_name="add_membership")
    expect_notice(page)
    expect(page.locator("main table").first).to_contain_text(label(Role.TEACHER))
    assert Membership.objects.filter(user=person, role=Role.TEACHER, organization=school, ends_on__isnull=True).exists()
    assert_page_ok(page, label="the new person's page")

    # The list finds them by name, under their role.
    open_nav(page, "user-list")
    search = page.locator("main form[role=search]")
    fill_form(page, {"q": "Өмүрбекова", "role": Role.TEACHER.value}, form=search)
    submit(page, form=search)
    row = page.locator("main tbody tr", has=page.locator(f'a[href="{reverse("user-detail", args=[person.pk])}"]'))
    expect(row).to_contain_text(label(Role.TEACHER))


@pytest.mark.parametrize("role", list(Role), ids=[r.value for r in Role])
def test_each_role_sees_its_home_page(page: Page, role):
    login(page, role)
    expect(page).to_have_url(at(reverse("home")))
    expect(page.locator("main")).to_contain_text(label(role))
    expect(page.locator("h1")).to_have_count(1)
    expect(header_nav(page).locator(f'a[href="{reverse("home")}"]')).to_have_attribute("aria-current", "page")


def test_language_switch_changes_lang_and_stays(page: Page):
    login(page, Role.SCHOOL_COORDINATOR)
    expect(page.locator("html")).to_have_attribute("lang", DEFAULT_LANGUAGE)  # Kyrgyz first, whatever the browser says
    for lang in [code for code in LANGUAGES if code != DEFAULT_LANGUAGE] + [DEFAULT_LANGUAGE]:
        set_language(page, lang)
        expect(page).to_have_url(at(reverse("home")))  # back where the switch was pressed
        expect(page.locator("main")).to_contain_text(label(Role.SCHOOL_COORDINATOR, lang))
        open_nav(page, "organization-list")
        expect(page.locator("html")).to_have_attribute("lang", lang)  # the choice holds on the next page
        current = page.locator(f'header form[action="{reverse("set_language")}"] button[value="{lang}"]')
        expect(current).to_have_attribute("aria-current", "true")
        open_nav(page, "home")


def test_sign_out(page: Page):
    login(page, Role.PARENT)
    logout(page)
    expect(header_nav(page)).to_have_count(0)
    page.goto(reverse("home"))
    expect(page).to_have_url(at(reverse("login")))  # signed out for real


def test_add_role_form_offers_todays_start_date(page: Page):
    """The start date defaults to today, in the browser too (a date input needs YYYY-MM-DD)."""
    from django.utils import timezone

    from birge.core.models import User

    login(page, Role.SYSTEM_ADMIN)
    teacher = User.objects.get(username="demo-teacher")
    page.goto(reverse("user-detail", args=[teacher.pk]))
    field = page.locator('main form:has(button[name=add_membership]) [name="m-starts_on"]')
    expect(field, "the start date field shows today's date").to_have_value(timezone.localdate().isoformat())
