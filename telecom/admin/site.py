"""The console site: its dashboard and global search."""

from __future__ import annotations

import re
import uuid
from functools import wraps

from django.contrib import admin, messages
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from accounts.models import AuditEvent, MemberStatus, Organisation, User
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
                context.update(organisation_dashboard(picked, request))
        else:
            context = organisation_dashboard(organisation, request)
        return super().index(request, {**context, **(extra_context or {})})

    def search_view(self, request):
        """Dashboard search: members by name or e-mail, licences by UUID (prefix) or extension."""
        from licensing.selectors import licence_list
        from numbering.admin import numbers_search

        term = request.GET.get("q", "").strip()[:100]
        organisation = organisation_of(request)
        members = licences = None
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
                lowered = term.lower()
                try:
                    match |= Q(pk=uuid.UUID(lowered))
                except ValueError:
                    if UUID_PREFIX.fullmatch(lowered):
                        match |= Q(id__startswith=lowered)
                licences = list(
                    licences.filter(match).select_related("organisation").order_by("extension")[:50]
                )
        context = {
            **self.each_context(request),
            "title": f"Search: {term}" if term else "Search",
            "subtitle": None,
            "term": term,
            "members": members,
            "licences": licences,
            **numbers_search(request, term),  # numbers by digits (issue 3)
        }
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


def organisation_dashboard(organisation: Organisation, request: HttpRequest) -> dict:
    """The dashboard figures of one organisation (rules 12 and 18, the current period)."""
    from accounts.selectors import member_counts_by_status, organisation_restriction_reasons
    from billing.admin import billing_dashboard
    from billing.selectors import money_on_unassigned_licences, organisation_period
    from licensing.models import LicenceType
    from licensing.selectors import licence_summary
    from numbering.admin import numbers_dashboard

    names = dict(LicenceType.objects.values_list("code", "name"))
    summary = [
        {**row, "name": names.get(row["type"], row["type"])}
        for row in licence_summary(organisation=organisation)
    ]
    counts = member_counts_by_status(organisation=organisation)
    events = (
        AuditEvent.objects.filter(organisation=organisation).order_by("-created_at", "-id")[:10]
        if request.user.has_perm("accounts.view_auditevent")
        else []
    )
    return {
        "dashboard_organisation": organisation,
        "licence_summary": summary,
        "unassigned_money": money_on_unassigned_licences(organisation),
        "member_counts": [(label, counts.get(value, 0)) for value, label in MemberStatus.choices],
        "member_total": sum(counts.values()),
        "period": organisation_period(organisation),
        "restriction_reasons": organisation_restriction_reasons(organisation),
        "recent_events": events,
        # Upcoming invoice, overdue invoices, calling credits against the cap (issue 4).
        **billing_dashboard(organisation, request),
        **numbers_dashboard(organisation, request),  # numbers by status (issue 3)
    }


def platform_overview() -> dict:
    """Platform staff's view across organisations: totals and a picker."""
    from licensing.models import Licence, LicenceStatus

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
