"""Validating and applying a mass configuration (rule 23): the services the API and the admin
call. The apply writes in bulk, a fixed number of statements whatever the number of rows."""

import dataclasses
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import IO

from django.db import IntegrityError, transaction
from django.utils import timezone
from psycopg.types.json import Jsonb

from accounts.models import AuditEvent, Organisation
from billing.models import Invoice, InvoiceKind
from billing.services import invoice_issue
from licensing.mass_config.planning import Progress, _sorted, build_report
from licensing.mass_config.reading import PHONE_SYSTEM, InputRow, RowError, parse_csv, read_upload
from licensing.mass_config.results import MassConfigurationInvalid, PlannedRow, Report, Summary
from licensing.models import Licence, LicenceStatus, LicenceType
from licensing.services import (
    ensure_not_restricted,
    licences_restore_locked,
    purchase_lines,
    purchase_quote,
)
from numbering.carriers import carrier
from numbering.models import NumberAssignment, NumberStatus, PhoneNumber
from telecom import errors
from telecom.bulk import copy_rows, update_from_arrays
from telecom.clients import current_client_address
from telecom.locks import organisation_for_update


def _read_and_parse(file_bytes) -> tuple[list[InputRow], list[RowError]]:
    data, found = read_upload(file_bytes)
    if found:
        return [], found
    return parse_csv(data)


def mass_config_validate(
    *,
    organisation: Organisation,
    file_bytes: bytes | IO[bytes],
    at: datetime | None = None,
    progress: Progress | None = None,
) -> Report:
    """The dry run (rule 23): every error, or every change and its cost. Writes nothing.
    `progress(done, total)` follows the rows being checked."""
    rows, found = _read_and_parse(file_bytes)
    if found:
        return Report(errors=_sorted(found), currency=organisation.currency)
    return build_report(organisation, rows, at=at or timezone.now(), progress=progress)


# --- applying (bulk writes) -----------------------------------------------------------------


def _audit_rows(organisation, actor, planned: list[PlannedRow], invoice, at) -> Iterable[tuple]:
    actor_id = actor.pk if getattr(actor, "pk", None) else None
    actor_label = str(actor)[:300] if actor is not None else "system"
    for p in planned:
        changes = {
            "row": p.row,
            "extension": p.extension,
            "member": p.member,
            "licence": p.licence_source,
            "number": p.e164,
            "number_action": p.number_action,
            "addons_attached": p.addons_attached,
            "addons_detached": p.addons_detached,
            "addons_bought": p.addons_bought,
            "addons_restored": p.addons_restored,
        }
        if invoice is not None and (p.licence_source == "purchase" or p.addons_bought):
            changes["invoice"] = invoice.number
        yield (
            organisation.pk,
            actor_id,
            actor_label,
            "licence.mass_configured",
            "licence",
            str(p.licence_id),
            f"{PHONE_SYSTEM} {str(p.licence_id)[:8]}",
            Jsonb(changes),
            at,
        )


_LICENCE_COLUMNS = [
    "id",
    "organisation",
    "licence_type",
    "status",
    "member",
    "base_licence",
    "extension",
    "number_changes_used",
    "numbers_received",
    "purchased_at",
]
_AUDIT_COLUMNS = [
    "organisation",
    "actor",
    "actor_label",
    "action",
    "target_type",
    "target_id",
    "target_label",
    "changes",
    "created_at",
]


def _buy(org: Organisation, report: Report, *, actor, at: datetime) -> Invoice:
    """Create the bought licences already configured, and issue their pro rata invoice (rule 1,
    docs/rules.md, billing): the same lines `licences_purchase_quote` would show."""
    ensure_not_restricted(org, at=at)
    types = {t.code: t for t in LicenceType.objects.filter(code__in=list(report.purchases))}
    active = LicenceStatus.ACTIVE
    rows = []
    for plan in report.rows:
        if plan.licence_id is None:
            plan.licence_id = uuid.uuid4()
            rows.append(
                (
                    plan.licence_id,
                    org.pk,
                    types[PHONE_SYSTEM].pk,
                    active,
                    plan.member_id,
                    None,
                    plan.extension,
                    plan.number_changes_used,
                    plan.numbers_received,
                    at,
                )
            )
    for plan in report.rows:
        rows += [
            (uuid.uuid4(), org.pk, types[code].pk, active, None, plan.licence_id, None, 0, 0, at)
            for code, addon_id in plan.attach
            if addon_id is None
        ]
    copy_rows(Licence, _LICENCE_COLUMNS, rows)
    quantities = {types[code]: n for code, n in report.purchases.items()}
    lines = purchase_lines(org, quantities, at=at)
    return invoice_issue(
        organisation=org,
        kind=InvoiceKind.PURCHASE,
        actor=actor,
        at=at,
        quote=purchase_quote(org, lines, purchased=sum(quantities.values())),
    )


def _apply(org: Organisation, report: Report, *, actor, at: datetime) -> Summary:
    planned = report.rows
    # Rule 13: the licences scheduled for removal that the plan takes are restored, at no
    # charge, before the rows configure them (an active licence may then be assigned).
    if report.restored:
        licences_restore_locked(org, report.restored, actor=actor)
    invoice = _buy(org, report, actor=actor, at=at) if report.purchases else None
    update_from_arrays(
        Licence,
        ["member", "extension", "numbers_received", "number_changes_used"],
        [
            (p.licence_id, p.member_id, p.extension, p.numbers_received, p.number_changes_used)
            for p in planned
            if p.licence_source != "purchase"
        ],
    )
    bases_of = {addon_id: None for p in planned for addon_id in p.detach}
    bases_of.update(
        {
            addon_id: p.licence_id
            for p in planned
            for _, addon_id in p.attach
            if addon_id is not None
        }
    )
    update_from_arrays(Licence, ["base_licence"], list(bases_of.items()))

    new = [p for p in planned if p.number_action == "new"]
    moved = [p for p in planned if p.number_action == "move"]
    carrier().reserve_many(e164s=[p.e164 for p in new])
    for plan in new:
        plan.number_id = uuid.uuid4()
    try:
        with transaction.atomic():
            copy_rows(
                PhoneNumber,
                [
                    "id",
                    "organisation",
                    "e164",
                    "country",
                    "number_type",
                    "status",
                    "licence",
                    "assigned_at",
                    "created_at",
                ],
                (
                    (
                        p.number_id,
                        org.pk,
                        p.e164,
                        p.number_country,
                        p.number_type,
                        NumberStatus.ASSIGNED.value,
                        p.licence_id,
                        at,
                        at,
                    )
                    for p in new
                ),
            )
    except IntegrityError as exc:  # taken meanwhile (a porting request, another organisation)
        raise errors.NumberUnavailable(
            "A number of the file was taken meanwhile; validate the file again."
        ) from exc
    update_from_arrays(PhoneNumber, ["licence"], [(p.number_id, p.licence_id) for p in moved])
    NumberAssignment.objects.filter(
        number_id__in=[p.number_id for p in moved], ended_at__isnull=True
    ).update(ended_at=at)
    copy_rows(
        NumberAssignment,
        ["number", "organisation", "licence", "member", "started_at"],
        ((p.number_id, org.pk, p.licence_id, p.member_id, at) for p in new + moved),
    )

    summary = report.summary
    copy_rows(AuditEvent, _AUDIT_COLUMNS, _audit_rows(org, actor, planned, invoice, at))
    AuditEvent.objects.create(
        organisation=org,
        actor=actor if getattr(actor, "pk", None) else None,
        actor_label=str(actor) if actor is not None else "system",
        action="organisation.mass_configured",
        target_type="organisation",
        target_id=str(org.pk),
        target_label=str(org)[:300],
        created_at=at,
        changes={**summary.as_dict(), "invoice": invoice.number if invoice else None},
        client_address=current_client_address(),
    )
    return dataclasses.replace(summary, invoice=invoice)


@transaction.atomic
def mass_config_apply(
    *,
    organisation: Organisation,
    actor,
    file_bytes: bytes | IO[bytes],
    at: datetime | None = None,
) -> Summary:
    """Validate again under the organisation's lock and apply every row, or none (rule 23).

    Raises `MassConfigurationInvalid` (its `report.errors`) when any row is bad; nothing is
    written then. Licences bought are charged pro rata on one invoice (`Summary.invoice`).
    """
    at = at or timezone.now()
    rows, found = _read_and_parse(file_bytes)
    if found:
        raise MassConfigurationInvalid(
            Report(errors=_sorted(found), currency=organisation.currency)
        )
    org = organisation_for_update(organisation.pk)
    report = build_report(org, rows, at=at)
    if not report.ok:
        raise MassConfigurationInvalid(report)
    return _apply(org, report, actor=actor, at=at)
