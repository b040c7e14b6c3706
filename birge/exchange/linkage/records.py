"""Input records and their prepared (folded, parsed) form.

Every register enters the engine with the same ten fields
(:data:`FIELDS`). Preparation folds the names with :mod:`birge.core.names`,
parses the birth date (ISO or ``DD.MM.YYYY``), checks the PIN with the rules
of :mod:`birge.core.pin`, and keeps only what comparison and blocking need, in
a plain tuple (fast to build and to read; a million of them fit in a few
hundred megabytes). Caches make repeated values (names, dates, places) cost
one dictionary lookup.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from functools import lru_cache

from birge.core import names
from birge.core.names import cyrillic_key, person_parts
from birge.core.pin import PinError, parse_pin

FIELDS = ("id", "pin", "last_name", "first_name", "patronymic", "birth_date", "sex", "region", "district", "settlement")

# Positions in a prepared record (a tuple).
(ID, PIN, PIN_OK, GIVEN, FAMILY, FATHER, DOB, YEAR, MONTH, DAY, SEX, REGION, DISTRICT, SETTLEMENT, SKEL, ORD,
 DOB_SWAPPED, GIVEN_CYR) = range(18)
WIDTH = 18
PIN_NONE, PIN_INVALID, PIN_VALID, PIN_CONSISTENT = 0, 1, 2, 3  # values of PIN_OK


class RecordError(ValueError):
    """A value that cannot be read; ``field`` names it, ``code`` is a stable slug."""

    def __init__(self, field: str, code: str, value: str = ""):
        self.field, self.code, self.value = field, code, value
        super().__init__(f"{field}: {code}")


_ISO = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})")
_DMY = re.compile(r"([0-9]{1,2})[./]([0-9]{1,2})[./]([0-9]{4})")
_date_cache: dict = {}
_NO_DATE = ("", 0, 0, 0, 0, "")


def _date_tuple(y: int, mo: int, d: int) -> tuple[str, int, int, int, int, str]:
    day = dt.date(y, mo, d)  # raises ValueError for an impossible date
    swapped = f"{y:04d}{d:02d}{mo:02d}" if d <= 12 and d != mo else ""
    return f"{y:04d}{mo:02d}{d:02d}", y, mo, d, day.toordinal(), swapped


def parse_birth_date(value) -> tuple[str, int, int, int, int, str]:
    """("YYYYMMDD", year, month, day, ordinal, "YYYYDDMM" or "") from ISO or DD.MM.YYYY (or a date).

    The last item is the date with day and month exchanged when that is
    another valid date; all empty/zero if there is no date.
    """
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return _date_tuple(value.year, value.month, value.day)
    if not value:
        return _NO_DATE
    hit = _date_cache.get(value)
    if hit is not None:
        return hit
    s = value.strip()
    m = _ISO.fullmatch(s)
    if m:
        y, mo, d = int(m[1]), int(m[2]), int(m[3])
    else:
        m = _DMY.fullmatch(s)
        if not m:
            if not s:
                return _NO_DATE
            raise RecordError("birth_date", "format", value)
        d, mo, y = int(m[1]), int(m[2]), int(m[3])
    try:
        out = _date_tuple(y, mo, d)
    except ValueError:
        raise RecordError("birth_date", "impossible", value) from None
    if len(_date_cache) < 200_000:
        _date_cache[value] = out
    return out


_SEX = {"": "", "F": "F", "M": "M", "f": "F", "m": "M", "female": "F", "male": "M", "ж": "F", "м": "M"}


def parse_sex(value) -> str:
    s = _SEX.get((value or "").strip().casefold())
    if s is None:
        raise RecordError("sex", "unknown", value)
    return s


_TODAY = dt.date.today()
_pin_prefix_cache: dict[str, tuple[str, str] | None] = {}


def _pin_prefix(pin: str) -> tuple[str, str] | None:
    """(sex F/M, "YYYYMMDD") of a 14-digit PIN that passes pin.parse_pin, else None (cached per prefix)."""
    prefix = pin[:9]
    if prefix in _pin_prefix_cache:
        return _pin_prefix_cache[prefix]
    try:
        info = parse_pin(prefix + "00000", today=_TODAY)
        out = ("F" if info.sex == "female" else "M", info.birth_date.strftime("%Y%m%d"))
    except PinError:
        out = None
    _pin_prefix_cache[prefix] = out
    return out


_ASCII14 = re.compile(r"[0-9]{14}")


@lru_cache(maxsize=1 << 16)
def _place(value: str) -> str:
    return names.fold(value)


@lru_cache(maxsize=1 << 18)
def skeleton(key: str) -> str:
    """First letter plus the consonants of the first word: a spelling-tolerant blocking key."""
    w = key.split(" ", 1)[0]
    if len(w) < 2:
        return w
    return w[0] + w[1:].translate(_NO_VOWELS)


_NO_VOWELS = str.maketrans("", "", "aeiouäü")

# One symbol per letter of the original name, for comparison: the folded key writes
# ч, ш, ц, ю, я (and Latin x) with two letters, so one slip of the pen in Cyrillic
# (Егор / Егюор, Болот / Болчт) would be two edits in the key. Never shown to anyone.
_COMPACT = re.compile(r"ch|sh|ts|iu|ia|ks")
_COMPACT_TO = {"ch": "č", "sh": "š", "ts": "ç", "iu": "ü", "ia": "ä", "ks": "x"}


@lru_cache(maxsize=1 << 18)
def compact(key: str) -> str:
    """The folded key with one symbol per original letter (see above)."""
    return _COMPACT.sub(lambda m: _COMPACT_TO[m.group(0)], key) if key else key


def prepare(rec_id: str, pin: str, last: str, first: str, patronymic: str, birth_date, sex: str,
            region: str, district: str, settlement: str) -> tuple:
    """The prepared tuple of one record; raises :class:`RecordError` on an unreadable value."""
    date = _date_cache.get(birth_date) if birth_date.__class__ is str else None
    if date is None:
        date = parse_birth_date(birth_date)
    dob = date[0]
    sx = _SEX.get(sex)
    if sx is None:
        sx = parse_sex(sex)
    given, family, father, sex_hint = person_parts(last or "", first or "", patronymic or "")
    given, family, father = compact(given), compact(family), compact(father)
    if not sx and sex_hint:
        sx = "F" if sex_hint == "female" else "M"
    if pin:
        pin = pin.strip()
    pin_ok = PIN_NONE
    if pin:
        info = _pin_prefix(pin) if len(pin) == 14 and _ASCII14.fullmatch(pin) else None
        if info is None:
            pin_ok = PIN_INVALID
        elif (not sx or info[0] == sx) and (not dob or info[1] == dob):
            pin_ok = PIN_CONSISTENT
        else:
            pin_ok = PIN_VALID
    else:
        pin = ""
    return (
        rec_id if rec_id.__class__ is str else str(rec_id), pin, pin_ok, given, family, father,
        dob, date[1], date[2], date[3], sx,
        _place(region or ""), _place(district or ""), _place(settlement or ""), skeleton(given), date[4], date[5],
        cyrillic_key(first) if first else "",
    )


def prepare_mapping(rec: Mapping) -> tuple:
    """Prepare a record given as a mapping (dict, DataFrame row) with the :data:`FIELDS` keys."""
    g = rec.get
    return prepare(g("id"), g("pin") or "", g("last_name") or "", g("first_name") or "", g("patronymic") or "",
                   g("birth_date"), g("sex") or "", g("region") or "", g("district") or "", g("settlement") or "")
