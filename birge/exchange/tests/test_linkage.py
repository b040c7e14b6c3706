"""Record linkage engine on small hand-made registers (all names and PINs synthetic)."""

import datetime as dt

import pytest

from birge.exchange.linkage import FIELDS, LinkConfig, LinkInputError, link
from birge.exchange.linkage.compare import compare, unpack
from birge.exchange.linkage.records import prepare

FILLER_GIVEN = ["Нурлан", "Бермет", "Талант", "Чолпон", "Эрмек", "Асел", "Мирлан", "Жылдыз", "Улан", "Мээрим"]
FILLER_FATHER = ["Сагын", "Курман", "Осмон", "Садыр", "Темир", "Жапар", "Мамбет", "Ормон"]


def rec(id, pin="", last="", first="", patronymic="", birth_date="", sex="", region="41708", district="41708222",
        settlement="41708222001"):
    return dict(zip(FIELDS, (id, pin, last, first, patronymic, birth_date, sex, region, district, settlement)))


def filler(n=60, prefix="F"):
    """Other children of the same district: different names and dates, no PIN."""
    out = []
    for i in range(n):
        father = FILLER_FATHER[i % len(FILLER_FATHER)]
        first = FILLER_GIVEN[(i * 3) % len(FILLER_GIVEN)]
        day = dt.date(2008, 1, 1) + dt.timedelta(days=37 * i + 5)
        out.append(rec(f"{prefix}{i}", "", f"{father}ов", first, f"{father}ович", day.isoformat(), "M" if i % 2 else "F"))
    return out


def run(left, right, **cfg):
    return link(filler() + left, right, LinkConfig(**cfg))


def linked(result):
    return {(p.left_id, p.right_id) for p in result.links}


def test_exact_pin_link_across_scripts():
    left = [rec("L1", "21503201012345", "Жээнбеков", "Сооронбай", "Бакытович", "2010-03-15", "M")]
    right = [rec("R1", "21503201012345", "Zheenbekov", "Sooronbay", "", "15.03.2010", "M", district="41708203",
                 settlement="")]
    res = run(left, right)
    assert linked(res) == {("L1", "R1")}
    (pair,) = res.links
    assert pair.method == "pin" and pair.status == "link" and pair.score > 0.99
    assert dict((n, lvl) for n, lvl, _ in pair.fields)["pin"] == "equal"
    assert set(pair.field_scores) == {"pin", "first_name", "father", "family", "birth_date", "sex", "territory"}


def test_pin_that_disagrees_with_birth_date_is_not_an_exact_link():
    # the PIN says 15.03.2010 but the right record says 16.03.2010: probabilistic, still linked on the evidence
    left = [rec("L1", "21503201012345", "Асанов", "Бакыт", "Асанович", "2010-03-15", "M")]
    right = [rec("R1", "21503201012345", "Асанов", "Бакыт", "Асанович", "16.03.2010", "M")]
    res = run(left, right)
    assert linked(res) == {("L1", "R1")}
    assert res.links[0].method == "probabilistic"


def test_folded_names_across_scripts_and_naming_forms_without_pin():
    left = [rec("L1", "", "Асанов", "Айгүл", "Асановна", "2012-05-20", "F"),
            rec("L2", "", "Жээнбеков", "Өмүрбек", "Сооронбаевич", "2009-11-02", "M")]
    right = [rec("R1", "", "Asan kyzy", "Aigul", "", "20.05.2012", "F"),
             rec("R2", "", "СООРОНБАЙ УУЛУ", "ОМУРБЕК", "", "02.11.2009", "M")]
    res = run(left, right)
    assert linked(res) == {("L1", "R1"), ("L2", "R2")}
    assert all(p.method == "probabilistic" for p in res.links)


def test_homoglyphs_and_legacy_letters():
    left = [rec("L1", "", "Токтогулова", "Мөлдир", "Эсеновна", "2011-07-09", "F")]
    right = [rec("R1", "", "Тoктoгулова", "Молдир", "Эсеновна", "09.07.2011", "F")]  # Latin o's, о for ө
    assert linked(run(left, right)) == {("L1", "R1")}


def test_day_month_swap_links():
    left = [rec("L1", "", "Мамбетов", "Нурбек", "Мамбетович", "2010-04-07", "M")]
    right = [rec("R1", "", "Мамбетов", "Нурбек", "Мамбетович", "04.07.2010", "M")]  # 4 July instead of 7 April
    res = run(left, right)
    assert linked(res) == {("L1", "R1")}
    assert dict((n, lvl) for n, lvl, _ in res.links[0].fields)["birth_date"] == "day and month swapped"


def test_twin_without_pin_goes_to_review_not_linked():
    # Айдар is on the school roster; his twin brother Айбек (disability register) is not.
    left = [rec("L1", "", "Осмонов", "Айдар", "Осмонович", "2015-02-10", "M")]
    right = [rec("R1", "", "Осмонов", "Айбек", "Осмонович", "10.02.2015", "M")]
    res = run(left, right)
    assert linked(res) == set()
    assert [(p.left_id, p.right_id, p.reason) for p in res.review] == [("L1", "R1", "different first names")]


def test_twins_both_present_each_finds_their_own():
    left = [rec("L1", "", "Осмонов", "Айдар", "Осмонович", "2015-02-10", "M"),
            rec("L2", "", "Осмонов", "Айбек", "Осмонович", "2015-02-10", "M")]
    right = [rec("R1", "", "Осмон уулу", "Айбек", "", "10.02.2015", "M")]
    assert linked(run(left, right)) == {("L2", "R1")}


def test_conflicting_valid_pins_are_not_linked():
    left = [rec("L1", "21503201012345", "Асанов", "Бакыт", "Асанович", "2010-03-15", "M")]
    right = [rec("R1", "21503201098765", "Асанов", "Бакыт", "Асанович", "15.03.2010", "M")]
    res = run(left, right)
    assert linked(res) == set()
    assert [p.reason for p in res.review] == ["different valid PINs"]


def test_one_to_one():
    # two RIGHT records of the same child (entered twice) compete for one LEFT record
    left = [rec("L1", "", "Садыров", "Эрмек", "Садырович", "2013-08-21", "M")]
    right = [rec("R1", "", "Садыров", "Эрмек", "Садырович", "21.08.2013", "M"),
             rec("R2", "", "Sadyrov", "Ermek", "", "21.08.2013", "M", settlement="")]
    res = run(left, right)
    assert linked(res) == {("L1", "R1")}
    rights = [p.right_id for p in res.links]
    lefts = [p.left_id for p in res.links]
    assert len(rights) == len(set(rights)) and len(lefts) == len(set(lefts))


def test_unrelated_people_are_not_linked():
    left = [rec("L1", "", "Курманов", "Талант", "Курманович", "2010-01-05", "M")]
    right = [rec("R1", "", "Жапарова", "Айпери", "Жапаровна", "12.09.2014", "F", district="41702200")]
    res = run(left, right)
    assert linked(res) == set() and res.review == []


def test_thresholds_configurable():
    left = [rec("L1", "", "Асанов", "Айгүл", "", "2012-05-20", "F", district="41702200", settlement="")]
    right = [rec("R1", "", "Асанова", "Айгүл", "", "20.05.2012", "F")]
    strict = run(left, right, link_threshold=0.999999, review_threshold=0.01)
    assert linked(strict) == set() and [p.right_id for p in strict.review] == ["R1"]
    with pytest.raises(ValueError):
        LinkConfig(link_threshold=0.3, review_threshold=0.5)


def test_progress_callback_and_stats():
    seen = []
    res = link(filler(), [rec("R1", "", "Асанов", "Бакыт", "", "2010-01-01", "M")],
               progress=lambda stage, done, total: seen.append(stage))
    assert {"index", "compare", "train", "done"} <= set(seen)
    assert res.stats["left_records"] == 60 and res.stats["right_records"] == 1


def test_inputs_as_tuples_and_prepared_records():
    left = [tuple(rec("L1", "", "Асанов", "Бакыт", "Асанович", "2010-03-15", "M").values())]
    right = [prepare(*rec("R1", "", "Asanov", "Bakyt", "Asanovich", "15.03.2010", "M").values())]
    res = link(filler() + left, right)
    assert linked(res) == {("L1", "R1")}


def test_bad_values_are_reported_with_position():
    right = [rec("R1", birth_date="31.04.2010"), rec("R2", sex="X"), rec("R3", birth_date="2010/13/01")]
    with pytest.raises(LinkInputError) as err:
        link(filler(), right)
    assert err.value.side == "right"
    assert err.value.problems == [(1, "birth_date", "impossible"), (2, "sex", "unknown"), (3, "birth_date", "format")]


def test_comparison_levels():
    a = prepare(*rec("a", "21503201012345", "Асанов", "Бакыт", "Асанович", "2010-03-15", "M").values())
    b = prepare(*rec("b", "21503201012354", "Asan uulu", "Bakyt", "", "15.03.2010", "M").values())
    pin, given, father, family, dob, sex, terr = unpack(compare(a, b))
    assert (pin, given, father, family, dob, sex, terr) == (2, 1, 1, 0, 1, 1, 1)
    # Азамат / Азаматжан are different names, not a typo
    c = prepare(*rec("c", "", "", "Азаматжан", "", "2010-03-15", "M").values())
    d = prepare(*rec("d", "", "", "Азамат", "", "2010-03-15", "M").values())
    assert unpack(compare(c, d))[1] in (3, 4)


class _Frame:
    """The two things a DataFrame offers that link() uses: columns and to_dict("records")."""

    def __init__(self, rows):
        self.rows = rows
        self.columns = list(rows[0])

    def to_dict(self, orient):
        assert orient == "records"
        return list(self.rows)


def test_dataframe_input():
    left = _Frame(filler() + [rec("L1", "", "Асанов", "Бакыт", "Асанович", dt.date(2010, 3, 15), "M")])
    right = _Frame([rec("R1", "", "Асан уулу", "Бакыт", "", "15.03.2010", "M")])
    assert linked(link(left, right)) == {("L1", "R1")}
    with pytest.raises(LinkInputError, match="missing column"):
        link(_Frame([{"id": "x"}]), right)


def test_common_names_do_not_hide_review_pairs():
    """Name-frequency adjustments below zero apply only to agreeing names: a pair whose given names differ
    is still scored (regression: in a small register every name is "common" and such pairs were dropped)."""
    base = dict(pin="", last_name="Осмонов", patronymic="Осмонович", birth_date="2012-02-10", sex="M", region="41708",
                district="41708222", settlement="")
    left = [dict(base, id="L1", first_name="Эрлан"), dict(base, id="L2", first_name="Нурбек")]
    right = [dict(base, id="R1", first_name="Эркин")]
    result = link(left, right, LinkConfig(review_threshold=0.3))
    assert not result.links
    assert {(p.left_id, p.reason) for p in result.review} == {("L1", "different first names"), ("L2", "different first names")}
