"""Import batches: provenance, per-row validation, re-import detection, all-or-nothing, XLSX and cp1251."""

import io

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from birge.core.models import AuditEvent
from birge.core.roles import Role
from birge.exchange import registers, services
from birge.exchange.models import ImportBatch, ImportedPerson, ImportSource, LinkState

from .conftest import HEADER, REGISTER_ROWS, csv_bytes, import_register


def test_import_keeps_provenance_rows_and_problems(cast, officer, msek):
    outcome = import_register(officer, msek)
    batch = outcome.batch
    assert batch is not None and outcome.report.committed
    assert batch.source == msek and batch.uploaded_by == officer
    assert batch.organization == cast.a.orgs["social-protection"]
    assert batch.file_name == "msek.csv" and len(batch.sha256) == 64
    assert batch.legal_basis == "law" and batch.legal_reference.startswith("Decree No. 68")
    assert batch.purpose == "out-of-school"
    assert (batch.rows_total, batch.rows_imported, batch.rows_rejected) == (5, 5, 0)
    assert batch.status == ImportBatch.Status.IMPORTED
    people = list(batch.persons.order_by("row_number"))
    assert [p.row_number for p in people] == [2, 3, 4, 5, 6]
    first = people[0]
    assert (first.record_id, first.pin, first.last_name, first.sex) == ("M1", "21503201512345", "Асанов", "male")
    assert first.birth_date.isoformat() == "2015-03-15"
    assert first.territory == cast.a.district  # "Сокулук району" in Kyrgyz
    assert first.raw["birth_date"] == "15.03.2015"
    assert first.link_state == LinkState.NOT_LINKED
    assert people[1].territory == cast.a.district  # "Sokuluk" in Latin
    assert people[2].territory == cast.a.district  # "Сокулукский район" in Russian
    # No PIN is a warning kept with the row, not an error.
    assert any(p["field"] == "pin" for p in people[1].problems)
    assert batch.rows_with_warnings == 4
    event = AuditEvent.objects.get(event="import_batch.created", object_id=str(batch.pk))
    assert event.actor == officer and "5 of 5" in event.reason and "Decree No. 68" in event.reason


def test_reimport_of_the_same_file_is_refused_naming_the_earlier_batch(cast, officer, msek):
    first = import_register(officer, msek).batch
    with pytest.raises(services.DuplicateFile) as exc:
        import_register(officer, msek, name="renamed.csv")
    assert exc.value.existing == first
    assert f"batch {first.pk}" in exc.value.message_dict["file"][0]
    # Another office does not learn which batch, only that it was imported.
    other = cast.b.users[Role.SOCIAL_PROTECTION_OFFICER]
    with pytest.raises(services.DuplicateFile) as exc:
        import_register(other, msek)
    assert exc.value.existing is None
    assert ImportBatch.objects.count() == 1
    # Once withdrawn, the same file may come again.
    services.withdraw_batch(officer, first, reason="Wrong month's extract.")
    assert import_register(officer, msek).batch.pk != first.pk


def test_bad_rows_are_reported_by_line_and_nothing_is_written(officer, msek):
    rows = REGISTER_ROWS + [
        "X1,,Асанов,,,2015-01-01,M,,,",  # no given name
        "X2,,Асанов,Бакыт,,31.04.2015,M,,,",  # impossible date
        "X3,,Асанов,Бакыт,,2015-01-01,Q,,,",  # unknown sex code
        "M1,,Асанов,Бакыт,,2015-01-01,M,,,",  # id used twice
    ]
    outcome = import_register(officer, msek, rows)
    assert outcome.batch is None and not outcome.report.committed
    errors = {(e.line, e.field) for e in outcome.report.errors}
    assert errors == {(7, "first_name"), (8, "birth_date"), (9, "sex"), (10, "id")}
    assert ImportBatch.objects.count() == 0 and ImportedPerson.objects.count() == 0


def test_valid_only_imports_the_good_rows_and_lists_the_rest(officer, msek):
    rows = REGISTER_ROWS + ["X2,,Асанов,Бакыт,,31.04.2015,M,,,"]
    outcome = import_register(officer, msek, rows, valid_only=True)
    batch = outcome.batch
    assert (batch.rows_total, batch.rows_imported, batch.rows_rejected) == (6, 5, 1)
    assert batch.report["errors"] == [{"line": 7, "field": "birth_date",
                                       "message": "Not a real date: 31.04.2015 (use 2015-09-01 or 01.09.2015)."}]


@pytest.mark.parametrize("header, message", [
    (HEADER + ",mother", "Unknown columns: mother."),
    ("id,last_name,birth_date", "Missing columns: first_name."),
])
def test_unknown_and_missing_columns_refuse_the_file(officer, msek, header, message):
    data = csv_bytes(["M1,Асанов,2015-01-01"], header=header)
    with pytest.raises(ValidationError) as exc:
        services.import_file(officer, source=msek, file_name="x.csv", data=data, legal_basis="law",
                             legal_reference="Decree No. 68", purpose="out-of-school")
    assert exc.value.message_dict == {"file": [message]}


def test_empty_file_and_header_only(officer, msek):
    for data, message in ((b"", "The file is empty."), (HEADER.encode() + b"\n", "The file has a header but no rows.")):
        with pytest.raises(ValidationError) as exc:
            services.import_file(officer, source=msek, file_name="x.csv", data=data, legal_basis="law",
                                 legal_reference="Decree No. 68", purpose="out-of-school")
        assert exc.value.message_dict == {"file": [message]}


def test_provenance_is_required(officer, msek):
    with pytest.raises(ValidationError) as exc:
        services.import_file(officer, source=msek, file_name="x.csv", data=csv_bytes(REGISTER_ROWS), legal_basis="",
                             legal_reference=" ", purpose="gossip")
    assert set(exc.value.message_dict) == {"legal_basis", "legal_reference", "purpose"}


def test_source_mapping_and_russian_headings_cp1251(cast, officer):
    source = services.save_source(officer, name="Health referrals, Sokuluk", kind="health-referrals",
                                  column_mapping={"id": "Номер направления", "concern": "Что беспокоит"})
    header = "Номер направления,Фамилия,Имя,Отчество,Дата рождения,Пол,Район,Что беспокоит"
    data = csv_bytes(["H1,Осмонова,Айпери,Талантовна,02.06.2014,ж,Сокулукский район,Не говорит фразами"],
                     header=header, encoding="cp1251")
    outcome = services.import_file(officer, source=source, file_name="health.csv", data=data, legal_basis="agreement",
                                   legal_reference="Agreement No. 12 of 2025-01-15", purpose="early-identification")
    batch = outcome.batch
    assert batch.encoding == "cp1251"
    person = batch.persons.get()
    assert (person.record_id, person.first_name, person.sex) == ("H1", "Айпери", "female")
    assert person.details == {"concern": "Не говорит фразами"}
    assert person.territory == cast.a.district


def test_xlsx_file(cast, officer, msek):
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(HEADER.split(",") + ["Категория"])
    ws.append(["M9", "", "Осмонова", "Айпери", "", "2014-06-02", "F", "", "41708222000000", "", "ребенок"])
    buf = io.BytesIO()
    wb.save(buf)
    outcome = services.import_file(officer, source=msek, file_name="msek.xlsx", data=buf.getvalue(), legal_basis="law",
                                   legal_reference="Decree No. 68", purpose="out-of-school")
    person = outcome.batch.persons.get()
    assert person.territory == cast.a.district  # a SOATE code
    assert person.details == {"disability_category": "child"}


def test_rows_variant_is_the_same_import(cast, officer, msek):
    rows = [{"id": "R1", "first_name": "Айпери", "last_name": "Осмонова", "birth_date": "2014-06-02", "sex": "F",
             "district": "Сокулук"}]
    outcome = services.import_rows(officer, source=msek, rows=rows, legal_basis="law", legal_reference="Decree No. 68",
                                   purpose="out-of-school", external_reference="tunduk-msg-1")
    batch = outcome.batch
    assert batch.via == "api-rows" and batch.external_reference == "tunduk-msg-1" and batch.file_name == "tunduk-msg-1"
    # The same rows in another key order are the same content.
    with pytest.raises(services.DuplicateFile):
        services.import_rows(officer, source=msek, rows=[dict(reversed(list(rows[0].items())))], legal_basis="law",
                             legal_reference="Decree No. 68", purpose="out-of-school")
    with pytest.raises(ValidationError) as exc:
        services.import_rows(officer, source=msek, rows=[{"mother": "x"}], legal_basis="law",
                             legal_reference="Decree No. 68", purpose="out-of-school")
    assert "rows" in exc.value.message_dict


@pytest.mark.parametrize("role", [Role.SCHOOL_COORDINATOR, Role.LOCAL_GOVERNMENT_OFFICER, Role.DISTRICT_OFFICER,
                                  Role.MINISTRY_ANALYST, Role.PARENT])
def test_only_register_writers_import(cast, msek, role):
    with pytest.raises(PermissionDenied):
        import_register(cast.a.users[role], msek)
    with pytest.raises(PermissionDenied):
        import_register(cast.outsider, msek)


def test_pin_problems_are_warnings(officer, msek):
    rows = ["P1,31503201512345,Асанов,Бакыт,,2015-03-15,M,,Сокулук,",  # bad sex digit
            "P2,21503201512345,Асанов,Бакыт,,2015-03-16,M,,Сокулук,"]  # valid, but another birth date
    batch = import_register(officer, msek, rows).batch
    p1, p2 = batch.persons.order_by("row_number")
    assert "not valid" in p1.problems[0]["message"]
    assert "birth date" in p2.problems[0]["message"]


def test_place_keys_fold_scripts_and_generic_words():
    key = registers.place_key
    assert key("Сокулук району") == key("Сокулукский район") == key("Sokuluk District") == key("сокулук")
    assert key("Чүй облусу") == key("Чуйская область") == key("Chüy Region")


def test_save_source_validates_the_mapping(officer):
    with pytest.raises(ValidationError) as exc:
        services.save_source(officer, name="X", kind="school-roster", column_mapping={"mother": "Мать"})
    assert "column_mapping" in exc.value.message_dict
    with pytest.raises(ValidationError):
        services.save_source(officer, name="X", kind="school-roster", column_mapping={"first_name": "A", "last_name": "a"})
    source = services.save_source(officer, name="X", kind="school-roster", column_mapping={"first_name": " Имя "})
    assert source.column_mapping == {"first_name": "Имя"}
    assert ImportSource.objects.get(pk=source.pk).name == "X"
