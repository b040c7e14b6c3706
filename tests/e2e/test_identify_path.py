"""Issue 3's "Done when", clicked through in headless Chromium: the identify path.

The demo school's inclusion coordinator finds a child by a Latin spelling of her Kyrgyz name
(partial, without ң ө ү) and opens the record; registers a new child whose name and birth date
collide with hers (the likely-duplicate page comes before saving and is confirmed; a PIN already
registered is refused with a link to that record); adds the father as a new guardian, links the
mother (demo-parent's guardian record, found by a Latin spelling too) and records her consent to
the assessment; records a screening; refers the child to the PMPK from the learner page and sees
the referral's state. The PMPK member finds it in the queue; demo-parent sees her child's
referral; the district officer of another district finds nothing (search empty, the pages 404).

axe runs on every page of the path in Kyrgyz; the learner form with its error summary also in
Russian and English. Each run registers a fresh child (paths write only into fresh records).
"""

from __future__ import annotations

import datetime as dt
import random
from urllib.parse import urlencode

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from birge.core.roles import OrgKind, Role

from .helpers import (
    AXE_JS,
    DEFAULT_LANGUAGE,
    assert_page_ok,
    at,
    click_link,
    expect_error_summary,
    expect_notice,
    fill_form,
    login,
    logout,
    open_nav,
    set_language,
    submit,
    unique,
)

pytestmark = pytest.mark.e2e

KYRGYZ_LETTERS = set("ңөүҢӨҮ")
# How people type a Kyrgyz name on a Latin keyboard: no ң ө ү, one common transliteration.
LATIN = str.maketrans({
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "yo", "ж": "zh", "з": "z", "и": "i", "й": "y",
    "к": "k", "л": "l", "м": "m", "н": "n", "ң": "n", "о": "o", "ө": "o", "п": "p", "р": "r", "с": "s", "т": "t",
    "у": "u", "ү": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "sh", "ъ": "", "ы": "y", "ь": "",
    "э": "e", "ю": "yu", "я": "ya",
})
# The same name as a Russian-keyboard spelling: ң ө ү written н о у.
RUSSIAN = str.maketrans({"ң": "н", "ө": "о", "ү": "у", "Ң": "Н", "Ө": "О", "Ү": "У"})
ANSWERS = {"CF1": "no", "CF3": "no_difficulty", "CF4": "no", "CF6": "no_difficulty", "CF7": "no",
           "CF12": "no_difficulty", "CF13": "no_difficulty", **{f"CF{n}": "no_difficulty" for n in range(14, 23)},
           "CF17": "a_lot_of_difficulty", "CF23": "never", "CF24": "never"}


@pytest.fixture
def context_init_scripts():
    return [AXE_JS]  # so assert_page_ok can run axe on the pages of the path


def latin(name: str) -> str:
    return name.lower().translate(LATIN)


def _demo_child():
    """A demo child at the coordinator's school, 7 to 15 years old, with ң, ө or ү in the given name or surname.

    Older than demo-parent's younger child, so the new twin registered here (who becomes demo-parent's
    child too) never takes that child's place in the other paths."""
    from birge.core.models import User
    from birge.learners.models import Enrolment, Learner

    coordinator = User.objects.get(username="demo-school-coordinator")
    school = coordinator.memberships.get().organization
    today = timezone.localdate()
    candidates = (Learner.objects.filter(enrolments__organization=school, enrolments__status=Enrolment.Status.ACTIVE,
                                         archived_at__isnull=True, merged_into__isnull=True, pin__gt="",
                                         birth_date__lte=today - dt.timedelta(days=7 * 366),
                                         birth_date__gte=today - dt.timedelta(days=15 * 365))
                  .exclude(last_name="").distinct().order_by("pk"))
    for learner in candidates:
        if KYRGYZ_LETTERS & set(learner.first_name + learner.last_name):
            return learner
    pytest.fail("the demo has no child at the coordinator's school with ң, ө or ү in the name")


def _mother():
    """demo-parent's guardian record (Айпери Асан кызы)."""
    from birge.learners.models import Guardian

    return Guardian.objects.get(user__username="demo-parent")


def _fresh_pin(sex: str, birth: dt.date) -> str:
    from birge.learners.models import Learner

    rng = random.Random()
    while True:
        pin = f"{'1' if sex == 'female' else '2'}{birth:%d%m%Y}{rng.randint(50000, 99999):05d}"
        if not Learner.objects.filter(pin=pin).exists():
            return pin


def _other_district_officer():
    """A district officer of a demo district other than the demo staff's (a fresh person)."""
    from birge.core.demo import DEMO_DISTRICT
    from birge.core.models import Membership, Organization, Territory, User

    demo_district = Territory.objects.get(code=DEMO_DISTRICT)
    office = (Organization.objects.filter(kind=OrgKind.DISTRICT_EDUCATION, is_active=True)
              .exclude(territory__code__startswith=demo_district.prefix).order_by("code").first())
    assert office is not None, "the demo has only one district education department"
    username = unique("e2e-district-officer")
    user = User.objects.create_user(username=username, password="e2e-pass-12345", full_name="Другой Район")
    Membership.objects.create(user=user, role=Role.DISTRICT_OFFICER, organization=office,
                              starts_on=timezone.localdate() - dt.timedelta(days=10))
    return username, "e2e-pass-12345"


def _search_learners(page: Page, query: str) -> None:
    search = page.locator("main form[role=search]")
    fill_form(page, {"q": query}, form=search)
    submit(page, form=search)


def _learner_form(page: Page, values: dict) -> None:
    page.locator('main input[name="sex"]').first.wait_for()
    fill_form(page, values)


def test_coordinator_identifies_screens_and_refers_a_child(page: Page):
    from birge.learners.models import Consent, GuardianLink, Learner
    from birge.referrals.models import Referral, State
    from birge.screening.models import Screening, Status

    existing = _demo_child()
    mother = _mother()
    detail = reverse("learners:detail", args=[existing.pk])

    # --- (a) find her by a Latin spelling: partial, no ң ө ү ------------------------------------------------
    login(page, Role.SCHOOL_COORDINATOR)
    open_nav(page, "learners:list")
    assert_page_ok(page, label="the learner list")
    query = f"{latin(existing.first_name)[:4]} {latin(existing.last_name)[:5]}"
    assert not KYRGYZ_LETTERS & set(query) and query.isascii()
    _search_learners(page, query)
    found = page.locator(f'main table a[href="{detail}"]')
    expect(found, f"the search {query!r} finds {existing.full_name}").to_be_visible()
    assert_page_ok(page, label="the learner list, searched")
    with page.expect_navigation():
        found.click()
    expect(page).to_have_url(at(detail))
    expect(page.locator("h1")).to_contain_text(existing.first_name)
    assert_page_ok(page, label="the learner's page")

    # --- (b) register a child: errors, a PIN already registered, then a likely duplicate --------------------
    open_nav(page, "learners:list")
    click_link(page, "learners:create")
    expect(page).to_have_url(at(reverse("learners:create")))
    assert_page_ok(page, label="the learner form")
    submit(page)  # nothing filled in
    expect_error_summary(page)
    expect(page.locator("main .error-summary a[href='#id_first_name']")).to_be_visible()
    assert_page_ok(page, label="the learner form with errors")
    # The same form and its error summary in Russian and in English; then back to Kyrgyz.
    try:
        for lang in ("ru", "en"):
            set_language(page, lang)
            submit(page)
            expect_error_summary(page)
            expect(page.locator("h1")).to_have_text(_in(lang, "Register a learner"))
            expect(page.locator("main .error-summary h2")).to_have_text(_in(lang, "There is a problem"))
            assert_page_ok(page, lang, label=f"the learner form with errors ({lang})")
    finally:
        set_language(page, DEFAULT_LANGUAGE)

    twin_name = {"last_name": existing.last_name.translate(RUSSIAN), "first_name": existing.first_name.translate(RUSSIAN),
                 "patronymic": existing.patronymic.translate(RUSSIAN)}
    values = {**twin_name, "birth_date": existing.birth_date.isoformat(), "sex": existing.sex,
              "territory": existing.territory_id}
    _learner_form(page, {**values, "pin": existing.pin})
    submit(page)
    expect_error_summary(page)
    expect(page.locator("main .error-summary a[href='#id_pin']")).to_be_visible()
    link = page.locator(f'main .notice a[href="{detail}"]')
    expect(link, "a PIN already registered links to that record").to_be_visible()
    assert_page_ok(page, label="the learner form: PIN already registered")
    assert not Learner.objects.filter(pin=existing.pin).exclude(pk=existing.pk).exists()

    pin = _fresh_pin(existing.sex, existing.birth_date)
    _learner_form(page, {"pin": pin})
    submit(page)
    # Before saving: the likely duplicate (same birth date, the name folds alike) with a way to open it.
    expect(page.locator("main .notice-warning")).to_be_visible()
    expect(page.locator(f'main table a[href="{detail}"]')).to_be_visible()
    assert not Learner.objects.filter(pin=pin).exists()
    assert_page_ok(page, label="is this child already registered?")
    submit(page)  # "This is a new child: register"
    child = Learner.objects.get(pin=pin)
    expect(page).to_have_url(at(reverse("learners:detail", args=[child.pk])))
    expect_notice(page)
    assert child.birth_date == existing.birth_date and child.first_name == twin_name["first_name"]
    assert_page_ok(page, label="the new learner's page")

    # --- (c) the family: the father as a new guardian, the mother linked, her consent ---------------------------
    click_link(page, "learners:guardian-add", child.pk)
    assert_page_ok(page, label="add a guardian")
    father = {"last_name": existing.last_name, "first_name": "Таалайбек", "phone": "+996 555 010 203"}
    fill_form(page, {**father, "relation": "father"})
    submit(page)
    expect_notice(page)
    expect(page.locator("#guardians-section")).to_contain_text("Таалайбек")

    click_link(page, "learners:guardian-link", child.pk)
    search = page.locator("main form[role=search]")
    fill_form(page, {"q": "aiperi asan k"}, form=search)  # the mother's name in Latin, partial
    submit(page, form=search)
    expect(page.locator(f'main input[name="guardian"][value="{mother.pk}"]')).to_be_visible()
    assert_page_ok(page, label="link an existing guardian")
    link_form = page.locator("main form[method=post]").last
    fill_form(page, {"guardian": mother.pk, "relation": "mother"}, form=link_form)
    submit(page, form=link_form)
    expect_notice(page)
    assert GuardianLink.objects.filter(learner=child, guardian=mother, ends_on__isnull=True).exists()

    click_link(page, "learners:consent-add", child.pk)
    assert_page_ok(page, label="record a consent")
    fill_form(page, {"purpose": Consent.Purpose.ASSESSMENT, "given_by": mother.pk, "method": Consent.Method.PAPER,
                     "scope": "ПМПК баалоосу"})
    submit(page)
    expect_notice(page)
    consent = Consent.objects.get(learner=child, purpose=Consent.Purpose.ASSESSMENT)
    assert consent.given_by_id == mother.pk and consent.is_active

    # --- (d) a screening ------------------------------------------------------------------------------------
    click_link(page, "screening:start", child.pk)
    fill_form(page, {"interview_date": timezone.localdate().isoformat(), "respondent": "parent",
                     "respondent_guardian": mother.pk})
    submit(page)
    screening = Screening.objects.get(learner=child)
    expect(page).to_have_url(at(reverse("screening:answers", args=[screening.pk])))
    assert_page_ok(page, label="the questionnaire")
    for code, value in ANSWERS.items():
        page.locator(f'main input[name="{code}"][value="{value}"]').check()
    with page.expect_navigation():
        page.locator('main button[name="action"][value="save"]').click()
    expect(page).to_have_url(at(reverse("screening:detail", args=[screening.pk])))
    screening.refresh_from_db()
    assert screening.status == Status.COMPLETE and screening.functional_difficulty is True
    assert_page_ok(page, label="the screening's result")

    # --- (e) refer from the learner page; the referrer sees the state ---------------------------------------------
    page.goto(reverse("learners:detail", args=[child.pk]))
    refer = page.locator(f'main a[href="{reverse("referrals:create")}?learner={child.pk}"]')
    expect(refer, "the learner page offers “Refer to the PMPK”").to_be_visible()
    with page.expect_navigation():
        refer.first.click()
    assert_page_ok(page, label="the referral form")
    fill_form(page, {"reason": "Окууда кыйынчылыктар бар (скрининг).", "tried": "Кошумча сабактар."})
    submit(page, button_name="action")  # the first: "Submit to the PMPK"
    referral = Referral.objects.get(learner=child)
    expect(page).to_have_url(at(reverse("referrals:detail", args=[referral.pk])))
    expect_notice(page)
    assert referral.state == State.SUBMITTED
    expect(page.locator("h1 .status")).to_contain_text(_label(State.SUBMITTED))
    expect(page.locator('main section[aria-labelledby="consent-title"] .status-ok')).to_be_visible()  # the consent is there
    assert_page_ok(page, label="the referral")
    page.goto(reverse("learners:detail", args=[child.pk]))
    row = page.locator(f'main section[aria-labelledby="referrals-title"] tr:has(a[href="{referral.get_absolute_url()}"])')
    expect(row).to_contain_text(_label(State.SUBMITTED))
    open_nav(page, "referrals:list")
    expect(page.locator(f'main tr:has(a[href="{referral.get_absolute_url()}"])')).to_contain_text(_label(State.SUBMITTED))
    logout(page)

    # --- (f) the PMPK member: in the queue ----------------------------------------------------------------------
    login(page, Role.PMPK_MEMBER)
    open_nav(page, "referrals:list")
    queue_link = page.locator(f'main table a[href="{referral.get_absolute_url()}"]')
    expect(queue_link, "the new referral is in the PMPK queue").to_be_visible()
    assert_page_ok(page, label="the PMPK queue")
    with page.expect_navigation():
        queue_link.click()
    expect(page.locator("main")).to_contain_text(child.full_name)
    assert_page_ok(page, label="the referral, seen by the PMPK")
    logout(page)

    # --- (g) the parent: her child's referral ---------------------------------------------------------------
    login(page, Role.PARENT)
    open_nav(page, "learners:list")  # her children
    click_link(page, "learners:detail", child.pk)
    expect(page.locator("h1")).to_contain_text(child.first_name)
    parent_link = page.locator(f'main a[href="{referral.get_absolute_url()}"]')
    expect(parent_link).to_be_visible()
    assert_page_ok(page, label="the child's page, seen by the parent")
    with page.expect_navigation():
        parent_link.click()
    expect(page.locator("h1 .status")).to_contain_text(_label(State.SUBMITTED))
    assert_page_ok(page, label="the referral, seen by the parent")
    open_nav(page, "referrals:list")
    expect(page.locator(f'main tr:has(a[href="{referral.get_absolute_url()}"])')).to_contain_text(_label(State.SUBMITTED))
    assert_page_ok(page, label="the parent's referrals")
    logout(page)

    # --- (h) the district officer of another district: nothing ----------------------------------------------------
    username, password = _other_district_officer()
    login(page, username=username, password=password)
    open_nav(page, "learners:list")
    _search_learners(page, query)
    expect(page.locator(f'main a[href="{reverse("learners:detail", args=[child.pk])}"]')).to_have_count(0)
    expect(page.locator(f'main a[href="{detail}"]')).to_have_count(0)
    assert_page_ok(page, label="the learner list, another district")
    _search_learners(page, pin)  # nor by the PIN
    expect(page.locator("main table tbody tr")).to_have_count(1)  # the "no learner matches" row
    expect(page.locator(f'main a[href="{reverse("learners:detail", args=[child.pk])}"]')).to_have_count(0)
    page.goto(reverse("referrals:list") + "?" + urlencode({"q": query}))
    expect(page.locator(f'main a[href="{referral.get_absolute_url()}"]')).to_have_count(0)
    for path in (reverse("learners:detail", args=[child.pk]), referral.get_absolute_url(),
                 reverse("screening:detail", args=[screening.pk])):
        response = page.goto(path)
        assert response is not None and response.status == 404, (path, response and response.status)


def _in(lang: str, msgid: str) -> str:
    from django.utils import translation

    with translation.override(lang):
        return translation.gettext(msgid)


def _label(state):
    from django.utils import translation

    from birge.referrals.models import State

    with translation.override(DEFAULT_LANGUAGE):
        return str(State(state).label)
