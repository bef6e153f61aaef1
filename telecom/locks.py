"""Row locks taken in one fixed order: the organisation first, then its rows by primary key.

Every service that decides something about an organisation's licences, numbers or invoices locks
the organisation row first. That serialises those decisions per organisation (two assignments
cannot both take the last free licence) while organisations never wait for one another.
"""

from django.apps import apps


def organisation_for_update(pk, **annotations):
    """The organisation's row, locked; `annotations` read more in the same statement (e.g. the
    invoice's billing details, billing.services.invoice_issue). Core imports no app: the model
    is looked up by name."""
    organisation = apps.get_model("accounts", "Organisation")
    queryset = organisation.objects.select_for_update(of=("self",))
    if annotations:
        queryset = queryset.annotate(**annotations)
    return queryset.get(pk=pk)
