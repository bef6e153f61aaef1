from django.db.models import Count, IntegerField, OuterRef, Prefetch, Q, Subquery, Value
from django.db.models.functions import Coalesce

from accounts.models import Organisation, User
from accounts.selectors import member_list
from licensing.models import Licence
from numbering.models import NumberAssignment, NumberStatus, PhoneNumber


def number_list(*, organisation: Organisation | None, member=None, holders: bool = True):
    """Numbers an organisation holds (released ones are history, not listed).

    With `holders`, each comes with its licence's type and its holder (member or line, also
    through a base licence); without, only with its licence and base licence: enough for their
    ids, and far cheaper to plan (two joins instead of seven) for the API's pages.
    """
    related = (
        (
            "licence__licence_type",
            "licence__member",
            "licence__line",
            "licence__base_licence__member",
            "licence__base_licence__line",
        )
        if holders
        else ("licence__base_licence",)
    )
    qs = PhoneNumber.objects.exclude(status=NumberStatus.RELEASED).select_related(*related)
    if organisation is not None:
        qs = qs.filter(organisation=organisation)
    if member is not None:
        qs = qs.filter(licence__in=holder_licences(member=member))
    return qs


def holder_licences(*, member=None, line=None):
    """The ids (a list) of the licences through which a member (or line) holds numbers: their
    own licences and the add-ons of those, read by a UNION of two index lookups
    (licence.member_id or line_id, then licence.base_licence_id). An OR across the licence and
    its base licence (two joins) is served by no index: it reads every number of every
    organisation."""
    field, holder = ("member", member) if member is not None else ("line", line)
    own = Licence.objects.filter(**{field: holder}).order_by().values_list("pk", flat=True)
    addons = Licence.objects.filter(**{f"base_licence__{field}": holder}).order_by()
    # Read here, not nested: as a subquery inside `licence_id IN (...)` the planner, without
    # statistics (a fresh table), re-ran the union per number row and a test took minutes.
    return list(own.union(addons.values_list("pk", flat=True), all=True))


def numbers_held_by(*, member=None, line=None):
    """Numbers a member (or line) holds: on their licences and on add-ons of those licences."""
    return PhoneNumber.objects.held().filter(licence__in=holder_licences(member=member, line=line))


def number_holder(number: PhoneNumber):
    """(member, line) a number is assigned to, through its licence (or the licence's base)."""
    licence = number.licence
    if licence is None:
        return None, None
    owner = licence.base_licence if licence.base_licence_id else licence
    return owner.member, owner.line


def number_history(*, number: PhoneNumber):
    return NumberAssignment.objects.filter(number=number).select_related(
        "member", "line", "licence__licence_type"
    )


def number_counts_by_status(*, organisation: Organisation | None) -> list[tuple[str, str, int]]:
    """(status, label, count) of the numbers an organisation holds, for the dashboard. One
    query; every listed status appears, with 0 when it has none."""
    qs = PhoneNumber.objects.exclude(status=NumberStatus.RELEASED)
    if organisation is not None:
        qs = qs.filter(organisation=organisation)
    counts = dict(qs.order_by().values_list("status").annotate(n=Count("pk")))
    return [
        (value, label, counts.get(value, 0))
        for value, label in NumberStatus.choices
        if value != NumberStatus.RELEASED
    ]


def number_digit_variants(term: str) -> list[str]:
    """The digits an E.164 number holds for what people type: "06 20 00 00 02", "0620000002",
    "+33 6 20…", "0033 6…". International forms keep their country code ("00" dropped); a
    national form's leading 0 (the trunk prefix) is dropped, leaving the digits that follow
    the country code. A term without digits has none."""
    text = term.strip()
    digits = "".join(ch for ch in text if ch.isdigit())
    if not digits:
        return []
    variants = [digits]
    if text.startswith("+"):
        return variants
    if digits.startswith("00") and len(digits) > 2:
        variants.append(digits[2:])
    elif digits.startswith("0") and len(digits) > 1:
        variants.append(digits[1:])
    return variants


def numbers_matching(*, organisation: Organisation | None, term: str, limit: int = 50):
    """The console's global search: numbers whose digits contain the term's, whatever its
    formatting (`number_digit_variants`), and the numbers of members (or lines) whose name or
    e-mail contains the term."""
    term = term.strip()
    if not term:
        return []
    match = Q(pk__in=[])
    for digits in number_digit_variants(term):
        match |= Q(e164__contains=digits)
    if not term.lstrip("+").replace(" ", "").isdigit() and len(term) >= 2:
        for holder in ("licence__member", "licence__base_licence__member"):
            match |= Q(**{f"{holder}__name__icontains": term})
            match |= Q(**{f"{holder}__email__icontains": term})
        match |= Q(licence__line__name__icontains=term)
    return list(
        number_list(organisation=organisation)
        .select_related("organisation")
        .filter(match)
        .order_by("e164")[:limit]
    )


# --- members with what they hold (the member lists) ----------------------------------------


def member_list_detailed(*, organisation: Organisation | None, member: User | None = None):
    """Members with what a list shows: their licence ids (prefetched) and `number_count`.

    `member` narrows the list to that member (an end user sees only themself).
    """
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
