"""Factories that keep one organisation consistent across related rows."""

import datetime as dt
from decimal import Decimal

import factory
from django.utils import timezone

from accounts.models import MemberStatus, Organisation, User
from accounts.roles import Role
from billing.periods import local_midnight
from licensing.models import Licence, LicenceType, Line, LineKind


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation

    name = factory.Sequence(lambda n: f"Organisation {n}")
    country = "FR"
    currency = "EUR"
    timezone = "Europe/Paris"
    plan = "connect"
    billing_frequency = "monthly"
    licence_policy = "auto_purchase"
    billing_anchor = factory.LazyFunction(lambda: timezone.localdate() - dt.timedelta(days=40))
    payment_method_kind = "card"
    payment_method_reference = factory.Sequence(lambda n: f"pm_{n:06d}")
    tax_rate = Decimal("0.2000")
    default_licence_type = factory.LazyFunction(
        lambda: LicenceType.objects.get(code="user_standard")
    )


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"member{n}@example.com")
    name = factory.Sequence(lambda n: f"Member {n}")
    organisation = factory.SubFactory(OrganisationFactory)
    role = Role.USER
    status = MemberStatus.ACTIVE
    password = factory.PostGenerationMethodCall("set_password", "correct-horse-battery")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class StaffFactory(UserFactory):
    organisation = None
    role = Role.USER
    is_superuser = True
    email = factory.Sequence(lambda n: f"staff{n}@telecom.example")


def licence_type(code: str) -> LicenceType:
    return LicenceType.objects.get(code=code)


class LicenceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Licence

    organisation = factory.SubFactory(OrganisationFactory)
    licence_type = factory.LazyFunction(lambda: licence_type("user_standard"))
    # Held since the organisation signed up (the renewal bills what was held at a period's
    # start), whatever today's date: a test that needs a later purchase says when.
    purchased_at = factory.LazyAttribute(
        lambda licence: local_midnight(
            licence.organisation.billing_anchor, licence.organisation.timezone
        )
    )


class LineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Line

    organisation = factory.SubFactory(OrganisationFactory)
    kind = LineKind.ROOM_PHONE
    name = factory.Sequence(lambda n: f"Room {n}")


def token_for(user: User) -> str:
    from accounts.api_tokens import api_token_create

    return api_token_create(user=user)[1]


def stock(country: str = "FR", number_type: str = "mobile", count: int = 5, *, start: int = 0):
    """Put `count` valid numbers of a kind in the local carrier inventory; return them."""
    from numbering.inventory import generate_numbers
    from numbering.models import InventoryNumber

    numbers = list(generate_numbers(country, number_type, count, start=start))
    InventoryNumber.objects.bulk_create(
        [InventoryNumber(e164=e, country=country, number_type=number_type) for e in numbers],
        ignore_conflicts=True,
    )
    return numbers


def give_number(member, *, at=None, start: int = 0):
    """Assign a French mobile of the local inventory to `member`, on a licence of its own, as if
    the member assigned it themselves; return the number."""
    from numbering import services as numbering_services

    stock("FR", "mobile", 1, start=start)
    return numbering_services.number_assign(
        organisation=member.organisation,
        actor=member,
        country="FR",
        number_type="mobile",
        member=member,
        licence=LicenceFactory(organisation=member.organisation),
        at=at,
    ).number


def renewing_organisation(anchor=None, **kwargs):
    """An organisation that signed up on `anchor` (1 Nov 2026 by default) with its first renewal
    scheduled, as sign-up schedules it."""
    import datetime as dt

    from billing.renewal import first_renewal_at

    organisation = OrganisationFactory(billing_anchor=anchor or dt.date(2026, 11, 1), **kwargs)
    organisation.next_renewal_at = first_renewal_at(organisation)
    organisation.save(update_fields=["next_renewal_at"])
    return organisation
