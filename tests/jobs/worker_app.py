"""The Celery app the job tests start: the real one, plus two test-only hooks set by env vars.

- JOBS_TEST_RENEW_LOG: a file where each pool process appends "<worker> <pid> <organisation id>
  <period start>" for every period it renews, <worker> being JOBS_TEST_WORKER. Written inside
  the batch's transaction, before it commits: a line may stand for work a crash rolled back.
- JOBS_TEST_RENEW_DELAY: seconds to sleep per organisation, inside that transaction, so a test
  can kill a worker half-way through a run of a few dozen organisations.

Production code has no such hooks; this module wraps `billing.renewal.renewals_apply_locked` in the
worker's pool processes only. JOBS_TEST_KEYPREFIX puts every Redis key (queues, unacked
messages, control channels) of this test under its own prefix, so test runs sharing a Redis
database never see each other's messages.
"""

import os
import time

from celery.signals import worker_process_init

from telecom.celery import app

__all__ = ["app"]

if prefix := os.environ.get("JOBS_TEST_KEYPREFIX"):
    app.conf.broker_transport_options = {
        **app.conf.broker_transport_options,
        "global_keyprefix": prefix,
    }


@worker_process_init.connect
def _instrument_renewals(**kwargs) -> None:
    log_path = os.environ.get("JOBS_TEST_RENEW_LOG")
    worker = os.environ.get("JOBS_TEST_WORKER", "worker")
    delay = float(os.environ.get("JOBS_TEST_RENEW_DELAY", "0"))
    if not log_path and not delay:
        return
    from billing import renewal

    renew_locked = renewal.renewals_apply_locked

    def instrumented(organisations, **kwargs):
        periods = [renewal.renewal_period(o).start for o in organisations]
        invoices = renew_locked(organisations, **kwargs)
        if log_path:
            with open(log_path, "a") as log:
                log.writelines(
                    f"{worker} {os.getpid()} {o.pk} {start}\n"
                    for o, start in zip(organisations, periods, strict=True)
                )
        time.sleep(delay * len(organisations))
        return invoices

    renewal.renewals_apply_locked = instrumented
