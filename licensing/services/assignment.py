"""Assigning licences to members and lines, add-ons and extensions (rules 5, 9 and 11).

Numbering, the layer above, tells licensing about the numbers a licence carries through
`register_number_rules` (licensing does not import it)."""

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from accounts.audit import audit_record
from accounts.models import Organisation
from billing.models import Invoice
from billing.quotes import Quote
from licensing.models import (
    Licence,
    LicenceKind,
    LicenceStatus,
    LicenceType,
    Line,
)
from licensing.services.checks import _lock_licence, check_assignee
from licensing.services.purchase import LicenceSupply, licence_obtain_locked
from telecom import errors
from telecom.locks import organisation_for_update


@dataclass(frozen=True)
class AllocationResult:
    licence: Licence
    purchased: bool
    invoice: Invoice | None


@transaction.atomic
def licence_allocate(
    *,
    organisation: Organisation,
    licence_type: LicenceType,
    actor,
    member=None,
    line: Line | None = None,
    at: datetime | None = None,
) -> AllocationResult:
    """Give a member or line a licence of a type: a free one, else rule 1 (buy or refuse)."""
    org = organisation_for_update(organisation.pk)
    check_assignee(org, member, line)
    if licence_type.kind != LicenceKind.BASE:
        raise errors.AddonNotAllowed("Add-ons are attached to a base licence, not assigned.")
    licence, invoice = licence_obtain_locked(
        organisation=org, licence_type=licence_type, actor=actor, at=at
    )
    licence.member, licence.line = member, line
    licence.save(update_fields=["member", "line"])
    audit_record(
        organisation=org,
        actor=actor,
        action="licence.assigned",
        target=licence,
        changes={"member": str(member) if member else None, "line": str(line) if line else None},
    )
    return AllocationResult(licence=licence, purchased=invoice is not None, invoice=invoice)


def _ensure_active_base(licence: Licence) -> None:
    if licence.status != LicenceStatus.ACTIVE:
        raise errors.LicenceNotActive()
    if licence.licence_type.kind != LicenceKind.BASE:
        raise errors.AddonNotAllowed("An add-on licence is attached to a base licence instead.")


_number_rules: dict[str, Callable] = {}


def register_number_rules(*, check_move: Callable, moved: Callable) -> None:
    """What licensing asks about the numbers a licence carries, answered by numbering (the layer
    above, which knows both) when its app is ready: `check_move(organisation, licence, member)`
    refuses a move that rule 5 forbids, `moved(licence)` moves its numbers' history with it
    (rules 7 and 9). Licensing does not import numbering."""
    _number_rules.update(check_move=check_move, moved=moved)


def _number_rule(name: str) -> Callable:
    try:
        return _number_rules[name]
    except KeyError:
        raise RuntimeError("numbering has not registered its number rules") from None


def _numbers_follow(licence: Licence) -> None:
    _number_rule("moved")(licence)


@transaction.atomic
def licence_assign(*, licence: Licence, actor, member=None, line: Line | None = None) -> Licence:
    """Assign (or reassign) a base licence to one member or one line."""
    org = organisation_for_update(licence.organisation_id)
    licence = _lock_licence(licence)
    check_assignee(org, member, line)
    _ensure_active_base(licence)
    before = {
        "member": str(licence.member) if licence.member_id else None,
        "line": str(licence.line) if licence.line_id else None,
    }
    if member is not None and member.pk != licence.member_id:
        _number_rule("check_move")(org, licence, member)
    licence.member, licence.line = member, line
    licence.save(update_fields=["member", "line"])
    _numbers_follow(licence)
    audit_record(
        organisation=org,
        actor=actor,
        action="licence.assigned",
        target=licence,
        changes={
            "before": before,
            "member": str(member) if member else None,
            "line": str(line) if line else None,
        },
    )
    return licence


@transaction.atomic
def licence_unassign(*, licence: Licence, actor) -> Licence:
    """Free a licence from its member or line; what it holds stays with it (rule 9)."""
    org = organisation_for_update(licence.organisation_id)
    licence = _lock_licence(licence)
    if not (licence.member_id or licence.line_id):
        return licence
    before = str(licence.member or licence.line)
    licence.member = licence.line = None
    licence.save(update_fields=["member", "line"])
    _numbers_follow(licence)
    audit_record(
        organisation=org,
        actor=actor,
        action="licence.unassigned",
        target=licence,
        changes={"before": before},
    )
    return licence


@dataclass(frozen=True)
class AddonOption:
    """What checking an add-on on a base licence would do now, as `licence_set_addons` decides
    it (rules 11, 13 and 1): `source` is "attached" (already), "free" (one of the `free` free
    licences of its code), "restore" (one scheduled for removal, no charge), "purchase" (one
    bought pro rata) or "refused" (the `block` policy)."""

    licence_type: LicenceType
    free: int
    source: str


def licence_addons_preview(*, licence: Licence, at: datetime | None = None) -> list[AddonOption]:
    """For each add-on the base licence's type accepts, what checking it would do. Writes
    nothing."""
    organisation = licence.organisation
    attached = {a.licence_type.code for a in licence.addons.select_related("licence_type")}
    supply = LicenceSupply(organisation, at=at, lock=False)
    options = []
    for addon_type in licence.licence_type.addons.order_by("sort_order", "code"):
        free = Licence.objects.filter(organisation=organisation, licence_type=addon_type)
        free = free.free().count()
        if addon_type.code in attached:
            source = "attached"
        elif free:
            source = "free"
        else:
            source, _ = supply.source(addon_type, free=False)
            if source == "purchase" and supply.refuses(addon_type):
                source = "refused"
        options.append(AddonOption(licence_type=addon_type, free=free, source=source))
    return options


def _wanted_addons(licence: Licence, codes: list[str]) -> tuple[list[str], dict]:
    """Rule 11: the add-on codes asked for, each known, an add-on, and accepted by the base
    licence's type (`unknown_addon`, `addon_not_allowed`); with their types by code."""
    wanted_codes = list(dict.fromkeys(code.strip() for code in codes if code.strip()))
    types = {t.code: t for t in LicenceType.objects.filter(code__in=wanted_codes)}
    unknown = [code for code in wanted_codes if code not in types]
    if unknown or any(types[c].kind != LicenceKind.ADDON for c in wanted_codes if c in types):
        bad = unknown or [c for c in wanted_codes if types[c].kind != LicenceKind.ADDON]
        raise ValidationError(
            {
                "codes": ValidationError(
                    f"Unknown add-on code(s): {', '.join(bad)}.", code="unknown_addon"
                )
            }
        )
    allowed = set(licence.licence_type.addons.values_list("code", flat=True))
    refused = [code for code in wanted_codes if code not in allowed]
    if refused:
        raise errors.AddonNotAllowed(
            f"{', '.join(refused)} cannot be attached to a {licence.licence_type.name} licence."
        )
    return wanted_codes, types


@dataclass(frozen=True)
class AddonsReview:
    """What `licence_set_addons` would do now (the console's review): the add-on types to
    attach, each with how it is obtained ("free", "restore": scheduled for removal, restored
    at no charge, or "purchase": bought pro rata, as `quote` bills it), and the add-on licences
    detached (they stay, billed, until removed)."""

    attach: list[tuple[LicenceType, str]]
    detach: list[Licence]
    quote: Quote

    @property
    def changes(self) -> bool:
        return bool(self.attach or self.detach)


def licence_addons_quote(
    *, licence: Licence, codes: list[str], at: datetime | None = None
) -> AddonsReview:
    """`licence_set_addons`'s decisions read-only: the same checks, the same `LicenceSupply`
    takes (without locking or writing), the invoice's own arithmetic; refused as it would be
    (the `block` policy's `no_licence_available` included)."""
    _ensure_active_base(licence)
    wanted_codes, types = _wanted_addons(licence, codes)
    current = {
        addon.licence_type.code: addon for addon in licence.addons.select_related("licence_type")
    }
    supply = LicenceSupply(licence.organisation, at=at, lock=False)
    attach = []
    for code in wanted_codes:
        if code not in current:
            attach.append((types[code], supply.source_of(supply.take(types[code]))))
    detach = [addon for code, addon in current.items() if code not in wanted_codes]
    return AddonsReview(attach=attach, detach=detach, quote=supply.quote())


@transaction.atomic
def licence_set_addons(
    *, licence: Licence, codes: list[str], actor, at: datetime | None = None
) -> tuple[Licence, Invoice | None]:
    """Rule 11: make `codes` the base licence's full set of add-ons.

    New add-ons take a free add-on licence of their code, else one of that code scheduled for
    removal, restored at no charge, else rule 1 buys them (one invoice) or refuses
    (`LicenceSupply`); add-ons no longer wanted are detached and stay as available licences.
    """
    org = organisation_for_update(licence.organisation_id)
    licence = _lock_licence(licence)
    _ensure_active_base(licence)
    wanted_codes, types = _wanted_addons(licence, codes)
    current = {
        addon.licence_type.code: addon
        for addon in licence.addons.select_for_update(of=("self",)).select_related("licence_type")
    }
    detached = [addon for code, addon in current.items() if code not in wanted_codes]
    for addon in detached:
        addon.base_licence = None
    Licence.objects.bulk_update(detached, ["base_licence"])

    # A free add-on licence of each code, else rule 13 restores one scheduled for removal,
    # else rule 1 buys it or refuses.
    supply = LicenceSupply(org, at=at)
    attach = [supply.take(types[code]) for code in wanted_codes if code not in current]
    obtained = supply.commit(actor=actor)
    invoice = obtained.invoice
    for addon in attach:
        addon.base_licence = licence
    Licence.objects.bulk_update(attach, ["base_licence"])
    if attach or detached:
        audit_record(
            organisation=org,
            actor=actor,
            action="licence.addons_set",
            target=licence,
            changes={
                "attached": sorted(a.licence_type.code for a in attach),
                "detached": sorted(a.licence_type.code for a in detached),
            },
        )
    return licence, invoice


_EXTENSION = re.compile(r"[0-9]{2,8}")


def normalise_extension(value: str | None) -> str | None:
    """2 to 8 ASCII digits, or None. `str.isdigit` would let Arabic-Indic ('١٠١'), fullwidth
    ('１０１') or superscript digits through to the database, which refuses them
    (docs/rules.md#rule-11)."""
    value = (value or "").strip()
    if not value:
        return None
    if not _EXTENSION.fullmatch(value):
        raise ValidationError(
            {
                "extension": ValidationError(
                    "An extension is 2 to 8 digits.", code="invalid_extension"
                )
            }
        )
    return value


@transaction.atomic
def licence_set_extension(*, licence: Licence, extension: str | None, actor) -> Licence:
    """Rule 11: extensions only on types that carry one, unique within the organisation."""
    extension = normalise_extension(extension)
    org = organisation_for_update(licence.organisation_id)
    licence = _lock_licence(licence)
    if extension is not None:
        if not licence.licence_type.has_extension:
            raise errors.ExtensionNotSupported(
                f"A {licence.licence_type.name} licence does not carry an extension."
            )
        if licence.status != LicenceStatus.ACTIVE:
            raise errors.LicenceNotActive()
        if (
            Licence.objects.filter(organisation=org, extension=extension)
            .exclude(pk=licence.pk)
            .exists()
        ):
            raise errors.ExtensionTaken(f"Extension {extension} is already in use.")
    before = licence.extension
    licence.extension = extension
    try:
        with transaction.atomic():
            licence.save(update_fields=["extension"])
    except IntegrityError as exc:  # the unique constraint behind the check above
        raise errors.ExtensionTaken(f"Extension {extension} is already in use.") from exc
    audit_record(
        organisation=org,
        actor=actor,
        action="licence.extension_set",
        target=licence,
        changes={"before": before, "after": extension},
    )
    return licence
