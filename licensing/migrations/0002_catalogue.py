"""The catalogue is data: see licensing/catalogue.py."""

from django.db import migrations

from licensing.catalogue import load_catalogue


def load(apps, schema_editor):
    load_catalogue(apps)


class Migration(migrations.Migration):
    dependencies = [("licensing", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
