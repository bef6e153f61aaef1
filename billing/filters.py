"""FilterSets for invoices, shared by the API and the webapp."""

import django_filters

from billing.models import Invoice, InvoiceStatus


class InvoiceFilterSet(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=InvoiceStatus.choices)
    issued_from = django_filters.DateFilter(
        field_name="issued_on", lookup_expr="gte", label="Issued on or after (YYYY-MM-DD)"
    )
    issued_to = django_filters.DateFilter(
        field_name="issued_on", lookup_expr="lte", label="Issued on or before (YYYY-MM-DD)"
    )

    class Meta:
        model = Invoice
        fields = ["status", "issued_from", "issued_to"]
