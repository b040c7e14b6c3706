"""Turning protected tables into what pages, the API and exports show."""

from __future__ import annotations

from django.utils import formats, timezone
from django.utils.translation import gettext as _, gettext_lazy

from .definitions import DIMENSIONS
from .disclosure import Table, reason_text
from .engine import Result
from .models import Indicator

DECIMALS = {"percent": 1, "ratio": 2, "count": 0, "median-days": 0, "parity-index": 3}


def number(value, decimals: int = 0) -> str:
    if value is None:
        return "—"
    # Rounded here: number_format cuts the digits after ``decimals`` off (9.09 would show as 9.0, 18.18 as 18.1).
    value = round(value) if decimals == 0 else round(value, decimals)
    return formats.number_format(value, decimal_pos=decimals, use_l10n=True, force_grouping=True)


def fmt_value(value, indicator: Indicator) -> str:
    if value is None:
        return "—"
    text = number(value, DECIMALS.get(indicator.kind, 2))
    return f"{text} %" if indicator.kind == "percent" else text


def fmt_count(value, indicator: Indicator | None = None, side: str = "numerator") -> str:
    if value is None:
        return "—"
    if indicator is not None and indicator.kind == "parity-index":
        return number(value, 1) + " %"
    if isinstance(value, float) and not value.is_integer():
        return number(value, 2)
    return number(value, 0)


PARITY_TEXT = {
    "parity": gettext_lazy("Parity"),
    "disadvantage": gettext_lazy("Children with disabilities at a disadvantage"),
    "advantage": gettext_lazy("Children with disabilities at an advantage"),
}


def parity_text(status: str | None) -> str:
    return str(PARITY_TEXT.get(status or "", "—")) if status else "—"


def direction_text(indicator: Indicator) -> str:
    return {
        "higher-better": _("Higher is better"),
        "lower-better": _("Lower is better"),
    }.get(indicator.direction, _("Neither higher nor lower is better"))


def as_of_text(result: Result) -> str:
    if result.as_of is None:
        return ""
    when = formats.date_format(timezone.localtime(result.as_of), "DATETIME_FORMAT")
    if result.source == "live":
        return _("Computed from the records at %(when)s; no record has changed since.") % {"when": when}
    if result.stale:
        return _("Figures as of %(when)s. Records have changed since: these figures are not current; an update has been queued.") % {"when": when}
    return _("Figures as of %(when)s (summary of the records; no record has changed since).") % {"when": when}


def rows_for_page(table: Table) -> list[dict]:
    """Rows with formatted cells and a bar length (0-100) for CSS bar charts."""
    ind = table.result.indicator
    values = [r.value.value for r in table.rows if not r.value.hidden and r.value.value is not None]
    if ind.kind == "percent":
        scale = 100.0
    elif ind.kind == "parity-index":
        scale = max([2.0, *values])
    else:
        scale = max(values) if values else 1.0
    out = []
    for r in table.rows:
        v = r.value.value
        bar = None if (r.value.hidden or v is None or scale <= 0) else max(0.0, min(100.0, 100.0 * v / scale))
        out.append({
            "labels": r.labels,
            "numerator": "—" if r.numerator.hidden else fmt_count(r.numerator.value, ind),
            "denominator": "—" if r.denominator.hidden else fmt_count(r.denominator.value, ind),
            "value": "—" if r.value.hidden else fmt_value(v, ind),
            "suppressed": r.suppressed,
            "reason": reason_text(r.reason, table.threshold) if r.suppressed else "",
            "bar": bar,
            "bar_pct": None if bar is None else int(round(bar)),
            "adjusted": number(r.extra.get("adjusted"), 3) if r.extra.get("adjusted") is not None else "—",
            "parity": parity_text(r.extra.get("parity")),
            "parity_code": r.extra.get("parity") or "",
        })
    return out


def _cell(cell):
    if cell.hidden or cell.value is None:
        return None
    v = cell.value
    return round(v, 6) if isinstance(v, float) else v


def rows_for_api(table: Table) -> list[dict]:
    out = []
    for r in table.rows:
        row = {}
        for dim, label in zip(table.dims, r.labels, strict=True):
            row[dim] = label.value
            row[f"{dim}_label"] = label.text
        row.update({
            "numerator": _cell(r.numerator),
            "denominator": _cell(r.denominator),
            "value": _cell(r.value),
            "suppressed": r.suppressed,
            "suppression_reason": reason_text(r.reason, table.threshold) if r.suppressed else None,
        })
        if table.result.indicator.kind == "parity-index":
            row["adjusted_index"] = None if r.suppressed else r.extra.get("adjusted")
            row["parity"] = None if r.suppressed else r.extra.get("parity")
        out.append(row)
    return out


def dimension_label(name: str) -> str:
    return str(DIMENSIONS[name].label)


def numerator_label(indicator: Indicator) -> str:
    if indicator.kind == "parity-index":
        return _("Value for children with disabilities")
    return _("Numerator")


def denominator_label(indicator: Indicator) -> str:
    if indicator.kind == "parity-index":
        return _("Value for children without disabilities")
    return _("Denominator")


def definition_text(indicator: Indicator) -> dict:
    """Plain-language numerator and denominator, built from the catalogue definition."""
    from .definitions import CONDITIONS, POPULATIONS

    def side(spec):
        if not spec:
            return ""
        pop = POPULATIONS[spec["population"]]
        parts = [str(pop.label)]
        for c in spec.get("conditions", []):
            parts.append(_describe(c, CONDITIONS))
        measure = spec.get("measure", "count")
        text = "; ".join(parts)
        if measure == "fte":
            text += " — " + _("full-time equivalents")
        elif measure == "days":
            text += " — " + _("days")
        elif measure in ("minutes", "delivered_minutes"):
            text += " — " + (_("minutes planned") if measure == "minutes" else _("minutes delivered"))
        return text

    return {"numerator": side(indicator.numerator), "denominator": side(indicator.denominator)}


def _describe(c, conditions) -> str:
    if isinstance(c, str):
        name, _sep, arg = c.partition(":")
        cond = conditions.get(c) or conditions.get(name)
        text = str(cond.label) if cond else c
        return f"{text}: {arg.replace('|', ', ')}" if arg and c not in conditions else text
    if isinstance(c, dict):
        (op, value), = c.items()
        if op == "not":
            return _("not") + " (" + _describe(value, conditions) + ")"
        inner = ", ".join(_describe(v, conditions) for v in (value if isinstance(value, list) else [value]))
        if op == "enrols":
            return str(conditions["enrols"].label) + " (" + inner + ")"
        return (_("any of") if op == "any" else _("all of")) + " (" + inner + ")"
    return str(c)


def page_table(table: Table, *, drill: str | None = None) -> dict:
    """Headers, rows and chart bars for the page templates (one table per result)."""
    rows = rows_for_page(table)
    if table.dims:
        headers = [dimension_label(d) for d in table.dims]
        for r in rows:
            r["heads"] = [lab.text for lab in r["labels"]]
    else:
        headers = [_("Jurisdiction")]
        for r in rows:
            r["heads"] = [table.result.scope.label]
    if drill:
        for r in rows:
            lab = r["labels"][0]
            r["area"] = "" if lab.value == "none" else (f"t:{lab.value}" if drill in ("region", "district") else f"o:{lab.value}")
    return {"headers": headers, "rows": rows, "bars": svg_bars(rows), "height": 24 * len(rows) + 8}


def svg_bars(rows: list[dict]) -> list[dict]:
    out = []
    for i, r in enumerate(rows):
        y = 4 + i * 24
        width = None if r["bar"] is None else round(3.2 * r["bar"], 1)
        label = " · ".join(r.get("heads", []))
        value = r["value"] if not r["suppressed"] else _("hidden")
        out.append({"y": y, "y_text": y + 12, "width": width, "x_value": 214 + (width or 0), "label": label, "value": value})
    return out


def parity_chart(table: Table) -> dict:
    """Paired bars (with / without disabilities) for a parity table; values are percentages."""
    bars = []
    y = 24
    for r in table.rows:
        label = " · ".join(lab.text for lab in r.labels) or table.result.scope.label
        hidden = r.suppressed
        vw = None if hidden else r.numerator.value
        vn = None if hidden else r.denominator.value
        ww = None if vw is None else round(min(100.0, vw) * 4, 1)
        wn = None if vn is None else round(min(100.0, vn) * 4, 1)
        bars.append({
            "label": label, "parity": _("hidden") if hidden else parity_text(r.extra.get("parity")),
            "y_label": y + 10, "y_with": y + 14, "y_without": y + 28,
            "w_with": ww, "w_without": wn, "x_with": (ww or 0) + 4, "x_without": (wn or 0) + 4,
            "t_with": "—" if vw is None else number(vw, 1) + " %", "t_without": "—" if vn is None else number(vn, 1) + " %",
        })
        y += 48
    return {"bars": bars, "height": y + 4}
