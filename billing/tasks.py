"""Billing jobs (docs/architecture.md): thin Celery tasks over the billing services.

Each takes its "as of" time as an ISO string (default: now) so a run can be replayed, and each
is idempotent, because tasks are acknowledged late and delivered again when a worker dies.
"""

import smtplib

from celery import shared_task
from django.conf import settings

from billing.mail import SEND_TASK, document_mail_send
from billing.payments.collection import invoices_collect
from billing.payments.dunning import dunning_run
from billing.renewal import organisation_renew, renewals_due, renewals_run
from billing.services import invoices_flag_overdue
from telecom.celery import JOB_OPTIONS, TRANSIENT_ERRORS, as_of_from_iso


@shared_task(name="billing.renewals_dispatch", **JOB_OPTIONS)
def renewals_dispatch(as_of: str | None = None) -> int:
    """Hourly: fix the as-of time, then send up to RENEWAL_FANOUT workers at what is due.

    The workers share the due organisations through SKIP LOCKED inside `renewals_run`, so
    sending one too many (a retry of this task) costs an empty run, never a second invoice.
    """
    at = as_of_from_iso(as_of)
    workers = renewals_due(at=at)[: max(1, settings.RENEWAL_FANOUT)].count()
    for _ in range(workers):
        renewals_work.delay_on_commit(as_of=at.isoformat())
    return workers


@shared_task(name="billing.renewals_work", **JOB_OPTIONS)
def renewals_work(as_of: str) -> int:
    """Renew every organisation due as of `as_of`, sharing them with the other workers."""
    return renewals_run(at=as_of_from_iso(as_of))


@shared_task(name="billing.renew_organisation", **JOB_OPTIONS)
def renew_organisation(organisation_id: str, as_of: str | None = None) -> int:
    """Renew one organisation's due periods; 0 when it is not due (or already renewed)."""
    return organisation_renew(organisation_id=organisation_id, at=as_of_from_iso(as_of))


@shared_task(name="billing.flag_overdue_invoices", **JOB_OPTIONS)
def flag_overdue_invoices(as_of: str | None = None) -> int:
    """Daily: record invoices that became overdue, which restricts their organisation."""
    return invoices_flag_overdue(at=as_of_from_iso(as_of))


# Sending mail fails for reasons that pass (the server is down, refuses for a while, a
# connection drops): retried with exponential backoff, for about a day at most.
MAIL_OPTIONS = {
    **JOB_OPTIONS,
    "autoretry_for": (*TRANSIENT_ERRORS, smtplib.SMTPException, OSError),
    "retry_backoff": 30,
    "retry_backoff_max": 3600,
    "max_retries": 30,
}


@shared_task(name=SEND_TASK, **MAIL_OPTIONS)
def send_document_mail(kind: str, document_id: str) -> int:
    """E-mail one invoice or credit note to its billing contacts; each contact once, ever
    (billing.mail): a retry or a duplicate of this task sends only what was not sent."""
    return document_mail_send(kind=kind, document_id=document_id)


@shared_task(name="billing.collect_invoices", **JOB_OPTIONS)
def collect_invoices(invoice_ids: list[str], as_of: str | None = None) -> int:
    """Sent after an invoice is issued: charge the default method (billing/payments)."""
    return invoices_collect(invoice_ids, at=as_of_from_iso(as_of))


@shared_task(name="billing.dunning", **JOB_OPTIONS)
def dunning(as_of: str | None = None) -> int:
    """Daily: reconcile, collect, retry after soft declines, remind (billing/payments/dunning)."""
    return dunning_run(at=as_of_from_iso(as_of))
