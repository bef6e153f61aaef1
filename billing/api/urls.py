from django.urls import path
from rest_framework.routers import SimpleRouter

from billing.api import payments, views
from billing.api.credit_notes import CreditNoteViewSet

router = SimpleRouter()
router.register("invoices", views.InvoiceViewSet, basename="invoice")
router.register("credit-notes", CreditNoteViewSet, basename="credit-note")
router.register("billing", views.BillingViewSet, basename="billing")
router.register("device-orders", views.DeviceOrderViewSet, basename="device-order")
router.register("usage", views.UsageViewSet, basename="usage")
router.register(
    "organisation/payment-methods", payments.PaymentMethodViewSet, basename="payment-method"
)

billing_profile = views.BillingDetailsViewSet.as_view(
    {"get": "retrieve", "patch": "partial_update"}
)

urlpatterns = [
    path("organisation/billing-profile/", billing_profile, name="organisation-billing-profile"),
    *router.urls,
]
