"""List filters over large tables: a search box, never a list of every row.

Django's related-field filter lists every member, licence, line or organisation the list could
be filtered by: 20,000 links (megabytes of HTML, and a query over the whole table) for a large
organisation. `RowSearchFilter` shows instead the row chosen (with a link to clear it) and a
search box; a term lists at most `limit` matching rows of the organisation, each a link that
chooses it. The search is the one of the row's own list (its admin's `get_search_results`), so a
member is found by name or e-mail, a licence by UUID or extension, a number by its digits.

It costs at most two small queries (the chosen row, the matches), whatever the size of the list.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import get_fields_from_path
from django.contrib.admin.views.main import PAGE_VAR
from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from telecom.admin.bases import organisation_of


class RowSearchFilter(admin.ListFilter):
    """Filter a list by one row of a related table, chosen through a search.

    Subclasses (or `for_field`) set `field_path`, the list's relation to the row; the query
    parameter is Django's own (`member__id__exact`), so links written for the related-field
    filter keep working. Override `filter` when the relation is not a plain lookup (a number is
    a member's through its licence or its licence's base licence), and `related_queryset` when
    the rows one may choose are not simply those of the organisation.
    """

    template = "admin/telecom/row_search_filter.html"
    field_path = ""
    parameter_name = ""  # default: f"{field_path}__{pk}__exact"
    search_parameter = ""  # default: f"{first part of the parameter}_search"
    related_model = None  # default: the model at the end of `field_path`
    label_related: tuple[str, ...] = ()  # select_related for the rows' labels
    search_help = ""  # default: the search help of the row's own list
    limit = 10

    def __init__(self, request, params, model, model_admin):
        if self.related_model is None:
            self.related_model = get_fields_from_path(model, self.field_path)[-1].related_model
        if not self.parameter_name:
            pk = self.related_model._meta.pk.name
            self.parameter_name = f"{self.field_path}__{pk}__exact"
        if not self.search_parameter:
            self.search_parameter = f"{self.parameter_name.split('__')[0]}_search"
        if self.title is None:
            self.title = str(self.related_model._meta.verbose_name)
        super().__init__(request, params, model, model_admin)
        self.model_admin = model_admin
        for name in self.expected_parameters():
            if name in params:
                self.used_parameters[name] = params.pop(name)[-1]

    @classmethod
    def for_field(cls, field_path: str, **attrs) -> type[RowSearchFilter]:
        """The filter of a plain relation (`"member"`, `"organisation"`)."""
        name = "".join(part.title() for part in field_path.split("__")) + "SearchFilter"
        return type(name, (cls,), {"field_path": field_path, **attrs})

    def expected_parameters(self):
        return [self.parameter_name, self.search_parameter]

    def has_output(self):
        return True

    def value(self) -> str:
        return self.used_parameters.get(self.parameter_name, "")

    def term(self) -> str:
        return self.used_parameters.get(self.search_parameter, "").strip()

    # --- what subclasses may change ----------------------------------------------------------

    def related_queryset(self, request) -> QuerySet:
        """The rows one may choose: those of the member's organisation (every row for staff)."""
        from telecom.admin.tenancy import scope_queryset

        rows = self.related_model._default_manager.all()
        return scope_queryset(rows, organisation_of(request), site=self.model_admin.admin_site)

    def filter(self, queryset: QuerySet, value: str) -> QuerySet:
        return queryset.filter(**{self.parameter_name: value})

    def label(self, row) -> str:
        return str(row)

    # --- the list filter ---------------------------------------------------------------------

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        try:
            return self.filter(queryset, self.value())
        except (ValueError, ValidationError) as exc:
            raise IncorrectLookupParameters(exc) from exc

    def chosen(self):
        if not self.value():
            return None
        try:
            rows = self.related_queryset(self.request).select_related(*self.label_related)
            return rows.filter(pk=self.value()).first()
        except (ValueError, ValidationError):
            return None

    def matches(self) -> list:
        term = self.term()
        if not term:
            return []
        rows = self.related_queryset(self.request).select_related(*self.label_related)
        related_admin = self.model_admin.admin_site._registry.get(self.related_model)
        if related_admin is not None:
            rows, duplicates = related_admin.get_search_results(self.request, rows, term)
            if duplicates:
                rows = rows.distinct()
        return list(rows[: self.limit + 1])

    def _related_search_help(self) -> str:
        related_admin = self.model_admin.admin_site._registry.get(self.related_model)
        return str(getattr(related_admin, "search_help_text", None) or "")

    def choices(self, changelist):
        ours = [self.parameter_name, self.search_parameter]
        chosen = self.chosen()
        matches = self.matches()
        yield {
            "chosen": self.label(chosen) if chosen is not None else "",
            "clear_url": changelist.get_query_string(remove=ours),
            "term": self.term(),
            "search_parameter": self.search_parameter,
            "help": self.search_help or self._related_search_help(),
            "matches": [
                (
                    self.label(row),
                    changelist.get_query_string(
                        {self.parameter_name: row.pk}, [self.search_parameter, PAGE_VAR]
                    ),
                    str(row.pk) == self.value(),
                )
                for row in matches[: self.limit]
            ],
            "more": len(matches) > self.limit,
            "preserved": [
                (name, value)
                for name, value in changelist.params.items()
                if name not in {self.search_parameter, PAGE_VAR}
            ],
            "active": bool(self.value() or self.term()),
        }
