import uuid

import django.db.models.deletion
import django.db.models.expressions
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

# A credit note is never edited (docs/rules.md, "Credit notes"): the database refuses any UPDATE
# or DELETE of one or of its lines, whatever path tries.
NEVER_EDITED = """
CREATE FUNCTION billing_credit_note_never_edited() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'a credit note is never edited or deleted' USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER credit_note_never_edited BEFORE UPDATE OR DELETE ON billing_creditnote
    FOR EACH ROW EXECUTE FUNCTION billing_credit_note_never_edited();
CREATE TRIGGER credit_note_line_never_edited BEFORE UPDATE OR DELETE ON billing_creditnoteline
    FOR EACH ROW EXECUTE FUNCTION billing_credit_note_never_edited();
"""
NEVER_EDITED_REVERSE = """
DROP TRIGGER credit_note_line_never_edited ON billing_creditnoteline;
DROP TRIGGER credit_note_never_edited ON billing_creditnote;
DROP FUNCTION billing_credit_note_never_edited();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0014_organisation_last_credit_note_sequence"),
        ("billing", "0008_usagerecord_usage_org_started"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="CreditNote",
            fields=[
                (
                    "id",
                    models.UUIDField(
                        default=uuid.uuid4, editable=False, primary_key=True, serialize=False
                    ),
                ),
                ("sequence", models.PositiveIntegerField(editable=False)),
                ("number", models.CharField(editable=False, max_length=36)),
                ("reason", models.CharField(max_length=300)),
                ("issued_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "issued_on",
                    models.DateField(
                        help_text="Local date of issue in the organisation's time zone."
                    ),
                ),
                (
                    "currency",
                    models.CharField(
                        choices=[("EUR", "Euro"), ("USD", "US dollar"), ("GBP", "Pound sterling")],
                        max_length=3,
                    ),
                ),
                ("tax_rate", models.DecimalField(decimal_places=4, max_digits=5)),
                ("subtotal", models.DecimalField(decimal_places=2, max_digits=16)),
                ("tax", models.DecimalField(decimal_places=2, max_digits=16)),
                ("total", models.DecimalField(decimal_places=2, max_digits=16)),
                (
                    "billing_details",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="billing.billingdetails",
                    ),
                ),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "invoice",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="credit_notes",
                        to="billing.invoice",
                    ),
                ),
                (
                    "organisation",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="credit_notes",
                        to="accounts.organisation",
                    ),
                ),
            ],
            options={
                "ordering": ["-issued_at", "-sequence"],
            },
        ),
        migrations.CreateModel(
            name="CreditNoteLine",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("position", models.PositiveSmallIntegerField()),
                ("description", models.CharField(max_length=300)),
                ("kind", models.CharField(max_length=16)),
                ("quantity", models.PositiveIntegerField()),
                ("unit_price", models.DecimalField(decimal_places=2, max_digits=12)),
                ("period_start", models.DateField(blank=True, null=True)),
                (
                    "period_end",
                    models.DateField(blank=True, help_text="Last day, inclusive.", null=True),
                ),
                ("amount", models.DecimalField(decimal_places=2, max_digits=16)),
                (
                    "credit_note",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="lines",
                        to="billing.creditnote",
                    ),
                ),
                (
                    "invoice_line",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="credited_by",
                        to="billing.invoiceline",
                    ),
                ),
            ],
            options={
                "ordering": ["credit_note", "position"],
            },
        ),
        migrations.AddIndex(
            model_name="creditnote",
            index=models.Index(
                fields=["organisation", "-issued_on"], name="billing_cre_organis_85e625_idx"
            ),
        ),
        migrations.AddConstraint(
            model_name="creditnote",
            constraint=models.UniqueConstraint(
                fields=("number",), name="credit_note_number_unique"
            ),
        ),
        migrations.AddConstraint(
            model_name="creditnote",
            constraint=models.UniqueConstraint(
                fields=("organisation", "sequence"), name="credit_note_sequence_unique_per_org"
            ),
        ),
        migrations.AddConstraint(
            model_name="creditnote",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    (
                        "total",
                        django.db.models.expressions.CombinedExpression(
                            models.F("subtotal"), "+", models.F("tax")
                        ),
                    )
                ),
                name="credit_note_total_is_sum",
            ),
        ),
        migrations.AddConstraint(
            model_name="creditnote",
            constraint=models.CheckConstraint(
                condition=models.Q(("subtotal__gt", 0)), name="credit_note_positive"
            ),
        ),
        migrations.AddConstraint(
            model_name="creditnote",
            constraint=models.CheckConstraint(
                condition=models.Q(("tax__gte", 0)), name="credit_note_tax_not_negative"
            ),
        ),
        migrations.AddConstraint(
            model_name="creditnote",
            constraint=models.CheckConstraint(
                condition=models.Q(("sequence__gte", 1)), name="credit_note_sequence_positive"
            ),
        ),
        migrations.AddConstraint(
            model_name="creditnoteline",
            constraint=models.UniqueConstraint(
                fields=("credit_note", "position"), name="credit_note_line_position"
            ),
        ),
        migrations.AddConstraint(
            model_name="creditnoteline",
            constraint=models.CheckConstraint(
                condition=models.Q(("quantity__gte", 1)), name="credit_note_line_quantity"
            ),
        ),
        migrations.AddConstraint(
            model_name="creditnoteline",
            constraint=models.CheckConstraint(
                condition=models.Q(("amount", 0), _negated=True), name="credit_note_line_not_zero"
            ),
        ),
        migrations.RunSQL(NEVER_EDITED, reverse_sql=NEVER_EDITED_REVERSE),
    ]
