"""The mass-configuration sample of one organisation: its own members, extensions it does not
use yet, numbers free in the inventory and add-on codes that fit, so that the file uploaded as
it is validates (a dry run with no error). Members who already have a phone system restate its
extension and add-ons (no change); the others get a new extension, a free number and, when a
licence can be had for it, one add-on."""

import csv
import io

from django.db.models import Count
from django.db.models.functions import Coalesce

from accounts.models import LicencePolicy, MemberStatus, Organisation, User
from licensing.mass_config.reading import ADDON_COLUMN, EXT, NUMBER, PHONE_SYSTEM, USER, sample_csv
from licensing.models import Licence, LicenceStatus, LicenceType
from numbering.carriers import carrier
from numbering.models import NumberType, PhoneNumber

SAMPLE_MEMBERS = 4
SAMPLE_ADDON_COLUMNS = 4


def _accepts(capacity: dict, number_type: str) -> bool:
    return bool((capacity or {}).get("any") or (capacity or {}).get(number_type))


def sample_csv_for(organisation: Organisation) -> str:
    """The sample file for `organisation` (the generic example when it has nobody to put in)."""
    phone = LicenceType.objects.get(code=PHONE_SYSTEM)
    allowed = sorted(phone.addons.values_list("code", flat=True))
    blocked = organisation.licence_policy == LicencePolicy.BLOCK
    rows: list[tuple[str, str, str, list[str]]] = []

    configured = (
        Licence.objects.filter(
            organisation=organisation,
            licence_type=phone,
            status=LicenceStatus.ACTIVE,
            member__isnull=False,
            extension__isnull=False,
        )
        .exclude(member__status=MemberStatus.DEACTIVATED)
        .select_related("member")
        .prefetch_related("addons__licence_type")
        .order_by("extension")[: SAMPLE_MEMBERS // 2]
    )
    used_members = set()
    for licence in configured:
        if licence.member_id in used_members:
            continue
        used_members.add(licence.member_id)
        codes = sorted(addon.licence_type.code for addon in licence.addons.all())
        rows.append((licence.extension, "", licence.member.email, codes))

    free_phones = Licence.objects.filter(organisation=organisation, licence_type=phone).free()
    room = SAMPLE_MEMBERS - len(rows)
    if blocked:  # no licence may be bought: only as many new rows as free phone systems
        room = min(room, free_phones.count())
    others = list(
        User.objects.filter(organisation=organisation, is_superuser=False)
        .exclude(status=MemberStatus.DEACTIVATED)
        .exclude(pk__in=used_members)
        .order_by("name", "email")[: max(room, 0)]
    )
    if others:
        taken = set(
            Licence.objects.filter(organisation=organisation, extension__isnull=False).values_list(
                "extension", flat=True
            )
        )
        held = dict(
            PhoneNumber.objects.held()
            .filter(organisation=organisation)
            .annotate(holder=Coalesce("licence__member_id", "licence__base_licence__member_id"))
            .filter(holder__in=[m.pk for m in others])
            .order_by()
            .values("holder")
            .annotate(n=Count("pk"))
            .values_list("holder", "n")
        )
        numbers: list[str] = []
        for number_type in (NumberType.MOBILE, NumberType.LANDLINE):
            if len(numbers) < len(others) and _accepts(phone.number_capacity, number_type):
                numbers += [
                    available.e164
                    for available in carrier().search(
                        country=organisation.country,
                        number_type=number_type,
                        limit=len(others) - len(numbers),
                    )
                ]
        addon = _addon_for_new_rows(organisation, allowed, blocked, len(others))
        extension = 101
        for member in others:
            while str(extension) in taken:
                extension += 1
            taken.add(str(extension))
            number = ""
            if numbers and held.get(member.pk, 0) < organisation.max_numbers_per_member:
                number = numbers.pop(0)
            rows.append((str(extension), number, member.email, [addon] if addon else []))
    if not rows:
        return sample_csv()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(
        [EXT, NUMBER, USER, *(ADDON_COLUMN.format(i) for i in range(1, SAMPLE_ADDON_COLUMNS + 1))]
    )
    for extension, number, email, codes in rows:
        codes = codes[:SAMPLE_ADDON_COLUMNS]
        writer.writerow(
            [extension, number, email, *codes, *[""] * (SAMPLE_ADDON_COLUMNS - len(codes))]
        )
    return out.getvalue()


def _addon_for_new_rows(organisation, allowed: list[str], blocked: bool, count: int) -> str:
    """An add-on code that fits the phone system and that every new row can have: one with
    enough free licences, else (when licences may be bought) the first that fits."""
    if not allowed:
        return ""
    for code in allowed:
        free = (
            Licence.objects.filter(organisation=organisation, licence_type__code=code)
            .free()
            .count()
        )
        if free >= count:
            return code
    return "" if blocked else allowed[0]
