"""Roster import: per-row validation with line numbers, all-or-nothing, valid_only, encodings, matching by PIN."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.core.files.uploadedfile import SimpleUploadedFile

from birge.core.models import AuditEvent
from birge.core.roles import OrgKind, Role
from birge.core.tabular import ImportFileError
from birge.learners import rosters
from birge.learners.models import Enrolment, Learner

HEADER = "pin,last_name,first_name,patronymic,birth_date,sex,territory,organization,level,grade,class_name,form,programme,starts_on"


def roster(cast, *rows, header=HEADER):
    code = cast.a.orgs[OrgKind.SCHOOL].code
    return ("\n".join([header, *[r.replace("{school}", code) for r in rows]]) + "\n").encode("utf-8")


GOOD = [
    "21503201512345,Асанов,Бакыт,Асанович,2015-03-15,male,41708222000000,{school},school,3,3А,mainstream,general,2024-09-01",
    "10107201500011,,Айгүл,Мамбет кызы,01.07.2015,Ж,41708222000000,{school},school,3,3Б,separate-class,adapted,",
    ",Иванова,Мария,Сергеевна,2016-02-29,F,41708222000000,{school},preschool-preparation,,,,,2024-09-01",
]


@pytest.fixture
def coordinator(cast):
    return cast.a.users[Role.SCHOOL_COORDINATOR]


def test_good_file(cast, coordinator):
    report, stats = rosters.import_roster(coordinator, "roster.csv", roster(cast, *GOOD))
    assert report.committed and report.errors == [] and (report.total, report.written) == (3, 3)
    assert (stats.created, stats.enrolled) == (3, 3)
    aigul = Learner.objects.get(first_name="Айгүл")
    assert aigul.sex == "female" and str(aigul.birth_date) == "2015-07-01"
    assert aigul.created_by_org == cast.a.orgs[OrgKind.SCHOOL]
    enrolment = aigul.enrolments.get()
    assert (enrolment.form, enrolment.programme, enrolment.grade, enrolment.class_name) == ("separate-class", "adapted", 3, "3Б")
    assert AuditEvent.objects.filter(event="learner.created").count() == 3
    assert AuditEvent.objects.get(event="learner.roster_imported").changes["created"] == 3


def test_reimport_matches_by_pin_and_changes_nothing(cast, coordinator):
    rosters.import_roster(coordinator, "roster.csv", roster(cast, *GOOD))
    report, stats = rosters.import_roster(coordinator, "roster.csv", roster(cast, *GOOD))
    assert report.committed and (stats.created, stats.matched, stats.unchanged, stats.enrolled) == (0, 3, 3, 0)
    assert Learner.objects.count() == 3 and Enrolment.objects.count() == 3


def test_bad_rows_are_reported_with_line_numbers_and_nothing_is_written(cast, coordinator):
    data = roster(
        cast,
        GOOD[0],
        "31503201512345,Асанов,Талант,,2015-03-15,male,41708222000000,{school},school,3,,,,",  # line 3: bad PIN
        ",Сыдыкова,Нуриза,,2015-02-30,female,41708222000000,{school},school,3,,,,",  # line 4: impossible date
        ",Сыдыкова,Нуриза,,2015-02-03,female,41799999000000,NO-SUCH-ORG,school,3,,,,",  # line 5: unknown codes
        ",Сыдыкова,Нуриза,,2015-02-03,female,41708222000000,{school},galaxy,13,,,,",  # line 6: unknown level
        "21503201512345,Асанов,Бакыт,Асанович,2015-03-15,male,41708222000000,{school},school,3,,,,",  # line 7: same PIN again
        "21503201599999,Асанов,Бакыт,,2015-03-16,male,41708222000000,{school},school,3,,,,",  # line 8: PIN vs birth date
    )
    report, _stats = rosters.import_roster(coordinator, "roster.csv", data)
    assert not report.committed and report.written == 0
    by_line = {}
    for e in report.errors:
        by_line.setdefault(e.line, set()).add(e.field)
    assert by_line == {3: {"pin"}, 4: {"birth_date"}, 5: {"territory", "organization"}, 6: {"level", "grade"}, 7: {"pin"}, 8: {"pin"}}
    assert not Learner.objects.exists() and not Enrolment.objects.exists()


def test_second_active_enrolment_is_a_row_error(cast, coordinator, placed):
    other_school = cast.b.orgs[OrgKind.SCHOOL]
    # The child of district A is enrolled at A's school; B's coordinator cannot see them, A's can.
    row = f"21503201512345,Асанов,Бакыт,Асанович,2015-03-15,male,41708222000000,{other_school.code},school,4,,,,"
    b_coordinator = cast.b.users[Role.SCHOOL_COORDINATOR]
    report, _ = rosters.import_roster(b_coordinator, "r.csv", (HEADER + "\n" + row + "\n").encode())
    assert [(e.line, e.field) for e in report.errors] == [(2, "pin")] and "outside your reach" in report.errors[0].message
    # A's coordinator sees the child, but may not enrol at B's school, and the child has an active school enrolment.
    report, _ = rosters.import_roster(coordinator, "r.csv", (HEADER + "\n" + row + "\n").encode())
    assert [(e.line, e.field) for e in report.errors] == [(2, "organization")]
    special = cast.a.orgs[OrgKind.SCHOOL]
    row2 = f"21503201512345,Асанов,Бакыт,Асанович,2015-03-15,male,41708222000000,{special.code},kindergarten,,,,,"
    report, _ = rosters.import_roster(coordinator, "r.csv", (HEADER + "\n" + row2 + "\n").encode())
    assert [(e.line, e.field) for e in report.errors] == [(2, "level")]  # a school does not teach kindergarten


def test_second_active_enrolment_at_another_school(cast, coordinator, placed):
    Enrolment.objects.filter(pk=placed["a"].enrolment.pk).update(organization=cast.a.orgs[OrgKind.SCHOOL])
    from birge.core.models import Organization

    second = Organization.objects.create(kind=OrgKind.SCHOOL, code="T-a-school-2", name="School 2", territory=cast.a.district)
    from birge.core.models import Membership

    Membership.objects.create(user=coordinator, role=Role.SCHOOL_COORDINATOR, organization=second,
                              starts_on=Membership.objects.filter(user=coordinator).first().starts_on)
    coordinator = type(coordinator).objects.get(pk=coordinator.pk)
    row = "21503201512345,Асанов,Бакыт,Асанович,2015-03-15,male,41708222000000,T-a-school-2,school,4,,,,"
    report, _ = rosters.import_roster(coordinator, "r.csv", (HEADER + "\n" + row + "\n").encode())
    assert [(e.line, e.field) for e in report.errors] == [(2, "level")]
    assert "active enrolment" in report.errors[0].message


def test_valid_only_writes_the_good_rows(cast, coordinator):
    data = roster(cast, GOOD[0], ",Сыдыкова,Нуриза,,2015-02-30,female,41708222000000,{school},school,3,,,,", GOOD[1])
    report, stats = rosters.import_roster(coordinator, "roster.csv", data, valid_only=True)
    assert report.committed and report.written == 2 and [e.line for e in report.errors] == [3]
    assert Learner.objects.count() == 2


def test_cp1251_file_with_russian_headers(cast, coordinator):
    header = "ПИН;Фамилия;Имя;Отчество;Дата рождения;Пол;СОАТЕ;Код организации;Уровень;Класс (номер);Класс;Форма обучения;Программа;Дата зачисления"
    code = cast.a.orgs[OrgKind.SCHOOL].code
    text = header + "\n" + f"21503201512345;Асанов;Бакыт;Асанович;15.03.2015;м;41708222000000;{code};school;3;3А;;;\n"
    report, stats = rosters.import_roster(coordinator, "список.csv", text.encode("cp1251"))
    assert report.encoding == "cp1251" and report.committed, report.errors
    assert Learner.objects.get().full_name == "Асанов Бакыт Асанович"


def test_xlsx(cast, coordinator):
    import datetime as dt

    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(HEADER.split(","))
    ws.append(["21503201512345", "Асанов", "Бакыт", "Асанович", dt.date(2015, 3, 15), "male", "41708222000000",
               cast.a.orgs[OrgKind.SCHOOL].code, "school", 3, "3А", "home", "individual", dt.date(2024, 9, 1)])
    buf = io.BytesIO()
    wb.save(buf)
    report, stats = rosters.import_roster(coordinator, "roster.xlsx", buf.getvalue())
    assert report.committed, report.errors
    assert Enrolment.objects.get().form == "home"


def test_file_level_problems(cast, coordinator):
    with pytest.raises(ImportFileError):
        rosters.import_roster(coordinator, "r.csv", b"pin,first_name\n1,2\n")  # missing columns
    with pytest.raises(ImportFileError):
        rosters.import_roster(cast.a.users[Role.TEACHER], "r.csv", roster(cast, *GOOD))  # may not enrol


def test_command(cast, coordinator, tmp_path):
    path = tmp_path / "roster.csv"
    path.write_bytes(roster(cast, *GOOD))
    out = io.StringIO()
    call_command("learners", "import", str(path), "--as", coordinator.username, stdout=out)
    assert "3 new learners" in out.getvalue()
    bad = tmp_path / "bad.csv"
    bad.write_bytes(roster(cast, ",X,Y,,2015-02-30,female,41708222000000,{school},school,3,,,,"))
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("learners", "import", str(bad), "--as", coordinator.username, stderr=io.StringIO())


def test_page_and_api(cast, coordinator, client):
    client.force_login(coordinator)
    upload = SimpleUploadedFile("roster.csv", roster(cast, *GOOD), content_type="text/csv")
    response = client.post("/learners/import/", {"file": upload})
    assert response.status_code == 200 and "3 of 3 rows imported" in response.content.decode()
    bad = SimpleUploadedFile("bad.csv", roster(cast, ",X,Y,,2015-02-30,female,41708222000000,{school},school,3,,,,"))
    response = client.post("/api/v1/learners/import/", {"file": bad})
    assert response.status_code == 400
    assert response.json()["errors"][0]["line"] == 2 and response.json()["committed"] is False
    assert client.get("/learners/import/").status_code == 200
    client.force_login(cast.a.users[Role.TEACHER])
    assert client.get("/learners/import/").status_code == 404
