"""Reporting periods: a school year (``2025-2026``) or a date range (``2025-09-01..2026-05-31``).

A school year runs from 1 September to 31 August, so consecutive years tile.
Figures describe the *observation window* ``[start, reference]`` where the
reference date is the period's end, or today while the period is still
running. Ages are counted in completed years at the start of the period (as
the UIS does for school-age populations); statuses (disability, conclusions,
plans) are taken on the reference date.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext as _

SCHOOL_YEAR_START = (9, 1)
FIRST_YEAR = 2000
_YEAR = re.compile(r"^(\d{4})-(\d{4})$")
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$")


class PeriodError(ValueError):
    """A period that cannot be read or lies outside the data."""


@dataclass(frozen=True)
class Period:
    code: str
    start: dt.date
    end: dt.date
    today: dt.date

    @property
    def is_school_year(self) -> bool:
        return bool(_YEAR.match(self.code))

    @property
    def reference(self) -> dt.date:
        return min(self.end, self.today)

    @property
    def ongoing(self) -> bool:
        return self.today < self.end

    @property
    def label(self) -> str:
        if self.is_school_year:
            return _("School year %(code)s") % {"code": self.code}
        return f"{self.start:%d.%m.%Y}–{self.end:%d.%m.%Y}"

    def previous(self) -> "Period":
        if self.is_school_year:
            return school_year(self.start.year - 1, today=self.today)
        length = self.end - self.start
        end = self.start - dt.timedelta(days=1)
        return Period(f"{end - length:%Y-%m-%d}..{end:%Y-%m-%d}", end - length, end, self.today)

    def as_dict(self) -> dict:
        return {"code": self.code, "start": self.start.isoformat(), "end": self.end.isoformat(),
                "reference_date": self.reference.isoformat(), "ongoing": self.ongoing}


def _today() -> dt.date:
    return timezone.localdate()


def school_year(first_year: int, today: dt.date | None = None) -> Period:
    start = dt.date(first_year, *SCHOOL_YEAR_START)
    end = dt.date(first_year + 1, SCHOOL_YEAR_START[0], SCHOOL_YEAR_START[1]) - dt.timedelta(days=1)
    return Period(f"{first_year}-{first_year + 1}", start, end, today or _today())


def current_school_year(today: dt.date | None = None) -> Period:
    today = today or _today()
    first = today.year if (today.month, today.day) >= SCHOOL_YEAR_START else today.year - 1
    return school_year(first, today)


def recent_school_years(n: int | None = None, today: dt.date | None = None) -> list[Period]:
    """The last ``n`` school years, oldest first, ending with the current one."""
    from . import conf

    n = n or conf.get("BIRGE_MONITORING_TREND_YEARS")
    current = current_school_year(today)
    return [school_year(current.start.year - i, current.today) for i in range(n - 1, -1, -1)]


def parse(value: str | None, today: dt.date | None = None) -> Period:
    """Read a period; an empty value is the current school year. Raises PeriodError."""
    today = today or _today()
    value = (value or "").strip()
    if not value:
        return current_school_year(today)
    m = _YEAR.match(value)
    if m:
        first, second = int(m.group(1)), int(m.group(2))
        if second != first + 1:
            raise PeriodError(_("A school year is two consecutive years, e.g. 2025-2026."))
        period = school_year(first, today)
    else:
        m = _RANGE.match(value)
        if not m:
            raise PeriodError(_("Give a school year such as 2025-2026 or a date range such as 2025-09-01..2026-05-31."))
        try:
            start, end = dt.date.fromisoformat(m.group(1)), dt.date.fromisoformat(m.group(2))
        except ValueError:
            raise PeriodError(_("The period has a date that does not exist.")) from None
        if end < start:
            raise PeriodError(_("The period ends before it starts."))
        if (end - start).days > 5 * 366:
            raise PeriodError(_("A period is at most five years long."))
        period = Period(value, start, end, today)
    if period.start.year < FIRST_YEAR:
        raise PeriodError(_("There are no records before %(year)s.") % {"year": FIRST_YEAR})
    if period.start > today:
        raise PeriodError(_("The period has not started yet."))
    return period
