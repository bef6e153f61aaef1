"""What a mass configuration reports (rule 23): the planned rows, the summary, the report and
the exception that carries it."""

import uuid
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ValidationError

from billing.models import Invoice
from billing.quotes import Quote
from licensing.mass_config.reading import RowError


@dataclass
class PlannedRow:
    """What one row does. `licence_id` is None until a bought licence is created."""

    row: int
    extension: str
    member_id: uuid.UUID
    member: str
    licence_id: uuid.UUID | None
    licence_source: str  # extension | member | free | restore | purchase
    assigns_licence: bool  # the licence was not the member's before
    sets_extension: bool
    e164: str | None = None
    number_action: str | None = None  # new | move | kept
    number_id: uuid.UUID | None = None
    number_country: str = ""
    number_type: str = ""
    numbers_received: int = 0
    number_changes_used: int = 0
    addons_attached: list[str] = field(default_factory=list)
    addons_detached: list[str] = field(default_factory=list)
    addons_bought: list[str] = field(default_factory=list)
    addons_restored: list[str] = field(default_factory=list)
    # (code, free or restored add-on licence id, or None when bought), and add-on licence ids
    # to detach
    attach: list[tuple[str, uuid.UUID | None]] = field(default_factory=list)
    detach: list[uuid.UUID] = field(default_factory=list)


@dataclass(frozen=True)
class Summary:
    extensions: int
    licences_assigned: int
    numbers_assigned: int
    addons_attached: int
    addons_detached: int
    licences_purchased: int
    total: Decimal
    currency: str
    invoice: Invoice | None = None
    licences_restored: int = 0  # scheduled for removal, restored at no charge (rule 13)

    def as_dict(self) -> dict:
        return {
            "extensions": self.extensions,
            "licences_assigned": self.licences_assigned,
            "numbers_assigned": self.numbers_assigned,
            "addons_attached": self.addons_attached,
            "addons_detached": self.addons_detached,
            "licences_purchased": self.licences_purchased,
            "licences_restored": self.licences_restored,
            "total": f"{self.total:.2f}",
            "currency": self.currency,
        }


@dataclass(frozen=True)
class Report:
    """Either `errors`, or the `rows` it will apply with the `purchases`, the licences scheduled
    for removal it `restored` at no charge, and their `quote`."""

    errors: list[RowError]
    rows: list[PlannedRow] = field(default_factory=list)
    purchases: dict[str, int] = field(default_factory=dict)  # licence type code → quantity
    quote: Quote | None = None
    currency: str = ""
    restored: list = field(default_factory=list)  # licensing.Licence, active in memory

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def summary(self) -> Summary:
        return Summary(
            extensions=len(self.rows),
            licences_assigned=sum(r.assigns_licence for r in self.rows),
            numbers_assigned=sum(r.number_action in ("new", "move") for r in self.rows),
            addons_attached=sum(len(r.addons_attached) for r in self.rows),
            addons_detached=sum(len(r.addons_detached) for r in self.rows),
            licences_purchased=sum(self.purchases.values()),
            licences_restored=len(self.restored),
            total=self.quote.total if self.quote else Decimal("0.00"),
            currency=self.currency,
        )


class MassConfigurationInvalid(ValidationError):
    """The file has errors; nothing was applied. `report.errors` lists them."""

    def __init__(self, report: Report):
        self.report = report
        super().__init__(
            f"The file has {len(report.errors)} error(s); nothing was applied.", code="invalid"
        )
