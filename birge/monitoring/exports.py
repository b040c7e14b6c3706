"""Exports: CSV (utf-8-sig), XLSX (values + definitions and suppression notes), DHIS2 dataValueSets.

Exported figures are always *published* figures: they pass disclosure
control (small counts and their complements hidden) whoever asks.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from . import disclosure, engine, present, sources
from .definitions import DIMENSIONS
from .disclosure import Table
from .models import Indicator
from .periods import Period
from .scope import Scope

DEFAULT_DHIS2_MAPPING = Path(__file__).with_name("dhis2.json")


def _header(table: Table) -> list[str]:
    ind = table.result.indicator
    cols = [_("Indicator"), _("Period")]
    for dim in table.dims:
        cols += [f"{present.dimension_label(dim)} ({_('code')})", present.dimension_label(dim)]
    cols += [present.numerator_label(ind), present.denominator_label(ind), _("Value") + f" ({ind.unit})"]
    if ind.kind == "parity-index":
        cols += [_("Adjusted parity index"), _("Parity")]
    cols += [_("Suppressed"), _("Reason")]
    return cols


def _lines(table: Table) -> list[list]:
    ind = table.result.indicator
    out = []
    for r in table.rows:
        line = [ind.code, table.result.period.code]
        for label in r.labels:
            line += [label.value, label.text]
        line += [None if r.numerator.hidden else r.numerator.value,
                 None if r.denominator.hidden else r.denominator.value,
                 None if r.value.hidden or r.value.value is None else round(r.value.value, 4)]
        if ind.kind == "parity-index":
            adj = r.extra.get("adjusted")
            line += [None if r.suppressed or adj is None else round(adj, 4), "" if r.suppressed else present.parity_text(r.extra.get("parity"))]
        line += [_("yes") if r.suppressed else _("no"), disclosure.reason_text(r.reason, table.threshold) if r.suppressed else ""]
        out.append(line)
    return out


def filename(table: Table, ext: str) -> str:
    res = table.result
    by = "-".join(res.by) or "total"
    return f"birge-{res.indicator.code}-{res.period.code}-{by}-{res.scope.key.replace(':', '_')}.{ext}"


def to_csv(table: Table) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(_header(table))
    for line in _lines(table):
        writer.writerow(["" if v is None else v for v in line])
    return buf.getvalue().encode("utf-8-sig")


def to_xlsx(table: Table) -> bytes:
    res, ind = table.result, table.result.indicator
    wb = Workbook()
    ws = wb.active
    ws.title = _("Values")[:31]
    ws.append(_header(table))
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for line in _lines(table):
        ws.append(line)
    ws.freeze_panes = "A2"
    for col in ws.columns:
        ws.column_dimensions[col[0].column_letter].width = 18
    info = wb.create_sheet(_("Definitions")[:31])
    definition = present.definition_text(ind)
    rows = [
        (_("Indicator"), f"{ind.code} — {ind.name}"),
        (_("Description"), ind.description),
        (present.numerator_label(ind), definition["numerator"]),
        (present.denominator_label(ind), definition["denominator"] or "—"),
        (_("Unit"), ind.unit),
        (_("Direction"), present.direction_text(ind)),
        (_("SDG indicator"), ind.sdg or "—"),
        (_("Source records"), ", ".join(sources.label(k) for k in ind.sources)),
        (_("Period"), f"{res.period.label} ({res.period.start:%Y-%m-%d} – {res.period.end:%Y-%m-%d}); "
                      + _("reference date") + f" {res.period.reference:%Y-%m-%d}"),
        (_("Jurisdiction"), res.scope.label),
        (_("Disaggregated by"), ", ".join(present.dimension_label(d) for d in res.by) or _("no disaggregation")),
        (_("Status"), res.message or _("Computed")),
        (_("Figures as of"), present.as_of_text(res)),
        (_("Catalogue version"), ind.catalogue_version),
        (_("Exported"), f"{timezone.localtime():%Y-%m-%d %H:%M}"),
        (_("Notes"), ind.notes or "—"),
        ("", ""),
        (_("Disclosure control"), _("Published figures: counts of fewer than %(n)s children are hidden, with the "
                                    "complement of such a count, and further cells wherever a hidden one could be "
                                    "worked out from the totals.") % {"n": table.threshold}),
        (_("Hidden rows"), str(table.suppressed_count)),
    ]
    for note in table.notes():
        rows.append((_("Suppression note"), note))
    for key, value in rows:
        info.append([key, value])
    info.column_dimensions["A"].width = 28
    info.column_dimensions["B"].width = 100
    for row in info.iter_rows():
        row[0].font = Font(bold=True)
        row[1].alignment = Alignment(wrap_text=True, vertical="top")
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# --------------------------------------------------------------------------- DHIS2

def dhis2_mapping() -> dict:
    path = getattr(settings, "BIRGE_DHIS2_MAPPING", None) or DEFAULT_DHIS2_MAPPING
    return json.loads(Path(path).read_text(encoding="utf-8"))


def dhis2_period(period: Period, mapping: dict) -> str:
    formats = mapping.get("period", {})
    if period.is_school_year:
        return formats.get("school_year", "{start_year}July").format(start_year=period.start.year, start=period.start, end=period.end)
    return formats.get("range", "{start:%Y%m%d}").format(start_year=period.start.year, start=period.start, end=period.end)


def dhis2_values(indicators: list[Indicator], period: Period, scope: Scope, mapping: dict | None = None) -> dict:
    """A ``dataValueSets`` payload: numerator and denominator counts per org unit (and category option)."""
    mapping = mapping or dhis2_mapping()
    elements = mapping.get("dataElements", {})
    org_cfg = mapping.get("orgUnit", {})
    org_dim = org_cfg.get("dimension", "district")
    org_map = org_cfg.get("map", {})
    coc_cfg = mapping.get("categoryOptionCombo", {})
    split_dims = [d for d in coc_cfg if d != "default" and d in DIMENSIONS]
    pe = dhis2_period(period, mapping)
    values, skipped, omitted = [], [], 0
    for ind in indicators:
        des = elements.get(ind.code)
        if not des:
            continue
        by = [org_dim] + [d for d in split_dims if d in ind.disaggregations]
        if org_dim not in ind.disaggregations:
            skipped.append(ind.code)
            continue
        res = engine.compute(ind, period, by, scope)
        if not res.ok:
            skipped.append(ind.code)
            continue
        table = disclosure.protect(res, published=True)
        for r in table.rows:
            org_value = r.labels[0].value
            if org_value == "none":
                continue
            coc = coc_cfg.get("default", "")
            for dim, label in zip(by[1:], r.labels[1:], strict=True):
                coc = coc_cfg.get(dim, {}).get(label.value, coc)
            for part, cell in (("numerator", r.numerator), ("denominator", r.denominator), ("value", r.value)):
                de = des.get(part)
                if not de:
                    continue
                if cell.hidden or cell.value is None:
                    omitted += 1
                    continue
                v = cell.value
                item = {"dataElement": de, "period": pe, "orgUnit": org_map.get(org_value, org_value),
                        "value": str(int(v)) if float(v).is_integer() else f"{v:.4f}"}
                if coc:
                    item["categoryOptionCombo"] = coc
                values.append(item)
    payload = {"dataValues": values}
    if mapping.get("dataSet"):
        payload["dataSet"] = mapping["dataSet"]
    return {"payload": payload, "omitted": omitted, "skipped": skipped}
