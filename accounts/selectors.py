from django.db.models import Count, IntegerField, OuterRef, Prefetch, Subquery, Value
from django.db.models.functions import Coalesce

from accounts.models import MemberStatus, Organisation, User


def member_list(*, organisation: Organisation | None):
    qs = User.objects.filter(is_superuser=False)
    return qs if organisation is None else qs.filter(organisation=organisation)


def active_members(*, organisation: Organisation):
    return member_list(organisation=organisation).exclude(status=MemberStatus.DEACTIVATED)


def member_list_detailed(*, organisation: Organisation | None, member: User | None = None):
    """Members with what a list shows: their licence ids (prefetched) and `number_count`.

    `member` narrows the list to that member (an end user sees only themself).
    """
    from licensing.models import Licence

    qs = member_list(organisation=organisation)
    if member is not None:
        qs = qs.filter(pk=member.pk)
    return with_number_count(qs).prefetch_related(
        Prefetch("licences", queryset=Licence.objects.only("id", "member_id").order_by("pk"))
    )


def with_number_count(queryset):
    """Annotate `number_count`: the numbers each member holds (assigned or porting), on their
    licences and on the add-ons of those licences (no query per row).

    Two correlated counts, each served by indexes (licence.member_id, then
    licence.base_licence_id, then the number's licence_id): a licence is either assigned or an
    add-on, never both, so they add up. One count with an OR across the licence and its base
    licence is served by no index and reads every held number for each member."""
    from licensing.models import Licence
    from numbering.models import PhoneNumber

    def held_through(licences):
        return Subquery(
            PhoneNumber.objects.held()
            .filter(licence__in=licences.values("pk"))
            .order_by()
            .values("organisation")
            .annotate(n=Count("pk"))
            .values("n"),
            output_field=IntegerField(),
        )

    own = Licence.objects.filter(member=OuterRef(OuterRef("pk"))).order_by()
    addons = Licence.objects.filter(base_licence__member=OuterRef(OuterRef("pk"))).order_by()
    return queryset.annotate(
        number_count=Coalesce(held_through(own), Value(0))
        + Coalesce(held_through(addons), Value(0))
    )


def member_counts_by_status(*, organisation: Organisation) -> dict[str, int]:
    """How many members the organisation has in each status (invited, active, deactivated)."""
    return dict(
        member_list(organisation=organisation)
        .order_by()
        .values_list("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
