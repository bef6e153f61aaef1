"""Fixtures for the console tests: two fully populated organisations, A and B.

A's rows all carry the word "zorblax" (names, e-mails, line names) so that a test can assert that
none of A's text reaches a page served to B; UUIDs and invoice numbers are checked too.
"""

import copy
import datetime as dt
import re
from contextlib import nullcontext
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.utils import timezone

from accounts.models import AuditEvent, Organisation, User
from billing import services as billing
from billing.models import Charge, Commitment, Invoice, Payment, UsageRecord
from billing.usage import usage_record
from licensing import services as licensing
from licensing.models import Device, Licence, Line
from numbering import porting
from numbering import services as numbering
from numbering.models import PortingRequest
from tests.factories import LineFactory, OrganisationFactory, UserFactory, licence_type, stock
from tests.worlds import built_once

A_MARK = "zorblax"
B_MARK = "quimby"
PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"


@dataclass
class World:
    """One organisation and everything the console shows about it."""

    organisation: Organisation
    owner: User
    admin: User
    finance: User
    user: User
    line: Line
    assigned: Licence  # user_standard assigned to `user`
    free: Licence  # user_standard, unassigned
    phone: Licence  # phone_system assigned to `user`, extension, one add-on
    addon: Licence  # call_recording attached to `phone`
    room: Licence  # room_phone assigned to `line`
    scheduled: Licence  # user_standard scheduled for removal
    invoice: Invoice
    texts: list[str] = field(default_factory=list)
    commitment: Commitment | None = None  # room_phone × 1, for a year
    device_order: Charge | None = None  # 2 IP desk phones, waiting for the next invoice
    usage: UsageRecord | None = None  # one call from the user's number
    porting: PortingRequest | None = None  # a French landline being ported in for `user`

    def secrets(self) -> list[str]:
        """Strings that must never appear in a page served to another organisation."""
        licences = Licence.objects.filter(organisation=self.organisation)
        invoices = Invoice.objects.filter(organisation=self.organisation)
        return [
            *self.texts,
            *(str(pk) for pk in licences.values_list("pk", flat=True)),
            *(str(pk)[:8] for pk in licences.values_list("pk", flat=True)),
            *invoices.values_list("number", flat=True),
            str(self.organisation.pk),
            *UsageRecord.objects.filter(organisation=self.organisation).values_list(
                "number__e164", flat=True
            ),
        ]


def build_world(mark: str, extension: str, *, number_start: int = 0) -> World:
    org = OrganisationFactory(name=f"{mark.title()} Ltd")
    owner = UserFactory(
        organisation=org, role="owner", name=f"{mark}-owner", email=f"owner@{mark}.example"
    )
    admin = UserFactory(
        organisation=org, role="admin", name=f"{mark}-admin", email=f"admin@{mark}.example"
    )
    finance = UserFactory(
        organisation=org, role="finance", name=f"{mark}-finance", email=f"finance@{mark}.example"
    )
    user = UserFactory(
        organisation=org, role="user", name=f"{mark}-user", email=f"user@{mark}.example"
    )
    line = LineFactory(organisation=org, name=f"{mark}-reception")

    bought = licensing.licences_purchase(
        organisation=org, licence_type=licence_type("user_standard"), quantity=3, actor=owner
    )
    assigned, free, scheduled = bought.purchased
    licensing.licence_assign(licence=assigned, member=user, actor=owner)
    licensing.licence_terminate(licence=scheduled, actor=owner)
    phone = licensing.licence_allocate(
        organisation=org, licence_type=licence_type("phone_system"), member=user, actor=owner
    ).licence
    stock("FR", "mobile", 1, start=number_start)
    number = numbering.number_assign(
        organisation=org,
        actor=owner,
        country="FR",
        number_type="mobile",
        member=user,
        licence=assigned,
    ).number
    # The number and the porting request come before the
    # extension, so that the dashboard's ten recent changes still reach licence.extension_set.
    porting_request = porting.porting_request_create(
        organisation=org,
        actor=owner,
        e164=f"+3312345{6000 + number_start:04d}",
        number_type="landline",
        member=user,
        porting_date=dt.date.today() + dt.timedelta(days=30),
        document=SimpleUploadedFile("bill.pdf", PDF, "application/pdf"),
    )
    licensing.licence_set_extension(licence=phone, extension=extension, actor=owner)
    licensing.licence_set_addons(licence=phone, codes=["call_recording"], actor=owner)
    room = licensing.licence_allocate(
        organisation=org, licence_type=licence_type("room_phone"), line=line, actor=owner
    ).licence
    for licence in (assigned, free, phone, room, scheduled):
        licence.refresh_from_db()
    # Billing rows (issue 4): a commitment set by the system, a device order, one call.
    commitment = billing.commitment_create(
        organisation=org,
        licence_type=licence_type("room_phone"),
        quantity=1,
        ends_on=dt.date.today() + dt.timedelta(days=400),
        actor=None,
    )
    device_order = licensing.device_order(
        organisation=org, device=Device.objects.get(code="ip_desk_phone"), quantity=2, actor=owner
    )
    usage = usage_record(
        number=number,
        kind="call",
        direction="outbound",
        started_at=timezone.now() - dt.timedelta(minutes=5),
        cost=Decimal("1.25"),
        duration_seconds=65,
        # A dialled number (free text is refused), different for each world.
        destination="+33199" + "".join(str(ord(c) % 10) for c in mark)[:6].ljust(6, "0"),
    )
    return World(
        organisation=org,
        owner=owner,
        admin=admin,
        finance=finance,
        user=user,
        line=line,
        assigned=assigned,
        free=free,
        phone=phone,
        addon=phone.addons.get(),
        room=room,
        scheduled=scheduled,
        invoice=bought.invoice,
        texts=[mark, mark.title()],
        commitment=commitment,
        device_order=device_order,
        usage=usage,
        porting=porting_request,
    )


@pytest.fixture
def porting_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def world_a(request, db) -> World:
    return world_of(request, "a")


@pytest.fixture
def world_b(request, db) -> World:
    return world_of(request, "b")


def _build(key: str) -> World:
    if key == "a":
        return build_world(A_MARK, extension="101")
    return build_world(B_MARK, extension="101", number_start=50)


def world_of(request, key: str) -> World:
    """The module's shared world (a copy: a test may change its objects, never the next test's),
    or one built for this test alone in a module that does not share them."""
    if "shared_worlds" in request.fixturenames:
        return copy.deepcopy(request.getfixturevalue("shared_worlds")[key])
    request.getfixturevalue("porting_media")
    return _build(key)


@pytest.fixture(scope="module")
def shared_worlds(request, django_db_setup, django_db_blocker, tmp_path_factory):
    """Worlds A and B built once for the module (tests/worlds.py); see SHARE_WORLDS."""
    clock = getattr(request.module, "WORLDS_BUILT_AT", None)
    media = tmp_path_factory.mktemp("media")
    build = getattr(request.module, "build_worlds", lambda: {key: _build(key) for key in "ab"})
    with override_settings(MEDIA_ROOT=media), built_once(django_db_blocker):
        # The clock is moved for the build only: a travel kept for the whole module would sit
        # in time-machine's stack under or over the first test's own, and that test's end would
        # pop the wrong one (a test pinned to 10 June left the rest of the module frozen there).
        with time_machine.travel(clock, tick=False) if clock else nullcontext():
            worlds = build()
        yield worlds


@pytest.fixture
def worlds_clock(request):
    """A test of a module with `WORLDS_BUILT_AT` that pins no time of its own runs from that
    instant on (ticking), as it would from a real "now" just after the build."""
    clock = getattr(request.module, "WORLDS_BUILT_AT", None)
    if clock is None or time_machine.escape_hatch.is_travelling():  # pinned by a marker or fixture
        yield
        return
    with time_machine.travel(clock, tick=True):
        yield


# `pytestmark = [..., SHARE_WORLDS]`: every test of the module runs on worlds A and B built once
# for the module, each test in a savepoint rolled back after it (`db`), so no test sees another's
# changes. A module that sets `WORLDS_BUILT_AT` (an aware datetime) has them built at that
# instant, and each of its tests that pins no time runs from that instant on (`worlds_clock`); a
# test that needs an exact instant pins it itself. A module may build its own worlds
# (`build_worlds()` → {"a": World, "b": World}).
SHARE_WORLDS = pytest.mark.usefixtures("shared_worlds", "worlds_clock", "db")


def db_state() -> dict:
    """Everything a console request could change, to assert that a refused one changed nothing."""
    return {
        "organisations": list(Organisation.objects.order_by("pk").values()),
        "users": list(User.objects.order_by("pk").values()),
        "licences": list(Licence.objects.order_by("pk").values()),
        "lines": list(Line.objects.order_by("pk").values()),
        "invoices": list(Invoice.objects.order_by("pk").values_list("pk", "status", "total")),
        "payments": list(Payment.objects.order_by("pk").values()),
        "commitments": list(Commitment.objects.order_by("pk").values()),
        "charges": list(Charge.objects.order_by("pk").values()),
        "audit": AuditEvent.objects.count(),
    }


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def page_text(response) -> str:
    return response.content.decode()


def assert_none_of(secrets: list[str], text: str) -> None:
    leaked = [s for s in secrets if s and re.search(re.escape(s), text, re.IGNORECASE)]
    assert not leaked, f"another organisation's text leaked: {leaked}"


def small_and_large_owners(django_db_blocker, populate):
    """For a module-scoped fixture (`yield from`): organisations "Small" and "Large" filled by
    `populate(organisation, owner, rows)` with 5 and 50 rows, built once for the module
    (tests/worlds.py); yields their owners."""
    with built_once(django_db_blocker):
        owners = []
        for name, rows in (("Small", 5), ("Large", 50)):
            owner = UserFactory(organisation=OrganisationFactory(name=name), role="owner")
            populate(owner.organisation, owner, rows)
            owners.append(owner)
        yield tuple(owners)


def get_as_flat_as_for_5_rows(client, owners, url, params, django_assert_max_num_queries):
    """GET `url` as the owner of 50 rows, failing if it takes more queries than it does for the
    owner of 5 (a list's query count does not grow with its rows); the 50 rows' response."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    small_owner, large_owner = owners
    client.force_login(small_owner)
    client.get(url, params)  # warm caches (content types, sessions)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url, params).status_code == 200
    with_5 = len(queries)  # now: the next request resets the connection's query log

    client.force_login(large_owner)
    client.get(url, params)
    with django_assert_max_num_queries(with_5):
        response = client.get(url, params)
    assert response.status_code == 200
    return response
