import io

import openpyxl
import pytest
from django.core.management import CommandError, call_command

from birge.core import territory
from birge.core.models import Territory
from birge.core.tabular import ImportFileError


def test_reference_loads_every_official_unit(reference):
    assert Territory.objects.filter(level__in=Territory.TOP_LEVELS).count() == 9
    assert Territory.objects.filter(level="district").count() == 40
    assert Territory.objects.filter(level="city-district").count() == 4
    assert Territory.objects.filter(level="city").count() == 12
    sokuluk = Territory.objects.get(code="41708222000000")
    assert sokuluk.region.code == "41708000000000" and sokuluk.district == sokuluk
    assert sokuluk.prefix == "41708222"
    assert Territory.objects.get(code="41711000000000").iso_code == "KG-GB"
    lenin = Territory.objects.get(code="41711201000000")
    assert lenin.region.code == "41711000000000" and lenin.district == lenin


def test_reference_is_idempotent(reference):
    n = Territory.objects.count()
    territory.load_reference()
    assert Territory.objects.count() == n


def test_names_follow_language(reference):
    from django.utils import translation

    unit = Territory.objects.get(code="41706255000000")
    with translation.override("ky"):
        assert unit.name == "Өзгөн району"
    with translation.override("ru"):
        assert unit.name == "Узгенский район"
    with translation.override("en"):
        assert unit.name == "Özgön District"


CSV = "code,name_ky,name_ru,level\n41708222801000,Ак-Жар айыл аймагы,Ак-Джарский айыльный аймак,aiyl-aimak\n41708222806000,Шопоков,Шопоков,town\n"


def test_import_municipalities(reference):
    report = territory.import_file("m.csv", CSV.encode())
    assert report.committed and report.written == 2 and not report.errors
    town = Territory.objects.get(code="41708222806000")
    assert town.level == "town" and town.district.code == "41708222000000" and town.region.code == "41708000000000"


def test_bad_rows_are_reported_and_nothing_written(reference):
    bad = CSV + "41708999801000,Жок,Нет,aiyl-aimak\n123,Бузук,Плохой,aiyl-aimak\n41708222801000,Кайра,Дубль,aiyl-aimak\n"
    report = territory.import_file("m.csv", bad.encode())
    assert not report.committed
    assert {e.line for e in report.errors} == {4, 5, 6}
    assert not Territory.objects.filter(code="41708222801000").exists()


def test_valid_only_writes_the_good_rows(reference):
    report = territory.import_file("m.csv", (CSV + "123,Бузук,Плохой,\n").encode(), valid_only=True)
    assert report.committed and report.written == 2 and [e.line for e in report.errors] == [4]


def test_cp1251_file_is_read(reference):
    report = territory.import_file("m.csv", CSV.replace("Ак-Жар айыл аймагы", "Ак-Жар").encode("cp1251"))
    assert report.committed and report.encoding == "cp1251"
    assert Territory.objects.get(code="41708222801000").name_ru == "Ак-Джарский айыльный аймак"


def test_xlsx_with_russian_headers(reference):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Код СОАТЕ", "Наименование"])
    ws.append(["41708222801000", "Ак-Джар"])
    buf = io.BytesIO()
    wb.save(buf)
    report = territory.import_file("m.xlsx", buf.getvalue())
    assert report.committed and Territory.objects.get(code="41708222801000").name_ky == "Ак-Джар"


@pytest.mark.parametrize("data,message", [(b"", "empty"), (b"code,name_ky\n", "no rows"), (b"foo,bar\n1,2\n", "Unknown columns")])
def test_file_level_errors(reference, data, message):
    with pytest.raises(ImportFileError, match=message):
        territory.import_file("m.csv", data)


def test_command(reference, tmp_path, capsys):
    f = tmp_path / "m.csv"
    f.write_text(CSV, encoding="utf-8")
    call_command("territory", "import", str(f))
    assert "Imported 2 of 2" in capsys.readouterr().out
    f.write_text(CSV + "1,x,y,\n", encoding="utf-8")
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("territory", "import", str(f))
