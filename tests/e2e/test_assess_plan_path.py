"""Issue 4's "Done when", clicked through in headless Chromium with the demo logins.

A fresh child of ``demo-parent`` at ``demo-school-coordinator``'s school, whose referral the demo PMPK
has accepted (built in the setup through the services: the demo's own children of demo-parent are
past that step), walks the whole path:

the PMPK chair schedules the session → the PMPK member records a finding and the attendance and builds
the conclusion (rows added without JavaScript) → the chair signs and issues it → the parent sees it,
opens its page and PDF, and releases it to the school with consent given in the system (first without
ticking the consent: an error, nothing released) → the coordinator sees the obligations and deadlines on
the home page, starts the plan, adds a goal, names the speech therapist as provider and proposes it →
the parent agrees in the system → the coordinator puts it into force → the speech therapist logs a
session → a review records progress → an amendment (first dated before the version: an error) creates
version 2 while version 1 stays as it was → the district officer sees planned vs delivered and the
overdue items → the plan's PDF has real Kyrgyz letters in embedded fonts.

axe and the page checks run on each new page of the path in Kyrgyz; the conclusion and the plan pages
are spot-checked in Russian and English too. Each run writes only fresh records (a new child).
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from birge.core.roles import Role

from .helpers import (
    AXE_JS, assert_page_ok, at, click_link, expect_error_summary, expect_notice, fill_form, login, logout, open_nav,
    set_language, submit, unique,
)

pytestmark = pytest.mark.e2e

ITEMS = [("speech-therapy", {"minutes_per_week": 90}), ("seating", {}), ("hearing-aid", {}),
         ("exam-extra-time", {"detail": "30 мүнөт кошумча"})]


@pytest.fixture
def context_init_scripts():
    return [AXE_JS]  # so assert_page_ok can run axe on the pages of the path


@pytest.fixture
def path_child():
    """A new child of demo-parent at the demo school, referred to the demo PMPK by the parent (assessment
    consent given in the system) and accepted by the chair: the state the path starts from."""
    from birge.core.models import User
    from birge.learners import services as learner_services
    from birge.learners.models import Guardian
    from birge.referrals import services as referral_services

    coordinator = User.objects.get(username="demo-school-coordinator")
    parent = User.objects.get(username="demo-parent")
    chair = User.objects.get(username="demo-pmpk-chair")
    school = coordinator.memberships.select_related("organization__territory").get(role=Role.SCHOOL_COORDINATOR).organization
    guardian = Guardian.objects.get(user=parent)
    learner = learner_services.create_learner(
        coordinator, first_name="Нурайым", last_name=unique("Өмүрова"), patronymic="Асан кызы",
        birth_date=dt.date(timezone.localdate().year - 9, 4, 20), sex="female", territory=school.territory, languages="ky",
        organization=school, confirm_new_despite_duplicates=True)
    learner_services.link_guardian(coordinator, learner, guardian, relation="mother", starts_on=learner.birth_date)
    learner_services.enrol(coordinator, learner, organization=school, level="school", grade=3, class_name="3Б",
                           starts_on=dt.date(timezone.localdate().year - 2, 9, 1))
    referral = referral_services.create_referral(
        parent, learner, reason="Сүйлөөдө кыйналат, сабакты түшүнүүгө жардам керек.",
        tried="Мугалим менен кошумча сабак.", parent_consent=True, submit=True)
    referral = referral_services.accept(chair, referral)
    return {"learner": learner, "referral": referral, "school": school, "guardian": guardian}


def _user(username):
    from birge.core.models import User

    return User.objects.get(username=username)


def _press(page: Page, selector: str) -> None:
    with page.expect_navigation():
        page.locator(selector).first.click()


def _pdf_checks(page: Page, url: str, tmp_path, name: str, kyrgyz: bool = True) -> str:
    """Download a PDF with the signed-in browser's cookies: tagged, every font embedded, and (in Kyrgyz) the
    letters ң ө ү in its text."""
    response = page.request.get(url)
    assert response.status == 200, f"{url}: {response.status}"
    assert response.headers["content-type"].startswith("application/pdf"), response.headers
    path = tmp_path / name
    path.write_bytes(response.body())
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True, text=True).stdout
    for letter in "ңөү" if kyrgyz else "":
        assert letter in text.lower(), f"{name}: the Kyrgyz letter {letter} is missing from the text"
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, check=True, text=True).stdout
    assert re.search(r"^Tagged:\s+yes$", info, re.M), f"{name}: not tagged for screen readers\n{info}"
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, check=True, text=True).stdout
    rows = [line.split() for line in fonts.splitlines()[2:] if line.strip()]
    assert rows and all(row[-5] == "yes" for row in rows), f"{name}: fonts not all embedded\n{fonts}"
    return text


def _spot_check_languages(page: Page, label: str) -> None:
    """The page in Russian and in English (the language switcher), then back to Kyrgyz."""
    for lang in ("ru", "en"):
        set_language(page, lang)
        assert_page_ok(page, lang, label=f"{label} ({lang})")
    set_language(page, "ky")


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils (pdftotext, pdffonts) is not installed")
def test_pmpk_to_plan_to_services_in_the_browser(page: Page, path_child, tmp_path):
    from birge.assessments.models import AssessmentSession, CatalogueItem, Conclusion, Release
    from birge.core.deadline_models import Clock, Deadline
    from birge.plans.models import IndividualPlan, PlanGoal, PlanService
    from birge.support.models import ServiceSession

    learner, referral, school = path_child["learner"], path_child["referral"], path_child["school"]
    chair, member = _user("demo-pmpk-chair"), _user("demo-pmpk-member")
    speech = _user("demo-speech-therapist")
    today = timezone.localdate()

    # --- 1. The PMPK chair schedules the session --------------------------------------------------------------
    login(page, Role.PMPK_CHAIR)
    expect(page.locator(f'main a[href="{reverse("assessments:session-schedule", args=[referral.pk])}"]')).to_be_visible()
    page.goto(reverse("assessments:session-list"))
    assert_page_ok(page, label="PMPK sessions with the referral waiting")
    click_link(page, "assessments:session-schedule", referral.pk)
    assert_page_ok(page, label="schedule the session")
    when = timezone.localtime() + dt.timedelta(days=1)
    fill_form(page, {"scheduled_at": when.replace(hour=10, minute=0).strftime("%Y-%m-%dT%H:%M"), "place": "ПМПК",
                     "members-0-user": ""})
    submit(page)  # no commission member: refused, nothing scheduled
    expect_error_summary(page)
    assert not AssessmentSession.objects.filter(referral=referral).exists()
    assert_page_ok(page, label="schedule the session: no member")
    fill_form(page, {"scheduled_at": when.replace(hour=10, minute=0).strftime("%Y-%m-%dT%H:%M"), "mode": "in-person",
                     "place": "ПМПК, 2-кабинет", "invitation_note": "Мектептин мүнөздөмөсүн алып келиңиз.",
                     "members-0-user": chair.pk, "members-0-specialty": "psychologist", "members-0-is_chair": True,
                     "members-1-user": member.pk, "members-1-specialty": "speech-therapist"})
    submit(page)
    session = AssessmentSession.objects.get(referral=referral)
    expect(page).to_have_url(at(reverse("assessments:session-detail", args=[session.pk])))
    expect_notice(page)
    assert session.members.count() == 2 and session.family_invited_at is not None
    assert_page_ok(page, label="the scheduled session")
    logout(page)

    # --- 2. The PMPK member records a finding and the attendance, and builds the conclusion --------------------
    login(page, Role.PMPK_MEMBER)
    click_link(page, "assessments:session-detail", session.pk)  # home: coming sessions
    click_link(page, "assessments:finding-add", session.pk)
    assert_page_ok(page, label="record a finding")
    fill_form(page, {"domain": "communication", "difficulty": "a_lot_of_difficulty",
                     "text": "Эки сөздөн турган сүйлөмдөр менен сүйлөйт.", "strengths": "Сүрөттөр менен берилген тапшырманы түшүнөт."})
    submit(page)
    expect_notice(page)
    assert session.findings.count() == 1
    click_link(page, "assessments:session-held", session.pk)
    assert_page_ok(page, label="record the session as held")
    fill_form(page, {"parent_present": "yes", "attendance_note": "Апасы келди."})
    page.locator('main input[name="sources"][value="observation"]').check()
    page.locator('main input[name="sources"][value="family"]').check()
    submit(page)
    expect_notice(page)
    session.refresh_from_db()
    assert session.status == "held" and session.parent_present is True
    _press(page, f'main form[action="{reverse("assessments:conclusion-start", args=[session.pk])}"] button[type=submit]')
    draft = Conclusion.objects.get(session=session)
    expect(page).to_have_url(at(reverse("assessments:conclusion-edit", args=[draft.pk])))
    assert_page_ok(page, label="the conclusion builder")
    catalogue = {c.code: c.pk for c in CatalogueItem.objects.filter(code__in=[code for code, _x in ITEMS])}
    fill_form(page, {"programme": "adapted", "recommended_form": "mainstream",
                     "valid_until": (today + dt.timedelta(days=700)).isoformat(),
                     "next_review_on": (today + dt.timedelta(days=365)).isoformat(),
                     "summary": "Баланың сүйлөөсүн өнүктүрүү үчүн логопеддин жардамы керек; класста алдыңкы партада отурат."})
    for index, (code, extra) in enumerate(ITEMS):
        if index >= page.locator('main select[name$="-catalogue"]').count():
            _press(page, 'main button[name="add_row"]')  # a row more, without JavaScript; nothing saved yet
        fill_form(page, {f"items-{index}-catalogue": catalogue[code], **{f"items-{index}-{k}": v for k, v in extra.items()}})
    assert draft.items.count() == 0
    fill_form(page, {"items-0-minutes_per_week": ""})
    _press(page, 'main button[name="save_issue"]')  # speech therapy without its minutes a week: the row is marked
    expect_error_summary(page)
    expect(page.locator("#id_items-0-minutes_per_week-error")).to_be_visible()
    assert draft.items.count() == 0
    assert_page_ok(page, label="the conclusion builder: a row with a mistake")
    fill_form(page, {"items-0-minutes_per_week": 90})
    _press(page, 'main button[name="save_issue"]')
    expect(page).to_have_url(at(reverse("assessments:conclusion-issue", args=[draft.pk])))
    assert [i.catalogue.code for i in draft.items.order_by("position")] == [code for code, _x in ITEMS]
    expect(page.locator("main .notice-warning")).to_be_visible()  # a member does not sign
    assert_page_ok(page, label="issue: only the chair signs")
    logout(page)

    # --- 3. The chair signs and issues ---------------------------------------------------------------------------
    login(page, Role.PMPK_CHAIR)
    click_link(page, "assessments:conclusion-issue", draft.pk)  # home: draft conclusions
    assert_page_ok(page, label="review and sign")
    submit(page)
    expect(page).to_have_url(at(reverse("assessments:conclusion-detail", args=[draft.pk])))
    expect_notice(page)
    conclusion = Conclusion.objects.get(pk=draft.pk)
    assert conclusion.status == Conclusion.Status.ISSUED and conclusion.issued_by == chair and conclusion.number
    logout(page)

    # --- 4. The parent sees the conclusion, its page and PDF, and releases it with consent ----------------------
    login(page, Role.PARENT)
    detail = reverse("assessments:conclusion-detail", args=[conclusion.pk])
    expect(page.locator(f'main a[href="{detail}"]')).to_be_visible()  # home: "your children's conclusions"
    expect(page.locator(f'main a[href="{reverse("assessments:conclusion-release", args=[conclusion.pk])}"]')).to_be_visible()
    click_link(page, "assessments:conclusion-detail", conclusion.pk)
    assert_page_ok(page, label="the conclusion (parent)")
    _spot_check_languages(page, "the conclusion (parent)")
    click_link(page, "assessments:conclusion-document", conclusion.pk)
    expect(page.locator("main article[lang=ky]")).to_be_visible()
    assert_page_ok(page, label="the conclusion as a page")
    text = _pdf_checks(page, reverse("assessments:conclusion-pdf", args=[conclusion.pk]) + "?lang=ky", tmp_path,
                       "conclusion-ky.pdf")
    assert conclusion.number in text and learner.first_name in text
    flat = " ".join(text.split())  # table cells wrap their lines
    for expected in (chair.full_name, member.full_name, "Эки сөздөн турган сүйлөмдөр менен сүйлөйт.",
                     *(CatalogueItem.objects.get(code=code).name_ky for code, _x in ITEMS), "90",
                     conclusion.valid_until.isoformat(), conclusion.next_review_on.isoformat()):
        assert " ".join(expected.split()) in flat, f"the conclusion's PDF lacks {expected!r}"
    text = _pdf_checks(page, reverse("assessments:conclusion-pdf", args=[conclusion.pk]) + "?lang=ru", tmp_path,
                       "conclusion-ru.pdf", kyrgyz=False)
    assert "Заключение" in text and conclusion.number in text
    page.goto(detail)
    click_link(page, "assessments:conclusion-release", conclusion.pk)
    assert_page_ok(page, label="release the conclusion")
    fill_form(page, {"organization": school.pk})
    submit(page)  # without ticking the consent
    expect_error_summary(page)
    assert not Release.objects.filter(conclusion=conclusion).exists()
    assert_page_ok(page, label="release the conclusion: no consent")
    fill_form(page, {"organization": school.pk, "give_consent": True})
    submit(page)
    expect(page).to_have_url(at(detail))
    expect_notice(page)
    release = Release.objects.get(conclusion=conclusion)
    assert release.organization == school and release.consent.method == "in-system" and release.consent.is_active
    expect(page.locator("#releases-title ~ table tbody").first).to_contain_text(school.name)
    logout(page)

    # --- 5. The coordinator sees the obligations and deadlines, builds the plan and proposes it -----------------
    login(page, Role.SCHOOL_COORDINATOR)
    clocks = {d.clock: d for d in Deadline.objects.filter(learner_id=learner.pk, owner_organization=school, met_at__isnull=True)}
    assert {Clock.RELEASE_TO_PLAN, Clock.SERVICE_START, Clock.DEVICE_DELIVERY} <= set(clocks)
    # Home: the conclusion released to the school, with each obligation and its deadline in words and a date.
    released_row = page.locator("#org-conclusions-title ~ table tbody tr", has=page.locator(f'a[href="{detail}"]'))
    expect(released_row).to_have_count(1)
    for clock in (Clock.RELEASE_TO_PLAN, Clock.SERVICE_START, Clock.DEVICE_DELIVERY):
        expect(released_row).to_contain_text(clocks[clock].due_on.isoformat())
    for code in ("speech-therapy", "hearing-aid"):
        expect(released_row).to_contain_text(CatalogueItem.objects.get(code=code).name_ky)
    create = f'{reverse("plans:create")}?learner={learner.pk}'
    to_prepare = page.locator("main tr", has=page.locator(f'a[href="{create}"]'))  # plans to prepare, due day
    expect(to_prepare).to_contain_text(clocks[Clock.RELEASE_TO_PLAN].due_on.isoformat())
    assert_page_ok(page, label="coordinator's home with the obligations")
    click_link(page, "assessments:conclusion-detail", conclusion.pk)
    obligations = page.locator("#releases-title ~ table").nth(1)  # the school's obligations, with their deadlines
    for clock in (Clock.SERVICE_START, Clock.DEVICE_DELIVERY):
        expect(obligations).to_contain_text(clocks[clock].due_on.isoformat())
    expect(page.locator(f'main a[href="{reverse("assessments:conclusion-release", args=[conclusion.pk])}"]')).to_have_count(0)
    assert_page_ok(page, label="the released conclusion (school)")
    page.goto(reverse("home"))
    click_link(page, "assessments:released")
    expect(page.locator("main")).to_contain_text(learner.last_name)
    assert_page_ok(page, label="released conclusions and obligations")
    page.goto(reverse("referrals:deadlines") + "?clock=release_to_plan&status=open")
    expect(page.locator("main")).to_contain_text(learner.last_name)
    assert_page_ok(page, label="the work list: release to plan")
    page.goto(reverse("home"))
    _press(page, f'main a[href="{create}"]')
    assert_page_ok(page, label="start a plan")
    submit(page)
    plan = IndividualPlan.objects.get(learner=learner)
    expect(page).to_have_url(at(reverse("plans:detail", args=[plan.pk])))
    expect_notice(page)
    assert plan.conclusion_id == conclusion.pk and plan.state == "draft"
    assert_page_ok(page, label="the draft plan")
    click_link(page, "plans:goal-add", plan.pk)
    assert_page_ok(page, label="add a goal")
    fill_form(page, {"area": "communication", "description": "Жардам сурап, кыска сүйлөм менен кайрылат",
                     "baseline": "Көрсөтөт же унчукпайт", "target": "Сабакта үч сөздөн турган сүйлөм колдонот",
                     "measure": "Мугалимдин жумалык байкоосу", "criteria": "Катары менен төрт жума"})
    submit(page)
    expect_notice(page)
    # Two tabs on the same draft: the second save, based on the plan as it was before the first, is refused.
    other_tab = page.context.new_page()
    other_tab.goto(reverse("plans:edit", args=[plan.pk]))
    click_link(page, "plans:goal-add", plan.pk)
    fill_form(page, {"area": "social", "description": "Танапис учурунда классташтары менен ойнойт",
                     "baseline": "Жалгыз турат", "target": "Жумасына үч жолу биргелешип ойнойт",
                     "measure": "Тьютордун байкоосу", "criteria": "Катары менен эки жума"})
    submit(page)
    expect_notice(page)
    fill_form(other_tab, {"timetable_notes": "Логопед: шейшемби жана бейшемби, 3-сабак."})
    submit(other_tab)
    expect_error_summary(other_tab)
    plan.refresh_from_db()
    assert plan.timetable_notes == "" and plan.goals.count() == 2
    assert_page_ok(other_tab, label="change the details: someone else saved first")
    other_tab.close()

    service = plan.services.get(catalogue__code="speech-therapy")
    assert service.minutes_per_week == 90 and service.provider_user is None
    click_link(page, "plans:service-edit", service.pk)
    assert_page_ok(page, label="change a planned service")
    fill_form(page, {"provider_user": speech.pk, "starts_on": today.isoformat()})
    submit(page)
    expect_notice(page)
    click_link(page, "plans:propose", plan.pk)
    assert_page_ok(page, label="propose the plan")
    submit(page)
    expect_notice(page)
    plan.refresh_from_db()
    assert plan.state == "proposed"
    logout(page)

    # --- 6. The parent agrees in the system ----------------------------------------------------------------------
    login(page, Role.PARENT)
    agree = reverse("plans:agree", args=[plan.pk])
    expect(page.locator(f'main a[href="{agree}"]')).to_be_visible()  # home: waiting for your agreement
    click_link(page, "plans:detail", plan.pk)
    assert_page_ok(page, label="the proposed plan (parent)")
    _spot_check_languages(page, "the proposed plan (parent)")
    click_link(page, "plans:agree", plan.pk)
    assert_page_ok(page, label="agree to the plan")
    fill_form(page, {"confirm": True})
    submit(page)
    expect_notice(page)
    plan.refresh_from_db()
    assert plan.state == "agreed" and plan.agreement == "in-system" and plan.agreed_by == path_child["guardian"]
    assert Deadline.objects.get(learner_id=learner.pk, clock=Clock.RELEASE_TO_PLAN).met_at is not None
    logout(page)

    # --- 7. The coordinator puts it into force -------------------------------------------------------------------
    login(page, Role.SCHOOL_COORDINATOR)
    click_link(page, "plans:detail", plan.pk)  # home: plans being prepared (agreed)
    click_link(page, "plans:activate", plan.pk)
    assert_page_ok(page, label="put the plan into force")
    submit(page)
    expect_notice(page)
    plan.refresh_from_db()
    assert plan.state == "active" and plan.effective_from == today
    logout(page)

    # --- 8. The speech therapist logs a session, then records the review ------------------------------------------
    login(page, Role.SPEECH_THERAPIST)
    log = f'{reverse("support:session-log")}?service={service.pk}'
    expect(page.locator(f'main a[href="{log}"]')).to_be_visible()  # home: your learners and sessions
    open_nav(page, "support:index")
    expect(page.locator(f'main a[href="{log}"]')).to_be_visible()
    assert_page_ok(page, label="the provider's services")
    _press(page, f'main a[href="{log}"]')
    assert_page_ok(page, label="log a session")
    fill_form(page, {"held_on": today.isoformat(), "minutes": 45, "note": "Сүрөт карточкалары менен иштедик."})
    submit(page)
    expect_notice(page)
    logged = ServiceSession.objects.get(plan_service=service)
    assert logged.minutes == 45 and logged.provider == speech and logged.attendance == "attended"
    assert all(d.met_at for d in Deadline.objects.filter(learner_id=learner.pk, clock=Clock.SERVICE_START))
    page.goto(reverse("plans:detail", args=[plan.pk]))
    click_link(page, "plans:review", plan.pk)
    assert_page_ok(page, label="record a review")
    submit(page)  # nothing filled in: the date, the decision and the progress on each goal are asked for
    expect_error_summary(page)
    assert not plan.reviews.exists()
    assert_page_ok(page, label="record a review: nothing filled in")
    ratings = {}
    for goal, rating in zip(PlanGoal.objects.filter(plan=plan).order_by("position", "pk"), ("some", "not-started")):
        ratings[f"goal_{goal.pk}_rating"] = rating
        ratings[f"goal_{goal.pk}_comment"] = "Эки сөздөн турган өтүнүч колдонот." if rating == "some" else ""
    fill_form(page, {"held_on": today.isoformat(), "family_present": True, "summary": "Жакшы башталды.",
                     "decision": "continue", "next_review_on": (today + dt.timedelta(days=90)).isoformat(), **ratings})
    submit(page)
    expect_notice(page)
    review = plan.reviews.get()
    assert review.decision == "continue"
    assert sorted(review.progress.values_list("rating", flat=True)) == ["not-started", "some"]
    logout(page)

    # --- 9. An amendment: a new version; the old one stays as it was ---------------------------------------------
    login(page, Role.SCHOOL_COORDINATOR)
    plan.refresh_from_db()
    v1 = (IndividualPlan.objects.filter(pk=plan.pk).values().get(), list(PlanService.objects.filter(plan=plan).values()),
          list(PlanGoal.objects.filter(plan=plan).values()))
    page.goto(reverse("plans:detail", args=[plan.pk]))
    click_link(page, "plans:amend", plan.pk)
    assert_page_ok(page, label="amend the plan")
    fill_form(page, {"effective_from": (today - dt.timedelta(days=1)).isoformat(), "reason": "Логопед көбүрөөк керек."})
    submit(page)
    expect_error_summary(page)
    expect(page.locator('main .error-summary a[href="#id_effective_from"]')).to_be_visible()
    assert IndividualPlan.objects.filter(series=plan.series).count() == 1
    assert_page_ok(page, label="amend the plan: dated before the version")
    fill_form(page, {"effective_from": today.isoformat(), "reason": "Логопед көбүрөөк керек."})
    submit(page)
    expect_notice(page)
    v2 = IndividualPlan.objects.get(series=plan.series, version=2)
    expect(page).to_have_url(at(reverse("plans:detail", args=[v2.pk])))
    assert v2.state == "draft" and v2.previous_id == plan.pk
    assert (IndividualPlan.objects.filter(pk=plan.pk).values().get(), list(PlanService.objects.filter(plan=plan).values()),
            list(PlanGoal.objects.filter(plan=plan).values())) == v1
    assert_page_ok(page, label="the amendment (version 2)")
    _spot_check_languages(page, "the amendment (version 2)")
    text = _pdf_checks(page, reverse("plans:document-pdf", args=[plan.pk]), tmp_path, "plan-ky.pdf")
    flat = " ".join(text.split())
    for expected in (learner.first_name, "Жардам сурап, кыска сүйлөм менен кайрылат", speech.full_name, "90",
                     CatalogueItem.objects.get(code="speech-therapy").name_ky, "Жакшы башталды.", conclusion.number):
        assert " ".join(expected.split()) in flat, f"the plan's PDF lacks {expected!r}"
    page.goto(reverse("plans:document", args=[plan.pk]))
    expect(page.locator("main article[lang=ky]")).to_be_visible()
    assert_page_ok(page, label="the plan as a page")
    logout(page)

    # --- 10. The district officer: planned vs delivered, overdue items -------------------------------------------
    login(page, Role.DISTRICT_OFFICER)
    expect(page.locator("#oversight-title")).to_be_visible()  # home: planned and delivered, overdue
    expect(page.locator("#home-deadlines-title ~ table tbody tr").first).to_be_visible()  # overdue items of the district
    assert_page_ok(page, label="district officer's home")
    _press(page, f'main a[href="{reverse("support:delivery")}?group=organization"]')
    row = page.locator("main table tbody tr", has_text=school.name)
    expect(row).to_have_count(1)
    planned, delivered, gap = (int(re.sub(r"\D", "", t) or 0) for t in row.locator("td").all_inner_texts()[:3])
    assert delivered >= 45 and planned > 0 and gap == max(planned - delivered, 0), (planned, delivered, gap)
    assert_page_ok(page, label="planned vs delivered per organization")
    page.goto(reverse("home"))
    click_link(page, "referrals:deadlines")
    page.goto(reverse("referrals:deadlines") + "?status=overdue")
    expect(page.locator("main table tbody tr").first).to_be_visible()
    expect(page.locator("main table tbody")).to_contain_text("⚠")
    assert_page_ok(page, label="overdue items")
    response = page.goto(reverse("assessments:conclusion-detail", args=[conclusion.pk]))
    assert response.status == 404  # the officer has no conclusion access
    logout(page)

    # --- 11. The family sees the review's result and the versions ---------------------------------------------------
    login(page, Role.PARENT)
    click_link(page, "plans:detail", plan.pk)  # home: plans in force
    expect(page.locator("#reviews ~ .card").first).to_contain_text("Жакшы башталды.")
    expect(page.locator("#versions-title ~ table tbody tr")).to_have_count(2)
