"""The linkage command line: file contract, bad input, parallel reading (synthetic data only)."""

import csv
import datetime as dt

import pytest

from birge.exchange.linkage import LinkConfig, LinkFileError, RegisterFile, link
from birge.exchange.linkage.cli import main

HEADER = "id,pin,last_name,first_name,patronymic,birth_date,sex,region,district,settlement"
GIVEN = ["Нурлан", "Бермет", "Талант", "Чолпон", "Эрмек", "Асел", "Мирлан", "Жылдыз", "Улан", "Мээрим", "Айбек"]
FATHERS = ["Сагын", "Курман", "Осмон", "Садыр", "Темир", "Жапар", "Мамбет", "Ормон", "Эсен", "Абай"]


def write(path, rows, header=HEADER, encoding="utf-8"):
    path.write_text(header + "\n" + "".join(r + "\n" for r in rows), encoding=encoding)
    return path


def roster(n, prefix="S"):
    rows = []
    for i in range(n):
        father = FATHERS[i % len(FATHERS)]
        day = dt.date(2005, 1, 1) + dt.timedelta(days=(i * 7919) % 6500)
        sex = "M" if i % 2 else "F"
        rows.append(f"{prefix}{i},,{father}ов{'а' if sex == 'F' else ''},{GIVEN[(i * 7) % len(GIVEN)]},,"
                    f"{day.isoformat()},{sex},41708,41708{200 + i % 9},41708{200 + i % 9}{i % 13:03d}")
    return rows


@pytest.fixture
def files(tmp_path):
    left = write(tmp_path / "left.csv", ["S1,21503201012345,Жээнбеков,Сооронбай,Бакытович,2010-03-15,M,41708,41708222,41708222001",
                                         "S2,,Асанова,Айгүл,Асановна,2012-05-20,F,41708,41708222,41708222001"] + roster(300, "T"))
    right = write(tmp_path / "right.csv", ["D1,21503201012345,Zheenbekov,Sooronbay,,15.03.2010,M,41708,41708222,",
                                           "D2,,Asan kyzy,Aigul,,20.05.2012,F,41708,41708222,41708222001",
                                           "D3,,Осмонов,Айбек,Осмонович,10.02.2015,M,41708,41708222,41708222001"])
    return tmp_path, left, right


def test_cli_writes_linked_pairs_and_review(files, capsys):
    tmp, left, right = files
    out, review = tmp / "pairs.csv", tmp / "review.csv"
    assert main([str(left), str(right), "--out", str(out), "--review", str(review)]) == 0
    rows = list(csv.reader(out.open(encoding="utf-8")))
    assert rows[0] == ["left_id", "right_id", "score"]
    assert {(r[0], r[1]) for r in rows[1:]} == {("S1", "D1"), ("S2", "D2")}
    assert all(0 < float(r[2]) <= 1 for r in rows[1:])
    head = next(csv.reader(review.open(encoding="utf-8")))
    assert head[:6] == ["left_id", "right_id", "score", "weight", "method", "reason"]
    err = capsys.readouterr().err
    assert "linkage:" in err and "links" in err


def test_unknown_and_missing_columns(files, capsys):
    tmp, left, _ = files
    bad = write(tmp / "bad.csv", ["D1,,A,B,,2010-01-01,M,1,2,3,x"], header=HEADER + ",mother")
    out = tmp / "pairs.csv"
    assert main([str(left), str(bad), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "unknown columns: mother" in err and "nothing was written" in err
    assert not out.exists()
    missing = write(tmp / "missing.csv", ["D1,,A,B,,2010-01-01,M,1,2"], header=HEADER.rsplit(",", 1)[0])
    with pytest.raises(LinkFileError, match="missing columns: settlement"):
        RegisterFile(missing)


def test_empty_files(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(LinkFileError, match="empty"):
        RegisterFile(empty)
    header_only = write(tmp_path / "header.csv", [])
    with pytest.raises(LinkFileError, match="no records"):
        list(RegisterFile(header_only))


def test_impossible_dates_named_with_line_numbers(files, capsys):
    tmp, left, _ = files
    bad = write(tmp / "bad.csv", ["D1,,Асанов,Бакыт,,2010-03-15,M,41708,41708222,",
                                  "D2,,Асанов,Бакыт,,31.04.2010,M,41708,41708222,",
                                  "D3,,Асанов,Бакыт,,15/03/2010x,M,41708,41708222,",
                                  "D4,,Асанов,Бакыт,,2010-03-15,Q,41708,41708222,"])
    out = tmp / "pairs.csv"
    assert main([str(left), str(bad), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "line 3: birth_date: the birth date is not a real date ('31.04.2010')" in err
    assert "line 4: birth_date" in err and "line 5: sex" in err
    assert not out.exists()


def test_duplicate_ids_and_ragged_rows(tmp_path):
    bad = write(tmp_path / "bad.csv", ["D1,,A,B,,2010-03-15,M,1,2,3", "D1,,A,B,,2010-03-15,M,1,2,3", "D2,,A,B"])
    with pytest.raises(LinkFileError) as err:
        list(RegisterFile(bad))
    assert [(p[0], p[1], p[2]) for p in err.value.problems] == [(3, "id", "duplicate"), (4, "row", "cells")]


def test_cp1251_is_detected_and_read(files, capsys):
    tmp, left, _ = files
    legacy = write(tmp / "legacy.csv", ["D9,,Асанова,Айгуль,Асановна,20.05.2012,F,41708,41708222,41708222001"],
                   encoding="cp1251")
    out = tmp / "pairs.csv"
    assert main([str(left), str(legacy), "--out", str(out)]) == 0
    assert "Windows-1251" in capsys.readouterr().err
    assert [r[:2] for r in csv.reader(out.open(encoding="utf-8"))][1:] == [["S2", "D9"]]


def test_not_text(tmp_path):
    binary = tmp_path / "x.csv"
    binary.write_bytes(bytes(range(256)) * 10)
    with pytest.raises(LinkFileError, match="neither UTF-8 nor Windows-1251"):
        RegisterFile(binary)


def test_parallel_scan_gives_the_same_links(tmp_path):
    left = write(tmp_path / "left.csv", roster(15_000))
    rows = roster(15_000)[::50]
    right = write(tmp_path / "right.csv", [r.replace("S", "D", 1) for r in rows])
    reg = RegisterFile(left)
    parts = reg.split(2)
    assert parts is not None and len(parts) == 2
    assert sum(1 for p in parts for _ in p) == 15_000
    one = link(RegisterFile(left), RegisterFile(right), LinkConfig(workers=1))
    two = link(RegisterFile(left), RegisterFile(right), LinkConfig(workers=2))
    assert {(p.left_id, p.right_id) for p in one.links} == {(p.left_id, p.right_id) for p in two.links}
    assert one.stats["candidate_pairs"] == two.stats["candidate_pairs"]
    assert len(one.links) == 300


def test_quoted_files_are_not_split(tmp_path):
    left = write(tmp_path / "left.csv", roster(12_000) + ['S99999,,"Асанов, мл.",Бакыт,,2010-03-15,M,41708,41708222,'])
    assert RegisterFile(left).split(2) is None
