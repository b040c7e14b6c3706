"""The instrument files: each validates, says what cfm.md says, is complete in ky/ru/en; bad files are
refused with a clear message; a new questionnaire is a new file, not new code."""

import copy
import json
import re
import shutil

import pytest

from birge.screening.engine import (
    INSTRUMENTS_DIR, LANGUAGES, InstrumentError, Registry, Text, UnknownInstrument, all_instruments,
    load_instrument, load_instrument_file, map_import_codes, score, visible_items,
)

CODES = ["cfm-2-4", "cfm-5-17", "wg-ss"]


# --------------------------------------------------------------------------- the shipped files

def test_every_file_validates():
    assert [i.code for i in all_instruments()] == CODES
    assert sorted(p.stem for p in INSTRUMENTS_DIR.glob("*.json")) == sorted(CODES)
    for code in CODES:
        assert load_instrument_file(INSTRUMENTS_DIR / f"{code}.json").code == code


def test_cached():
    assert load_instrument("cfm-2-4") is load_instrument("cfm-2-4")


@pytest.mark.parametrize("code", ["cfm-2-4 ", "CFM-2-4", "cfm-tv", "../wg-ss", "", None])
def test_unknown_code(code):
    with pytest.raises(UnknownInstrument):
        load_instrument(code)


def test_cfm_2_4_matches_cfm_md():
    i = load_instrument("cfm-2-4")
    assert (i.min_age, i.max_age, i.respondent, i.age_routing) == (2, 4, "parent", True)
    assert i.item_codes == tuple(f"CF{n}" for n in range(1, 17))
    assert i.domain_codes == ("seeing", "hearing", "walking", "fine_motor", "communication", "learning", "playing",
                              "controlling_behaviour")
    assert {c for c in i.item_codes if i.item(c).scale.code == "yes_no"} == {"CF1", "CF4", "CF7"}
    assert i.item("CF16").scale.code == "behaviour"
    assert [o.code for o in i.item("CF8").options] == [
        "some_difficulty", "a_lot_of_difficulty", "cannot_do_at_all", "dont_know", "refused"]
    assert i.domain("walking").items == ("CF7", "CF8", "CF10")  # CF9 (with equipment) is never read


def test_cfm_5_17_matches_cfm_md():
    i = load_instrument("cfm-5-17")
    assert (i.min_age, i.max_age, i.respondent, i.age_routing) == (5, 17, "parent", True)
    assert i.item_codes == tuple(f"CF{n}" for n in range(1, 25))
    assert len(i.domains) == 13  # 12 domains, 13 indicators (anxiety and depression)
    assert i.item("CF23").scale.code == i.item("CF24").scale.code == "frequency"
    assert i.domain("walking").items == ("CF7", "CF8", "CF9", "CF12", "CF13")  # CF10, CF11 never read
    scales = {i.item(f"CF{n}").scale.code for n in (2, 3, 5, 6, *range(8, 23))}
    assert scales == {"difficulty"}


def test_wg_ss_matches_cfm_md():
    i = load_instrument("wg-ss")
    assert (i.min_age, i.max_age, i.respondent) == (18, None, "self")
    assert i.item_codes == ("seeing", "hearing", "walking", "cognition", "self_care", "communication")
    assert i.result_names == ("disability_1", "disability_2", "disability_3", "disability_4",
                              "functional_difficulty")


def test_answer_values_are_cfm_md_codes():
    expected = {
        "difficulty": ["no_difficulty", "some_difficulty", "a_lot_of_difficulty", "cannot_do_at_all"],
        "yes_no": ["yes", "no"],
        "behaviour": ["not_at_all", "same_or_less", "more", "a_lot_more"],
        "frequency": ["daily", "weekly", "monthly", "few_times_a_year", "never"],
    }
    for instrument in all_instruments():
        assert [o.code for o in instrument.non_response] == ["dont_know", "refused"]
        for scale in instrument.scales.values():
            assert [o.code for o in scale.options] == expected[scale.code]
            if scale.code == "difficulty":
                assert scale.severe == {"a_lot_of_difficulty", "cannot_do_at_all"}


def test_behaviour_codes_are_what_cfm_md_states():
    scale = load_instrument("cfm-2-4").scales["behaviour"]
    assert dict(scale.codes["cfm"]) == {"4": "a_lot_more"}
    assert dict(scale.codes["mics6"]) == {"4": "more", "5": "a_lot_more"}


# --------------------------------------------------------------------------- translations

def texts(instrument):
    """Every user-facing text of an instrument, with where it is."""
    yield "title", instrument.title
    yield "description", instrument.description
    for scale in instrument.scales.values():
        for option in scale.options:
            yield f"{scale.code}.{option.code}", option.label
    for option in instrument.non_response:
        yield f"non_response.{option.code}", option.label
    for item in instrument.items:
        yield item.code, item.text
        if item.hint:
            yield f"{item.code}.hint", item.hint
    for domain in instrument.domains:
        yield f"domain {domain.code}", domain.label


@pytest.mark.parametrize("code", CODES)
def test_every_text_in_ky_ru_en(code):
    instrument = load_instrument(code)
    found = list(texts(instrument))
    assert len(found) > 10
    for where, text in found:
        for lang in LANGUAGES:
            value = text.get(lang)
            assert value and value == value.strip(), (where, lang)
        assert not re.search(r"[A-Za-z]", text.ky.replace("ПМПК", "")), (where, "Latin letters in ky")
        assert not re.search(r"[A-Za-z]", text.ru), (where, "Latin letters in ru")
        assert not re.search(r"[ңөүҢӨҮ]", text.ru), (where, "Kyrgyz letters in ru")
        assert not re.search(r"[А-Яа-яЁёңөүҢӨҮ]", text.en), (where, "Cyrillic in en")
    for item in instrument.items:
        assert item.text.ky != item.text.ru, item.code
        assert item.text.en.endswith("?") and item.text.ru.endswith("?") and item.text.ky.endswith("?"), item.code
    assert re.search(r"[ңөү]", " ".join(t.ky for _, t in found)), "Kyrgyz without ң ө ү"


def test_text_follows_the_language():
    text = Text(ky="Көрүү", ru="Зрение", en="Seeing")
    assert text.get("ru") == "Зрение"
    assert text.get("en-gb") == "Seeing"
    assert text.get("de") == "Көрүү"  # Kyrgyz first
    item = load_instrument("cfm-2-4").item("CF1")
    assert item.choices("ru") == [("yes", "Да"), ("no", "Нет"), ("dont_know", "Не знаю"),
                                  ("refused", "Отказ от ответа")]


# --------------------------------------------------------------------------- a new questionnaire is data

def toy_teacher():
    """A made-up teacher-reported questionnaire (not the real CFM-TV wording)."""
    t = {"ky": "Текст", "ru": "Текст", "en": "Text"}
    return {
        "format": 1,
        "code": "cfm-tv-toy",
        "title": {"ky": "Мугалимдин суроолору (сынак)", "ru": "Вопросы для учителя (проба)",
                  "en": "Teacher questions (toy)"},
        "description": t,
        "ages": {"min": 5, "max": 17},
        "respondent": "teacher",
        "import_sources": {"census": "A school census coding."},
        "scales": {
            "yes_no": {"options": [{"code": "yes", "label": {"ky": "Ооба", "ru": "Да", "en": "Yes"}},
                                   {"code": "no", "label": {"ky": "Жок", "ru": "Нет", "en": "No"}}],
                       "codes": {"census": {"1": "yes", "0": "no"}}},
            "difficulty": {
                "options": [{"code": c, "label": t} for c in
                            ("no_difficulty", "some_difficulty", "a_lot_of_difficulty", "cannot_do_at_all")],
                "severe": ["a_lot_of_difficulty", "cannot_do_at_all"],
                "codes": {"census": {"1": "no_difficulty", "2": "some_difficulty", "3": "a_lot_of_difficulty",
                                     "4": "cannot_do_at_all"}}},
            "frequency": {"options": [{"code": c, "label": t} for c in ("often", "sometimes", "never")]},
        },
        "non_response": {"options": [{"code": "dont_know", "label": t}], "codes": {"census": {"9": "dont_know"}}},
        "domains": [
            {"code": "seeing", "label": t,
             "rule": {"if": {"eq": ["T1", "yes"]}, "then": {"sev": "T2"}, "else": {"sev": "T3"}}},
            {"code": "reading", "label": t, "rule": {"sev": "T4"}},
            {"code": "attention", "label": t, "rule": {"in": ["T5", ["often"]]}},
        ],
        "items": [
            {"code": "T1", "text": t, "scale": "yes_no", "domain": "seeing"},
            {"code": "T2", "text": t, "scale": "difficulty", "domain": "seeing", "shown_if": {"eq": ["T1", "yes"]}},
            {"code": "T3", "text": t, "scale": "difficulty", "domain": "seeing", "shown_if": {"eq": ["T1", "no"]}},
            {"code": "T4", "text": t, "scale": "difficulty", "domain": "reading",
             "hint": {"ky": "Кеңеш", "ru": "Подсказка", "en": "Hint"}},
            {"code": "T5", "text": t, "scale": "frequency", "domain": "attention", "required": False},
        ],
        "results": {"learning_support": {"any": [{"domain": "reading"}, {"domain": "attention"}]}},
    }


def write(directory, data, name=None):
    path = directory / f"{name or data['code']}.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def test_new_instrument_file_needs_no_code(tmp_path):
    write(tmp_path, toy_teacher())
    registry = Registry(tmp_path)
    toy = registry.get("cfm-tv-toy")
    assert registry.get("cfm-tv-toy") is toy
    assert [i.code for i in visible_items(toy, {"T1": "no"})] == ["T1", "T3", "T4", "T5"]
    r = score(toy, {"T1": "no", "T2": "cannot_do_at_all", "T3": "some_difficulty", "T4": "no_difficulty"})
    assert r.domains == {"seeing": False, "reading": False, "attention": None}
    assert r.functional_difficulty is None  # default rule: any domain
    assert r.missing == ()  # T5 is optional
    r = score(toy, {"T1": "yes", "T2": "some_difficulty", "T4": "no_difficulty", "T5": "often"})
    assert r.as_api() == {"domains": {"seeing": False, "reading": False, "attention": True},
                          "learning_support": True, "functional_difficulty": True, "domain_count": 1}
    assert map_import_codes(toy, "census", {"T1": 0, "T3": 3, "T4": 9}) == {
        "T1": "no", "T3": "a_lot_of_difficulty", "T4": "dont_know"}
    assert registry.for_age(9) is None  # not routed by age
    assert registry.for_age(9, respondent="teacher") is toy


def test_new_instrument_beside_the_shipped_ones(tmp_path):
    for path in INSTRUMENTS_DIR.glob("*.json"):
        shutil.copy(path, tmp_path)
    write(tmp_path, toy_teacher())
    registry = Registry(tmp_path)
    assert [i.code for i in registry.all()] == ["cfm-2-4", "cfm-5-17", "cfm-tv-toy", "wg-ss"]
    assert registry.for_age(9).code == "cfm-5-17"
    assert registry.for_age(9, respondent="teacher").code == "cfm-tv-toy"
    assert registry.for_age(9, respondent="parent").code == "cfm-5-17"
    # Two instruments routed by age for the same ages is a configuration error.
    write(tmp_path, {**toy_teacher(), "age_routing": True})
    registry = Registry(tmp_path)
    with pytest.raises(InstrumentError, match="routed by age"):
        registry.for_age(9)


# --------------------------------------------------------------------------- bad files are refused clearly

def broken(change):
    data = toy_teacher()
    change(data)
    return data


def item(data, code):
    return next(i for i in data["items"] if i["code"] == code)


BAD = {
    "unknown scale": (lambda d: item(d, "T4").update(scale="dificulty"), r"T4.*unknown scale 'dificulty'"),
    "rule reads a missing item": (lambda d: d["domains"][1].update(rule={"sev": "T9"}),
                                  r"domains \(reading\)\.rule\.sev: unknown item 'T9'"),
    "skip reads a missing item": (lambda d: item(d, "T2").update(shown_if={"eq": ["T0", "yes"]}),
                                  r"T2.*shown_if\.eq: unknown item 'T0'"),
    "skip reads a later item": (lambda d: item(d, "T2").update(shown_if={"eq": ["T3", "no_difficulty"]}),
                                r"T2.*unknown item 'T3'.*earlier"),
    "missing ru": (lambda d: item(d, "T3").update(text={"ky": "Суроо", "en": "Question"}),
                   r"T3.*text: missing translation 'ru'"),
    "empty en": (lambda d: d["domains"][0].update(label={"ky": "Көрүү", "ru": "Зрение", "en": " "}),
                 r"seeing.*label.*missing translation 'en'"),
    "unknown language": (lambda d: d["title"].update(kg="Аталыш"), r"title.*unknown key.*kg"),
    "missing option label": (lambda d: d["scales"]["yes_no"]["options"][0]["label"].pop("ky"),
                             r"scales\.yes_no\.options\[0\].*missing translation 'ky'"),
    "duplicate item": (lambda d: d["items"].append(dict(item(d, "T4"))), r"T4.*duplicate item"),
    "duplicate option": (
        lambda d: d["scales"]["frequency"]["options"].append({"code": "never", "label": d["description"]}),
        r"duplicate option 'never'"),
    "unknown operator": (lambda d: d["domains"][1].update(rule={"severe": "T4"}), r"unknown operator 'severe'"),
    "two operators": (lambda d: d["domains"][1].update(rule={"sev": "T4", "not": {"sev": "T4"}}), r"one operator"),
    "sev on a scale without severe": (lambda d: d["domains"][2].update(rule={"sev": "T5"}),
                                      r"scale 'frequency' of T5 defines no 'severe'"),
    "value not in the scale": (lambda d: d["domains"][2].update(rule={"in": ["T5", ["daily"]]}),
                               r"'daily' is not an answer to T5"),
    "non-response tested": (lambda d: d["domains"][2].update(rule={"eq": ["T5", "dont_know"]}), r"non-response"),
    "empty any": (lambda d: d["domains"][2].update(rule={"any": []}), r"non-empty list"),
    "bad if": (lambda d: d["domains"][0]["rule"].pop("else"), r"'if' needs"),
    "item rule reads a domain": (lambda d: d["domains"][2].update(rule={"domain": "reading"}),
                                 r"domains can be read only by results"),
    "unknown domain on item": (lambda d: item(d, "T4").update(domain="writing"), r"unknown domain 'writing'"),
    "result reads unknown domain": (lambda d: d["results"].update(x={"domain": "maths"}), r"unknown domain 'maths'"),
    "results cycle": (lambda d: d["results"].update(a={"result": "b"}, b={"not": {"result": "a"}}), r"cycle"),
    "reserved result": (lambda d: d["results"].update(domain_count={"domain": "reading"}), r"reserved"),
    "narrowed options not in scale": (lambda d: item(d, "T4").update(options=["often"]), r"T4.*options"),
    "unknown key (typo)": (lambda d: item(d, "T4").update(shownif={"eq": ["T1", "yes"]}), r"unknown key.*shownif"),
    "missing key": (lambda d: d.pop("respondent"), r"missing respondent"),
    "bad respondent": (lambda d: d.update(respondent="doctor"), r"respondent.*doctor"),
    "bad ages": (lambda d: d.update(ages={"min": 10, "max": 5}), r"ages\.max"),
    "format": (lambda d: d.update(format=2), r"unsupported format"),
    "import code with a leading zero": (lambda d: d["scales"]["yes_no"]["codes"]["census"].update({"01": "yes"}),
                                        r"'01' is not a whole number"),
    "import code to an unknown answer": (lambda d: d["scales"]["yes_no"]["codes"]["census"].update({"2": "maybe"}),
                                         r"unknown answer 'maybe'"),
    "undeclared source": (lambda d: d["scales"]["yes_no"]["codes"].update(mics6={"1": "yes"}),
                          r"mics6.*not declared"),
    "code clashes with non-response": (lambda d: d["scales"]["yes_no"]["codes"]["census"].update({"9": "yes"}),
                                       r"also mean a non-response"),
    "option named like a non-response": (
        lambda d: d["scales"]["frequency"]["options"].append({"code": "dont_know", "label": d["description"]}),
        r"already non-response"),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_file_is_refused_with_a_clear_message(tmp_path, case):
    change, message = BAD[case]
    path = write(tmp_path, broken(change))
    with pytest.raises(InstrumentError, match=message) as caught:
        load_instrument_file(path)
    assert str(caught.value).startswith("cfm-tv-toy.json: ")


def test_code_must_match_file_name(tmp_path):
    path = write(tmp_path, toy_teacher(), name="teacher")
    with pytest.raises(InstrumentError, match="does not match the file name"):
        load_instrument_file(path)


def test_duplicate_json_keys_refused(tmp_path):
    path = tmp_path / "dup.json"
    path.write_text('{"code": "dup", "code": "dup"}', encoding="utf-8")
    with pytest.raises(InstrumentError, match="duplicate key 'code'"):
        load_instrument_file(path)


def test_not_json(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text("{", encoding="utf-8")
    with pytest.raises(InstrumentError, match="bad.json: cannot read"):
        load_instrument_file(path)


def test_shipped_files_survive_a_round_trip(tmp_path):
    # as_dict() gives the file's content back, so an API can publish the definition.
    for code in CODES:
        data = load_instrument(code).as_dict()
        assert data == json.loads((INSTRUMENTS_DIR / f"{code}.json").read_text(encoding="utf-8"))
        copy_ = copy.deepcopy(data)
        assert load_instrument_file(write(tmp_path, copy_)).item_codes == load_instrument(code).item_codes
