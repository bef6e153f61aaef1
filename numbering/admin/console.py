"""The console's dashboard and global search, for numbers (registered with the console site)."""

from django.contrib import admin

from numbering.selectors import number_counts_by_status, numbers_matching
from telecom.admin import organisation_of

# --- the dashboard and the global search (registered below) ------------------------------------


def numbers_dashboard(organisation, request) -> dict:
    """The dashboard's "numbers by status" (one query)."""
    if not request.user.has_perm("numbering.view_phonenumber"):
        return {}
    return {"number_counts": number_counts_by_status(organisation=organisation)}


def numbers_search(request, term: str) -> dict:
    """The global search's numbers: by digits, whatever their formatting."""
    if not term or not request.user.has_perm("numbering.view_phonenumber"):
        return {"numbers": None}
    return {"numbers": numbers_matching(organisation=organisation_of(request), term=term)}


admin.site.register_dashboard_panel(numbers_dashboard)
admin.site.register_search_provider(numbers_search)
