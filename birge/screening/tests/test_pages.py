"""The screening pages without JavaScript: start → the questionnaire follows the skips on the server
("Continue" shows the questions that follow and clears skipped answers) → "Save" only when complete,
with an error summary otherwise → the result in words, with a referral suggestion when positive."""

import datetime as dt
import re

import pytest
from django.conf import settings
from django.utils import timezone

from birge.core.roles import Role
from birge.screening import engine
from birge.screening.models import Screening, Status

from .conftest import BASE_2_4, BASE_5_17, years_before


@pytest.fixture
def coordinator_client(client, coordinator):
    client.force_login(coordinator)
    return client


def _shown(page: str, code: str) -> bool:
    match = re.search(rf'<div class="field question[^"]*" id="q-{code}"[^>]*>', page)
    assert match, f"question {code} is not on the page"
    return " hidden" not in match.group(0)


def _start(client, learner, guardian, day=None):
    return client.post(f"/screening/learner/{learner.pk}/new/", {
        "interview_date": (day or timezone.localdate()).isoformat(), "respondent": "parent", "respondent_guardian": guardian.pk})


def test_the_whole_path_without_javascript(coordinator_client, placed):
    client = coordinator_client
    learner, guardian = placed["a"].learner, placed["a"].guardian
    page = client.get(f"/screening/learner/{learner.pk}/new/").content.decode()
    assert "<legend>Who answers the questions" in page and 'name="respondent_guardian"' in page
    assert "for this learner&#x27;s age today" in page or "for this learner's age today" in page

    response = _start(client, learner, guardian)
    screening = Screening.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/screening/{screening.pk}/answers/"
    assert screening.status == Status.DRAFT and screening.instrument == "cfm-5-17"

    url = f"/screening/{screening.pk}/answers/"
    page = client.get(url).content.decode()
    assert _shown(page, "CF1") and not _shown(page, "CF2") and not _shown(page, "CF3") and _shown(page, "CF14")
    # Radio groups are fieldsets with the question as legend (texts from the questionnaire, in English here).
    cf1 = engine.load_instrument("cfm-5-17").item("CF1")
    assert f"<legend><span class=\"question-code\">CF1.</span> {cf1.text.en}</legend>" in page.replace("&#x27;", "'")
    assert page.count("<fieldset") == 24

    # Continue: the gate's branch appears.
    response = client.post(url, {"CF1": "yes", "action": "continue"})
    assert response.status_code == 302 and response["Location"] == f"{url}#q-CF2"
    page = client.get(url).content.decode()
    assert _shown(page, "CF2") and not _shown(page, "CF3")
    assert 'value="yes" required' not in page and re.search(r'name="CF1" value="yes"[^>]*checked', page)

    # Changing the gate clears the other branch.
    client.post(url, {"CF1": "no", "CF2": "a_lot_of_difficulty", "action": "continue"})
    screening.refresh_from_db()
    assert screening.answers == {"CF1": "no"}
    page = client.get(url).content.decode()
    assert not _shown(page, "CF2") and _shown(page, "CF3")

    # Save while questions are unanswered: an error summary linking to each, still a draft.
    response = client.post(url, {"CF1": "no", "CF3": "no_difficulty", "action": "save"})
    assert response.status_code == 200
    page = response.content.decode()
    assert 'class="error-summary"' in page and "There is a problem" in page
    assert 'href="#id_CF4_0"' in page and "Answer this question." in page and 'href="#id_CF2_0"' not in page
    screening.refresh_from_db()
    assert screening.status == Status.DRAFT and screening.answers == {"CF1": "no", "CF3": "no_difficulty"}

    # Complete answers with difficulty in learning: saved, scored, shown in words.
    response = client.post(url, {**BASE_5_17, "CF17": "a_lot_of_difficulty", "action": "save"})
    assert response.status_code == 302 and response["Location"] == f"/screening/{screening.pk}/"
    screening.refresh_from_db()
    assert screening.status == Status.COMPLETE and screening.functional_difficulty is True and screening.domain_count == 1
    page = client.get(f"/screening/{screening.pk}/").content.decode()
    assert "Functional difficulty:" in page and "<strong>Yes</strong>" in page and "Difficulty in 1 domain." in page
    assert f'href="/referrals/new/?learner={learner.pk}"' in page
    assert "never decides eligibility" in page
    assert "Learning" in page and "No difficulty" in page  # every domain in words
    # A completed screening is not a questionnaire any more.
    assert client.get(url).status_code == 302


def test_no_difficulty_has_no_referral_suggestion(coordinator_client, record):
    screening = record()
    page = coordinator_client.get(f"/screening/{screening.pk}/").content.decode()
    assert "<strong>No</strong>" in page and "/referrals/new/" not in page and "never decides eligibility" in page


def test_indeterminate_says_why(coordinator_client, record):
    screening = record({**BASE_5_17, "CF22": "dont_know"})
    page = coordinator_client.get(f"/screening/{screening.pk}/").content.decode()
    assert "<strong>Indeterminate</strong>" in page and "CF22." in page


def test_wg_ss_shows_the_identifiers(coordinator_client, record, make_child):
    adult = make_child(years_before(timezone.localdate(), 22))
    wg = {k: "no_difficulty" for k in ("seeing", "hearing", "walking", "cognition", "self_care")}
    screening = record({**wg, "communication": "cannot_do_at_all"}, learner=adult, respondent="self")
    page = coordinator_client.get(f"/screening/{screening.pk}/").content.decode()
    assert "Washington Group disability identifiers" in page and "disability_4" in page


def test_age_outside_the_questionnaires_is_a_field_error(coordinator_client, make_child, placed):
    baby = make_child(timezone.localdate() - dt.timedelta(days=400))
    response = _start(coordinator_client, baby, placed["a"].guardian)
    assert response.status_code == 200
    page = response.content.decode()
    assert 'class="error-summary"' in page and 'href="#id_interview_date"' in page and "apply from age 2" in page
    assert not Screening.objects.exists()


def test_start_form_errors(coordinator_client, placed):
    learner = placed["a"].learner
    response = coordinator_client.post(f"/screening/learner/{learner.pk}/new/", {
        "interview_date": timezone.localdate().isoformat(), "respondent": "parent"})
    assert response.status_code == 200 and 'href="#id_respondent_name"' in response.content.decode()
    response = coordinator_client.post(f"/screening/learner/{learner.pk}/new/", {
        "interview_date": timezone.localdate().isoformat(), "respondent": "self"})
    assert 'href="#id_respondent"' in response.content.decode()


def test_young_child_questions_follow_the_walking_skips(coordinator_client, make_child, placed):
    child = make_child(years_before(timezone.localdate(), 3))
    _start(coordinator_client, child, placed["a"].guardian)
    screening = Screening.objects.get()
    assert screening.instrument == "cfm-2-4"
    url = f"/screening/{screening.pk}/answers/"
    coordinator_client.post(url, {"CF7": "yes", "action": "continue"})
    page = coordinator_client.get(url).content.decode()
    assert _shown(page, "CF8") and _shown(page, "CF9") and not _shown(page, "CF10")
    response = coordinator_client.post(url, {**BASE_2_4, "action": "save"})
    assert response.status_code == 302
    screening.refresh_from_db()
    assert screening.functional_difficulty is False and "CF8" not in screening.answers


def test_questions_in_the_active_language(client, coordinator, record, placed):
    _start(client, placed["a"].learner, placed["a"].guardian)  # not signed in: nothing happens
    assert not Screening.objects.exists()
    client.force_login(coordinator)
    _start(client, placed["a"].learner, placed["a"].guardian)
    screening = Screening.objects.get()
    item = engine.load_instrument("cfm-5-17").item("CF17")
    for lang in ("ky", "ru"):
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = lang
        page = client.get(f"/screening/{screening.pk}/answers/").content.decode()
        assert f'<html lang="{lang}">' in page
        assert item.text.get(lang) in page.replace("&#x27;", "'").replace("&quot;", '"')


def test_withdraw(coordinator_client, record):
    screening = record()
    url = f"/screening/{screening.pk}/withdraw/"
    response = coordinator_client.post(url, {"reason": ""})
    assert response.status_code == 200 and 'class="error-summary"' in response.content.decode()
    response = coordinator_client.post(url, {"reason": "Recorded for the wrong child"})
    assert response.status_code == 302
    screening.refresh_from_db()
    assert screening.status == Status.WITHDRAWN
    page = coordinator_client.get(f"/screening/{screening.pk}/").content.decode()
    assert "Recorded for the wrong child" in page and "/withdraw/" not in page


def test_parent_reads_but_does_not_record(client, cast, record, placed):
    screening = record({**BASE_5_17, "CF17": "cannot_do_at_all"})
    client.force_login(cast.a.users[Role.PARENT])
    page = client.get(f"/screening/{screening.pk}/").content.decode()
    assert "<strong>Yes</strong>" in page and "/withdraw/" not in page
    assert f'href="/referrals/new/?learner={placed["a"].learner.pk}"' in page  # a parent may refer their child
    assert client.get(f"/screening/learner/{placed['a'].learner.pk}/new/").status_code == 404


def test_learner_list_page_with_filter(coordinator_client, record, placed):
    positive = record({**BASE_5_17, "CF17": "cannot_do_at_all"})
    negative = record(interview_date=timezone.localdate() - dt.timedelta(days=30))
    url = f"/screening/learner/{placed['a'].learner.pk}/"
    page = coordinator_client.get(url).content.decode()
    assert f'/screening/{positive.pk}/' in page and f'/screening/{negative.pk}/' in page
    assert "1 domain" in page and 'role="search"' in page
    page = coordinator_client.get(url, {"result": "no"}).content.decode()
    assert f'/screening/{positive.pk}/' not in page and f'/screening/{negative.pk}/' in page


def test_draft_continues_from_the_result_page(coordinator_client, placed):
    _start(coordinator_client, placed["a"].learner, placed["a"].guardian)
    screening = Screening.objects.get()
    page = coordinator_client.get(f"/screening/{screening.pk}/").content.decode()
    assert f'href="/screening/{screening.pk}/answers/"' in page and "Functional difficulty:" not in page
