"""The pages, without JavaScript: schedule, record, findings, the conclusion builder (rows added and removed
by plain form posts), issue, the family's release, the organization's view."""

import datetime as dt

import pytest
from django.utils import timezone

from birge.assessments.models import AssessmentSession, Conclusion, Finding, Release
from birge.learners.models import Consent

from .conftest import item

pytestmark = pytest.mark.django_db


def schedule_post(world, **extra):
    data = {"scheduled_at": (timezone.localtime() + dt.timedelta(days=4)).strftime("%Y-%m-%dT%H:%M"),
            "mode": "in-person", "place": "PMPK, room 3", "invite_family": "on", "invitation_note": "",
            "members-TOTAL_FORMS": "3", "members-INITIAL_FORMS": "0",
            "members-0-user": world.chair.pk, "members-0-specialty": "psychologist", "members-0-is_chair": "on",
            "members-1-user": world.member.pk, "members-1-specialty": "speech-therapist",
            "members-2-user": "", "members-2-specialty": ""}
    data.update(extra)
    return data


def test_pmpk_schedules_records_and_concludes_through_pages(world, client):
    client.force_login(world.chair)
    page = client.get("/assessments/sessions/").content.decode()
    assert f"/assessments/sessions/new/{world.referral.pk}/" in page
    assert client.get(f"/assessments/sessions/new/{world.referral.pk}/").status_code == 200
    # bad input: errors on the page, nothing saved
    bad = client.post(f"/assessments/sessions/new/{world.referral.pk}/", schedule_post(world, place="", **{"members-0-user": "",
                                                                                                          "members-1-user": ""}))
    assert bad.status_code == 200 and "There is a problem" in bad.content.decode()
    assert not AssessmentSession.objects.exists()
    response = client.post(f"/assessments/sessions/new/{world.referral.pk}/", schedule_post(world))
    session = AssessmentSession.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/assessments/sessions/{session.pk}/"
    assert session.members.count() == 2
    member = session.members.get(user=world.member)
    response = client.post(f"/assessments/sessions/{session.pk}/findings/add/", {
        "member": member.pk, "domain": "communication", "difficulty": "some_difficulty", "text": "Short phrases."})
    assert response.status_code == 302 and Finding.objects.count() == 1
    response = client.post(f"/assessments/sessions/{session.pk}/held/", {"parent_present": "yes", "sources": ["observation"]})
    assert response.status_code == 302
    session.refresh_from_db()
    assert session.status == "held"
    response = client.post(f"/assessments/sessions/{session.pk}/conclusion/")
    conclusion = Conclusion.objects.get()
    assert response["Location"] == f"/assessments/conclusions/{conclusion.pk}/edit/"
    builder = client.get(f"/assessments/conclusions/{conclusion.pk}/edit/").content.decode()
    assert 'name="items-TOTAL_FORMS" value="2"' in builder and "Short phrases." in builder

    base = {"programme": "adapted", "recommended_form": "mainstream", "family_language": "ky",
            "valid_until": (timezone.localdate() + dt.timedelta(days=700)).isoformat(),
            "next_review_on": (timezone.localdate() + dt.timedelta(days=365)).isoformat(), "summary": "Speech support.",
            "items-TOTAL_FORMS": "2", "items-INITIAL_FORMS": "0",
            "items-0-catalogue": item("speech-therapy").pk, "items-0-minutes_per_week": "",
            "items-1-catalogue": item("seating").pk}
    # add a row without JavaScript: the page comes back with one more row, nothing saved
    more = client.post(f"/assessments/conclusions/{conclusion.pk}/edit/", {**base, "add_row": "1"}).content.decode()
    assert 'name="items-TOTAL_FORMS" value="3"' in more and conclusion.items.count() == 0
    # remove a ticked row the same way
    fewer = client.post(f"/assessments/conclusions/{conclusion.pk}/edit/",
                        {**base, "items-1-DELETE": "on", "remove_rows": "1"}).content.decode()
    assert 'name="items-TOTAL_FORMS" value="1"' in fewer
    # a service without its frequency: a row error, nothing saved
    page = client.post(f"/assessments/conclusions/{conclusion.pk}/edit/", {**base, "save": "1"})
    assert page.status_code == 200 and "Give the minutes per week for this service." in page.content.decode()
    conclusion.refresh_from_db()
    assert conclusion.items.count() == 0 and conclusion.summary == ""
    response = client.post(f"/assessments/conclusions/{conclusion.pk}/edit/",
                           {**base, "items-0-minutes_per_week": "60", "save_issue": "1"})
    assert response["Location"] == f"/assessments/conclusions/{conclusion.pk}/issue/"
    assert conclusion.items.count() == 2
    # a member may not issue; the chair signs
    client.force_login(world.member)
    assert "Only the chair" in client.get(f"/assessments/conclusions/{conclusion.pk}/issue/").content.decode()
    page = client.post(f"/assessments/conclusions/{conclusion.pk}/issue/")
    assert "Only the chair" in page.content.decode()
    client.force_login(world.chair)
    assert client.post(f"/assessments/conclusions/{conclusion.pk}/issue/").status_code == 302
    conclusion.refresh_from_db()
    assert conclusion.status == "issued"
    assert client.get(f"/assessments/conclusions/{conclusion.pk}/edit/").status_code == 302  # never edited after issue


def test_family_sees_and_releases_the_conclusion(world, client):
    conclusion = world.issued()
    client.force_login(world.parent)
    home = client.get("/").content.decode()
    assert "not released to any organization" in home and f"/assessments/conclusions/{conclusion.pk}/release/" in home
    page = client.get(f"/assessments/conclusions/{conclusion.pk}/release/")
    assert page.status_code == 200
    # no consent given: a clear error on the consent field, nothing saved
    page = client.post(f"/assessments/conclusions/{conclusion.pk}/release/", {"organization": world.school_b.pk})
    assert page.status_code == 200 and "consent" in page.content.decode() and not Release.objects.exists()
    response = client.post(f"/assessments/conclusions/{conclusion.pk}/release/",
                           {"organization": world.school_b.pk, "give_consent": "on"})
    assert response.status_code == 302
    release = Release.objects.get()
    assert release.organization == world.school_b and release.consent.method == Consent.Method.IN_SYSTEM
    detail = client.get(f"/assessments/conclusions/{conclusion.pk}/").content.decode()
    assert str(world.school_b) in detail and f"/assessments/releases/{release.pk}/revoke/" in detail
    response = client.post(f"/assessments/releases/{release.pk}/revoke/", {"reason": "Changed our mind."})
    assert response.status_code == 302
    release.refresh_from_db()
    assert release.revoked_at is not None


def test_organization_sees_released_conclusions_and_obligations(world, client):
    world.released()
    client.force_login(world.coordinator)
    page = client.get("/assessments/released/").content.decode()
    assert world.learner.full_name in page and "Agree an individual plan with the family" in page
    assert "Arrange a service" in page and "Request a device" in page
    home = client.get("/").content.decode()
    assert "Conclusions released to your organization" in home
    client.force_login(world.coordinator_b)
    assert world.learner.full_name not in client.get("/assessments/released/").content.decode()


def test_pmpk_records_a_paper_release(world, client):
    conclusion = world.issued()
    client.force_login(world.chair)
    response = client.post(f"/assessments/conclusions/{conclusion.pk}/release/", {
        "organization": world.school.pk, "given_by": world.guardian.pk, "given_at": timezone.localdate().isoformat()})
    assert response.status_code == 302
    assert Release.objects.get().consent.method == Consent.Method.PAPER


def test_coordinator_records_a_conclusion_by_number(world, client):
    from .conftest import release_consent

    conclusion = world.issued()
    consent = release_consent(world, world.school)
    client.force_login(world.coordinator)
    page = client.get("/assessments/released/record/").content.decode()
    assert world.learner.full_name in page
    response = client.post("/assessments/released/record/", {"learner": world.learner.pk, "consent": consent.pk,
                                                              "number": conclusion.number})
    assert response.status_code == 302 and Release.objects.get().organization == world.school


def test_catalogue_and_index_pages(world, client):
    client.force_login(world.chair)
    page = client.get("/assessments/catalogue/").content.decode()
    assert "Логопеддик жардам (логопед)" in page and "<caption>" in page
    assert client.get("/assessments/").status_code == 200
    client.force_login(world.cast.outsider)
    assert client.get("/assessments/").status_code == 404
