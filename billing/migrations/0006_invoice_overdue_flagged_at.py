from django.db import migrations, models

# Invoices the overdue job already recorded (an `invoice.overdue` audit row) keep that moment, so
# the job does not record them a second time (docs/rules.md#rule-18).
BACKFILL = """
UPDATE billing_invoice AS invoice
   SET overdue_flagged_at = flagged.at
  FROM (
        SELECT target_id, MIN(created_at) AS at
          FROM accounts_auditevent
         WHERE action = 'invoice.overdue'
         GROUP BY target_id
       ) AS flagged
 WHERE flagged.target_id = invoice.id::text
"""


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("billing", "0005_amounts_wide_enough"),
    ]

    operations = [
        migrations.AddField(
            model_name="invoice",
            name="overdue_flagged_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.RunSQL(BACKFILL, reverse_sql=migrations.RunSQL.noop, elidable=True),
    ]
