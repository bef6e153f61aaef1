from django.db import migrations, models


class Migration(migrations.Migration):
    """The language an organisation's documents are e-mailed in (billing/mail.py)."""

    dependencies = [
        ("accounts", "0014_organisation_last_credit_note_sequence"),
    ]

    operations = [
        migrations.AddField(
            model_name="organisation",
            name="language",
            field=models.CharField(
                choices=[("en", "English"), ("fr", "Français")],
                default="en",
                help_text="The language of the invoices and credit notes e-mailed to its billing "
                "contacts.",
                max_length=8,
            ),
        ),
    ]
