"""An organisation's payment method before payment methods existed (a kind and a free-text
reference on the organisation) becomes a method record of the local provider, its default; the
organisation's fields then name that record's token (billing/payments/methods.py)."""

import re

from django.db import migrations


def forwards(apps, schema_editor):
    Organisation = apps.get_model("accounts", "Organisation")
    PaymentMethod = apps.get_model("billing", "PaymentMethod")
    taken = set(PaymentMethod.objects.values_list("token", flat=True))
    for org in Organisation.objects.exclude(payment_method_kind="").iterator():
        if PaymentMethod.objects.filter(organisation=org, removed_at__isnull=True).exists():
            continue
        token = org.payment_method_reference[:100]
        if token in taken:
            token = f"{org.pk}-{token}"[:100]
        taken.add(token)
        tail = re.sub(r"[^0-9A-Z]", "", org.payment_method_reference.upper())[-4:].rjust(4, "0")
        sepa = org.payment_method_kind == "sepa_debit"
        PaymentMethod.objects.create(
            organisation=org,
            kind=org.payment_method_kind,
            status="active",
            provider="local",
            token=token,
            last4=tail,
            mandate_reference=org.payment_method_reference[:35] if sepa else "",
            mandate_signed_on=org.created_at.date() if sepa else None,
            is_default=True,
            created_at=org.created_at,
        )
        if token != org.payment_method_reference:
            org.payment_method_reference = token
            org.save(update_fields=["payment_method_reference"])


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0013_merge_lists_and_product_names"),
        ("billing", "0009_payment_methods_and_attempts"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
