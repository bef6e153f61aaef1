"""Device orders (rule 22): a device of the catalogue, priced in the organisation's currency, is
a one-off charge billed on the next invoice. Licensing owns the catalogue (devices and their
prices); the charge is the billing ledger's."""

from django.db import transaction

from accounts.audit import audit_record
from accounts.models import Organisation
from billing.models import Charge, ChargeKind
from licensing.models import DevicePrice
from telecom.locks import organisation_for_update
from telecom.quantities import validate_quantity


@transaction.atomic
def device_order(*, organisation: Organisation, device, quantity: int, actor) -> Charge:
    """A one-off charge for devices, billed on the next invoice (rule 22)."""
    validate_quantity(quantity)
    org = organisation_for_update(organisation.pk)
    unit_price = _device_unit_price(device, org.currency)
    charge = Charge.objects.create(
        organisation=org,
        kind=ChargeKind.DEVICE,
        device=device,
        quantity=quantity,
        unit_price=unit_price,
        amount=unit_price * quantity,
        description=f"{device.name} × {quantity}",
        created_by=actor,
    )
    audit_record(
        organisation=org,
        actor=actor,
        action="device.ordered",
        target=charge,
        changes={"device": device.code, "quantity": quantity, "amount": str(charge.amount)},
    )
    return charge


def device_order_preview(*, organisation: Organisation, device, quantity: int) -> dict:
    """What `device_order` would charge (rule 22), for the review before it. Reads only."""
    validate_quantity(quantity)
    unit_price = _device_unit_price(device, organisation.currency)
    return {
        "organisation": organisation,
        "device": device,
        "quantity": quantity,
        "unit_price": unit_price,
        "amount": unit_price * quantity,
        "currency": organisation.currency,
    }


def _device_unit_price(device, currency: str):
    return DevicePrice.objects.get(device=device, currency=currency).unit_price
