from django.db.models import Count

from accounts.models import MemberStatus, Organisation, User


def member_list(*, organisation: Organisation | None):
    qs = User.objects.filter(is_superuser=False)
    return qs if organisation is None else qs.filter(organisation=organisation)


def active_members(*, organisation: Organisation):
    return member_list(organisation=organisation).exclude(status=MemberStatus.DEACTIVATED)


def member_counts_by_status(*, organisation: Organisation) -> dict[str, int]:
    """How many members the organisation has in each status (invited, active, deactivated)."""
    return dict(
        member_list(organisation=organisation)
        .order_by()
        .values_list("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
