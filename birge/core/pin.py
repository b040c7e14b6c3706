"""Personal identification number (PIN) of the Kyrgyz Republic.

A PIN is 14 ASCII digits, ``G DDMMYYYY NNNNN``: ``G`` is the sex (1 female,
2 male), then the birth date (day, month, four-digit year), then a serial.
There is no public check-digit algorithm, so none is checked here.

The PIN is assigned by the civil registry and can be changed by a legal
procedure: it is never a primary key, and the sex and date it carries are a
consistency check against the entered values (:func:`pin_mismatches`), not
the truth. Pure Python; no models.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

PIN_LENGTH = 14
MAX_AGE_YEARS = 120

FEMALE = "female"
MALE = "male"
_SEX_BY_DIGIT = {"1": FEMALE, "2": MALE}

# ASCII digits only: str.isdigit() would accept Arabic-Indic and other digits.
_DIGITS = re.compile(r"[0-9]+")

_MESSAGES = {
    "length": _("A PIN has exactly 14 digits."),
    "digits": _("A PIN contains only the digits 0 to 9, without spaces or other signs."),
    "sex_digit": _("The first digit of a PIN is 1 (female) or 2 (male)."),
    "date": _("Digits 2 to 9 of the PIN are not a real date (day, month, year)."),
    "future": _("The birth date in the PIN is in the future."),
    "too_old": _("The birth date in the PIN is more than 120 years ago."),
}


class PinError(ValueError):
    """An invalid PIN. ``code`` is a stable slug, ``message`` a translated sentence."""

    codes = tuple(_MESSAGES)

    def __init__(self, code: str):
        self.code = code
        self.message = _MESSAGES[code]
        super().__init__(self.message)

    def __str__(self) -> str:
        return str(self.message)


@dataclass(frozen=True, slots=True)
class PinInfo:
    pin: str
    sex: str  # "female" | "male"
    birth_date: dt.date
    serial: str


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year that has none
        return day.replace(year=day.year - years, day=28)


def parse_pin(value: str, today: dt.date | None = None) -> PinInfo:
    """Parse and check a PIN; surrounding whitespace is ignored. Raises :class:`PinError`."""
    if value is None:
        raise PinError("length")
    pin = str(value).strip()
    if not pin:
        raise PinError("length")
    if not _DIGITS.fullmatch(pin):
        raise PinError("digits")
    if len(pin) != PIN_LENGTH:
        raise PinError("length")
    sex = _SEX_BY_DIGIT.get(pin[0])
    if sex is None:
        raise PinError("sex_digit")
    try:
        birth = dt.date(int(pin[5:9]), int(pin[3:5]), int(pin[1:3]))
    except ValueError:
        raise PinError("date") from None
    today = today or dt.date.today()
    if birth > today:
        raise PinError("future")
    if birth < _years_before(today, MAX_AGE_YEARS):
        raise PinError("too_old")
    return PinInfo(pin=pin, sex=sex, birth_date=birth, serial=pin[9:])


def is_valid_pin(value: str, today: dt.date | None = None) -> bool:
    try:
        parse_pin(value, today)
    except PinError:
        return False
    return True


_SEX_WORDS = {
    "f": FEMALE, "female": FEMALE, "ж": FEMALE,
    "m": MALE, "male": MALE, "м": MALE,
}


def normalize_sex(value) -> str | None:
    """``"female"``/``"male"`` from the usual codes (F/M, female/male, Ж/М); None if unknown."""
    if value is None:
        return None
    return _SEX_WORDS.get(str(value).strip().casefold())


def pin_mismatches(pin_info: PinInfo, birth_date: dt.date | None, sex: str | None) -> list[str]:
    """Fields whose entered value disagrees with the PIN: ``birth_date``, ``sex``.

    A consistency flag for a person to confirm, not an error. Unknown values
    (None, empty) never disagree.
    """
    out = []
    if birth_date is not None and birth_date != pin_info.birth_date:
        out.append("birth_date")
    entered = normalize_sex(sex)
    if entered is not None and entered != pin_info.sex:
        out.append("sex")
    return out
