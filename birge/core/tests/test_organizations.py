import pytest

from birge.core import orgimport
from birge.core.models import AuditEvent, Organization

GOOD = (
    "code,kind,name,name_ru,territory,languages,email\n"
    "SCH-1,school,Ак-Жар мектеби,Школа Ак-Джар,41708222000000,\"ky,ru\",a@example.org\n"
    "KG-1,kindergarten,Күн бала бакчасы,Детский сад Кун,41708222000000,ky,\n"
)


def test_import_creates_and_audits(reference):
    report = orgimport.import_file("orgs.csv", GOOD.encode())
    assert report.committed and report.written == 2
    assert Organization.objects.get(code="SCH-1").language_list == ["ky", "ru"]
    assert AuditEvent.objects.filter(event="organization.imported").count() == 2


def test_reimport_updates(reference):
    orgimport.import_file("orgs.csv", GOOD.encode())
    report = orgimport.import_file("orgs.csv", GOOD.replace("Күн бала бакчасы", "Күнөстүү").encode())
    assert report.written == 2 and Organization.objects.get(code="KG-1").name == "Күнөстүү"
    assert Organization.objects.count() == 2


def test_validation_report(reference):
    bad = GOOD + "X-1,spaceship,Name,,41708222000000,,\nX-2,school,,,999,xx,bad-mail\n"
    report = orgimport.import_file("orgs.csv", bad.encode())
    assert not report.committed and Organization.objects.count() == 0
    by_line = {}
    for e in report.errors:
        by_line.setdefault(e.line, set()).add(e.field)
    assert by_line == {4: {"kind"}, 5: {"name", "territory", "languages", "email"}}


@pytest.mark.parametrize("url", ["/organizations/", "/territory/"])
def test_browse_pages(client, cast, url):
    client.force_login(cast.a.users["teacher"])
    assert client.get(url).status_code == 200


def test_organization_search_and_detail(client, cast):
    client.force_login(cast.a.users["teacher"])
    org = cast.a.orgs["school"]
    r = client.get("/organizations/", {"q": org.code})
    assert org.name in r.content.decode()
    assert client.get(f"/organizations/{org.pk}/").status_code == 200
    assert client.get("/organizations/999999/").status_code == 404
