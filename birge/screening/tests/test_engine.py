"""Scoring: every rule and trap of reference/cfm.md, the worked examples verbatim, the WG-SS identifiers.

Pure Python: no database, no settings needed, lazy messages never forced.
"""

import pytest

from birge.screening.engine import AnswerError, load_instrument, score

DIFFICULTY = ["no_difficulty", "some_difficulty", "a_lot_of_difficulty", "cannot_do_at_all"]
SEV = {"no_difficulty": False, "some_difficulty": False, "a_lot_of_difficulty": True, "cannot_do_at_all": True,
       "dont_know": None, "refused": None, None: None}

# The 2-4 "base" of cfm.md's worked examples.
BASE_2_4 = {"CF1": "no", "CF3": "no_difficulty", "CF4": "no", "CF6": "no_difficulty", "CF7": "no",
            "CF10": "no_difficulty", "CF11": "no_difficulty", "CF12": "no_difficulty", "CF13": "no_difficulty",
            "CF14": "no_difficulty", "CF15": "no_difficulty", "CF16": "not_at_all"}

# A 5-17 child with no difficulty anywhere, walking without equipment.
BASE_5_17 = {"CF1": "no", "CF3": "no_difficulty", "CF4": "no", "CF6": "no_difficulty", "CF7": "no",
             "CF12": "no_difficulty", "CF13": "no_difficulty",
             **{f"CF{n}": "no_difficulty" for n in range(14, 23)}, "CF23": "never", "CF24": "never"}

WG_KEYS = ["seeing", "hearing", "walking", "cognition", "self_care", "communication"]
WG_NONE = {k: "no_difficulty" for k in WG_KEYS}


@pytest.fixture(scope="module")
def cfm24():
    return load_instrument("cfm-2-4")


@pytest.fixture(scope="module")
def cfm517():
    return load_instrument("cfm-5-17")


@pytest.fixture(scope="module")
def wg():
    return load_instrument("wg-ss")


def with_(base, **changes):
    """The base answers with some changed; a value of None removes the answer."""
    out = {**base, **changes}
    return {k: v for k, v in out.items() if v is not None}


def only_flags(result):
    return sorted(result.flagged_domains)


# --------------------------------------------------------------------------- worked examples (verbatim)

class TestWorkedExamples:
    def test_base_no_domain_overall_no(self, cfm24):
        r = score(cfm24, BASE_2_4)
        assert only_flags(r) == []
        assert r.functional_difficulty is False
        assert r.domain_count == 0
        assert all(v is False for v in r.domains.values())

    def test_glasses_and_a_lot_of_difficulty_is_seeing(self, cfm24):
        r = score(cfm24, with_(BASE_2_4, CF1="yes", CF2="a_lot_of_difficulty"))
        assert only_flags(r) == ["seeing"]
        assert r.functional_difficulty is True

    def test_kicks_more_is_not_flagged(self, cfm24):
        r = score(cfm24, with_(BASE_2_4, CF16="more"))
        assert r.functional_difficulty is False
        assert r.domains["controlling_behaviour"] is False

    def test_kicks_a_lot_more_is_controlling_behaviour(self, cfm24):
        r = score(cfm24, with_(BASE_2_4, CF16="a_lot_more"))
        assert only_flags(r) == ["controlling_behaviour"]
        assert r.functional_difficulty is True

    def test_cannot_be_understood_is_communication(self, cfm24):
        r = score(cfm24, with_(BASE_2_4, CF13="cannot_do_at_all"))
        assert only_flags(r) == ["communication"]
        assert r.functional_difficulty is True


# --------------------------------------------------------------------------- SEV and missing answers

@pytest.mark.parametrize("value, expected", SEV.items())
def test_sev_truth_table(cfm24, value, expected):
    r = score(cfm24, with_(BASE_2_4, CF11=value))
    assert r.domains["fine_motor"] is expected


@pytest.mark.parametrize("value", ["dont_know", "refused"])
def test_non_response_is_missing_and_overall_indeterminate(cfm24, value):
    r = score(cfm24, with_(BASE_2_4, CF3=value))
    assert r.domains["seeing"] is None
    assert r.functional_difficulty is None
    assert r.missing == ("CF3",)
    assert not r.complete


@pytest.mark.parametrize("value", ["dont_know", "refused"])
def test_non_response_on_a_gate_makes_the_domain_missing(cfm24, value):
    r = score(cfm24, with_(BASE_2_4, CF1=value, CF3=None))
    assert r.domains["seeing"] is None
    assert r.functional_difficulty is None


# --------------------------------------------------------------------------- gates: only the chosen branch is read

class TestGates:
    def test_glasses_branch_reads_cf2_and_ignores_stale_cf3(self, cfm24):
        r = score(cfm24, with_(BASE_2_4, CF1="yes", CF2="no_difficulty", CF3="cannot_do_at_all"))
        assert r.domains["seeing"] is False
        assert "CF3" not in r.answers

    def test_no_glasses_branch_reads_cf3_and_ignores_stale_cf2(self, cfm24):
        r = score(cfm24, with_(BASE_2_4, CF1="no", CF2="cannot_do_at_all", CF3="some_difficulty"))
        assert r.domains["seeing"] is False
        assert r.functional_difficulty is False

    def test_glasses_branch_unanswered_is_missing_even_with_stale_cf3(self, cfm24):
        r = score(cfm24, with_(BASE_2_4, CF1="yes", CF3="no_difficulty"))
        assert r.domains["seeing"] is None
        assert r.missing == ("CF2",)

    @pytest.mark.parametrize("instrument", ["cfm-2-4", "cfm-5-17"])
    def test_hearing_aid_branch(self, instrument):
        inst = load_instrument(instrument)
        base = BASE_2_4 if instrument == "cfm-2-4" else BASE_5_17
        assert score(inst, with_(base, CF4="yes", CF5="a_lot_of_difficulty", CF6="no_difficulty")).domains[
            "hearing"] is True
        assert score(inst, with_(base, CF4="yes", CF5="some_difficulty", CF6="cannot_do_at_all")).domains[
            "hearing"] is False
        assert score(inst, with_(base, CF4="no", CF5="cannot_do_at_all", CF6="no_difficulty")).domains[
            "hearing"] is False
        assert score(inst, with_(base, CF4="no", CF6="cannot_do_at_all")).domains["hearing"] is True

    def test_seeing_at_5_17_same_rule(self, cfm517):
        assert score(cfm517, with_(BASE_5_17, CF1="yes", CF2="cannot_do_at_all")).domains["seeing"] is True
        assert score(cfm517, with_(BASE_5_17, CF1="yes", CF2="some_difficulty", CF3="cannot_do_at_all")).domains[
            "seeing"] is False
        assert score(cfm517, with_(BASE_5_17, CF3="a_lot_of_difficulty")).domains["seeing"] is True


# --------------------------------------------------------------------------- walking

class TestWalking2To4:
    def test_equipment_user_decided_without_equipment(self, cfm24):
        # CF9 (with equipment) is never used, whatever it says.
        r = score(cfm24, with_(BASE_2_4, CF7="yes", CF8="some_difficulty", CF9="cannot_do_at_all", CF10=None))
        assert r.domains["walking"] is False
        r = score(cfm24, with_(BASE_2_4, CF7="yes", CF8="a_lot_of_difficulty", CF9="no_difficulty", CF10=None))
        assert r.domains["walking"] is True

    def test_equipment_user_cf9_missing_does_not_matter(self, cfm24):
        r = score(cfm24, with_(BASE_2_4, CF7="yes", CF8="cannot_do_at_all", CF10=None))
        assert r.domains["walking"] is True
        r = score(cfm24, with_(BASE_2_4, CF7="yes", CF8="some_difficulty", CF10=None))
        assert r.domains["walking"] is False
        assert r.missing == ("CF9",)  # shown and unanswered, but not used for the score

    def test_stale_cf10_ignored_for_equipment_user(self, cfm24):
        r = score(cfm24, with_(BASE_2_4, CF7="yes", CF8="some_difficulty", CF9="some_difficulty",
                               CF10="cannot_do_at_all"))
        assert r.domains["walking"] is False

    def test_non_user_decided_by_cf10_and_stale_cf8_ignored(self, cfm24):
        r = score(cfm24, with_(BASE_2_4, CF7="no", CF8="cannot_do_at_all", CF10="some_difficulty"))
        assert r.domains["walking"] is False
        r = score(cfm24, with_(BASE_2_4, CF7="no", CF10="a_lot_of_difficulty"))
        assert r.domains["walking"] is True

    def test_gate_unanswered(self, cfm24):
        r = score(cfm24, with_(BASE_2_4, CF7=None, CF10="cannot_do_at_all"))
        assert r.domains["walking"] is None
        assert r.functional_difficulty is None


class TestWalking5To17:
    def equipment(self, **answers):
        return with_(BASE_5_17, CF7="yes", CF12=None, CF13=None, **answers)

    def test_100m_some_500m_a_lot_is_flagged(self, cfm517):
        r = score(cfm517, self.equipment(CF8="some_difficulty", CF9="a_lot_of_difficulty",
                                         CF10="no_difficulty", CF11="no_difficulty"))
        assert r.domains["walking"] is True

    def test_with_equipment_answers_never_used(self, cfm517):
        r = score(cfm517, self.equipment(CF8="some_difficulty", CF9="some_difficulty",
                                         CF10="cannot_do_at_all"))
        assert r.domains["walking"] is False
        r = score(cfm517, self.equipment(CF8="some_difficulty", CF9="some_difficulty",
                                         CF10="some_difficulty", CF11="cannot_do_at_all"))
        assert r.domains["walking"] is False

    @pytest.mark.parametrize("cf8", ["a_lot_of_difficulty", "cannot_do_at_all"])
    def test_100m_severe_skips_500m(self, cfm517, cf8):
        r = score(cfm517, self.equipment(CF8=cf8, CF10="no_difficulty", CF11="no_difficulty"))
        assert r.domains["walking"] is True
        assert "CF9" not in r.missing

    def test_stale_500m_after_severe_100m_ignored(self, cfm517):
        r = score(cfm517, self.equipment(CF8="a_lot_of_difficulty", CF9="no_difficulty", CF10="no_difficulty",
                                         CF11="no_difficulty"))
        assert r.domains["walking"] is True
        assert "CF9" not in r.answers

    def test_500m_unanswered_is_missing(self, cfm517):
        r = score(cfm517, self.equipment(CF8="some_difficulty", CF10="no_difficulty", CF11="no_difficulty"))
        assert r.domains["walking"] is None
        assert r.functional_difficulty is None

    def test_stale_non_user_answers_ignored(self, cfm517):
        r = score(cfm517, with_(BASE_5_17, CF7="yes", CF8="some_difficulty", CF9="some_difficulty",
                                CF10="no_difficulty", CF11="no_difficulty", CF12="cannot_do_at_all"))
        assert r.domains["walking"] is False

    def test_non_user(self, cfm517):
        assert score(cfm517, with_(BASE_5_17, CF12="some_difficulty", CF13="a_lot_of_difficulty")).domains[
            "walking"] is True
        assert score(cfm517, with_(BASE_5_17, CF12="some_difficulty", CF13="some_difficulty")).domains[
            "walking"] is False
        r = score(cfm517, with_(BASE_5_17, CF12="cannot_do_at_all", CF13=None))
        assert r.domains["walking"] is True
        assert r.complete
        r = score(cfm517, with_(BASE_5_17, CF12="no_difficulty", CF13=None))
        assert r.domains["walking"] is None
        assert r.missing == ("CF13",)

    def test_stale_equipment_answers_ignored_for_non_user(self, cfm517):
        r = score(cfm517, with_(BASE_5_17, CF8="cannot_do_at_all", CF9="cannot_do_at_all"))
        assert r.domains["walking"] is False
        assert r.functional_difficulty is False


# --------------------------------------------------------------------------- other domains

@pytest.mark.parametrize("item, domain", [
    ("CF14", "self_care"), ("CF17", "learning"), ("CF18", "remembering"), ("CF19", "concentrating"),
    ("CF20", "accepting_change"), ("CF21", "controlling_behaviour"), ("CF22", "making_friends"),
])
@pytest.mark.parametrize("value", DIFFICULTY + ["dont_know"])
def test_single_item_domains_5_17(cfm517, item, domain, value):
    r = score(cfm517, with_(BASE_5_17, **{item: value}))
    assert r.domains[domain] is SEV[value]
    assert only_flags(r) == ([domain] if SEV[value] else [])


@pytest.mark.parametrize("item, domain", [("CF11", "fine_motor"), ("CF14", "learning"), ("CF15", "playing")])
def test_single_item_domains_2_4(cfm24, item, domain):
    assert only_flags(score(cfm24, with_(BASE_2_4, **{item: "a_lot_of_difficulty"}))) == [domain]
    assert only_flags(score(cfm24, with_(BASE_2_4, **{item: "some_difficulty"}))) == []


@pytest.mark.parametrize("value, expected", [
    ("not_at_all", False), ("same_or_less", False), ("more", False), ("a_lot_more", True),
    ("dont_know", None), ("refused", None),
])
def test_behaviour_2_4_only_a_lot_more(cfm24, value, expected):
    r = score(cfm24, with_(BASE_2_4, CF16=value))
    assert r.domains["controlling_behaviour"] is expected
    assert r.functional_difficulty is expected


@pytest.mark.parametrize("item, domain", [("CF23", "anxiety"), ("CF24", "depression")])
@pytest.mark.parametrize("value, expected", [
    ("daily", True), ("weekly", False), ("monthly", False), ("few_times_a_year", False), ("never", False),
    ("dont_know", None), ("refused", None),
])
def test_anxiety_and_depression_only_daily(cfm517, item, domain, value, expected):
    r = score(cfm517, with_(BASE_5_17, **{item: value}))
    assert r.domains[domain] is expected
    assert r.functional_difficulty is expected


@pytest.mark.parametrize("inst, base, a, b", [
    ("cfm-2-4", BASE_2_4, "CF12", "CF13"), ("cfm-5-17", BASE_5_17, "CF15", "CF16"),
])
def test_communication_counted_once(inst, base, a, b):
    instrument = load_instrument(inst)
    r = score(instrument, with_(base, **{a: "cannot_do_at_all", b: "a_lot_of_difficulty"}))
    assert only_flags(r) == ["communication"]
    assert r.domain_count == 1
    r = score(instrument, with_(base, **{a: "no_difficulty", b: "a_lot_of_difficulty"}))
    assert r.domains["communication"] is True
    # One severe answer decides even when the other is missing.
    r = score(instrument, with_(base, **{a: "dont_know", b: "cannot_do_at_all"}))
    assert r.domains["communication"] is True
    r = score(instrument, with_(base, **{a: "dont_know", b: "no_difficulty"}))
    assert r.domains["communication"] is None


def test_domain_count_counts_domains(cfm517):
    r = score(cfm517, with_(BASE_5_17, CF3="cannot_do_at_all", CF6="a_lot_of_difficulty", CF15="cannot_do_at_all",
                            CF16="cannot_do_at_all", CF23="daily", CF24="daily"))
    assert only_flags(r) == ["anxiety", "communication", "depression", "hearing", "seeing"]
    assert r.domain_count == 5


def test_cfm_5_17_has_thirteen_indicators(cfm517):
    r = score(cfm517, BASE_5_17)
    assert list(r.domains) == ["seeing", "hearing", "walking", "self_care", "communication", "learning",
                               "remembering", "concentrating", "accepting_change", "controlling_behaviour",
                               "making_friends", "anxiety", "depression"]
    assert r.functional_difficulty is False
    assert r.complete


# --------------------------------------------------------------------------- tri-state overall

class TestOverall:
    def test_yes_even_when_other_domains_missing(self, cfm24):
        r = score(cfm24, {"CF11": "cannot_do_at_all"})
        assert r.functional_difficulty is True
        assert r.domain_count == 1
        assert r.domains["seeing"] is None

    def test_no_only_when_every_domain_answered(self, cfm24):
        assert score(cfm24, BASE_2_4).functional_difficulty is False
        r = score(cfm24, with_(BASE_2_4, CF15=None))
        assert r.functional_difficulty is None
        assert r.domain_count == 0
        assert r.indeterminate_domains == ["playing"]

    def test_nothing_answered(self, cfm517):
        r = score(cfm517, {})
        assert r.functional_difficulty is None
        assert r.domain_count == 0
        assert set(r.domains.values()) == {None}
        assert r.missing == ("CF1", "CF4", "CF7", *[f"CF{n}" for n in range(14, 25)])

    def test_unused_item_missing_does_not_block_a_no(self, cfm24):
        # CF9 is shown to an equipment user but never scored.
        r = score(cfm24, with_(BASE_2_4, CF7="yes", CF8="some_difficulty", CF10=None))
        assert r.functional_difficulty is False
        assert not r.complete


# --------------------------------------------------------------------------- WG-SS

def adult(**answers):
    return with_(WG_NONE, **answers)


class TestWashingtonGroup:
    def flags(self, instrument, answers):
        r = score(instrument, answers)
        return tuple(getattr(r, f"disability_{n}") for n in (1, 2, 3, 4))

    def test_no_difficulty(self, wg):
        assert self.flags(wg, WG_NONE) == (False, False, False, False)
        assert score(wg, WG_NONE).functional_difficulty is False

    def test_one_some(self, wg):
        assert self.flags(wg, adult(hearing="some_difficulty")) == (True, False, False, False)

    def test_two_some(self, wg):
        two = adult(hearing="some_difficulty", cognition="some_difficulty")
        assert self.flags(wg, two) == (True, True, False, False)

    def test_a_lot(self, wg):
        assert self.flags(wg, adult(walking="a_lot_of_difficulty")) == (True, True, True, False)

    def test_cannot(self, wg):
        assert self.flags(wg, adult(self_care="cannot_do_at_all")) == (True, True, True, True)

    @pytest.mark.parametrize("key", WG_KEYS)
    def test_every_domain_counts(self, wg, key):
        r = score(wg, adult(**{key: "a_lot_of_difficulty"}))
        assert only_flags(r) == [key]
        assert r.disability_3 is True
        assert r.domain_count == 1

    def test_missing_tri_state(self, wg):
        assert self.flags(wg, adult(seeing=None)) == (None, None, None, None)
        assert self.flags(wg, adult(seeing="dont_know")) == (None, None, None, None)
        assert self.flags(wg, adult(seeing="refused", hearing="some_difficulty")) == (True, None, None, None)
        assert self.flags(wg, adult(seeing=None, hearing="some_difficulty", walking="some_difficulty")) == (
            True, True, None, None)
        assert self.flags(wg, adult(seeing=None, hearing="a_lot_of_difficulty")) == (True, True, True, None)
        assert self.flags(wg, adult(seeing=None, hearing="cannot_do_at_all")) == (True, True, True, True)

    def test_functional_difficulty_is_disability_3(self, wg):
        for seeing in ("no_difficulty", "some_difficulty", "a_lot_of_difficulty", None):
            answers = adult(seeing=seeing)
            r = score(wg, answers)
            assert r.functional_difficulty is r.disability_3

    def test_as_api(self, wg):
        api = score(wg, adult(seeing="some_difficulty", hearing="cannot_do_at_all")).as_api()
        assert api == {
            "domains": {"seeing": False, "hearing": True, "walking": False, "cognition": False,
                        "self_care": False, "communication": False},
            "disability_1": True, "disability_2": True, "disability_3": True, "disability_4": True,
            "functional_difficulty": True, "domain_count": 1,
        }


# --------------------------------------------------------------------------- API shape and bad input

def test_cfm_as_api_exact(cfm24):
    api = score(cfm24, with_(BASE_2_4, CF15=None, CF13="cannot_do_at_all")).as_api()
    assert list(api) == ["domains", "functional_difficulty", "domain_count"]
    assert api["functional_difficulty"] is True
    assert api["domain_count"] == 1
    assert api["domains"]["playing"] is None
    assert api["domains"]["communication"] is True
    api = score(cfm24, with_(BASE_2_4, CF15=None)).as_api()
    assert api["functional_difficulty"] is None


def test_cfm_result_has_no_wg_identifiers(cfm24):
    r = score(cfm24, BASE_2_4)
    assert r.disability_3 is None
    assert "disability_3" not in r.as_api()


def test_score_refuses_unknown_items_and_values(cfm24):
    with pytest.raises(AnswerError) as caught:
        score(cfm24, with_(BASE_2_4, CF99="yes", CF1="maybe", CF16="a_lot_of_difficulty"))
    assert caught.value.codes == {"CF99": "unknown_item", "CF1": "unknown_value", "CF16": "unknown_value"}
    assert set(caught.value.messages) == {"CF99", "CF1", "CF16"}


def test_score_refuses_numbers(cfm24):
    with pytest.raises(AnswerError) as caught:
        score(cfm24, with_(BASE_2_4, CF3=3))
    assert caught.value.codes == {"CF3": "unknown_value"}


def test_score_refuses_answers_outside_a_narrowed_item(cfm24):
    # CF8 offers only some / a lot / cannot (cfm.md).
    with pytest.raises(AnswerError):
        score(cfm24, with_(BASE_2_4, CF7="yes", CF8="no_difficulty"))
