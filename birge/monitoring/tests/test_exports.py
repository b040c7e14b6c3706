"""Exports open in a spreadsheet, carry their definitions and only published figures."""

import csv
import io
import json

import openpyxl
import pytest

from birge.core.models import AuditEvent
from birge.core.roles import Role
from birge.monitoring import exports, periods, scope
from birge.monitoring.models import Indicator

from .conftest import period

pytestmark = pytest.mark.django_db


@pytest.fixture
def analyst_client(client, cast):
    client.force_login(cast.a.users[Role.MINISTRY_ANALYST])
    return client


def test_csv_is_utf8_sig_and_published(analyst_client, dataset):
    r = analyst_client.get("/monitoring/indicators/E2/export.csv", {"period": "2025-2026", "by": "region,sex"})
    assert r.status_code == 200 and r["Content-Type"].startswith("text/csv")
    assert "attachment" in r["Content-Disposition"] and "E2-2025-2026-region-sex" in r["Content-Disposition"]
    assert r.content.startswith(b"\xef\xbb\xbf")
    lines = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    header, rows = lines[0], lines[1:]
    assert len(header) == len(rows[0]) == 2 + 4 + 3 + 2
    bishkek_male = next(x for x in rows if x[2] == "41711000000000" and x[4] == "male")
    assert bishkek_male[6] == "" and bishkek_male[8] == ""  # 1 child: hidden
    assert bishkek_male[9] and bishkek_male[10]  # flagged, with the reason
    assert AuditEvent.objects.filter(event="monitoring.indicator_exported").exists()


def test_xlsx_opens_with_values_and_a_definitions_sheet(analyst_client, dataset):
    r = analyst_client.get("/monitoring/indicators/E2/export.xlsx", {"period": "2025-2026", "by": "sex"})
    assert r.status_code == 200
    wb = openpyxl.load_workbook(io.BytesIO(r.content))
    assert len(wb.worksheets) == 2
    values, info = wb.worksheets
    rows = list(values.iter_rows(values_only=True))
    assert rows[0][0] and len(rows) == 3
    female = next(x for x in rows[1:] if x[2] == "female")
    male = next(x for x in rows[1:] if x[2] == "male")
    # Female 4 of 11 (4 < 5: hidden); male 5 of 9: the 4 others are few, so hidden as well.
    assert female[4] is None and female[7] and male[4] is None
    assert female[5] == 11 and male[5] == 9
    text = "\n".join(str(c) for row in info.iter_rows(values_only=True) for c in row if c)
    assert "E2" in text and "5" in text and "2025-2026" in text


def test_export_refuses_bad_input(analyst_client, dataset):
    assert analyst_client.get("/monitoring/indicators/E2/export.csv", {"by": "planet"}).status_code == 400
    assert analyst_client.get("/monitoring/indicators/E2/export.csv", {"period": "1990-1991"}).status_code == 400
    assert analyst_client.get("/monitoring/indicators/NOPE/export.csv").status_code == 404


def test_export_of_an_indicator_without_records_is_empty_not_zero(dataset):
    ind = Indicator.objects.get(code="E10")
    from birge.monitoring import disclosure, engine

    table = disclosure.protect(engine.compute(ind, period(), [], scope.national()), published=True)
    content = exports.to_csv(table).decode("utf-8-sig").strip().splitlines()
    assert len(content) == 1  # the header only
    wb = openpyxl.load_workbook(io.BytesIO(exports.to_xlsx(table)))
    text = " ".join(str(c) for row in wb.worksheets[1].iter_rows(values_only=True) for c in row if c)
    assert "device" in text.lower() or "каражат" in text.lower()


def test_dhis2_data_value_set(analyst_client, dataset, settings):
    settings.BIRGE_MONITORING_MIN_CELL = 1  # nothing hidden: check the values themselves
    r = analyst_client.get("/monitoring/dhis2/", {"period": "2025-2026", "indicators": "E2,E12,E10"})
    assert r.status_code == 200
    payload = json.loads(r.content)
    values = payload["dataValues"]
    assert values and {v["period"] for v in values} == {"2025July"}
    assert {v["orgUnit"] for v in values} <= {"41708222000000", "41708203000000", "41711201000000"}
    by_key = {(v["dataElement"], v["orgUnit"], v.get("categoryOptionCombo")): v["value"] for v in values}
    # District A, E2 denominators by sex (a1 a3 a5 a7 a9 a11 k1 k3 = 8 girls; a2 a4 a6 a8 a10 ba1 k2 = 7 boys).
    assert by_key[("BIRGE_E2_DEN", "41708222000000", "BIRGE_FEMALE")] == "8"
    assert by_key[("BIRGE_E2_DEN", "41708222000000", "BIRGE_MALE")] == "7"
    assert by_key[("BIRGE_E2_NUM", "41711201000000", "BIRGE_MALE")] == "1"
    assert not any(v["dataElement"].startswith("BIRGE_E10_") for v in values)  # no records: nothing sent


def test_dhis2_leaves_hidden_figures_out(analyst_client, dataset):
    r = analyst_client.get("/monitoring/dhis2/", {"period": "2025-2026", "indicators": "E2"})
    values = json.loads(r.content)["dataValues"]
    # With so few children every cell is hidden (directly or so that it cannot be worked out): none is sent.
    assert values == [] and int(r["X-Birge-Suppressed-Values"]) == 12


def test_dhis2_mapping_is_configurable(dataset, tmp_path, settings):
    settings.BIRGE_MONITORING_MIN_CELL = 1
    mapping = {"period": {"school_year": "{start_year}"}, "orgUnit": {"dimension": "region", "map": {"41708000000000": "ChuyUID"}},
               "categoryOptionCombo": {"default": "HllvX50cXC0"}, "dataElements": {"E2": {"numerator": "deNum"}}}
    path = tmp_path / "map.json"
    path.write_text(json.dumps(mapping))
    settings.BIRGE_DHIS2_MAPPING = str(path)
    out = exports.dhis2_values(list(Indicator.objects.filter(code="E2")), periods.school_year(2025, today=period().today),
                               scope.national())
    values = out["payload"]["dataValues"]
    assert {"dataElement": "deNum", "period": "2025", "orgUnit": "ChuyUID", "categoryOptionCombo": "HllvX50cXC0",
            "value": "8"} in values


def test_dhis2_refuses_unknown_indicators(analyst_client, dataset):
    """An unknown code is a clear 400 naming it, not an answer that silently leaves it out."""
    r = analyst_client.get("/monitoring/dhis2/", {"period": "2025-2026", "indicators": "E2,NOPE, E12 ,X9"})
    assert r.status_code == 400
    (nope, x9) = r.json()["indicators"]
    assert "NOPE" in nope and "X9" in x9
    assert analyst_client.get("/monitoring/dhis2/", {"period": "2025-2026", "indicators": "E2, E12"}).status_code == 200
