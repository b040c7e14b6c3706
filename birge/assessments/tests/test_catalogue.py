import json

import pytest

from birge.assessments import catalogue
from birge.assessments.models import CatalogueItem

pytestmark = pytest.mark.django_db


def test_the_migration_loads_the_catalogue_in_three_languages():
    rows = catalogue.read()
    assert CatalogueItem.objects.count() == len(rows)
    kinds = set(CatalogueItem.objects.values_list("kind", flat=True))
    assert kinds == {"form", "condition", "service", "device", "test-accommodation"}
    for item in CatalogueItem.objects.all():
        assert item.name_ky and item.name_ru and item.name_en
        assert (item.kind == "service") == bool(item.unit)
    speech = CatalogueItem.objects.get(code="speech-therapy")
    assert "логопед" in speech.name_ky and speech.unit == "minutes-week"
    assert "ымдоо тили" in CatalogueItem.objects.get(code="sign-language").name_ky.lower()
    text = " ".join(CatalogueItem.objects.values_list("name_ky", flat=True))
    assert {"ң", "ө", "ү"} <= set(text)
    assert "тифлопедагог" in text and "сурдопедагог" in text and "Атайын педагог" in text and "тьютор" in text.lower()
    assert "contraindication" not in json.dumps(rows).lower()


def test_loading_again_updates_by_code_and_deactivates_what_was_dropped(tmp_path):
    rows = catalogue.read()
    changed = [dict(rows[0], name_en="Changed")] + rows[2:]
    path = tmp_path / "catalogue.json"
    path.write_text(json.dumps({"version": 2, "items": changed}, ensure_ascii=False), encoding="utf-8")
    created, updated = catalogue.load(CatalogueItem, path)
    assert created == 0 and updated >= 1
    assert CatalogueItem.objects.get(code=rows[0]["code"]).name_en == "Changed"
    assert CatalogueItem.objects.get(code=rows[1]["code"]).is_active is False
    catalogue.load(CatalogueItem)
    assert CatalogueItem.objects.filter(is_active=False).count() == 0
