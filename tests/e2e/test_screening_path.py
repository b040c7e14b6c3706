"""The functioning screening path, clicked through in headless Chromium.

The demo school's inclusion coordinator opens a child (demo-parent's younger child), starts a
screening (interview date, the mother as respondent; the questionnaire follows from the age),
answers the questionnaire — the questions that follow a gate appear live with the page's script,
and after "Continue" without it — and saves; the result says "functional difficulty" in words and
offers the referral to the PMPK. axe runs on the start page, the questionnaire (also with its error
summary) and the result. Each run writes a new screening (paths write only into fresh records).
"""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from birge.core.roles import Role

from .helpers import AXE_JS, assert_page_ok, at, click_link, expect_notice, fill_form, login, submit

pytestmark = pytest.mark.e2e

ANSWERS = {"CF1": "no", "CF3": "no_difficulty", "CF4": "no", "CF6": "no_difficulty", "CF7": "no",
           "CF12": "no_difficulty", "CF13": "no_difficulty", **{f"CF{n}": "no_difficulty" for n in range(14, 23)},
           "CF17": "a_lot_of_difficulty", "CF23": "never", "CF24": "never"}


@pytest.fixture
def context_init_scripts():
    return [AXE_JS]  # so assert_page_ok can run axe on the pages of the path


def _child_and_mother():
    """demo-parent's younger child (at the demo coordinator's school) and her guardian record."""
    from birge.learners.models import GuardianLink

    link = (GuardianLink.objects.filter(guardian__user__username="demo-parent", ends_on__isnull=True)
            .select_related("learner", "guardian").order_by("-learner__birth_date").first())
    assert link is not None, "the demo has no child of demo-parent"
    return link.learner, link.guardian


def _start(page: Page, learner, guardian) -> int:
    from birge.screening.models import Screening

    page.goto(reverse("learners:detail", args=[learner.pk]))
    expect(page.locator("#screenings")).to_be_visible()
    click_link(page, "screening:start", learner.pk)
    fill_form(page, {"interview_date": timezone.localdate().isoformat(), "respondent": "parent",
                     "respondent_guardian": guardian.pk})
    before = set(Screening.objects.filter(learner=learner).values_list("pk", flat=True))
    submit(page)
    (pk,) = set(Screening.objects.filter(learner=learner).values_list("pk", flat=True)) - before
    expect(page).to_have_url(at(reverse("screening:answers", args=[pk])))
    return pk


def _answer(page: Page, code: str, value: str) -> None:
    page.locator(f'main input[name="{code}"][value="{value}"]').check()


def _press(page: Page, action: str) -> None:
    with page.expect_navigation():
        page.locator(f'main button[name="action"][value="{action}"]').click()


def test_coordinator_records_a_screening_and_is_offered_a_referral(page: Page):
    from birge.screening.models import Screening, Status

    learner, guardian = _child_and_mother()
    login(page, Role.SCHOOL_COORDINATOR)
    page.goto(reverse("screening:start", args=[learner.pk]))
    assert_page_ok(page, label="start a screening")
    pk = _start(page, learner, guardian)
    expect_notice(page)

    # The questionnaire for a six-year-old; the gate's branches appear live as it is answered.
    assert Screening.objects.get(pk=pk).instrument == "cfm-5-17"
    assert_page_ok(page, label="the questionnaire")  # checked as loaded, before any click moves focus
    expect(page.locator("#q-CF1 legend")).to_be_visible()
    expect(page.locator("#q-CF2")).to_be_hidden()
    expect(page.locator("#q-CF3")).to_be_hidden()
    _answer(page, "CF1", "yes")
    expect(page.locator("#q-CF2")).to_be_visible()
    _answer(page, "CF1", "no")
    expect(page.locator("#q-CF2")).to_be_hidden()
    expect(page.locator("#q-CF3")).to_be_visible()

    # Saving before everything is answered: an error summary, still a draft.
    _press(page, "save")
    expect(page.locator("main .error-summary")).to_be_visible()
    expect(page.locator("main .error-summary a[href='#id_CF4_0']")).to_be_visible()
    assert Screening.objects.get(pk=pk).status == Status.DRAFT
    assert_page_ok(page, label="the questionnaire with errors")

    for code, value in ANSWERS.items():
        _answer(page, code, value)
    expect(page.locator("#q-CF9")).to_be_hidden()  # walking without equipment: CF8-CF11 are skipped
    _press(page, "save")
    expect(page).to_have_url(at(reverse("screening:detail", args=[pk])))
    expect_notice(page)
    screening = Screening.objects.get(pk=pk)
    assert screening.status == Status.COMPLETE and screening.functional_difficulty is True and screening.domain_count == 1
    refer = page.locator(f'main a[href="{reverse("referrals:create")}?learner={learner.pk}"]')
    expect(refer).to_be_visible()
    assert_page_ok(page, label="the result")

    # The history lists it; the referral suggestion leads to the referral form for this child.
    click_link(page, "screening:learner-list", learner.pk)
    expect(page.locator(f'main a[href="{reverse("screening:detail", args=[pk])}"]')).to_be_visible()
    assert_page_ok(page, label="the learner's screenings")
    page.goto(reverse("screening:detail", args=[pk]))
    with page.expect_navigation():
        refer.click()
    expect(page.locator("main form[method=post]")).to_be_visible()


def test_the_questionnaire_works_without_javascript(browser, live_url):
    from birge.screening.models import Screening, Status

    learner, guardian = _child_and_mother()
    context = browser.new_context(base_url=live_url, locale="ru-RU", java_script_enabled=False)
    context.set_default_timeout(10_000)
    try:
        page = context.new_page()
        login(page, Role.SCHOOL_COORDINATOR)
        pk = _start(page, learner, guardian)
        expect(page.locator("#q-CF2")).to_be_hidden()
        _answer(page, "CF1", "yes")
        expect(page.locator("#q-CF2")).to_be_hidden()  # no script: the server shows it after "Continue"
        _press(page, "continue")
        expect(page.locator("#q-CF2")).to_be_visible()
        expect(page.locator("#q-CF3")).to_be_hidden()
        _answer(page, "CF1", "no")
        _answer(page, "CF2", "a_lot_of_difficulty")
        _press(page, "continue")
        expect(page.locator("#q-CF2")).to_be_hidden()
        expect(page.locator("#q-CF3")).to_be_visible()
        assert "CF2" not in Screening.objects.get(pk=pk).answers  # the skipped branch was cleared
        for _round in range(4):  # answer what is shown, then "Continue" shows what follows
            for code, value in ANSWERS.items():
                if page.locator(f"#q-{code}").is_visible():
                    _answer(page, code, value)
            _press(page, "continue")
        _press(page, "save")
        expect(page).to_have_url(at(reverse("screening:detail", args=[pk])))
        screening = Screening.objects.get(pk=pk)
        assert screening.status == Status.COMPLETE and screening.domains["learning"] is True
    finally:
        context.close()
