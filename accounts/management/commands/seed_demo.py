"""Demo organisations for `make run`. Idempotent: running it again changes nothing."""

import datetime as dt

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from accounts import lifecycle
from accounts import services as accounts_services
from accounts.models import Organisation, User
from accounts.roles import Role
from billing.payments.methods import payment_method_add_card
from billing.renewal import first_renewal_at
from licensing import services as licensing_services
from licensing.models import LicenceType, Line, LineKind
from numbering import services as numbering_services
from numbering.inventory import inventory_fill
from webapp.demo import demo_activity_seed

DEMO_PASSWORD = "demo-password-1"
STAFF_EMAIL = "staff@telecom.example"

ORGANISATIONS = [
    {
        "organisation_name": "Acme Telecom Demo",
        "country": "FR",
        "currency": "EUR",
        "timezone_name": "Europe/Paris",
        "plan": "advanced",
        "billing_frequency": "monthly",
        "licence_policy": "auto_purchase",
        "owner_email": "owner@acme.example",
        "owner_name": "Olivia Owner",
        "members": [
            ("admin@acme.example", "Adam Admin", Role.ADMIN, True),
            ("finance@acme.example", "Fiona Finance", Role.FINANCE, True),
            ("user@acme.example", "Ulysse User", Role.USER, True),
            ("john@acme.example", "John Martin", Role.USER, False),
            ("alice@acme.example", "Alice Bernard", Role.USER, False),
            ("lucie@acme.example", "Lucie Petit", Role.USER, False),
            ("hallie@acme.example", "Hallie Durand", Role.USER, False),
        ],
    },
    {
        "organisation_name": "Globex Demo Inc.",
        "country": "US",
        "currency": "USD",
        "timezone_name": "America/New_York",
        "plan": "connect",
        "billing_frequency": "yearly",
        "licence_policy": "block",
        "owner_email": "owner@globex.example",
        "owner_name": "Gina Owner",
        "members": [("user@globex.example", "Gus User", Role.USER, True)],
    },
]


class Command(BaseCommand):
    help = "Create the demo organisations, members, licences and invoices (idempotent)."

    def handle(self, *args, **options):
        if not User.objects.filter(email=STAFF_EMAIL).exists():
            User.objects.create_superuser(
                email=STAFF_EMAIL, password=DEMO_PASSWORD, name="Platform Staff"
            )
        inventory_fill(per_kind=25)
        for spec in ORGANISATIONS:
            if Organisation.objects.filter(name=spec["organisation_name"]).exists():
                continue
            self._create(spec)
            self.stdout.write(f"Created {spec['organisation_name']}")
        demo_activity_seed()
        self.stdout.write(self.style.SUCCESS("Demo data ready."))

    @transaction.atomic
    def _create(self, spec):
        spec = dict(spec)  # ORGANISATIONS stays as written: a second call in one process works
        members = spec.pop("members")
        org, owner, _ = lifecycle.organisation_signup(owner_password=DEMO_PASSWORD, **spec)
        # Start the period some days ago so that purchases show a real pro rata.
        org.billing_anchor = timezone.localdate() - dt.timedelta(days=12)
        org.next_renewal_at = first_renewal_at(org)
        org.save(update_fields=["billing_anchor", "next_renewal_at"])
        # The local payment provider's card that always succeeds (billing/payments/provider.py).
        payment_method_add_card(
            organisation=org,
            actor=owner,
            number="4242424242424242",
            exp_month=12,
            exp_year=timezone.localdate().year + 3,
            holder=owner.name,
        )
        org.refresh_from_db()
        people = {}
        for email, name, role, active in members:
            member = accounts_services.member_invite(
                organisation=org, email=email, name=name, role=role, actor=owner, notify=False
            )
            if active:
                member.set_password(DEMO_PASSWORD)
                member.status = "active"
                member.save(update_fields=["password", "status"])
            people[email] = member

        types = {t.code: t for t in LicenceType.objects.all()}
        licensing_services.licences_purchase(
            organisation=org, licence_type=types["user_standard"], quantity=4, actor=owner
        )
        assignees = [owner, *(m for m in people.values() if m.role != Role.FINANCE)][:3]
        number_type = "mobile"
        for member in assignees:
            # Rule 2: each new number takes a free user licence of the organisation.
            numbering_services.number_assign(
                organisation=org,
                actor=owner,
                country=org.country,
                number_type=number_type,
                member=member,
            )
        if org.licence_policy == "auto_purchase":
            reception = Line.objects.create(
                organisation=org, kind=LineKind.ROOM_PHONE, name="Reception"
            )
            numbering_services.number_assign(
                organisation=org,
                actor=owner,
                country=org.country,
                number_type="landline",
                line=reception,
            )
            for extension, email in (("101", "john@acme.example"), ("102", "alice@acme.example")):
                result = numbering_services.number_assign(
                    organisation=org,
                    actor=owner,
                    country=org.country,
                    number_type="landline",
                    member=people[email],
                    licence_type=types["phone_system"],
                )
                licensing_services.licence_set_extension(
                    licence=result.licence, extension=extension, actor=owner
                )
                licensing_services.licence_set_addons(
                    licence=result.licence,
                    codes=["device_ip_phone", "call_recording"],
                    actor=owner,
                )
            # A user who also has a landline (a second licence, bought by rule 1).
            numbering_services.number_assign(
                organisation=org,
                actor=owner,
                country=org.country,
                number_type="landline",
                member=people["user@acme.example"],
            )
            licensing_services.licences_purchase(
                organisation=org, licence_type=types["user_standard"], quantity=1, actor=owner
            )
            licensing_services.licences_schedule_removal(
                organisation=org, licence_type=types["user_standard"], quantity=1, actor=owner
            )
