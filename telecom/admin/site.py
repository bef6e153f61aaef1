"""The console site: its dashboard and global search."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from functools import wraps

from django.contrib import admin, messages
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from accounts.models import AuditEvent, MemberStatus, Organisation, User
from accounts.selectors import member_counts_by_status
from billing.restriction import organisation_restriction_reasons
from billing.selectors import invoice_list, organisation_period
from licensing.models import Licence, LicenceStatus
from licensing.selectors import licence_list, licence_summary, money_on_unassigned_licences
from telecom.admin.tenancy import organisation_of

UUID_PREFIX = re.compile(r"[0-9a-f-]{4,36}")


class TelecomAdminSite(admin.AdminSite):
    site_header = "Telecom console"
    site_title = "Telecom console"
    index_title = "Dashboard"

    END_USER_SENT_HOME = (
        "The admin console is for your organisation's owners, administrators and finance team. "
        "Here are your own numbers, messages, calls and voicemail."
    )

    # The apps' own parts of the dashboard and of the global search. Each app registers them
    # from its console module, which Django's admin loads when the apps are ready; this site
    # imports no app's console (docs/architecture.md, "Layers and contracts").
    def __init__(self, name="admin"):
        super().__init__(name)
        self.dashboard_panels: list[Callable[[Organisation, HttpRequest], dict]] = []
        self.search_providers: list[Callable[[HttpRequest, str], dict]] = []

    def register_dashboard_panel(self, panel: Callable[[Organisation, HttpRequest], dict]):
        """`panel(organisation, request)` -> figures for the dashboard's template."""
        if panel not in self.dashboard_panels:
            self.dashboard_panels.append(panel)
        return panel

    def register_search_provider(self, provider: Callable[[HttpRequest, str], dict]):
        """`provider(request, term)` -> results for the search page's template."""
        if provider not in self.search_providers:
            self.search_providers.append(provider)
        return provider

    @staticmethod
    def _is_end_user(request: HttpRequest) -> bool:
        """A signed-in member without a console role (role `user`): the webapp is theirs."""
        user = getattr(request, "user", None)
        return bool(user is not None and user.is_authenticated and not user.is_staff)

    def _send_to_webapp(self, request: HttpRequest) -> HttpResponseRedirect:
        messages.info(request, self.END_USER_SENT_HOME)
        return HttpResponseRedirect(reverse("webapp:home"))

    def admin_view(self, view, cacheable=False):
        # An end user who opens any console page goes to the webapp with a sentence, instead of
        # the console's sign-in form (issue 13, "No dead ends").
        protected = super().admin_view(view, cacheable)

        @wraps(view)
        def inner(request, *args, **kwargs):
            if self._is_end_user(request):
                return self._send_to_webapp(request)
            return protected(request, *args, **kwargs)

        return inner

    def login(self, request, extra_context=None):
        if self._is_end_user(request):
            return self._send_to_webapp(request)
        return super().login(request, extra_context)

    def each_context(self, request):
        context = super().each_context(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.is_staff:
            context["console_organisation"] = organisation_of(request)
            context["console_is_platform_staff"] = user.is_superuser
        return context

    def get_urls(self):
        return [
            path("search/", self.admin_view(self.search_view), name="search"),
            *super().get_urls(),
        ]

    def index(self, request, extra_context=None):
        organisation = organisation_of(request)
        if organisation is None:
            picked = organisation_from_param(request.GET.get("organisation"))
            context = {
                "picked_organisation": picked,
                "recent_events": AuditEvent.objects.order_by("-created_at", "-id")[:10],
                **platform_overview(),
            }
            if picked is not None:
                context.update(organisation_dashboard(picked, request, site=self))
        else:
            context = organisation_dashboard(organisation, request, site=self)
        return super().index(request, {**context, **(extra_context or {})})

    def search_view(self, request):
        """Dashboard search: members by name or e-mail, licences by UUID (prefix) or extension."""
        term = request.GET.get("q", "").strip()[:100]
        organisation = organisation_of(request)
        members = licences = invoices = None
        if term:
            if request.user.has_perm("accounts.view_user"):
                members = (
                    User.objects.filter(is_superuser=False)
                    .filter(Q(name__icontains=term) | Q(email__icontains=term))
                    .select_related("organisation")
                    .order_by("name", "email")
                )
                if organisation is not None:
                    members = members.filter(organisation=organisation)
                members = list(members[:50])
            if request.user.has_perm("licensing.view_licence"):
                licences = licence_list(organisation=organisation)
                match = Q(extension__startswith=term) if term.isdigit() else Q(pk__in=[])
                if len(term) >= 2 and not term.isdigit():  # a member's licences, by their name
                    match |= Q(member__name__icontains=term) | Q(member__email__icontains=term)
                    match |= Q(base_licence__member__name__icontains=term)
                lowered = term.lower()
                try:
                    match |= Q(pk=uuid.UUID(lowered))
                except ValueError:
                    if UUID_PREFIX.fullmatch(lowered):
                        match |= Q(id__startswith=lowered)
                licences = list(
                    licences.filter(match)
                    .select_related(
                        "organisation", "licence_type", "member", "line", "base_licence__member"
                    )
                    .order_by("extension", "pk")[:50]
                )
            if request.user.has_perm("billing.view_invoice"):
                invoices = list(
                    invoice_list(organisation=organisation)
                    .prefetch_related(None)
                    .filter(number__icontains=term)
                    .order_by("-issued_on", "number")[:50]
                )
        context = {
            **self.each_context(request),
            "title": f"Search: {term}" if term else "Search",
            "subtitle": None,
            "term": term,
            "members": members,
            "licences": licences,
            "invoices": invoices,
        }
        for provider in self.search_providers:  # numbers by digits (issue 3), ...
            context.update(provider(request, term))
        request.current_app = self.name
        return TemplateResponse(request, "admin/telecom/search.html", context)


def organisation_from_param(value: str | None) -> Organisation | None:
    """The organisation platform staff name in `?organisation=<uuid>`, or None."""
    if not value:
        return None
    try:
        return Organisation.objects.filter(pk=uuid.UUID(value)).first()
    except ValueError:
        return None


def organisation_dashboard(
    organisation: Organisation, request: HttpRequest, *, site: TelecomAdminSite | None = None
) -> dict:
    """The dashboard figures of one organisation (rules 12 and 18, the current period)."""
    site = site or admin.site
    summary = licence_summary(organisation=organisation)
    counts = member_counts_by_status(organisation=organisation)
    events = (
        AuditEvent.objects.filter(organisation=organisation).order_by("-created_at", "-id")[:10]
        if request.user.has_perm("accounts.view_auditevent")
        else []
    )
    figures = {
        "dashboard_organisation": organisation,
        "licence_summary": summary,
        "unassigned_money": money_on_unassigned_licences(organisation, summary=summary),
        "member_counts": [(label, counts.get(value, 0)) for value, label in MemberStatus.choices],
        "member_total": sum(counts.values()),
        "period": organisation_period(organisation),
        "restriction_reasons": organisation_restriction_reasons(organisation),
        "recent_events": events,
    }
    # Panels the apps registered: numbers by status (issue 3); upcoming invoice, overdue
    # invoices, calling credits against the cap (issue 4).
    for panel in site.dashboard_panels:
        figures.update(panel(organisation, request))
    return figures


def platform_overview() -> dict:
    """Platform staff's view across organisations: totals and a picker."""
    organisations = Organisation.objects.annotate(
        member_count=Count("members", distinct=True)
    ).order_by("name")
    by_status = dict(
        Licence.objects.order_by()
        .values_list("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    members = dict(
        User.objects.filter(is_superuser=False)
        .order_by()
        .values_list("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    return {
        "platform_organisations": organisations,
        "platform_organisation_count": organisations.count(),
        "platform_without_payment_method": Organisation.objects.filter(
            payment_method_kind=""
        ).count(),
        "platform_licences": [
            (label, by_status.get(value, 0)) for value, label in LicenceStatus.choices
        ],
        "platform_members": [
            (label, members.get(value, 0)) for value, label in MemberStatus.choices
        ],
    }
