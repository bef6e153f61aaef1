"""The console's invoice page in a real browser, as finance reads it: laid out like the PDF
(billing.documents), with the PDF and CSV a click away. Screenshot: console-invoice.png."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from billing import services as billing
from billing.models import InvoiceKind
from billing.quotes import Quote, QuoteLine
from tests.browser.conftest import DESKTOP, screenshot
from tests.factories import OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "console-password-1"
PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture
def invoice(live_server):
    organisation = OrganisationFactory(name="Papeterie Martin", tax_rate="0.2000")
    finance = UserFactory(organisation=organisation, role="finance", email="finance@martin.example")
    finance.set_password(PASSWORD)
    finance.save()
    quote = Quote(
        currency="EUR",
        tax_rate=Decimal("0.2000"),
        lines=[
            QuoteLine(
                description="User licence × 3, 05 Mar 2025 to 31 Mar 2025 (27/31 days)",
                kind="proration",
                quantity=3,
                unit_price=Decimal("19.00"),
                amount=Decimal("49.65"),
            ),
            QuoteLine(
                description="IP desk phone",
                kind="device",
                quantity=1,
                unit_price=Decimal("89.00"),
                amount=Decimal("89.00"),
            ),
        ],
    )
    with time_machine.travel(dt.datetime(2025, 3, 5, 12, tzinfo=PARIS), tick=False):
        return billing.invoice_issue(
            organisation=organisation, kind=InvoiceKind.PURCHASE, quote=quote, actor=None
        )


def test_finance_reads_an_invoice_like_its_pdf(new_page, invoice):
    from playwright.sync_api import expect  # after the browser fixture: it skips or fails first

    page = new_page(DESKTOP | {"width": 1366})
    page.goto("/admin/login/")
    page.locator("#id_username").fill("finance@martin.example")
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"/admin/billing/invoice/{invoice.pk}/change/")

    document = page.locator("#invoice-document")
    expect(document).to_contain_text("Papeterie Martin")
    expect(document).to_contain_text("IP desk phone")
    expect(page.locator("#invoice-tax")).to_have_text("€27.73")
    expect(page.locator("#invoice-total")).to_have_text("€166.38")
    expect(document).to_contain_text("VAT (20%)")
    expect(document).to_contain_text("is due by 19 Mar 2025")
    expect(page.get_by_role("link", name="Download PDF")).to_be_visible()
    expect(page.get_by_role("link", name="Download CSV")).to_be_visible()
    screenshot(page, "console-invoice")

    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    assert download.value.suggested_filename == f"invoice-{invoice.number}.csv"
