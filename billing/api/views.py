"""Invoices, read side (API.md "Billing")."""

from rest_framework import mixins

from accounts.roles import Cap
from billing.api.serializers import InvoiceSerializer
from billing.filters import InvoiceFilterSet
from billing.selectors import invoice_list
from telecom.api import TenantViewSet


class InvoiceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """Invoices of the caller's organisation: owners, admins and finance read them."""

    serializer_class = InvoiceSerializer
    filterset_class = InvoiceFilterSet
    search_fields = ["number", "lines__description"]
    capabilities = {"read": Cap.INVOICES_READ}

    def get_queryset(self):
        return self.scope(invoice_list(organisation=None))
