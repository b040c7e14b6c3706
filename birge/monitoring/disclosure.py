"""Disclosure control: the one place that decides which figures may be shown.

Every page, API answer, export and snapshot view turns a computed
:class:`~birge.monitoring.engine.Result` into a :class:`Table` here.

*Published* figures (exports, the API by default, the "as published" view):

1. **Primary suppression.** A count of children from 1 to ``threshold - 1``
   (setting ``BIRGE_MONITORING_MIN_CELL``, default 5) is hidden, and so is a
   numerator whose complement in its denominator is that small ("all but 2").
2. **Secondary (complementary) suppression.** Within every row or column of
   the table (the values of one disaggregation with the others fixed; a
   district's districts-in-region, an organization's organizations-in-district)
   the totals are published elsewhere, so one hidden cell could be worked out
   by subtraction. Wherever a line holds exactly one hidden cell, the smallest
   other cell of that line is hidden too, until no line has a lone hidden cell.
3. A value (percentage, ratio, index) built on a hidden count is hidden.
   Each hidden figure carries its reason.

*Internal* figures are shown unsuppressed, only to users with a monitoring
role and only inside their own jurisdiction (see :mod:`birge.monitoring.scope`).

Limits (documented in docs/monitoring.md): suppression is applied table by
table; differencing between overlapping custom tables is limited by allowing
at most four disaggregations, by the threshold on every cell, and by the
jurisdiction rules, not eliminated.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from . import conf
from .definitions import DIMENSIONS
from .engine import Result, Row
from .labels import Label, labels_for

PRIMARY, COMPLEMENT, SECONDARY, DERIVED = "primary", "complement", "secondary", "derived"


def threshold() -> int:
    return int(conf.get("BIRGE_MONITORING_MIN_CELL"))


def reason_text(code: str | None, n: int) -> str:
    return {
        PRIMARY: _("Fewer than %(n)s children: hidden so that no child can be singled out.") % {"n": n},
        COMPLEMENT: _("All but fewer than %(n)s children: hidden so that no child can be singled out.") % {"n": n},
        SECONDARY: _("Hidden so that a small number elsewhere in the table cannot be worked out from the totals."),
        DERIVED: _("Based on a figure hidden to protect small groups."),
    }.get(code or "", "")


@dataclass
class Cell:
    value: float | None
    reason: str | None = None

    @property
    def hidden(self) -> bool:
        return self.reason is not None


@dataclass
class TableRow:
    key: tuple
    labels: list[Label]
    numerator: Cell
    denominator: Cell
    value: Cell
    extra: dict = field(default_factory=dict)

    @property
    def suppressed(self) -> bool:
        return self.value.hidden

    @property
    def reason(self) -> str | None:
        return self.value.reason


@dataclass
class Table:
    result: Result
    published: bool
    threshold: int
    rows: list[TableRow]
    dims: list[str]

    @property
    def suppressed_count(self) -> int:
        return sum(1 for r in self.rows if r.suppressed)

    def notes(self) -> list[str]:
        codes = []
        for r in self.rows:
            for c in (r.numerator, r.denominator, r.value):
                if c.reason and c.reason not in codes:
                    codes.append(c.reason)
        return [reason_text(c, self.threshold) for c in codes]


def _small(v, t) -> bool:
    return v is not None and 0 < v < t


def _suppress(rows: list[Row], by: list[str], col_dims: dict, nested: bool, t: int, parents: dict) -> dict:
    """{(row index, column): reason} for the hidden count cells of one table."""
    hidden: dict[tuple, str] = {}
    cols = list(col_dims)
    for i, row in enumerate(rows):
        for col in cols:
            if _small(getattr(row, col), t):
                hidden[(i, col)] = PRIMARY
        if nested and "numerator" in cols and (i, "numerator") not in hidden and row.denominator is not None:
            if _small(row.denominator - (row.numerator or 0), t):
                hidden[(i, "numerator")] = COMPLEMENT
    if any(DIMENSIONS[d].multi for d in by):
        return hidden  # not additive: no totals to subtract from
    changed = True
    while changed:
        changed = False
        for col in cols:
            for pos, dim in enumerate(by):
                if dim not in col_dims[col]:
                    continue  # this column does not vary along the dimension
                lines: dict[tuple, list[int]] = {}
                for i, row in enumerate(rows):
                    line = row.key[:pos] + row.key[pos + 1:]
                    parent = DIMENSIONS[dim].parent
                    if parent and parent not in by:
                        line = (*line, parents.get((dim, row.key[pos])))
                    lines.setdefault(line, []).append(i)
                for members in lines.values():
                    if len(members) < 2:
                        continue
                    lone = [i for i in members if (i, col) in hidden]
                    if len(lone) != 1:
                        continue
                    others = [i for i in members if (i, col) not in hidden and getattr(rows[i], col) is not None]
                    if not others:
                        continue
                    positive = [i for i in others if getattr(rows[i], col) > 0] or others
                    pick = min(positive, key=lambda i: (getattr(rows[i], col), i))
                    hidden[(pick, col)] = SECONDARY
                    changed = True
    return hidden


def _labels(by: list[str], rows: list[Row]) -> tuple[dict, dict]:
    maps, parents = {}, {}
    for pos, dim in enumerate(by):
        maps[dim] = labels_for(dim, [r.key[pos] for r in rows])
        for value, label in maps[dim].items():
            parents[(dim, value)] = label.parent
    return maps, parents


def _column_dims(result: Result, by: list[str]) -> dict:
    plan = result.plan
    out = {}
    if plan.numerator.counts_children:
        out["numerator"] = plan.side_dims(plan.numerator, by)
    if plan.denominator is not None and plan.denominator.counts_children:
        out["denominator"] = plan.side_dims(plan.denominator, by)
    return out


def _rows_of(rows: list[Row], by: list[str], hidden: dict, maps: dict) -> list[TableRow]:
    out = []
    for i, row in enumerate(rows):
        num = Cell(row.numerator, hidden.get((i, "numerator")))
        den = Cell(row.denominator, hidden.get((i, "denominator")))
        reason = num.reason or den.reason
        value = Cell(row.value, reason)
        out.append(TableRow(row.key, [maps[d][v] for d, v in zip(by, row.key, strict=True)], num, den, value, dict(row.extra)))
    return out


def _sort(rows: list[TableRow]) -> list[TableRow]:
    return sorted(rows, key=lambda r: tuple(lab.order for lab in r.labels))


def protect(result: Result, *, published: bool = True, threshold_value: int | None = None) -> Table:
    """The figures of a result as they may be shown: suppressed when published."""
    t = threshold_value or threshold()
    by = list(result.by)
    if not result.ok:
        return Table(result, published, t, [], by)
    if result.plan.kind == "parity-index":
        split_by = [*by, "disability"]
        maps, parents = _labels(split_by, result.split)
        hidden = _suppress(result.split, split_by, _column_dims(result, split_by), result.plan.nested, t, parents) if published else {}
        split_rows = _rows_of(result.split, split_by, hidden, maps)
        blocked = {r.key[:-1] for r in split_rows if r.suppressed}
        rows = []
        for row in result.rows:
            reason = DERIVED if row.key in blocked else None
            rows.append(TableRow(row.key, [maps[d][v] for d, v in zip(by, row.key, strict=True)],
                                 Cell(row.numerator, reason), Cell(row.denominator, reason), Cell(row.value, reason),
                                 dict(row.extra) if reason is None else {}))
        return Table(result, published, t, _sort(rows), by)
    maps, parents = _labels(by, result.rows)
    hidden = _suppress(result.rows, by, _column_dims(result, by), result.plan.nested, t, parents) if published else {}
    return Table(result, published, t, _sort(_rows_of(result.rows, by, hidden, maps)), by)
