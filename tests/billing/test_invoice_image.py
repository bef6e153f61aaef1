"""The invoice PDF as a person sees it: a renewal's PDF rendered to an image (PDFium, the renderer
of Chromium) and checked for an A4 page with its content inside the margins. The image goes to
artifacts/screenshots/invoice-renewal.png for a person to look at."""

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pypdfium2
import pytest
import time_machine

from billing.models import Invoice
from billing.pdf import invoice_pdf
from billing.renewal import renewals_run
from licensing import services as licensing_services
from licensing.models import Device
from tests.factories import (
    LicenceFactory,
    UserFactory,
    licence_type,
    renewing_organisation,
)

pytestmark = pytest.mark.django_db
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
A4_POINTS = (595.28, 841.89)


@pytest.mark.time_machine(
    dt.datetime(2026, 11, 20, 10, tzinfo=ZoneInfo("Europe/Paris")), tick=False
)
def test_a_renewal_invoice_renders_as_one_clean_a4_page():
    org = renewing_organisation(name="Société Exemple")
    for code, count in (("user_standard", 3), ("phone_system", 2), ("call_recording", 1)):
        for _ in range(count):
            LicenceFactory(organisation=org, licence_type=licence_type(code))
    with time_machine.travel(dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC), tick=False):
        licensing_services.device_order(
            organisation=org,
            device=Device.objects.get(code="ip_desk_phone"),
            quantity=2,
            actor=UserFactory(organisation=org, role="owner"),
        )
    renewals_run(at=dt.datetime(2026, 12, 1, 12, tzinfo=ZoneInfo("Europe/Paris")))
    invoice = Invoice.objects.get(organisation=org, kind="renewal")
    # Base licences first, add-ons after them, then the charges.
    assert [line.licence_type_id and line.licence_type.code for line in invoice.lines.all()] == [
        "user_standard",
        "phone_system",
        "call_recording",
        None,
    ]

    document = pypdfium2.PdfDocument(invoice_pdf(invoice))
    assert len(document) == 1
    page = document[0]
    assert page.get_size() == pytest.approx(A4_POINTS, abs=0.5)
    image = page.render(scale=150 / 72).to_pil().convert("L")  # 150 dpi, grey
    page.close()
    document.close()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    image.save(SCREENSHOTS / "invoice-renewal.png")

    width, height = image.size
    ink = [
        (x, y)
        for y in range(0, height, 2)
        for x in range(0, width, 2)
        if image.getpixel((x, y)) < 128
    ]
    assert len(ink) > 2000  # text, lines and totals, not an empty page
    xs, ys = [x for x, _ in ink], [y for _, y in ink]
    margin = 0.5 * 150 / 2.54  # 5 mm at 150 dpi, within what printers can print
    assert min(xs) > margin and max(xs) < width - margin
    assert min(ys) > margin and max(ys) < height - margin
