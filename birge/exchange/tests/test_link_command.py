"""``birge link LEFT.csv RIGHT.csv --out PAIRS.csv [--review REVIEW.csv]``: the named contract.

Through ``call_command``, and as a person runs it: ``python -m birge link`` and the ``birge``
console script. Synthetic data only.
"""

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from .test_linkage_cli import HEADER, roster, write

ROOT = Path(__file__).resolve().parents[3]
BIRGE = Path(sys.executable).with_name("birge")


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def files(tmp_path):
    left = write(tmp_path / "left.csv", [
        "S1,21503201012345,Жээнбеков,Сооронбай,Бакытович,2010-03-15,M,Чүй,Сокулук,Жаны-Жер",
        "S2,,Асанова,Айгүл,Асановна,2012-05-20,F,Чүй,Сокулук,Жаны-Жер",
        "S3,,Осмонов,Бакыт,Осмонович,2011-02-10,M,Чүй,Сокулук,Жаны-Жер",
        "S4,,Осмонов,Нурбек,Осмонович,2011-02-10,M,Чүй,Сокулук,Жаны-Жер",
    ] + roster(300, "T"))
    right = write(tmp_path / "right.csv", [
        "D1,21503201012345,Zheenbekov,Sooronbay,,15.03.2010,M,Chuy,Sokuluk,",
        "D2,,Asan kyzy,Aigul,,20.05.2012,F,Chuy,Sokuluk,Jany-Jer",
        "D3,,Осмонов,Эрлан,Осмонович,2011-02-10,M,Чүй,Сокулук,Жаны-Жер",
        "D4,,Ормонов,Нурсултан,,2009-09-09,M,Нарын,Ат-Башы,",
    ])
    return tmp_path, left, right


def _pairs(path):
    rows = list(csv.reader(path.open(encoding="utf-8")))
    return rows[0], rows[1:]


def test_command_writes_linked_pairs_one_to_one(files):
    tmp, left, right = files
    out, review = tmp / "pairs.csv", tmp / "review.csv"
    err = io.StringIO()
    call_command("link", str(left), str(right), "--out", str(out), "--review", str(review), stderr=err)
    head, rows = _pairs(out)
    assert head == ["left_id", "right_id", "score"]
    assert {(r[0], r[1]) for r in rows} == {("S1", "D1"), ("S2", "D2")}
    assert len({r[1] for r in rows}) == len(rows)  # one right record at most once
    assert all(0.9 <= float(r[2]) <= 1 for r in rows)
    review_head, review_rows = _pairs(review)
    assert review_head[:6] == ["left_id", "right_id", "score", "weight", "method", "reason"]
    assert "first_name_level" in review_head and "birth_date_weight" in review_head
    # The twin/sibling signature (same family, father and birth date, another given name) is never linked.
    assert "D3" not in {r[1] for r in rows}
    assert {r[1] for r in review_rows} <= {"D3"}
    assert all(0.3 <= float(r[2]) for r in review_rows)
    assert "links" in err.getvalue()  # the summary (and progress) on stderr


def test_thresholds_are_options(files):
    tmp, left, right = files
    out, review = tmp / "pairs.csv", tmp / "review.csv"
    call_command("link", str(left), str(right), "--out", str(out), "--review", str(review),
                 "--link-threshold", "1.0", "--review-threshold", "0.99", "--quiet")
    _, rows = _pairs(out)
    assert {r[1] for r in rows} == {"D1"}  # only the PIN (exact) link survives a threshold of 1


def test_thresholds_come_from_settings(files, settings):
    tmp, left, right = files
    out = tmp / "pairs.csv"
    settings.BIRGE_LINKAGE = {"link_threshold": 1.0, "review_threshold": 0.99}
    call_command("link", str(left), str(right), "--out", str(out), "--quiet")
    assert {r[1] for r in _pairs(out)[1]} == {"D1"}


def test_bad_thresholds_exit_2(files):
    tmp, left, right = files
    with pytest.raises(CommandError) as exc:
        call_command("link", str(left), str(right), "--out", str(tmp / "p.csv"), "--link-threshold", "0.2",
                     "--review-threshold", "0.5")
    assert exc.value.returncode == 2


def test_bad_header_names_file_line_and_column(files):
    tmp, left, _ = files
    bad = write(tmp / "register.csv", ["D1,,A,B,,2010-01-01,M,1,2,3,x"], header=HEADER.replace("sex", "gender") + ",mother")
    out = tmp / "pairs.csv"
    with pytest.raises(CommandError) as exc:
        call_command("link", str(left), str(bad), "--out", str(out), "--quiet")
    assert exc.value.returncode == 2
    message = str(exc.value)
    assert "register.csv" in message
    assert "line 1: header: unknown column ('mother')" in message
    assert "line 1: header: unknown column ('gender')" in message
    assert "line 1: header: missing column ('sex')" in message
    assert not out.exists()


def test_bad_rows_name_file_line_and_column(files):
    tmp, left, _ = files
    bad = write(tmp / "msek.csv", [
        "D1,,Асанов,Бакыт,,2010-01-01,M,,,",
        "D2,,Асанов,Бакыт,,31.04.2010,M,,,",
        "D3,,Асанов,Бакыт,,2010-01-01,X,,,",
        "D1,,Асанов,Бакыт,,2010-01-01,M,,,",
    ])
    out, review = tmp / "pairs.csv", tmp / "review.csv"
    with pytest.raises(CommandError) as exc:
        call_command("link", str(left), str(bad), "--out", str(out), "--review", str(review), "--quiet")
    assert exc.value.returncode == 2
    message = str(exc.value)
    assert "msek.csv" in message
    assert "line 3: birth_date: the birth date is not a real date ('31.04.2010')" in message
    assert "line 4: sex: sex must be F, M or empty ('X')" in message
    assert "line 5: id: this id was already used on an earlier line ('D1')" in message
    assert not out.exists() and not review.exists()


def test_empty_and_missing_files(files):
    tmp, left, _ = files
    empty = tmp / "empty.csv"
    empty.write_text("", encoding="utf-8")
    for right in (empty, tmp / "nowhere.csv"):
        with pytest.raises(CommandError) as exc:
            call_command("link", str(left), str(right), "--out", str(tmp / "p.csv"), "--quiet")
        assert exc.value.returncode == 2
        assert right.name in str(exc.value)


def test_cp1251_file_is_read_and_reported(files):
    tmp, left, _ = files
    right = write(tmp / "old.csv", ["D2,,Асанова,Айгуль,Асановна,20.05.2012,F,,,"], encoding="cp1251")
    out = tmp / "pairs.csv"
    err = io.StringIO()
    call_command("link", str(left), str(right), "--out", str(out), stderr=err)
    assert "Windows-1251" in err.getvalue()
    assert {(r[0], r[1]) for r in _pairs(out)[1]} == {("S2", "D2")}


def _env():
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update({"DJANGO_SETTINGS_MODULE": "birge.settings", "LANG": "C.UTF-8"})
    return env


@pytest.mark.parametrize("how", ["python -m birge", "birge"])
def test_console_entry(files, how):
    tmp, left, right = files
    out = tmp / f"pairs-{how.replace(' ', '-')}.csv"
    cmd = [sys.executable, "-m", "birge"] if how != "birge" else [str(BIRGE)]
    if how == "birge" and not BIRGE.exists():
        pytest.skip("the birge console script is not installed in this environment")
    done = subprocess.run([*cmd, "link", str(left), str(right), "--out", str(out)], cwd=ROOT, env=_env(),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "linkage:" in done.stderr  # progress and summary on stderr, nothing on stdout
    assert done.stdout == ""
    assert {(r[0], r[1]) for r in _pairs(out)[1]} == {("S1", "D1"), ("S2", "D2")}

    bad = write(tmp / "bad.csv", ["D1,,A,B,,2010-02-30,M,,,"])
    done = subprocess.run([*cmd, "link", str(left), str(bad), "--out", str(tmp / "x.csv")], cwd=ROOT, env=_env(),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "bad.csv" in done.stderr and "line 2" in done.stderr and "birth_date" in done.stderr
    assert not (tmp / "x.csv").exists()
