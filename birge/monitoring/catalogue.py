"""The indicator catalogue as data: read, check and load ``catalogue.json``.

``birge indicators load [FILE]`` validates every entry against the
populations, conditions and disaggregations of :mod:`definitions` (names,
values, that each disaggregation applies to a side, that the declared
sources cover the ones the definition reads) and then creates or updates the
``Indicator`` rows. Codes no longer in the file are deactivated, never deleted.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.db import transaction

from .definitions import CONDITIONS, DIMENSIONS, POPULATIONS, DefinitionError
from .engine import parse_side, side_sources
from .sources import SOURCES

DEFAULT_FILE = Path(__file__).with_name("catalogue.json")
KINDS = {"percent", "ratio", "count", "median-days", "parity-index"}
DIRECTIONS = {"higher-better", "lower-better", "neutral"}
LANGS = ("ky", "ru", "en")


class CatalogueError(ValueError):
    pass


def read(path: Path | str | None = None) -> dict:
    path = Path(path or DEFAULT_FILE)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise CatalogueError(f"{path}: {exc}") from exc
    if not isinstance(data, dict) or "indicators" not in data or "version" not in data:
        raise CatalogueError(f"{path}: expected {{'version': ..., 'indicators': [...]}}")
    return data


def _texts(entry, key, required=True) -> dict:
    value = entry.get(key) or {}
    if required and not all(value.get(lang) for lang in LANGS):
        raise CatalogueError(f"{entry.get('code')}: {key} needs ky, ru and en")
    return {lang: value.get(lang, "") for lang in LANGS}


def _check_names(spec: dict, code: str):
    """For populations whose records are not in Birge yet, the condition names must still exist."""
    for item in spec.get("conditions", []):
        names = []
        stack = [item]
        while stack:
            cur = stack.pop()
            if isinstance(cur, str):
                names.append(cur)
            elif isinstance(cur, dict):
                for v in cur.values():
                    stack.extend(v if isinstance(v, list) else [v])
        for name in names:
            if name not in CONDITIONS and name.partition(":")[0] not in CONDITIONS:
                raise CatalogueError(f"{code}: unknown condition {name!r}")


def validate(entry: dict) -> dict:
    """One catalogue entry, checked. Returns the model field values."""
    code = entry.get("code", "")
    if not code or len(code) > 20:
        raise CatalogueError(f"bad code {code!r}")
    kind = entry.get("kind")
    if kind not in KINDS:
        raise CatalogueError(f"{code}: kind must be one of {sorted(KINDS)}")
    if entry.get("direction") not in DIRECTIONS:
        raise CatalogueError(f"{code}: direction must be one of {sorted(DIRECTIONS)}")
    try:
        num = parse_side(entry.get("numerator"))
        den = parse_side(entry["denominator"]) if entry.get("denominator") else None
    except DefinitionError as exc:
        raise CatalogueError(f"{code}: {exc}") from exc
    for spec, side in ((entry.get("numerator"), num), (entry.get("denominator"), den)):
        if side is not None and not POPULATIONS[side.population].implemented:
            _check_names(spec, code)
    if kind in ("percent", "ratio", "parity-index") and den is None:
        raise CatalogueError(f"{code}: a {kind} needs a denominator")
    if kind in ("count", "median-days") and den is not None:
        raise CatalogueError(f"{code}: a {kind} has no denominator")
    if kind == "parity-index" and (num.unit != "learner" or den.unit != "learner"):
        raise CatalogueError(f"{code}: parity indices compare learners with and without disabilities")
    sides = [s for s in (num, den) if s is not None]
    dis = entry.get("disaggregations", [])
    for name in dis:
        dim = DIMENSIONS.get(name)
        if dim is None:
            raise CatalogueError(f"{code}: unknown disaggregation {name!r}")
        if not any(s.unit in dim.units for s in sides):
            raise CatalogueError(f"{code}: {name!r} applies to neither side")
        if kind == "parity-index" and name in ("disability", "category"):
            raise CatalogueError(f"{code}: a parity index is already split by disability status")
    for name in entry.get("share_of", []):
        if name not in dis or den is None:
            raise CatalogueError(f"{code}: share_of {name!r} must be an allowed disaggregation of a ratio")
    for combo in entry.get("standard", []):
        if not all(d in dis for d in combo):
            raise CatalogueError(f"{code}: standard disaggregation {combo} is not allowed")
    declared = set(entry.get("sources", []))
    unknown = declared - set(SOURCES)
    if unknown:
        raise CatalogueError(f"{code}: unknown source record types {sorted(unknown)}")
    derived = set().union(*(side_sources(s) for s in sides))
    if not derived <= declared | {"learner", "organization"}:
        raise CatalogueError(f"{code}: sources must list {sorted(derived - declared)}")
    name, description, notes = _texts(entry, "name"), _texts(entry, "description"), _texts(entry, "notes", required=False)
    return {
        "group": entry.get("group", ""), "order": int(entry.get("order", 0)), "kind": kind, "unit": entry.get("unit", ""),
        "direction": entry["direction"], "numerator": entry["numerator"], "denominator": entry.get("denominator"),
        "share_of": list(entry.get("share_of", [])), "disaggregations": list(dis), "standard": entry.get("standard", [[]]),
        "sources": sorted(declared | derived), "sdg": entry.get("sdg", ""), "key": bool(entry.get("key")),
        **{f"name_{k}": v for k, v in name.items()}, **{f"description_{k}": v for k, v in description.items()},
        **{f"notes_{k}": v for k, v in notes.items()},
    }


def load(path: Path | str | None = None, *, model=None, actor=None, audit: bool = True) -> dict:
    """Create or update the catalogue from a file. Returns counts."""
    from .models import Indicator

    model = model or Indicator
    data = read(path)
    entries = data["indicators"]
    codes = [e.get("code") for e in entries]
    if len(codes) != len(set(codes)):
        raise CatalogueError("codes must be unique")
    values = {e["code"]: validate(e) for e in entries}
    created = updated = 0
    with transaction.atomic():
        for code, fields in values.items():
            fields["catalogue_version"] = str(data["version"])
            fields["is_active"] = True
            obj = model.objects.filter(code=code).first()
            if obj is None:
                model.objects.create(code=code, **fields)
                created += 1
            elif any(getattr(obj, k) != v for k, v in fields.items()):
                for k, v in fields.items():
                    setattr(obj, k, v)
                obj.save()
                updated += 1
        retired = model.objects.exclude(code__in=codes).filter(is_active=True).update(is_active=False)
        counts = {"version": str(data["version"]), "created": created, "updated": updated, "retired": retired}
        if audit:
            from birge.core import audit as core_audit
            from birge.core.models import AuditEvent

            core_audit.record(actor, AuditEvent.Action.UPDATE, None, event="monitoring.catalogue_loaded",
                              object_type_label="monitoring.indicator", object_id="catalogue", changes=counts)
    return counts
