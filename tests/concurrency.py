"""Races on purpose: several threads released at once, each on its own database connection,
so "two workers never do the same job" is tested against PostgreSQL's real locking."""

import threading
from collections.abc import Callable
from typing import TypeVar

from django.db import connection

T = TypeVar("T")


def run_at_once(call: Callable[[], T], *, times: int, timeout: float = 60) -> list[T]:
    """Calls `call` in `times` threads released together by a barrier and returns what each
    returned (in no particular order). A thread's exception is raised here rather than lost
    with its thread; a thread still running after `timeout` fails the test."""
    barrier = threading.Barrier(times)
    results: list[T] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait(timeout=timeout)
            results.append(call())
        except BaseException as exc:  # re-raised below, in the test's thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert not any(thread.is_alive() for thread in threads), f"a thread ran past {timeout} s"
    if errors:
        raise errors[0]
    return results
