from django.db import migrations, models


class Migration(migrations.Migration):
    """Credit notes' own gapless series per organisation (docs/rules.md, "Credit notes")."""

    dependencies = [
        ("accounts", "0013_merge_lists_and_product_names"),
    ]

    operations = [
        migrations.AddField(
            model_name="organisation",
            name="last_credit_note_sequence",
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
    ]
