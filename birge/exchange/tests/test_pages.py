"""The exchange pages, without JavaScript: import, batch, rows, review queue, comparison, outreach work list."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from birge.core.roles import OrgKind, Role
from birge.exchange import services
from birge.exchange.models import ImportBatch, LinkState, MatchLink, OutreachCase, OutreachState
from birge.learners.models import Enrolment

from .conftest import REGISTER_ROWS, csv_bytes, import_register


@pytest.fixture
def sp_client(client, officer):
    client.force_login(officer)
    return client


@pytest.fixture
def linked_batch(officer, msek, learners, placed):
    batch = import_register(officer, msek).batch
    services.link_batch(officer, batch)
    return batch


def _upload(client, msek, rows, **extra):
    data = {"source": msek.pk, "file": SimpleUploadedFile("msek.csv", csv_bytes(rows), "text/csv"), "legal_basis": "law",
            "legal_reference": "Decree No. 68 of 31 January 2012", "purpose": "out-of-school", **extra}
    return client.post(reverse("exchange:batch-upload"), data)


def test_upload_link_review_accept_by_forms(sp_client, msek, learners, placed, officer):
    page = sp_client.get(reverse("exchange:batch-upload"))
    assert page.status_code == 200 and b'enctype="multipart/form-data"' in page.content
    response = _upload(sp_client, msek, REGISTER_ROWS)
    batch = ImportBatch.objects.get()
    assert response.status_code == 302 and response["Location"] == batch.get_absolute_url()
    detail = sp_client.get(batch.get_absolute_url())
    assert detail.status_code == 200 and "Decree No. 68" in detail.content.decode()
    response = sp_client.post(reverse("exchange:batch-link", args=[batch.pk]))
    assert response.status_code == 302
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.LINKED
    queue = sp_client.get(reverse("exchange:review-queue"))
    body = queue.content.decode()
    assert queue.status_code == 200 and "Осмонов Эркин" in body
    pair = MatchLink.objects.filter(state="pending").first()
    compare = sp_client.get(pair.get_absolute_url())
    text = compare.content.decode()
    assert compare.status_code == 200
    assert "Differs" in text and "Agrees" in text  # differences in words, not colour alone
    assert "Эркин" in text and pair.learner.first_name in text
    # Reject without a reason: the form says why (400), nothing changes.
    response = sp_client.post(reverse("exchange:pair-decide", args=[pair.pk]), {"d-decision": "reject", "d-reason": ""})
    assert response.status_code == 400 and "Say why" in response.content.decode()
    response = sp_client.post(reverse("exchange:pair-decide", args=[pair.pk]),
                              {"d-decision": "accept", "d-reason": "Checked with the school.", "next": "0"})
    assert response.status_code == 302
    pair.refresh_from_db()
    assert pair.state == MatchLink.State.ACCEPTED
    response = sp_client.post(reverse("exchange:pair-undo", args=[pair.pk]), {"u-reason": "Wrong child."})
    assert response.status_code == 302
    pair.refresh_from_db()
    assert pair.state == MatchLink.State.PENDING


def test_bad_file_shows_the_row_report(sp_client, msek):
    response = _upload(sp_client, msek, REGISTER_ROWS + ["X2,,Асанов,Бакыт,,31.04.2015,M,,,"])
    body = response.content.decode()
    assert response.status_code == 400
    assert "Nothing was imported" in body and "31.04.2015" in body and "<td class=\"num\">7</td>" in body
    assert ImportBatch.objects.count() == 0


def test_reimport_links_to_the_earlier_batch(sp_client, msek):
    _upload(sp_client, msek, REGISTER_ROWS)
    batch = ImportBatch.objects.get()
    response = _upload(sp_client, msek, REGISTER_ROWS)
    assert response.status_code == 400
    assert f'href="{batch.get_absolute_url()}"' in response.content.decode()


def test_row_page_and_register(sp_client, linked_batch, officer):
    person = linked_batch.persons.get(record_id="M5")
    page = sp_client.get(person.get_absolute_url())
    assert page.status_code == 200 and "Register the child as a learner" in page.content.decode()
    response = sp_client.post(reverse("exchange:person-register", args=[person.pk]))
    assert response.status_code == 302
    person.refresh_from_db()
    assert person.link_state == LinkState.LINKED


def test_withdraw_page(sp_client, linked_batch):
    url = reverse("exchange:batch-withdraw", args=[linked_batch.pk])
    assert sp_client.post(url, {"reason": ""}).status_code == 200  # the form again, with the error
    assert sp_client.post(url, {"reason": "Wrong file."}).status_code == 302
    linked_batch.refresh_from_db()
    assert linked_batch.status == ImportBatch.Status.WITHDRAWN


def test_sources_pages(sp_client, msek):
    assert sp_client.get(reverse("exchange:source-list")).status_code == 200
    response = sp_client.post(reverse("exchange:source-create"), {
        "name": "School roster, Sokuluk", "kind": "school-roster", "is_active": "on", "col_first_name": "Аты"})
    assert response.status_code == 302
    assert sp_client.get(reverse("exchange:source-edit", args=[msek.pk])).status_code == 200


@pytest.mark.parametrize("role", [Role.SCHOOL_COORDINATOR, Role.LOCAL_GOVERNMENT_OFFICER, Role.PARENT])
def test_register_pages_are_absent_for_other_roles(client, cast, linked_batch, role):
    client.force_login(cast.a.users[role])
    pair = MatchLink.objects.first()
    person = linked_batch.persons.first()
    for url in (reverse("exchange:batch-list"), reverse("exchange:batch-upload"), linked_batch.get_absolute_url(),
                person.get_absolute_url(), reverse("exchange:review-queue"), pair.get_absolute_url()):
        assert client.get(url).status_code == 404, url


def test_other_district_gets_404(client, cast, linked_batch):
    client.force_login(cast.b.users[Role.SOCIAL_PROTECTION_OFFICER])
    pair = MatchLink.objects.first()
    person = linked_batch.persons.first()
    for url in (linked_batch.get_absolute_url(), person.get_absolute_url(), pair.get_absolute_url()):
        assert client.get(url).status_code == 404, url
    for url in (reverse("exchange:batch-link", args=[linked_batch.pk]), reverse("exchange:pair-decide", args=[pair.pk])):
        assert client.post(url, {"d-decision": "accept"}).status_code == 404, url
    assert client.get(reverse("exchange:batch-list")).status_code == 200
    assert linked_batch.file_name not in client.get(reverse("exchange:batch-list")).content.decode()


def test_anonymous_is_sent_to_sign_in(client, linked_batch):
    response = client.get(reverse("exchange:batch-list"))
    assert response.status_code == 302 and reverse("login") in response["Location"]


# --- outreach ---------------------------------------------------------------------------------------------


@pytest.fixture
def case(cast, learners):
    return services.find_out_of_school(cast.a.users[Role.LOCAL_GOVERNMENT_OFFICER]).opened[0]


def test_outreach_work_list_detail_and_steps(client, cast, case, learners):
    lsg = cast.a.users[Role.LOCAL_GOVERNMENT_OFFICER]
    client.force_login(lsg)
    listing = client.get(reverse("exchange:case-list"))
    body = listing.content.decode()
    assert listing.status_code == 200 and "Осмонова Айпери" in body and "To contact" in body
    detail = client.get(case.get_absolute_url())
    assert detail.status_code == 200 and "Record the contact with the family" in detail.content.decode()
    url = reverse("exchange:case-transition", args=[case.pk, "contacted"])
    assert client.post(url, {"contact-reason": "Phoned the mother."}).status_code == 302
    url = reverse("exchange:case-transition", args=[case.pk, "family-declined"])
    response = client.post(url, {"decline-reason": ""})
    assert response.status_code == 400 and "This field is required" in response.content.decode()
    Enrolment.objects.create(learner=learners.aiperi, organization=cast.a.orgs[OrgKind.KINDERGARTEN]
                             if OrgKind.KINDERGARTEN in cast.a.orgs else cast.a.orgs[OrgKind.SCHOOL],
                             level="school", grade=1, starts_on=dt.date.today())
    url = reverse("exchange:case-transition", args=[case.pk, "enrolled"])
    assert client.post(url, {"enrol-reason": ""}).status_code == 302
    case.refresh_from_db()
    assert case.state == OutreachState.ENROLLED


def test_outreach_find_page(client, cast, learners):
    client.force_login(cast.a.users[Role.LOCAL_GOVERNMENT_OFFICER])
    assert client.get(reverse("exchange:case-find")).status_code == 200
    response = client.post(reverse("exchange:case-find"), {"territory": ""})
    assert response.status_code == 302
    assert OutreachCase.objects.count() == 1


@pytest.mark.parametrize("role, status", [(Role.DISTRICT_OFFICER, 200), (Role.REGIONAL_OFFICER, 200),
                                          (Role.SOCIAL_PROTECTION_OFFICER, 200), (Role.SCHOOL_COORDINATOR, 404),
                                          (Role.PARENT, 404)])
def test_outreach_readers(client, cast, case, role, status):
    client.force_login(cast.a.users[role])
    assert client.get(case.get_absolute_url()).status_code == status
    if status == 200:
        assert b"Record the contact" not in client.get(case.get_absolute_url()).content  # read only
        url = reverse("exchange:case-transition", args=[case.pk, "contacted"])
        assert client.post(url, {"contact-reason": "x"}).status_code == 404


def test_outreach_other_district_404(client, cast, case):
    client.force_login(cast.b.users[Role.LOCAL_GOVERNMENT_OFFICER])
    assert client.get(case.get_absolute_url()).status_code == 404
    assert "Айпери" not in client.get(reverse("exchange:case-list")).content.decode()


def test_home_sections_and_navigation(client, cast, case, officer):
    client.force_login(officer)
    home = client.get(reverse("home")).content.decode()
    assert reverse("exchange:batch-list") in home and reverse("exchange:review-queue") in home
    client.force_login(cast.a.users[Role.LOCAL_GOVERNMENT_OFFICER])
    home = client.get(reverse("home")).content.decode()
    assert reverse("exchange:case-list") in home and "1 family to contact" in home


def test_learner_page_section(client, cast, case, learners, officer, msek):
    batch = import_register(officer, msek).batch
    services.link_batch(officer, batch)
    client.force_login(cast.a.users[Role.LOCAL_GOVERNMENT_OFFICER])
    page = client.get(reverse("learners:detail", args=[learners.aiperi.pk])).content.decode()
    assert "Agency registers and outreach" in page and case.get_absolute_url() in page
    assert "Rows in agency registers" not in page  # registers are the social-protection office's
    client.force_login(officer)
    page = client.get(reverse("learners:detail", args=[learners.aiperi.pk])).content.decode()
    assert batch.persons.get(record_id="M3").get_absolute_url() in page
    client.force_login(cast.a.users[Role.SCHOOL_COORDINATOR])
    assert "Agency registers and outreach" not in client.get(
        reverse("learners:detail", args=[learners.sooronbai.pk])).content.decode()


def test_upload_over_the_size_limit_says_so_and_imports_nothing(sp_client, msek, settings):
    from birge.exchange.models import ImportBatch

    settings.BIRGE_IMPORT = {"max_file_mb": 1}
    r = _upload(sp_client, msek, REGISTER_ROWS + ["," * 9] * 120_000)
    assert r.status_code == 400 and not ImportBatch.objects.exists()
    assert "files up to 1 MB" in r.context["form"].errors["file"][0]
