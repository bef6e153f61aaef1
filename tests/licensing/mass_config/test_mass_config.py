"""Mass configuration of phone-system extensions (rule 23): the requirement's sample applied
exactly, every bad input reported with its row and column and nothing applied."""

import codecs
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import AuditEvent
from billing.models import Invoice
from licensing import mass_config
from licensing.mass_config import MassConfigurationInvalid, mass_config_apply, mass_config_validate
from licensing.models import Licence
from numbering import services as numbering_services
from numbering.carriers import LocalInventoryBackend
from numbering.models import InventoryNumber, NumberAssignment, NumberStatus, PhoneNumber
from numbering.selectors import number_holder
from tests.concurrency import run_concurrently
from tests.factories import LicenceFactory, OrganisationFactory, UserFactory, licence_type, stock

pytestmark = pytest.mark.django_db
NEW_YORK = dt.timezone(dt.timedelta(hours=-5))
NOV_1 = dt.datetime(2026, 11, 1, 10, 0, tzinfo=NEW_YORK)  # first day of the period: full price
HEADER = "Ext Key,Number,User,Addon license 1,Addon license 2,Addon license 3,Addon license 4"
SAMPLE_NUMBERS = ["+16567891230", "+16567891231", "+16567891232", "+16567891233"]
SAMPLE_ADDONS = {
    "101": {
        "device_ip_phone",
        "device_mobile_app",
        "license_dnc_checking_enabled",
        "call_recording",
    },
    "102": {
        "device_ip_phone",
        "device_mobile_app",
        "license_dnc_checking_enabled",
        "call_recording",
    },
    "104": {"device_ip_phone", "device_desktop_app", "call_recording"},
    "109": {"device_ip_phone", "device_desktop_app", "call_recording"},
}


def csv_bytes(*rows: str, header: str = HEADER) -> bytes:
    return ("\r\n".join([header, *rows]) + "\r\n").encode()


def sample() -> bytes:
    return mass_config.sample_csv().encode()


def errors_of(report) -> list[tuple]:
    return [(e.row, e.column, e.code) for e in report.errors]


class Snapshot:
    """What a refused file must leave untouched."""

    def __init__(self):
        self.values = self.take()

    @staticmethod
    def take():
        return (
            list(
                Licence.objects.order_by("pk").values_list(
                    "pk", "member_id", "extension", "base_licence_id", "numbers_received"
                )
            ),
            list(PhoneNumber.objects.order_by("pk").values_list("pk", "status", "licence_id")),
            InventoryNumber.objects.count(),
            Invoice.objects.count(),
            NumberAssignment.objects.count(),
            AuditEvent.objects.filter(action__contains="mass_configured").count(),
        )

    def unchanged(self) -> bool:
        return self.take() == self.values


def refused(org, admin, data: bytes, expected: list[tuple]) -> None:
    """The dry run reports exactly `expected`; applying raises with the same and changes
    nothing."""
    snapshot = Snapshot()
    report = mass_config_validate(organisation=org, file_bytes=data, at=NOV_1)
    assert errors_of(report) == expected
    assert not report.ok and report.rows == []
    with pytest.raises(MassConfigurationInvalid) as info:
        mass_config_apply(organisation=org, actor=admin, file_bytes=data, at=NOV_1)
    assert errors_of(info.value.report) == expected
    assert snapshot.unchanged()


# --- the sample -------------------------------------------------------------------------------


def test_sample_csv_is_the_requirements_sample():
    assert mass_config.sample_csv().splitlines() == [
        HEADER,
        "101,6567891230,John,device_ip_phone,device_mobile_app,license_dnc_checking_enabled,"
        "call_recording",
        "102,6567891231,Alice,device_ip_phone,device_mobile_app,license_dnc_checking_enabled,"
        "call_recording",
        "104,6567891232,Lucie,device_ip_phone,device_desktop_app,call_recording,",
        "109,6567891233,Hallie,device_ip_phone,device_desktop_app,call_recording,",
    ]


def test_requirement_sample_dry_run_shows_changes_and_cost(org, people, inventory):
    report = mass_config_validate(organisation=org, file_bytes=sample(), at=NOV_1)

    assert report.ok
    assert [
        (r.row, r.extension, r.member, r.e164, r.number_action, r.licence_source)
        for r in report.rows
    ] == [
        (2, "101", "john@acme.example", "+16567891230", "new", "purchase"),
        (3, "102", "alice@acme.example", "+16567891231", "new", "purchase"),
        (4, "104", "lucie@acme.example", "+16567891232", "new", "purchase"),
        (5, "109", "hallie@acme.example", "+16567891233", "new", "purchase"),
    ]
    assert report.purchases == {
        "phone_system": 4,
        "device_ip_phone": 4,
        "call_recording": 4,
        "device_mobile_app": 2,
        "license_dnc_checking_enabled": 2,
        "device_desktop_app": 2,
    }
    # USD list prices, a full month: 4 × 26.95 + 4 × 6.50 + 4 × 6.00 + 2 × 3.50 + 2 × 4.50
    # + 2 × 3.50 = 180.80
    assert {line.licence_type.code: line.amount for line in report.quote.lines} == {
        "phone_system": Decimal("107.80"),
        "device_ip_phone": Decimal("26.00"),
        "call_recording": Decimal("24.00"),
        "device_mobile_app": Decimal("7.00"),
        "license_dnc_checking_enabled": Decimal("9.00"),
        "device_desktop_app": Decimal("7.00"),
    }
    assert report.summary.as_dict() == {
        "extensions": 4,
        "licences_assigned": 4,
        "numbers_assigned": 4,
        "addons_attached": 14,
        "addons_detached": 0,
        "licences_purchased": 18,
        "licences_restored": 0,
        "total": "180.80",
        "currency": "USD",
    }
    assert not Licence.objects.filter(organisation=org).exists()  # a dry run writes nothing


def test_requirement_sample_applied_exactly(org, admin, people, inventory):
    summary = mass_config_apply(organisation=org, actor=admin, file_bytes=sample(), at=NOV_1)

    assert (
        summary.extensions,
        summary.numbers_assigned,
        summary.addons_attached,
        summary.licences_purchased,
        summary.total,
    ) == (4, 4, 14, 18, Decimal("180.80"))
    assert summary.invoice.subtotal == Decimal("180.80") and summary.invoice.kind == "purchase"
    for (ext, name), e164 in zip(
        [("101", "John"), ("102", "Alice"), ("104", "Lucie"), ("109", "Hallie")],
        SAMPLE_NUMBERS,
        strict=True,
    ):
        licence = Licence.objects.get(organisation=org, extension=ext)
        assert licence.licence_type.code == "phone_system" and licence.member == people[name]
        assert licence.status == "active" and licence.numbers_received == 1
        assert licence.number_changes_used == 0
        assert {a.licence_type.code for a in licence.addons.all()} == SAMPLE_ADDONS[ext]
        number = PhoneNumber.objects.get(e164=e164)
        assert number.status == NumberStatus.ASSIGNED and number.licence == licence
        assert number.assigned_at == NOV_1 and number.number_type == "landline"
        assert number_holder(number) == (people[name], None)
        history = NumberAssignment.objects.get(number=number)
        assert (history.member, history.licence, history.ended_at) == (people[name], licence, None)
    assert Licence.objects.filter(organisation=org).count() == 18
    assert not InventoryNumber.objects.filter(e164__in=SAMPLE_NUMBERS).exists()
    assert (
        AuditEvent.objects.filter(organisation=org, action="licence.mass_configured").count() == 4
    )
    assert (
        AuditEvent.objects.get(organisation=org, action="organisation.mass_configured").changes[
            "invoice"
        ]
        == summary.invoice.number
    )


def test_applying_the_same_file_again_changes_nothing(org, admin, people, inventory):
    mass_config_apply(organisation=org, actor=admin, file_bytes=sample(), at=NOV_1)
    snapshot = Snapshot()

    again = mass_config_apply(organisation=org, actor=admin, file_bytes=sample(), at=NOV_1)

    assert (
        again.licences_purchased,
        again.numbers_assigned,
        again.addons_attached,
        again.licences_assigned,
        again.invoice,
    ) == (0, 0, 0, 0, None)
    assert snapshot.values[:5] == Snapshot.take()[:5]


def test_free_licences_are_used_before_buying(org, admin, people, inventory):
    bases = [
        LicenceFactory(organisation=org, licence_type=licence_type("phone_system"))
        for _ in range(4)
    ]
    for code, n in {
        "device_ip_phone": 4,
        "call_recording": 4,
        "device_mobile_app": 2,
        "license_dnc_checking_enabled": 2,
        "device_desktop_app": 1,
    }.items():
        for _ in range(n):
            LicenceFactory(organisation=org, licence_type=licence_type(code))

    summary = mass_config_apply(organisation=org, actor=admin, file_bytes=sample(), at=NOV_1)

    assert summary.licences_purchased == 1  # the second desktop app
    assert summary.invoice.subtotal == Decimal("3.50")
    assert set(Licence.objects.filter(extension__isnull=False).values_list("pk", flat=True)) == {
        b.pk for b in bases
    }


def test_block_policy_with_enough_licences(org, admin, people, inventory):
    org.licence_policy = "block"
    org.save()
    for _ in range(4):
        LicenceFactory(organisation=org, licence_type=licence_type("phone_system"))

    summary = mass_config_apply(
        organisation=org,
        actor=admin,
        file_bytes=csv_bytes("101,6567891230,John", "102,,alice@acme.example"),
        at=NOV_1,
    )

    assert (summary.extensions, summary.numbers_assigned, summary.licences_purchased) == (2, 1, 0)
    assert Licence.objects.get(extension="102").numbers.count() == 0


# --- reading the file -------------------------------------------------------------------------


def test_semicolons_bom_and_header_spelling(org, admin, people, inventory):
    data = codecs.BOM_UTF8 + (
        b"EXT KEY ; number;  user ;Add-on licence 1\r\n"
        b"101;+1 656 789 1230; john@ACME.example ;Call_Recording\r\n"
        b";;;\r\n"
        b"102;(656) 789-1231;alice;\r\n"
    )

    report = mass_config_validate(organisation=org, file_bytes=data, at=NOV_1)

    assert report.ok
    assert [(r.row, r.extension, r.member, r.e164, r.addons_attached) for r in report.rows] == [
        (2, "101", "john@acme.example", "+16567891230", ["call_recording"]),
        (4, "102", "alice@acme.example", "+16567891231", []),
    ]


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        ("6567891230", "US", "+16567891230"),
        ("+16567891230", "FR", "+16567891230"),
        ("001 656 789 1230", "FR", "+16567891230"),
        ("01 23 45 67 89", "FR", "+33123456789"),
        ("33612345678", "FR", "+33612345678"),  # a spreadsheet dropped the +
        ("'0612345678", "FR", "+33612345678"),
    ],
)
def test_numbers_are_read_in_the_organisations_country(raw, country, expected):
    assert mass_config.parse_did(raw, country=country) == expected


@pytest.mark.parametrize("raw", ["12ab", "6.56789E+09", "123", "+999123", "0612345678"])
def test_malformed_numbers(raw):
    with pytest.raises(ValueError):
        mass_config.parse_did(raw, country="US")


# --- every bad input: reported with row and column, nothing applied ---------------------------


def test_unknown_addon_code(org, admin, people, inventory):
    refused(
        org,
        admin,
        csv_bytes("101,6567891230,John,call_recording,voicemail_to_email"),
        [(2, "Addon license 2", "unknown_addon")],
    )


def test_addon_not_allowed_on_a_phone_system_licence(org, admin, people, inventory):
    licence_type("phone_system").addons.remove(licence_type("device_web_rtc"))
    refused(
        org,
        admin,
        csv_bytes("101,6567891230,John,device_ip_phone,device_web_rtc"),
        [(2, "Addon license 2", "addon_not_allowed")],
    )


def test_a_base_licence_code_is_no_addon(org, admin, people, inventory):
    refused(
        org,
        admin,
        csv_bytes("101,6567891230,John,,,,user_standard"),
        [(2, "Addon license 4", "unknown_addon")],
    )


def test_duplicate_extension_in_the_file(org, admin, people, inventory):
    refused(
        org,
        admin,
        csv_bytes("101,6567891230,John", "102,6567891231,Alice", "101,6567891232,Lucie"),
        [(4, "Ext Key", "duplicate_extension")],
    )


def test_extension_already_taken(org, admin, people, inventory):
    LicenceFactory(
        organisation=org,
        licence_type=licence_type("phone_system"),
        extension="102",
        member=UserFactory(organisation=org),
    )
    refused(
        org,
        admin,
        csv_bytes("101,6567891230,John", "102,6567891231,Alice"),
        [(3, "Ext Key", "extension_taken")],
    )


@pytest.mark.parametrize(
    "extension",
    # Arabic-Indic and fullwidth 101 pass `str.isdigit`; the confirm then failed in the database.
    ["1", "12a", "123456789", "\u0661\u0660\u0661", "\uff11\uff10\uff11"],
)
def test_invalid_extension(org, admin, people, inventory, extension):
    refused(
        org, admin, csv_bytes(f"{extension},6567891230,John"), [(2, "Ext Key", "invalid_extension")]
    )


def test_required_cells(org, admin, people, inventory):
    refused(
        org,
        admin,
        csv_bytes(",6567891230,John", "102,6567891231,"),
        [(2, "Ext Key", "required"), (3, "User", "required")],
    )


def test_number_not_available_or_malformed(org, admin, people, inventory):
    other = UserFactory(organisation=org)
    stock("US", "landline", 1)
    held_by_other = numbering_services.number_assign(
        organisation=org, actor=admin, country="US", number_type="landline", member=other, at=NOV_1
    ).number.e164
    refused(
        org,
        admin,
        csv_bytes(
            "101,6567891299,John",  # valid, not in the inventory
            f"102,{held_by_other},Alice",  # another member's
            "104,65678912,Lucie",  # malformed
            "109,6.56789E+09,Hallie",  # a spreadsheet's rounding
            "110,6567891230,Hallie",
            "111,+1 656-789-1230,Hallie",  # the same number twice
        ),
        [
            (2, "Number", "number_unavailable"),
            (3, "Number", "number_unavailable"),
            (4, "Number", "invalid_number"),
            (5, "Number", "invalid_number"),
            (7, "Number", "duplicate_number"),
        ],
    )


def test_unknown_or_ambiguous_user(org, admin, people, inventory):
    UserFactory(organisation=org, name="Alice", email="alice.b@acme.example")
    UserFactory(organisation=org, name="Zed", email="zed@acme.example", status="deactivated")
    UserFactory(organisation=OrganisationFactory(), name="Mallory", email="mallory@evil.example")
    refused(
        org,
        admin,
        csv_bytes(
            "101,6567891230,Zoe",
            "102,6567891231,Alice",
            "104,6567891232,nobody@acme.example",
            "109,6567891233,mallory@evil.example",
            "110,,Zed",
        ),
        [
            (2, "User", "unknown_user"),
            (3, "User", "ambiguous_user"),
            (4, "User", "unknown_user"),
            (5, "User", "unknown_user"),
            (6, "User", "member_deactivated"),
        ],
    )


def test_an_ambiguous_name_works_by_email(org, admin, people, inventory):
    UserFactory(organisation=org, name="Alice", email="alice.b@acme.example")
    report = mass_config_validate(
        organisation=org, file_bytes=csv_bytes("102,6567891231,alice@acme.example"), at=NOV_1
    )
    assert report.ok


def test_too_many_numbers_for_the_users_plan(org, admin, people, inventory):
    stock("US", "mobile", 4)
    for _ in range(4):  # connect: 5 numbers per member
        numbering_services.number_assign(
            organisation=org,
            actor=admin,
            country="US",
            number_type="mobile",
            member=people["John"],
            at=NOV_1,
        )
    refused(
        org,
        admin,
        csv_bytes(
            "101,6567891230,John", "102,6567891231,Alice", "104,6567891232,john@acme.example"
        ),
        [(4, "Number", "plan_number_limit_reached")],
    )


def test_not_enough_licences_under_block(org, admin, people, inventory):
    org.licence_policy = "block"
    org.save()
    for _ in range(2):
        LicenceFactory(organisation=org, licence_type=licence_type("phone_system"))
    LicenceFactory(organisation=org, licence_type=licence_type("call_recording"))
    refused(
        org,
        admin,
        csv_bytes(
            "101,6567891230,John,call_recording",
            "102,6567891231,Alice,call_recording",
            "104,6567891232,Lucie",
            "109,6567891233,Hallie",
        ),
        [
            (3, "Addon license 1", "no_licence_available"),
            (4, "Ext Key", "no_licence_available"),
            (5, "Ext Key", "no_licence_available"),
        ],
    )


def test_restricted_account_cannot_buy(org, admin, people, inventory):
    org.payment_method_kind = org.payment_method_reference = ""
    org.save()
    refused(org, admin, sample(), [(None, None, "account_restricted")])


def test_wrong_encoding(org, admin, people, inventory):
    data = (HEADER + "\r\n101,6567891230,John\r\n102,6567891231,Zoë\r\n").encode("latin-1")
    refused(org, admin, data, [(3, None, "invalid_encoding")])


def test_an_excel_workbook_is_not_csv(org, admin):
    refused(org, admin, b"PK\x03\x04\x14\x00\x06\x00" + b"\x00" * 100, [(None, None, "not_csv")])


@pytest.mark.parametrize(
    "header",
    [
        "101,6567891230,John,call_recording",  # no header row at all
        "Extension Key,Phone,Person",
    ],
)
def test_missing_header(org, admin, people, inventory, header):
    refused(
        org, admin, csv_bytes("102,6567891231,Alice", header=header), [(1, None, "missing_header")]
    )


def test_header_missing_a_column_or_with_an_unknown_one(org, admin, people, inventory):
    refused(
        org, admin, csv_bytes("101,John", header="Ext Key,User"), [(1, "Number", "missing_header")]
    )
    refused(
        org,
        admin,
        csv_bytes("101,6567891230,John,x", header="Ext Key,Number,User,Notes"),
        [(1, "Notes", "unknown_column")],
    )


def test_a_value_without_a_header(org, admin, people, inventory):
    refused(
        org,
        admin,
        csv_bytes("101,6567891230,John,,,,,call_recording"),
        [(2, "column 8", "unexpected_value")],
    )


@pytest.mark.parametrize(
    "data", [b"", b"   \r\n", codecs.BOM_UTF8, HEADER.encode(), (HEADER + "\r\n,,,,\r\n").encode()]
)
def test_empty_file(org, admin, data):
    refused(org, admin, data, [(None, None, "empty_file")])


class NeverRead(io.BytesIO):
    """An upload that fails the test if it is read."""

    def read(self, *args):
        raise AssertionError("the file was read")


def test_a_10_mb_file_is_refused_without_reading_it(org, admin):
    upload = NeverRead()
    upload.size = 10 * 1024 * 1024

    report = mass_config_validate(organisation=org, file_bytes=upload)

    assert errors_of(report) == [(None, None, "file_too_large")]
    assert report.errors[0].message == (
        "The file is larger than 5 MB; split it into several files."
    )
    with pytest.raises(MassConfigurationInvalid):
        mass_config_apply(organisation=org, actor=admin, file_bytes=upload)


def test_a_large_stream_without_a_size_is_cut_at_the_limit(org, admin, settings):
    settings.MASS_CONFIG_MAX_BYTES = 1024
    data = csv_bytes(*[f"{100 + i},,John" for i in range(200)])
    assert errors_of(mass_config_validate(organisation=org, file_bytes=io.BytesIO(data))) == [
        (None, None, "file_too_large")
    ]
    assert errors_of(mass_config_validate(organisation=org, file_bytes=data)) == [
        (None, None, "file_too_large")
    ]


def test_every_error_of_a_bad_file_is_reported(org, admin, people, inventory):
    report = mass_config_validate(
        organisation=org,
        file_bytes=csv_bytes(
            "101,6567891230,John,bogus",
            "1x,6567891231,Nobody",
            "104,6567891232,Lucie",
            "104,nope,Hallie,call_recording,team_chat,bogus",
        ),
        at=NOV_1,
    )

    assert errors_of(report) == [
        (2, "Addon license 1", "unknown_addon"),
        (3, "Ext Key", "invalid_extension"),
        (3, "User", "unknown_user"),
        (5, "Ext Key", "duplicate_extension"),
        (5, "Number", "invalid_number"),
        (5, "Addon license 3", "unknown_addon"),
    ]
    assert all(e.message for e in report.errors)


# --- reusing what the organisation has --------------------------------------------------------


def test_a_number_the_user_holds_moves_onto_the_extension(org, admin, people, inventory):
    john = people["John"]
    held = numbering_services.number_assign(
        organisation=org,
        actor=admin,
        country="US",
        number_type="landline",
        member=john,
        e164=SAMPLE_NUMBERS[0],
        at=NOV_1,
    )

    summary = mass_config_apply(
        organisation=org, actor=admin, file_bytes=csv_bytes("101,6567891230,John"), at=NOV_1
    )

    number = PhoneNumber.objects.get(pk=held.number.pk)
    extension = Licence.objects.get(extension="101")
    assert summary.numbers_assigned == 1 and number.licence == extension
    assert number_holder(number) == (john, None)
    assert Licence.objects.get(pk=held.licence.pk).member == john  # the old licence stays his
    history = list(NumberAssignment.objects.filter(number=number).order_by("started_at", "id"))
    assert [(h.licence_id, h.ended_at is None) for h in history] == [
        (held.licence.pk, False),
        (extension.pk, True),
    ]


def test_the_users_phone_system_licence_and_an_unassigned_extension_are_reused(
    org, admin, people, inventory
):
    johns = LicenceFactory(
        organisation=org, licence_type=licence_type("phone_system"), member=people["John"]
    )
    spare = LicenceFactory(
        organisation=org, licence_type=licence_type("phone_system"), extension="102"
    )
    recording = LicenceFactory(
        organisation=org, licence_type=licence_type("call_recording"), base_licence=johns
    )

    summary = mass_config_apply(
        organisation=org,
        actor=admin,
        file_bytes=csv_bytes("101,,John,team_chat", "102,,Alice"),
        at=NOV_1,
    )

    johns.refresh_from_db()
    spare.refresh_from_db()
    recording.refresh_from_db()
    assert (johns.extension, spare.member) == ("101", people["Alice"])
    assert recording.base_licence is None  # not listed: detached, available again
    assert [a.licence_type.code for a in johns.addons.all()] == ["team_chat"]
    assert (summary.licences_assigned, summary.addons_detached, summary.licences_purchased) == (
        1,
        1,
        1,
    )


# --- speed: the query count does not grow with the rows ---------------------------------------


def test_query_count_does_not_grow_with_rows(org, admin):
    members = [UserFactory(organisation=org, email=f"p{i}@acme.example") for i in range(40)]
    stock("US", "landline", 40)
    numbers = list(InventoryNumber.objects.filter(country="US").values_list("e164", flat=True))

    def file(n):
        return csv_bytes(
            *[
                f"{200 + i},{numbers[i]},{members[i].email},call_recording,team_chat"
                for i in range(n)
            ]
        )

    counts = {}
    for n in (4, 40):
        with CaptureQueriesContext(connection) as validate:
            assert mass_config_validate(organisation=org, file_bytes=file(n), at=NOV_1).ok
        counts[n] = len(validate.captured_queries)
    assert counts[4] == counts[40]

    small_org = OrganisationFactory(
        country="US",
        currency="USD",
        timezone="America/New_York",
        billing_anchor=dt.date(2026, 1, 1),
    )
    small_admin = UserFactory(organisation=small_org, role="admin")
    for i in range(4):
        UserFactory(organisation=small_org, email=f"q{i}@acme.example")
    stock("US", "landline", 8, start=100)
    small_numbers = list(
        InventoryNumber.objects.filter(country="US")
        .exclude(e164__in=numbers)
        .values_list("e164", flat=True)
    )[:4]
    small_file = csv_bytes(
        *[
            f"{200 + i},{small_numbers[i]},q{i}@acme.example,call_recording,team_chat"
            for i in range(4)
        ]
    )
    with CaptureQueriesContext(connection) as small:
        mass_config_apply(
            organisation=small_org, actor=small_admin, file_bytes=small_file, at=NOV_1
        )
    with CaptureQueriesContext(connection) as large:
        mass_config_apply(organisation=org, actor=admin, file_bytes=file(40), at=NOV_1)
    # 41: one read of the licences scheduled for removal the file may restore (rule 13).
    assert len(small.captured_queries) == len(large.captured_queries) <= 41


def test_errors_beyond_the_cap_are_summarised(org, admin, people, monkeypatch):
    monkeypatch.setattr("licensing.mass_config.planning.MAX_REPORTED_ERRORS", 2)

    report = mass_config_validate(
        organisation=org,
        file_bytes=csv_bytes("101,,Zoe", "102,,Yann", "103,,Xavier", "104,,Walt"),
    )

    assert errors_of(report) == [
        (2, "User", "unknown_user"),
        (3, "User", "unknown_user"),
        (None, None, "too_many_errors"),
    ]
    assert report.errors[-1].message == "… and 2 more errors."


class FailingCarrier(LocalInventoryBackend):
    """Takes the numbers, then fails: everything written before must roll back."""

    def reserve_many(self, *, e164s):
        super().reserve_many(e164s=e164s)
        raise RuntimeError("the carrier went away")


def test_a_failure_midway_applies_nothing(org, admin, people, inventory, settings):
    settings.CARRIER_BACKEND = "tests.licensing.mass_config.test_mass_config.FailingCarrier"
    snapshot = Snapshot()

    with pytest.raises(RuntimeError):
        mass_config_apply(organisation=org, actor=admin, file_bytes=sample(), at=NOV_1)

    assert snapshot.unchanged()  # no licence bought, no invoice, the inventory intact


def test_a_number_taken_after_the_dry_run_is_reported_by_the_apply(org, admin, people, inventory):
    assert mass_config_validate(organisation=org, file_bytes=sample(), at=NOV_1).ok
    InventoryNumber.objects.filter(e164=SAMPLE_NUMBERS[2]).delete()  # someone else took it

    refused(org, admin, sample(), [(4, "Number", "number_unavailable")])


@pytest.mark.django_db(transaction=True)
def test_two_organisations_applying_files_with_the_same_number_at_once():
    InventoryNumber.objects.create(e164=SAMPLE_NUMBERS[0], country="US", number_type="landline")
    pairs = []
    for _ in range(4):
        org = OrganisationFactory(
            country="US", currency="USD", timezone="America/New_York", tax_rate=Decimal("0")
        )
        pairs.append((org, UserFactory(organisation=org, role="admin", name="John")))

    results = run_concurrently(
        [
            lambda o=o, a=a: mass_config_apply(
                organisation=o, actor=a, file_bytes=csv_bytes("101,6567891230,John")
            )
            for o, a in pairs
        ]
    )

    winners = [r for r in results if isinstance(r, mass_config.Summary)]
    assert len(winners) == 1, results
    for loser in (r for r in results if not isinstance(r, mass_config.Summary)):
        codes = (
            [e.code for e in loser.report.errors]
            if isinstance(loser, MassConfigurationInvalid)
            else [loser.code]
        )
        assert codes == ["number_unavailable"]
    assert PhoneNumber.objects.filter(e164=SAMPLE_NUMBERS[0]).count() == 1
    assert Licence.objects.count() == 1  # the losers bought nothing
    assert Invoice.objects.count() == 1


def test_numbers_written_in_other_ways_find_the_inventory():
    """Known numbers are found without parsing; a form no quick reading matches (the French
    "(0)" trunk prefix after +33) is parsed, then looked up too."""
    org = OrganisationFactory(billing_anchor=dt.date(2026, 1, 1))
    people = [UserFactory(organisation=org, email=f"p{i}@fr.example") for i in range(4)]
    mobiles = stock("FR", "mobile", 4)
    national = "0" + mobiles[1][3:]
    spaced = " ".join([mobiles[2][:3], "(0)" + mobiles[2][3:]])
    report = mass_config_validate(
        organisation=org,
        file_bytes=csv_bytes(
            f"201,{mobiles[0]},p0@fr.example",
            f"202,{national},p1@fr.example",
            f"203,{spaced},p2@fr.example",
            f"204,{mobiles[3][1:]},p3@fr.example",  # a spreadsheet dropped the +
        ),
    )

    assert report.ok, report.errors
    assert [r.e164 for r in report.rows] == mobiles
    assert [r.member for r in report.rows] == [p.email for p in people]


def test_a_number_of_another_organisation_is_only_not_available(org, admin, people, inventory):
    """Issue 14 item 9: the row's message never says another organisation holds the number."""
    stock("US", "landline", 1, start=500)
    other = OrganisationFactory(country="US", currency="USD", timezone="America/New_York")
    held = numbering_services.number_assign(
        organisation=other,
        actor=UserFactory(organisation=other, role="owner"),
        country="US",
        number_type="landline",
        member=UserFactory(organisation=other),
        at=NOV_1,
    ).number.e164

    report = mass_config_validate(
        organisation=org, file_bytes=csv_bytes(f"101,{held},John"), at=NOV_1
    )

    assert errors_of(report) == [(2, "Number", "number_unavailable")]
    message = report.errors[0].message
    assert message == f"{held} is not available."
