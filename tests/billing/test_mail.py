"""Invoices and credit notes are e-mailed (issue 16, docs/rules.md "Documents are e-mailed"):
once per document and contact whatever the retries and duplicates, in the organisation's
language, the PDF attached; failures recorded and retried; one test through a real SMTP server."""

import datetime as dt
import socket
from decimal import Decimal
from email import message_from_bytes, policy

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.test import override_settings

from billing.credit_notes import credit_note_issue
from billing.mail import document_mail_send, invoices_mail_after_commit
from billing.models import DocumentSend, DocumentSendStatus
from billing.profile import billing_details_update
from billing.quotes import Quote, QuoteLine
from billing.services import invoice_issue
from billing.tasks import send_document_mail
from telecom.email_url import email_settings
from telecom.mailsink import mail_sink
from tests.factories import OrganisationFactory

pytestmark = pytest.mark.django_db

CONTACTS = ["compta@client.example", "dg@client.example"]
AT = dt.datetime(2026, 3, 2, 12, tzinfo=dt.UTC)


@pytest.fixture
def org():
    organisation = OrganisationFactory(name="Client SARL", country="FR")
    billing_details_update(
        organisation=organisation,
        actor=None,
        legal_name="Client SARL",
        street="3 rue du Port",
        postcode="13002",
        city="Marseille",
        country="FR",
        contacts=CONTACTS,
    )
    organisation.refresh_from_db()
    return organisation


def issue(organisation):
    quote = Quote(
        currency="EUR",
        tax_rate=organisation.tax_rate,
        lines=[QuoteLine("Phone system licence", "licence", 2, Decimal("25.00"), Decimal("50.00"))],
    )
    return invoice_issue(organisation=organisation, kind="purchase", quote=quote, actor=None, at=AT)


def test_an_issued_invoice_is_queued_after_commit_once_per_contact(
    org, monkeypatch, django_capture_on_commit_callbacks
):
    queued = []
    monkeypatch.setattr(
        "telecom.celery.app.send_task", lambda name, kwargs: queued.append((name, kwargs))
    )
    with django_capture_on_commit_callbacks(execute=True):
        invoice = issue(org)
        assert queued == []  # nothing leaves before the commit
    assert queued == [
        ("billing.send_document_mail", {"kind": "invoice", "document_id": str(invoice.pk)})
    ]
    sends = DocumentSend.objects.filter(invoice=invoice)
    assert sorted(sends.values_list("contact", "status")) == [
        (contact, DocumentSendStatus.PENDING) for contact in CONTACTS
    ]


def test_a_duplicated_task_sends_each_contact_once(org):
    invoice = issue(org)

    assert send_document_mail.run(kind="invoice", document_id=str(invoice.pk)) == 2
    assert send_document_mail.run(kind="invoice", document_id=str(invoice.pk)) == 0
    assert document_mail_send(kind="invoice", document_id=str(invoice.pk)) == 0

    assert sorted(message.to[0] for message in mail.outbox) == CONTACTS
    message = mail.outbox[0]
    assert message.subject == f"Invoice {invoice.number} · Telecom Cloud SAS"
    assert f"Please find attached invoice {invoice.number} of 2 March 2026" in message.body
    assert "Amount due: 60.00 EUR, by 16 March 2026." in message.body
    [(filename, content, mimetype)] = message.attachments
    assert (filename, mimetype) == (f"invoice-{invoice.number}.pdf", "application/pdf")
    assert content.startswith(b"%PDF-")
    [(html, html_type)] = message.alternatives
    assert html_type == "text/html" and "<p>" in html
    assert set(DocumentSend.objects.values_list("status", flat=True)) == {DocumentSendStatus.SENT}
    # Recording the sends again (a replayed issue) adds nothing.
    invoices_mail_after_commit([invoice.pk])
    assert DocumentSend.objects.count() == 2


def test_a_credit_note_is_mailed_in_french(org):
    org.language = "fr"
    org.save(update_fields=["language"])
    invoice = issue(org)
    note = credit_note_issue(
        invoice=invoice, actor=None, reason="Erreur de quantité", amount=Decimal("25.00")
    )

    assert document_mail_send(kind="credit_note", document_id=str(note.pk)) == 2

    message = mail.outbox[0]
    assert message.subject == f"Avoir {note.number} · Telecom Cloud SAS"
    assert (
        f"Veuillez trouver ci-joint l'avoir {note.number} de Telecom Cloud SAS, qui crédite la "
        f"facture {invoice.number} de 30,00 EUR." in message.body  # French decimals
    )
    assert "Motif : Erreur de quantité" in message.body
    assert f"Reste à payer sur la facture {invoice.number} : 30,00 EUR." in message.body
    assert message.attachments[0][0] == f"credit-note-{note.number}.pdf"


class RefusingBackend(BaseEmailBackend):
    def send_messages(self, messages):
        raise ConnectionRefusedError("the mail server is down")


def test_a_failure_is_recorded_raised_for_a_retry_and_sent_later(org):
    invoice = issue(org)
    refusing = override_settings(EMAIL_BACKEND="tests.billing.test_mail.RefusingBackend")
    with refusing, pytest.raises(ConnectionRefusedError):
        document_mail_send(kind="invoice", document_id=str(invoice.pk))
    failed = DocumentSend.objects.filter(invoice=invoice)
    assert {(s.status, s.attempts) for s in failed} == {(DocumentSendStatus.FAILED, 1)}
    assert "the mail server is down" in failed.first().last_error
    assert ConnectionRefusedError in send_document_mail.autoretry_for or OSError in (
        send_document_mail.autoretry_for
    )

    assert document_mail_send(kind="invoice", document_id=str(invoice.pk)) == 2
    assert {(s.status, s.attempts) for s in failed.all()} == {(DocumentSendStatus.SENT, 2)}
    assert len(mail.outbox) == 2


def test_an_organisation_without_contacts_sends_nothing():
    organisation = OrganisationFactory()
    invoice = issue(organisation)
    assert not DocumentSend.objects.filter(invoice=invoice).exists()


def test_email_url_names_the_smtp_server():
    assert email_settings("smtp://user:p%40ss@mail.example.com:587?tls=1") == {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "mail.example.com",
        "EMAIL_PORT": 587,
        "EMAIL_HOST_USER": "user",
        "EMAIL_HOST_PASSWORD": "p@ss",
        "EMAIL_USE_SSL": False,
        "EMAIL_USE_TLS": True,
        "EMAIL_TIMEOUT": 20,
    }
    with pytest.raises(ValueError, match="unknown scheme"):
        email_settings("carrier-pigeon://loft")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_an_invoice_goes_through_a_real_smtp_server_with_its_pdf(org, tmp_path):
    invoice = issue(org)
    port = _free_port()
    server = mail_sink(tmp_path, port=port, quiet=True)
    try:
        with override_settings(**email_settings(f"smtp://127.0.0.1:{port}")):
            assert document_mail_send(kind="invoice", document_id=str(invoice.pk)) == 2
    finally:
        server.stop()

    kept = sorted(tmp_path.glob("*.eml"))
    assert len(kept) == 2
    messages = [message_from_bytes(path.read_bytes(), policy=policy.default) for path in kept]
    assert sorted(message["To"] for message in messages) == CONTACTS
    message = messages[0]
    assert message["Subject"] == f"Invoice {invoice.number} · Telecom Cloud SAS"
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == f"invoice-{invoice.number}.pdf"
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content().startswith(b"%PDF-")
    body = message.get_body(preferencelist=("plain",)).get_content()
    assert f"Please find attached invoice {invoice.number}" in body
