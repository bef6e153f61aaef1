"""Run callables at the same moment, each in its own thread with its own database connection."""

import threading
from collections.abc import Callable

from django.db import connections


def run_concurrently(calls: list[Callable[[], object]], *, timeout: float = 60) -> list:
    """Start every call together (a barrier), return each one's result or raised exception."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def worker(index: int, call: Callable[[], object]) -> None:
        try:
            barrier.wait()
            results[index] = call()
        except BaseException as exc:  # the caller counts exceptions as outcomes
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
        assert not thread.is_alive(), "a concurrent call did not finish"
    return results
