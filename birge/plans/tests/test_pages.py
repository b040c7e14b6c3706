"""The plan pages: create, edit, workflow, errors on the form, documents, home sections."""

import datetime as dt
import shutil
import subprocess

import pytest
from django.urls import reverse
from django.utils import timezone

from birge.plans.models import IndividualPlan, PlanState

from .conftest import GOAL, active_plan, draft, ready_draft

pytestmark = pytest.mark.django_db


def test_coordinator_creates_and_builds_a_plan_in_the_browser(world, client):
    client.force_login(world.coordinator)
    page = client.get(reverse("plans:create") + f"?learner={world.learner.pk}")
    assert page.status_code == 200 and world.learner.full_name in page.content.decode()
    response = client.post(reverse("plans:create"), {"learner": world.learner.pk, "own_basis": "", "review_on": ""})
    plan = IndividualPlan.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("plans:detail", args=[plan.pk])
    response = client.post(reverse("plans:goal-add", args=[plan.pk]), {
        "lock_version": plan.lock_version, **GOAL, "review_on": plan.review_on.isoformat()})
    assert response.status_code == 302
    plan.refresh_from_db()
    service = plan.services.get()
    response = client.post(reverse("plans:service-edit", args=[service.pk]), {
        "lock_version": plan.lock_version, "catalogue": service.catalogue_id, "provider_user": world.speech.pk,
        "minutes_per_week": 60, "starts_on": timezone.localdate().isoformat()})
    assert response.status_code == 302, response.content.decode()
    plan.refresh_from_db()
    response = client.post(reverse("plans:propose", args=[plan.pk]), {"lock_version": plan.lock_version})
    assert response.status_code == 302
    plan.refresh_from_db()
    assert plan.state == PlanState.PROPOSED
    page = client.get(reverse("plans:detail", args=[plan.pk])).content.decode()
    for text in ("Asks for help with a short sentence", "Proposed to the family", "Record the family"):
        assert text in page


def test_own_basis_error_shows_on_the_form(world, client):
    world.release.revoked_at = timezone.now()
    world.release.save()
    client.force_login(world.coordinator)
    response = client.post(reverse("plans:create"), {"learner": world.learner.pk, "own_basis": ""})
    body = response.content.decode()
    assert response.status_code == 200 and "There is a problem" in body and "own basis" in body
    assert not IndividualPlan.objects.exists()


def test_second_editor_sees_a_clear_message(world, client):
    plan = draft(world)
    client.force_login(world.coordinator)
    stale = plan.lock_version
    client.post(reverse("plans:goal-add", args=[plan.pk]), {"lock_version": stale, **GOAL,
                                                              "review_on": plan.review_on.isoformat()})
    response = client.post(reverse("plans:edit", args=[plan.pk]), {
        "lock_version": stale, "review_on": plan.review_on.isoformat(), "form": "mainstream", "programme": "adapted",
        "timetable_notes": "Tuesdays"})
    assert response.status_code == 200
    assert "Someone else changed this plan after you opened it" in response.content.decode()
    plan.refresh_from_db()
    assert plan.timetable_notes == ""


def test_parent_agrees_in_the_system(world, client):
    plan = ready_draft(world)
    from birge.plans import services

    services.propose(world.coordinator, plan, lock_version=plan.lock_version)
    client.force_login(world.parent)
    home = client.get(reverse("home")).content.decode()
    assert "Waiting for your agreement" in home and reverse("plans:agree", args=[plan.pk]) in home
    response = client.post(reverse("plans:agree", args=[plan.pk]), {"lock_version": plan.lock_version})
    assert response.status_code == 200 and "There is a problem" in response.content.decode()  # the box is required
    response = client.post(reverse("plans:agree", args=[plan.pk]), {"lock_version": plan.lock_version, "confirm": "on"})
    assert response.status_code == 302
    plan.refresh_from_db()
    assert plan.state == PlanState.AGREED and plan.agreement == "in-system" and plan.agreed_by == world.guardian


def test_amend_page_creates_a_version(world, client):
    plan = active_plan(world)
    client.force_login(world.coordinator)
    response = client.post(reverse("plans:amend", args=[plan.pk]), {
        "lock_version": plan.lock_version, "effective_from": (plan.effective_from - dt.timedelta(days=1)).isoformat(),
        "reason": "x"})
    assert response.status_code == 200 and "cannot take effect before" in response.content.decode()
    response = client.post(reverse("plans:amend", args=[plan.pk]), {
        "lock_version": plan.lock_version, "effective_from": plan.effective_from.isoformat(), "reason": "More sessions"})
    new = IndividualPlan.objects.get(previous=plan)
    assert response.status_code == 302 and response["Location"] == reverse("plans:detail", args=[new.pk])
    page = client.get(reverse("plans:detail", args=[plan.pk])).content.decode()
    assert "Amendment in preparation" in page


def test_review_page(world, client):
    plan = active_plan(world)
    goal = plan.goals.get()
    client.force_login(world.speech)
    today = timezone.localdate()
    response = client.post(reverse("plans:review", args=[plan.pk]), {
        "lock_version": plan.lock_version, "held_on": today.isoformat(), "decision": "continue",
        "next_review_on": (today + dt.timedelta(days=60)).isoformat(), f"goal_{goal.pk}_rating": "good",
        f"goal_{goal.pk}_comment": "Good"})
    assert response.status_code == 302, response.content.decode()
    assert plan.reviews.get().progress.get().rating == "good"


def test_list_filters(world, client):
    active_plan(world)
    client.force_login(world.coordinator)
    page = client.get(reverse("plans:list")).content.decode()
    assert world.learner.full_name in page and "Active" in page
    page = client.get(reverse("plans:list") + "?state=closed").content.decode()
    assert world.learner.full_name not in page


def test_document_in_the_family_language(world, client):
    plan = active_plan(world)
    client.force_login(world.parent)
    html = client.get(reverse("plans:document", args=[plan.pk])).content.decode()
    assert '<article class="document" lang="ky">' in html and "Өмүрбеков" in html
    assert html.count("<h1") == 1 and 'class="skip-link"' in html  # inside the site's accessible layout
    world.guardian.preferred_language = "ru"
    world.guardian.save()
    html = client.get(reverse("plans:document", args=[plan.pk])).content.decode()
    assert '<article class="document" lang="ru">' in html and "Өмүрбеков" in html
    html = client.get(reverse("plans:document", args=[plan.pk]) + "?lang=ky").content.decode()
    assert '<article class="document" lang="ky">' in html
    # The standalone HTML of the same template (core.documents) is what the PDF is made from.
    from birge.core import documents
    from birge.plans.views import document_context

    standalone = documents.render_html("plans/plan_document.html", document_context(plan), "ru")
    assert '<html lang="ru">' in standalone and "Өмүрбеков" in standalone


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils installs with make test")
def test_pdf_keeps_kyrgyz_letters(world, client, tmp_path):
    plan = active_plan(world)
    client.force_login(world.coordinator)
    response = client.get(reverse("plans:document-pdf", args=[plan.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    path = tmp_path / "plan.pdf"
    path.write_bytes(response.content)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert "Өмүрбеков" in text
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    assert "Tagged:          yes" in info


def test_coordinator_home_lists_plans_to_prepare_and_reviews_due(world, client):
    client.force_login(world.coordinator)
    home = client.get(reverse("home")).content.decode()
    assert "Plans to prepare" in home and world.learner.full_name in home
    plan = active_plan(world)
    IndividualPlan.objects.filter(pk=plan.pk).update(review_on=timezone.localdate() - dt.timedelta(days=2))
    home = client.get(reverse("home")).content.decode()
    assert "Overdue since" in home
