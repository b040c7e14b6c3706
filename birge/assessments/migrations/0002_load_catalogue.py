"""Load the catalogue of recommendations from ``birge/assessments/catalogue.json``."""

from django.db import migrations


def load(apps, schema_editor):
    from birge.assessments import catalogue

    catalogue.load(apps.get_model("assessments", "CatalogueItem"))


class Migration(migrations.Migration):
    dependencies = [("assessments", "0001_initial")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
