"""Invoices and credit notes are e-mailed (docs/rules.md, "Documents are e-mailed").

When a document is issued, `documents_mail_after_commit` records one `DocumentSend` row per
billing contact of the billing details it was issued with, in the issuing transaction, and after
commit queues the `billing.send_document_mail` task (billing/tasks.py). The task calls
`document_mail_send`, which sends each row not yet sent, the document's PDF attached, a
plain-text and an HTML body in the organisation's language, through Django's mail backend
(SMTP, configured by `EMAIL_URL`, telecom/settings/base.py).

One e-mail per document and contact, ever: the rows are unique per (document, contact), a row is
sent under its row lock (`SKIP LOCKED`, so a duplicated task running at the same time skips it)
and marked sent in the same transaction, so a retried or duplicated task sends nothing more. A
failure is recorded on the row (status "failed", the error, the attempts) and raised again, so
Celery retries the task with backoff; the console lists the rows and their status.
"""

from __future__ import annotations

from functools import partial

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import connection, transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from billing.documents import invoice_seller
from billing.models import BillingDetails, CreditNote, DocumentSend, DocumentSendStatus, Invoice
from billing.pdf import credit_note_pdf, credit_note_pdf_filename, invoice_pdf, invoice_pdf_filename
from billing.selectors import invoice_amount_due

SEND_TASK = "billing.send_document_mail"
KINDS = {"invoice": Invoice, "credit_note": CreditNote}


def document_kind(document) -> str:
    return "credit_note" if isinstance(document, CreditNote) else "invoice"


def documents_mail_after_commit(*documents) -> int:
    """Record the sends of freshly issued documents (inside their transaction) and queue the
    task that sends them once it commits. Returns the number of e-mails recorded."""
    rows = []
    for document in documents:
        details = document.billing_details
        kind = document_kind(document)
        rows += [
            DocumentSend(
                organisation_id=document.organisation_id, contact=contact, **{kind: document}
            )
            for contact in dict.fromkeys(details.contacts if details else [])
        ]
    if not rows:
        return 0
    DocumentSend.objects.bulk_create(rows, ignore_conflicts=True)
    for document in documents:
        if document.billing_details and document.billing_details.contacts:
            transaction.on_commit(
                partial(_queue, document_kind(document), str(document.pk)), robust=True
            )
    return len(rows)


def invoices_mail_after_commit(invoice_ids) -> int:
    """`documents_mail_after_commit` for a batch of invoices the renewal issued in SQL: one
    INSERT of their sends (one row per contact of each invoice's billing details), then one
    task per invoice after commit. Its statement count does not grow with the batch."""
    if not invoice_ids:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {DocumentSend._meta.db_table}
                (id, organisation_id, invoice_id, contact, status, attempts, last_error, created_at)
            SELECT gen_random_uuid(), i.organisation_id, i.id, c.contact, %s, 0, '', %s
            FROM {Invoice._meta.db_table} i
            JOIN {BillingDetails._meta.db_table} d ON d.id = i.billing_details_id
            CROSS JOIN LATERAL (SELECT DISTINCT unnest(d.contacts) AS contact) c
            WHERE i.id = ANY(%s)
            ON CONFLICT DO NOTHING
            RETURNING invoice_id
            """,
            [DocumentSendStatus.PENDING, timezone.now(), list(invoice_ids)],
        )
        queued = {row[0] for row in cursor.fetchall()}
    for invoice_id in sorted(queued):
        transaction.on_commit(partial(_queue, "invoice", str(invoice_id)), robust=True)
    return len(queued)


def _queue(kind: str, document_id: str) -> None:
    from telecom.celery import app

    app.send_task(SEND_TASK, kwargs={"kind": kind, "document_id": document_id})


def document_mail_send(*, kind: str, document_id: str) -> int:
    """Send the document's e-mails not sent yet; returns how many were sent now. Raises the
    last sending error after recording it on its row (the task retries)."""
    failure = None
    sent = 0
    pending = DocumentSend.objects.filter(**{f"{kind}_id": document_id}).exclude(
        status=DocumentSendStatus.SENT
    )
    for send_id in list(pending.values_list("pk", flat=True)):
        with transaction.atomic():
            send = (
                DocumentSend.objects.select_for_update(skip_locked=True)
                .exclude(status=DocumentSendStatus.SENT)
                .filter(pk=send_id)
                .first()
            )
            if send is None:  # sent meanwhile, or being sent by a duplicate of this task
                continue
            try:
                document_message(send).send()
            except Exception as exc:
                failure = exc
                DocumentSend.objects.filter(pk=send.pk).update(
                    status=DocumentSendStatus.FAILED,
                    attempts=F("attempts") + 1,
                    last_error=f"{type(exc).__name__}: {exc}"[:500],
                )
                continue
            DocumentSend.objects.filter(pk=send.pk).update(
                status=DocumentSendStatus.SENT,
                attempts=F("attempts") + 1,
                last_error="",
                sent_at=timezone.now(),
            )
            sent += 1
    if failure is not None:
        raise failure
    return sent


def document_message(send: DocumentSend) -> EmailMultiAlternatives:
    """The e-mail of one send: subject and bodies in the organisation's language, PDF
    attached."""
    document = send.document
    organisation = document.organisation
    with translation.override(organisation.language):
        if isinstance(document, CreditNote):
            context = {
                "credit_note": document,
                "invoice": document.invoice,
                "amount_due": invoice_amount_due(document.invoice),
            }
            subject = _("Credit note %(number)s") % {"number": document.number}
            template = "billing/mail/credit_note"
            pdf, filename = credit_note_pdf(document), credit_note_pdf_filename(document)
        else:
            context = {"invoice": document, "amount_due": invoice_amount_due(document)}
            subject = _("Invoice %(number)s") % {"number": document.number}
            template = "billing/mail/invoice"
            pdf, filename = invoice_pdf(document), invoice_pdf_filename(document)
        context |= {"organisation": organisation, "seller": _seller_name()}
        text = render_to_string(f"{template}.txt", context)
        html = render_to_string(f"{template}.html", context)
    message = EmailMultiAlternatives(
        subject=f"{subject} · {_seller_name()}",
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[send.contact],
    )
    message.attach_alternative(html, "text/html")
    message.attach(filename, pdf, "application/pdf")
    return message


def _seller_name() -> str:
    return str(invoice_seller().get("name", ""))
