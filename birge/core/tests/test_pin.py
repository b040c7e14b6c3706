import datetime as dt

import pytest

from birge.core.pin import PinError, PinInfo, is_valid_pin, normalize_sex, parse_pin, pin_mismatches

TODAY = dt.date(2026, 6, 1)


def code_of(value, today=TODAY):
    with pytest.raises(PinError) as err:
        parse_pin(value, today=today)
    return err.value.code


def test_reference_examples():
    info = parse_pin("21503201012345", today=TODAY)
    assert info == PinInfo(pin="21503201012345", sex="male", birth_date=dt.date(2010, 3, 15), serial="12345")
    info = parse_pin("10101200500001", today=TODAY)
    assert (info.sex, info.birth_date, info.serial) == ("female", dt.date(2005, 1, 1), "00001")
    assert code_of("31503201012345") == "sex_digit"
    assert code_of("2150320101234") == "length"


def test_surrounding_whitespace_only_is_stripped():
    assert parse_pin("  21503201012345\n", today=TODAY).pin == "21503201012345"
    assert code_of("2150320 1012345") == "digits"
    assert code_of("21503-201012345") == "digits"


def test_length_and_digits():
    assert code_of("") == "length"
    assert code_of("   ") == "length"
    assert code_of(None) == "length"
    assert code_of("215032010123456") == "length"
    assert code_of("2150320101234x") == "digits"


def test_non_ascii_digits_are_rejected():
    arabic_indic = "".join(chr(0x0660 + int(c)) for c in "21503201012345")
    assert arabic_indic.isdigit()
    assert code_of(arabic_indic) == "digits"
    fullwidth = "".join(chr(0xFF10 + int(c)) for c in "21503201012345")
    assert code_of(fullwidth) == "digits"
    assert code_of("2150320101234\u0665") == "digits"


def test_sex_digit():
    assert code_of("01503201012345") == "sex_digit"
    assert code_of("91503201012345") == "sex_digit"


def test_impossible_dates():
    assert code_of("23104201012345") == "date"  # 31.04
    assert code_of("20013201012345") == "date"  # day 00
    assert code_of("21513201012345") == "date"  # month 13
    assert code_of("22902201912345") == "date"  # 29.02.2019
    assert parse_pin("22902202012345", today=TODAY).birth_date == dt.date(2020, 2, 29)
    assert parse_pin("12902200012345", today=TODAY).birth_date == dt.date(2000, 2, 29)
    assert code_of("22902190012345") == "date"  # 1900 is not a leap year


def test_leading_zeros_in_date_and_serial():
    info = parse_pin("10102200300000", today=TODAY)
    assert info.birth_date == dt.date(2003, 2, 1) and info.serial == "00000"


def test_plausibility():
    assert code_of("20206202612345") == "future"  # 02.06.2026, tomorrow
    assert parse_pin("20106202612345", today=TODAY).birth_date == TODAY
    assert code_of("10106190512345") == "too_old"  # one day more than 120 years
    assert parse_pin("10206190612345", today=TODAY).birth_date == dt.date(1906, 6, 2)
    # 120 years before 29 February falls on 28 February
    assert parse_pin("12802190012345", today=dt.date(2020, 2, 29)).birth_date == dt.date(1900, 2, 28)
    assert code_of("12702190012345", today=dt.date(2020, 2, 29)) == "too_old"


def test_error_has_a_sentence():
    with pytest.raises(PinError) as err:
        parse_pin("123", today=TODAY)
    assert isinstance(err.value, ValueError)
    assert str(err.value).endswith(".") and " " in str(err.value)
    assert set(PinError.codes) == {"length", "digits", "sex_digit", "date", "future", "too_old"}


def test_default_today_is_today():
    assert parse_pin("21503201012345").birth_date == dt.date(2010, 3, 15)
    assert not is_valid_pin("31503201012345")
    assert is_valid_pin("21503201012345")


def test_mismatches_are_a_flag():
    info = parse_pin("21503201012345", today=TODAY)
    assert pin_mismatches(info, dt.date(2010, 3, 15), "male") == []
    assert pin_mismatches(info, dt.date(2010, 3, 15), "M") == []
    assert pin_mismatches(info, dt.date(2010, 3, 15), "F") == ["sex"]
    assert pin_mismatches(info, dt.date(2010, 3, 16), "female") == ["birth_date", "sex"]
    assert pin_mismatches(info, None, None) == []
    assert pin_mismatches(info, None, "") == []


def test_normalize_sex():
    assert normalize_sex(" f ") == "female" and normalize_sex("Male") == "male"
    assert normalize_sex("Ж") == "female" and normalize_sex("x") is None and normalize_sex(None) is None
