"""The catalogue as data: every licence type and device of API.md, priced in EUR, USD and GBP.

Loaded by the migration `0002_catalogue`; the test suite reloads it after tests that flush the
database. Platform staff edit the rows in the admin afterwards.
"""

from decimal import Decimal

# code, name, kind, category, capacity, max changes, has extension, monthly / yearly per currency
# (EUR, USD, GBP). Yearly is ten months' price: two months free for paying a year ahead.
BASE_TYPES = [
    ("user_standard", "User licence", "user", {"any": 1}, 5, False, ("19.00", "21.00", "17.00")),
    (
        "user_multi_mobile",
        "User licence, multi-mobile",
        "user",
        {"landline": 1, "mobile": 3},
        5,
        False,
        ("29.00", "32.00", "26.00"),
    ),
    ("room_phone", "Room phone", "line", {"any": 1}, 5, False, ("15.00", "16.00", "13.00")),
    ("shared_line", "Shared line", "line", {"any": 1}, 5, False, ("25.00", "27.00", "22.00")),
    ("fax", "Fax line", "line", {"landline": 1}, 5, False, ("10.00", "11.00", "9.00")),
    (
        "phone_system",
        "Phone system",
        "phone_system",
        {"any": 1},
        5,
        True,
        ("24.95", "26.95", "21.95"),
    ),
    ("auto_attendant", "Auto attendant", "line", {"any": 1}, 5, False, ("20.00", "22.00", "18.00")),
    ("call_group", "Call group", "line", {"any": 1}, 5, False, ("15.00", "16.00", "13.00")),
    ("developer", "Developer", "developer", {}, 0, False, ("49.00", "54.00", "44.00")),
]
ADDON_TYPES = [
    ("call_recording", "Call recording", {}, ("5.00", "6.00", "4.50")),
    ("device_desktop_app", "Desktop app", {}, ("3.00", "3.50", "2.50")),
    ("license_dnc_checking_enabled", "DNC checking", {}, ("4.00", "4.50", "3.50")),
    ("device_ip_phone", "IP phone", {}, ("6.00", "6.50", "5.00")),
    ("device_mobile_app", "Mobile app", {}, ("3.00", "3.50", "2.50")),
    ("device_web_rtc", "Web phone", {}, ("3.00", "3.50", "2.50")),
    ("license_number", "Additional number", {"any": 1}, ("8.00", "9.00", "7.00")),
    ("team_chat", "Team chat", {}, ("4.00", "4.50", "3.50")),
    (
        "license_call_recording_unlimited_enabled",
        "Unlimited call recording storage",
        {},
        ("10.00", "11.00", "9.00"),
    ),
]
ALL_ADDONS = [code for code, *_ in ADDON_TYPES]
ADDONS_FOR = {
    "user_standard": ALL_ADDONS,
    "user_multi_mobile": ALL_ADDONS,
    "phone_system": ALL_ADDONS,
    "room_phone": ["device_ip_phone", "call_recording", "license_call_recording_unlimited_enabled"],
    "shared_line": [
        "call_recording",
        "license_number",
        "device_ip_phone",
        "team_chat",
        "license_call_recording_unlimited_enabled",
    ],
    "call_group": ["call_recording", "license_number"],
    "auto_attendant": ["license_number"],
    "fax": [],
    "developer": [],
}
DEVICES = [
    ("obihai_ata", "Obihai analogue telephone adapter", ("59.00", "65.00", "52.00")),
    ("ip_desk_phone", "IP desk phone", ("129.00", "139.00", "115.00")),
]
CURRENCIES = ("EUR", "USD", "GBP")


def load_catalogue(apps=None) -> None:
    """Create or update every catalogue row. `apps` is a migration's app registry, or None."""
    if apps is None:
        from django.apps import apps
    LicenceType = apps.get_model("licensing", "LicenceType")
    LicencePrice = apps.get_model("licensing", "LicencePrice")
    Device = apps.get_model("licensing", "Device")
    DevicePrice = apps.get_model("licensing", "DevicePrice")

    def prices(licence_type, monthly):
        for currency, amount in zip(CURRENCIES, monthly, strict=True):
            LicencePrice.objects.update_or_create(
                licence_type=licence_type,
                currency=currency,
                defaults={"monthly": Decimal(amount), "yearly": Decimal(amount) * 10},
            )

    types = {}
    for order, (code, name, category, capacity, changes, ext, monthly) in enumerate(BASE_TYPES):
        types[code], _ = LicenceType.objects.update_or_create(
            code=code,
            defaults=dict(
                name=name,
                kind="base",
                category=category,
                number_capacity=capacity,
                max_number_changes=changes,
                has_extension=ext,
                sort_order=order,
            ),
        )
        prices(types[code], monthly)
    for order, (code, name, capacity, monthly) in enumerate(ADDON_TYPES):
        types[code], _ = LicenceType.objects.update_or_create(
            code=code,
            defaults=dict(
                name=name,
                kind="addon",
                category="addon",
                number_capacity=capacity,
                max_number_changes=5 if capacity else 0,
                has_extension=False,
                sort_order=order,
            ),
        )
        prices(types[code], monthly)
    for base, addons in ADDONS_FOR.items():
        types[base].addons.set([types[code] for code in addons])
    for code, name, amounts in DEVICES:
        device, _ = Device.objects.update_or_create(code=code, defaults={"name": name})
        for currency, amount in zip(CURRENCIES, amounts, strict=True):
            DevicePrice.objects.update_or_create(
                device=device, currency=currency, defaults={"unit_price": Decimal(amount)}
            )
