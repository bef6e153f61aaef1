""" "Void" becomes "credited" (docs/rules.md, "Credit notes"): each invoice voided before credit
notes existed gets the credit note of its whole amount, numbered in its organisation's new
series in the order they were voided, dated the day it was voided; then the void status and its
date go."""

import zoneinfo

from django.db import migrations, models
from django.utils import timezone


def credit_void_invoices(apps, schema_editor):
    Invoice = apps.get_model("billing", "Invoice")
    Organisation = apps.get_model("accounts", "Organisation")
    CreditNote = apps.get_model("billing", "CreditNote")
    CreditNoteLine = apps.get_model("billing", "CreditNoteLine")
    voided = Invoice.objects.filter(status="void").order_by(
        "organisation_id", "voided_at", "sequence"
    )
    for invoice in voided.filter(subtotal__gt=0):
        org = Organisation.objects.select_for_update().get(pk=invoice.organisation_id)
        org.last_credit_note_sequence += 1
        org.save(update_fields=["last_credit_note_sequence"])
        at = invoice.voided_at or timezone.now()
        prefix = invoice.number.rsplit("-", 1)[0]
        note = CreditNote.objects.create(
            organisation_id=org.pk,
            invoice=invoice,
            sequence=org.last_credit_note_sequence,
            number=f"{prefix}-CN-{org.last_credit_note_sequence:06d}",
            reason="Voided before credit notes existed.",
            issued_at=at,
            issued_on=at.astimezone(zoneinfo.ZoneInfo(org.timezone)).date(),
            currency=invoice.currency,
            tax_rate=invoice.tax_rate,
            subtotal=invoice.subtotal,
            tax=invoice.tax,
            total=invoice.total,
            billing_details_id=invoice.billing_details_id,
        )
        CreditNoteLine.objects.bulk_create(
            CreditNoteLine(
                credit_note=note,
                position=position,
                invoice_line=line,
                description=line.description,
                kind=line.kind,
                quantity=line.quantity,
                unit_price=line.unit_price,
                period_start=line.period_start,
                period_end=line.period_end,
                amount=line.amount,
            )
            for position, line in enumerate(
                invoice.lines.exclude(amount=0).order_by("position"), start=1
            )
        )
    voided.update(status="credited")


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0009_credit_notes"),
    ]

    operations = [
        migrations.RunPython(credit_void_invoices, migrations.RunPython.noop),
        migrations.RemoveField(model_name="invoice", name="voided_at"),
        migrations.AlterField(
            model_name="invoice",
            name="status",
            field=models.CharField(
                choices=[("issued", "Issued"), ("paid", "Paid"), ("credited", "Credited")],
                default="issued",
                max_length=8,
            ),
        ),
    ]
