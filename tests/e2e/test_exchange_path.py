"""The exchange path, clicked through in the browser (issue 6, "done when"):

a social-protection officer imports an MSEK register file, links it to the learners, clears a pair in
the review queue side by side and registers a child found on no roster; the local self-government
officer finds the out-of-school children, works the case from contact to enrolment, and the child is
no longer counted out of school; the district education officer reads the case. Every new page is
checked with axe (``assert_page_ok``). Writes only fresh records (a unique file, new children).
"""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from birge.core.roles import OrgKind, Role

from .helpers import (
    AXE_JS, assert_page_ok, at, click_link, expect_error_summary, expect_notice, fill_form, login, logout, open_nav,
    submit, unique,
)

pytestmark = pytest.mark.e2e

HEADER = "id,pin,last_name,first_name,patronymic,birth_date,sex,region,district,settlement,Категория"


@pytest.fixture
def context_init_scripts():
    return [AXE_JS]


def _register_file(tag: str) -> tuple[bytes, dict]:
    """An MSEK extract: a twin of a demo learner (review), and a child on no roster (no match)."""
    from birge.core.demo import DEMO_DISTRICT
    from birge.core.models import Territory, User
    from birge.learners.models import Learner

    district = Territory.objects.get(code=DEMO_DISTRICT)
    lsg = User.objects.get(username="demo-local-government-officer").memberships.select_related(
        "organization__territory").first().organization
    sibling = (Learner.objects.filter(territory__code__startswith=district.prefix, is_synthetic=True, sex="male",
                                      archived_at__isnull=True).exclude(last_name="").exclude(patronymic="")
               .order_by("pk").first())
    rng = random.Random(tag)
    born = dt.date.today().replace(day=1) - dt.timedelta(days=365 * 6 + rng.randint(0, 300))
    new_child = {"first_name": "Нурайым", "patronymic": "Бакыт кызы", "birth_date": born}
    rows = [
        f"{tag}-T,,{sibling.last_name},Эрмек,{sibling.patronymic},{sibling.birth_date.isoformat()},M,Чүй облусу,"
        f"{district.name_ky},,ребенок",
        f"{tag}-N,,,{new_child['first_name']},{new_child['patronymic']},{born.strftime('%d.%m.%Y')},F,Чүй облусу,"
        f"{district.name_ky},{lsg.territory.name_ky},ребенок",
    ]
    return (HEADER + "\n" + "\n".join(rows) + "\n").encode("utf-8"), {"sibling": sibling, "new_child": new_child, "lsg": lsg}


def test_register_to_review_to_outreach_to_enrolment(page: Page):
    from birge.exchange import services
    from birge.exchange.models import AgencyKind, ImportBatch, ImportedPerson, ImportSource, MatchLink, OutreachCase
    from birge.learners.models import Enrolment, Learner

    tag = unique("e2e-msek")
    data, facts = _register_file(tag)
    source = ImportSource.objects.filter(kind=AgencyKind.DISABILITY_REGISTER).order_by("pk").first()

    # --- the social-protection officer imports the file
    login(page, Role.SOCIAL_PROTECTION_OFFICER)
    open_nav(page, "exchange:batch-list")
    assert_page_ok(page, label="register batches")
    click_link(page, "exchange:batch-upload")
    assert_page_ok(page, label="upload form")
    submit(page)  # nothing filled in: the error summary takes the focus
    expect_error_summary(page)
    fill_form(page, {"source": source.pk, "legal_basis": "law", "purpose": "out-of-school",
                     "legal_reference": "Decree No. 68 of 31 January 2012"})
    page.set_input_files('main [name="file"]', files=[{"name": f"{tag}.csv", "mimeType": "text/csv", "buffer": data}])
    submit(page)
    expect_notice(page)
    batch = ImportBatch.objects.get(file_name=f"{tag}.csv")
    expect(page).to_have_url(at(reverse("exchange:batch-detail", args=[batch.pk])))
    assert_page_ok(page, label="the new batch")

    # --- links it to the learners
    submit(page, form=page.locator(f'main form[action="{reverse("exchange:batch-link", args=[batch.pk])}"]'))
    expect_notice(page)
    twin_row = ImportedPerson.objects.get(batch=batch, record_id=f"{tag}-T")
    new_row = ImportedPerson.objects.get(batch=batch, record_id=f"{tag}-N")
    assert twin_row.link_state == "review" and new_row.link_state == "no-match"

    # --- reviews the twin pair side by side and rejects it with a reason
    page.goto(reverse("exchange:review-queue") + f"?batch={batch.pk}")
    assert_page_ok(page, label="review queue")
    pair = MatchLink.objects.filter(person=twin_row).order_by("-score").first()
    click_link(page, "exchange:pair-detail", pair.pk)
    expect(page.locator("main table.compare")).to_contain_text("Эрмек")
    assert_page_ok(page, label="side-by-side comparison")
    form = page.locator(f'main form[action="{reverse("exchange:pair-decide", args=[pair.pk])}"]')
    fill_form(page, {"d-decision": "reject"}, form=form)
    submit(page, form=form, button_name="next")  # no reason: refused, the error summary says why
    expect_error_summary(page)
    assert_page_ok(page, label="comparison with an error")
    form = page.locator(f'main form[action="{reverse("exchange:pair-decide", args=[pair.pk])}"]')
    fill_form(page, {"d-decision": "reject", "d-reason": "Another child: the school confirms twins."}, form=form)
    submit(page, form=form, button_name="next")
    expect_notice(page)
    pair.refresh_from_db()
    assert pair.state == "rejected"

    # --- registers the child found on no roster
    page.goto(reverse("exchange:person-detail", args=[new_row.pk]))
    assert_page_ok(page, label="register row")
    submit(page, form=page.locator(f'main form[action="{reverse("exchange:person-register", args=[new_row.pk])}"]'))
    expect_notice(page)
    new_row.refresh_from_db()
    child = new_row.learner
    assert child is not None and child.first_name == "Нурайым"
    assert child in set(services.out_of_school(Learner.objects.filter(pk=child.pk)))
    logout(page)

    # --- the local self-government officer finds the out-of-school children
    login(page, Role.LOCAL_GOVERNMENT_OFFICER)
    open_nav(page, "exchange:case-list")
    assert_page_ok(page, label="outreach work list")
    click_link(page, "exchange:case-find")
    assert_page_ok(page, label="find out-of-school children")
    submit(page)
    expect_notice(page)
    case = OutreachCase.objects.get(learner=child, state="to-contact")
    assert case.assigned_organization == facts["lsg"]
    page.goto(case.get_absolute_url())
    assert_page_ok(page, label="outreach case")
    form = page.locator(f'main form[action="{reverse("exchange:case-transition", args=[case.pk, "contacted"])}"]')
    fill_form(page, {"contact-reason": "Visited the family; they want a kindergarten."}, form=form)
    submit(page, form=form)
    expect_notice(page)

    # The kindergarten enrols the child (on the learner's page; here directly), then the case is closed.
    from birge.core.models import Organization

    kindergarten = Organization.objects.filter(kind=OrgKind.KINDERGARTEN, is_active=True).order_by("pk").first()
    Enrolment.objects.create(learner=child, organization=kindergarten, level="kindergarten", starts_on=dt.date.today())
    page.goto(case.get_absolute_url())
    form = page.locator(f'main form[action="{reverse("exchange:case-transition", args=[case.pk, "enrolled"])}"]')
    submit(page, form=form)
    expect_notice(page)
    case.refresh_from_db()
    assert case.state == "enrolled" and case.enrolment is not None
    assert child not in set(services.out_of_school(Learner.objects.filter(pk=child.pk)))  # the figure changes
    logout(page)

    # --- the district education officer reads the case, without steps to take
    login(page, Role.DISTRICT_OFFICER)
    page.goto(case.get_absolute_url())
    expect(page.locator("main h1")).to_be_visible()
    expect(page.locator('main form[action*="/exchange/outreach/"]')).to_have_count(0)
    assert_page_ok(page, label="outreach case, read only")


def test_duplicates_search_and_comparison_pages(page: Page):
    """The duplicate search of the social-protection officer's district, and a pair's comparison (not merged here)."""
    login(page, Role.SOCIAL_PROTECTION_OFFICER)
    open_nav(page, "exchange:duplicate-list")
    assert_page_ok(page, label="duplicate search")
    submit(page, form=page.locator("main form[method=get]").first)
    expect(page.locator("main h1")).to_be_visible()
    assert_page_ok(page, label="duplicate search results")
    compare = page.locator(f'main a[href^="{reverse("exchange:merge")}"]').first
    if compare.count():
        with page.expect_navigation():
            compare.click()
        expect(page.locator("main table.compare")).to_be_visible()
        assert_page_ok(page, label="compare two records")
