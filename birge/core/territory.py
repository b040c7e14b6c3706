"""The SOATE classifier: the official top levels shipped with Birge, municipalities imported.

``load_reference()`` loads regions, districts and cities from
``data/soate-2025.csv`` (from ``shared/reference/territory.md``; verify against
the official file before production use). ``import_file()`` loads aiyl aimaks
and towns from an official CSV/XLSX extract (``birge territory import FILE``).
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from . import audit
from .models import AuditEvent, ClassifierVersion, Territory
from .tabular import run_import

DATA = Path(__file__).parent / "data" / "soate-2025.csv"
REFERENCE_VERSION = {
    "code": "soate-2025",
    "title": "SOATE 2025 (top levels)",
    "valid_from": dt.date(2025, 1, 1),
    "source": "shared/reference/territory.md",
}

# Headers of the official extract (Russian and Kyrgyz) and ours.
ALIASES = {
    "code": ["код", "код соате", "соате", "soate", "соатэ коду", "коду"],
    "name_ky": ["аталышы", "наименование (кыргызча)", "name (ky)", "кыргызча"],
    "name_ru": ["наименование", "наименование (русский)", "name (ru)", "русча"],
    "name_en": ["name", "name (en)"],
    "level": ["уровень", "деңгээл"],
    "valid_from": ["действует с", "дата начала"],
    "is_urban": ["городской", "urban"],
}
LEVEL_ALIASES = {
    "aiyl-aimak": Territory.Level.AIYL_AIMAK, "айыл аймагы": Territory.Level.AIYL_AIMAK,
    "айыльный аймак": Territory.Level.AIYL_AIMAK, "town": Territory.Level.TOWN, "поселок": Territory.Level.TOWN,
    "посёлок": Territory.Level.TOWN, "шаарча": Territory.Level.TOWN, "город": Territory.Level.CITY,
    "city": Territory.Level.CITY, "district": Territory.Level.DISTRICT, "район": Territory.Level.DISTRICT,
}  # fmt: skip


def parent_code(code: str, level: str) -> str | None:
    """The code of the unit a code lies in (SOATE is hierarchical by position)."""
    if level in Territory.TOP_LEVELS:
        return None
    if level in Territory.DISTRICT_LEVELS:
        return code[:5] + "0" * 9
    return code[:8] + "0" * 6


@transaction.atomic
def load_reference(actor=None, *, version: dict | None = None) -> ClassifierVersion:
    """Create or refresh the shipped top levels (idempotent)."""
    meta = version or REFERENCE_VERSION
    cv, _created = ClassifierVersion.objects.get_or_create(code=meta["code"], defaults={k: v for k, v in meta.items() if k != "code"})
    with DATA.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    by_code = {}
    for row in sorted(rows, key=lambda r: (r["level"] not in Territory.TOP_LEVELS, r["code"])):
        parent = by_code.get(parent_code(row["code"], row["level"]))
        obj = Territory.objects.filter(code=row["code"], valid_from=cv.valid_from).first() or Territory(
            code=row["code"], valid_from=cv.valid_from
        )
        obj.level, obj.name_ky, obj.name_ru, obj.name_en = row["level"], row["name_ky"], row["name_ru"], row["name_en"]
        obj.iso_code, obj.is_urban, obj.parent, obj.version = row["iso_code"], row["is_urban"] == "1", parent, cv
        obj.save()
        by_code[obj.code] = obj
    audit.record(actor, AuditEvent.Action.UPDATE, cv, event="territory.reference_loaded", changes={"units": len(rows)})
    return cv


def _parse_date(value: str) -> dt.date | None:
    for fmt in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            return dt.datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    return None


def import_file(name: str, data: bytes, *, actor=None, version_code: str = REFERENCE_VERSION["code"],
                valid_only: bool = False, synthetic: bool = False):
    """Import municipalities (aiyl aimaks, towns) under the existing districts."""
    version = ClassifierVersion.objects.filter(code=version_code).first()
    if version is None:
        raise ValidationError(_("Unknown classifier version %(code)s: load the reference first.") % {"code": version_code})
    existing = {t.code: t for t in Territory.objects.filter(version=version)}
    seen: set[str] = set()

    def validate(row):
        errors = {}
        code = row.get("code", "").replace(" ", "")
        if not (len(code) == 14 and code.isdigit() and code.startswith("417")):
            errors["code"] = _("A SOATE code has 14 digits and starts with 417.")
        elif code[11:] != "000":
            errors["code"] = _("Settlements (villages) are not imported; give aiyl aimaks and towns.")
        elif code in seen:
            errors["code"] = _("This code appears twice in the file.")
        level_raw = row.get("level", "").strip().lower()
        level = LEVEL_ALIASES.get(level_raw, level_raw) if level_raw else Territory.Level.AIYL_AIMAK
        if level not in (Territory.Level.AIYL_AIMAK, Territory.Level.TOWN):
            errors["level"] = _("Level must be an aiyl aimak or a town.")
        parent = existing.get(code[:8] + "0" * 6) if not errors.get("code") else None
        if not errors.get("code") and parent is None:
            errors["code"] = _("No district with code %(code)s is loaded.") % {"code": code[:8] + "000000"}
        if not row.get("name_ky") and not row.get("name_ru"):
            errors["name_ky"] = _("A name in Kyrgyz or Russian is required.")
        valid_from = version.valid_from
        if row.get("valid_from"):
            valid_from = _parse_date(row["valid_from"])
            if valid_from is None:
                errors["valid_from"] = _("Give a date as YYYY-MM-DD or DD.MM.YYYY.")
        if errors:
            raise ValidationError(errors)
        seen.add(code)
        name_ky = row.get("name_ky") or row["name_ru"]
        name_ru = row.get("name_ru") or name_ky
        return dict(code=code, level=level, name_ky=name_ky, name_ru=name_ru, name_en=row.get("name_en") or name_ky,
                    parent=parent, valid_from=valid_from, is_urban=row.get("is_urban", "") in ("1", "yes", "да", "ооба"))

    def write(rows):
        n = 0
        for r in rows:
            obj = existing.get(r["code"]) or Territory(code=r["code"], version=version)
            for k, v in r.items():
                setattr(obj, k, v)
            obj.version, obj.is_synthetic = version, synthetic
            obj.save()
            n += 1
        audit.record(actor, AuditEvent.Action.UPDATE, version, event="territory.imported", changes={"file": name, "units": n})
        return n

    return run_import(name, data, aliases=ALIASES, required=["code"], validate=validate, write=write, valid_only=valid_only)
