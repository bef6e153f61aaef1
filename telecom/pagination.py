from django.core.paginator import Paginator
from django.db.models import QuerySet
from rest_framework.pagination import PageNumberPagination


def rows_of(queryset: QuerySet, ids: list) -> list:
    """The rows of `queryset` with these ids, in the order of `ids`."""
    rows = {row.pk: row for row in queryset.order_by().filter(pk__in=ids)}
    return [rows[pk] for pk in ids if pk in rows]


class IdsFirstPaginator(Paginator):
    """Django's paginator, reading a page of an ordered queryset as its ids first (the filters
    and the order, which an index serves), then those rows with their joins and annotations.
    The console's lists use it (telecom.admin.TenantAdmin); see `Pagination` for why."""

    def page(self, number):
        queryset = self.object_list
        if not isinstance(queryset, QuerySet) or not queryset.ordered:
            return super().page(number)
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        ids = list(queryset.values_list("pk", flat=True)[bottom:top])
        return self._get_page(rows_of(queryset, ids), number, self)


class Pagination(PageNumberPagination):
    """`?page=N&page_size=M` (M at most 500, default 50), as API.md says.

    A page is read in two steps: the ids of its rows (the list's filters and order, nothing
    else: an index serves it), then those rows with everything the list shows (joins, prefetches,
    per-row counts) for these ids only. Read in one step, a deep page computes what the list
    shows for every row it skips: PostgreSQL evaluates the select list of the rows an OFFSET
    skips, so the last page of 20,000 members ran 20,000 counts.
    """

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def paginate_queryset(self, queryset, request, view=None):
        if not isinstance(queryset, QuerySet) or not queryset.ordered:
            return super().paginate_queryset(queryset, request, view)
        ids = super().paginate_queryset(queryset.values_list("pk", flat=True), request, view)
        if ids is None:
            return None
        return rows_of(queryset, list(ids))
