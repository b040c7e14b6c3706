"""The catalogue of recommendations, kept as data in ``catalogue.json``.

The data migration and ``load`` share one loader: an item is matched by its
stable ``code``; names, unit and order follow the file; an item dropped from the
file is deactivated, never deleted (conclusions keep pointing at it).
"""

from __future__ import annotations

import json
from pathlib import Path

CATALOGUE_FILE = Path(__file__).with_name("catalogue.json")
KINDS = ("form", "condition", "service", "device", "test-accommodation")
UNITS = ("", "minutes-week", "sessions-month")


def read(path: Path = CATALOGUE_FILE) -> list[dict]:
    data = json.loads(path.read_text(encoding="utf-8"))
    items = data["items"]
    seen = set()
    for row in items:
        if row["kind"] not in KINDS or row.get("unit", "") not in UNITS or row["code"] in seen:
            raise ValueError(f"bad catalogue row: {row}")
        if (row["kind"] == "service") != bool(row.get("unit")):
            raise ValueError(f"a service, and only a service, has a unit: {row}")
        seen.add(row["code"])
    return items


def load(model, path: Path = CATALOGUE_FILE) -> tuple[int, int]:
    """Upsert the file into ``model`` (the real or the historical CatalogueItem): (created, updated)."""
    items = read(path)
    existing = {c.code: c for c in model.objects.all()}
    created = updated = 0
    for position, row in enumerate(items):
        values = {"kind": row["kind"], "name_ky": row["name_ky"], "name_ru": row["name_ru"], "name_en": row["name_en"],
                  "unit": row.get("unit", ""), "is_active": True, "position": position}
        item = existing.pop(row["code"], None)
        if item is None:
            model.objects.create(code=row["code"], **values)
            created += 1
        elif any(getattr(item, k) != v for k, v in values.items()):
            model.objects.filter(pk=item.pk).update(**values)
            updated += 1
    model.objects.filter(code__in=list(existing)).update(is_active=False)
    return created, updated
