"""Finding a learner from any spelling, through the folded search key (never icontains on raw names)."""

import datetime as dt

import pytest

from birge.learners import services
from birge.learners.models import Learner

PEOPLE = {
    "russian": ("Асанов", "Бакыт", "Асанович", "male"),
    "kyrgyz": ("", "Бакыт", "Асан уулу", "male"),
    "daughter": ("", "Бакыт", "Асан кызы", "female"),
    "jeenbekov": ("Жээнбеков", "Сооронбай", "", "male"),
    "aigul": ("Өмүрбекова", "Айгүл", "Токтогуловна", "female"),
    "chyngyz": ("Ормонов", "Чыңгыз", "", "male"),
    "ivanova": ("Иванова", "Мария", "Сергеевна", "female"),
}


@pytest.fixture
def people(reference):
    from birge.core.models import Territory

    territory = Territory.objects.get(code="41708222000000")
    out = {}
    for i, (tag, (last, first, patr, sex)) in enumerate(PEOPLE.items()):
        out[tag] = Learner.objects.create(last_name=last, first_name=first, patronymic=patr, sex=sex,
                                          birth_date=dt.date(2014, 1, 1 + i), territory=territory)
    return out


def found(query):
    return {lr.pk for lr in services.search(Learner.objects.all(), query)}


@pytest.mark.parametrize("query, tags", [
    ("Жээнбеков Сооронбай", {"jeenbekov"}),
    ("Jeenbekov Sooronbai", {"jeenbekov"}),
    ("Zheenbekov Sooronbay", {"jeenbekov"}),
    ("Жеенбеков", {"jeenbekov"}),
    ("Айгүл", {"aigul"}),
    ("Айгуль", {"aigul"}),
    ("Aigul", {"aigul"}),
    ("Aygül", {"aigul"}),
    ("Омурбекова", {"aigul"}),
    ("Omurbekova Aigul", {"aigul"}),
    ("Oemuerbekova", {"aigul"}),
    ("Чынгыз", {"chyngyz"}),
    ("Chyngyz Ormonov", {"chyngyz"}),
    ("Ormon", {"chyngyz"}),
    ("Мария Иванова", {"ivanova"}),
    ("Mariya Ivanova", {"ivanova"}),
    ("Айг", {"aigul"}),  # partial input
    ("Жээн", {"jeenbekov"}),
    ("Zh", {"jeenbekov"}),  # a half-typed digraph still matches
])
def test_spellings(people, query, tags):
    assert found(query) == {people[t].pk for t in tags}


def test_either_naming_form_finds_both(people):
    both = {people["russian"].pk, people["kyrgyz"].pk}
    assert found("Асанов Бакыт Асанович") >= both
    assert found("Бакыт Асан уулу") == both  # уулу: sons only
    assert found("Bakyt Asan uulu") == both


def test_relationship_word_separates_son_and_daughter(people):
    assert found("Асан кызы Бакыт") == {people["daughter"].pk}
    assert people["daughter"].pk not in found("Асан уулу Бакыт")


def test_mixed_script_homoglyphs(people):
    # Latin "o" and "a" typed inside a Cyrillic word.
    assert found("Ормoнoв") == {people["chyngyz"].pk}
    assert found("Aсанов") >= {people["russian"].pk}


def test_pin_prefix(reference):
    from birge.core.models import Territory

    learner = Learner.objects.create(pin="21503201512345", first_name="Бакыт", birth_date=dt.date(2015, 3, 15), sex="male",
                                     territory=Territory.objects.get(code="41708222000000"))
    assert found("2150320") == {learner.pk}
    assert found("2 1503 2015") == {learner.pk}
    assert found("1111") == set()


def test_search_never_uses_icontains_on_names(people):
    sql = str(services.search(Learner.objects.all(), "Айгүл").query)
    assert "search_key" in sql and "first_name\" LIKE" not in sql
