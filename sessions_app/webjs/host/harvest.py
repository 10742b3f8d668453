"""Which pages a session worker drains, and when (issue 18).

A page asks to be drained the moment it has journaled events (pushed over DevTools,
sessions_app/webjs/driver/push.py); the scheduler collects those wake-ups for a few
milliseconds so a burst becomes one transaction per page, and hands each page to a bounded
pool, so one slow page never holds up the others. Every page is still drained by a slow
sweep (a lost wake-up, a lost DevTools connection), and a page without a push connection
at the old polling tick."""

from __future__ import annotations

import heapq
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor


class HarvestScheduler:
    """Thread-safe. `wake` may be called from any thread (DevTools readers, the pool)."""

    def __init__(self, *, pool_size: int, batch_window_s: float, harvest: Callable[[int], None]) -> None:
        self._harvest = harvest
        self._batch_window_s = batch_window_s
        self._cond = threading.Condition()
        self._due: set[int] = set()
        self._later: list[tuple[float, int]] = []  # (when, session_pk): a page busy right now
        self._running: set[int] = set()
        self._again: set[int] = set()  # woken while being drained: drain once more after
        self._pool = ThreadPoolExecutor(max_workers=pool_size, thread_name_prefix="blazz-harvest")
        self.wakes = 0
        self.rounds = 0

    def wake(self, session_pk: int) -> None:
        with self._cond:
            self.wakes += 1
            self._due.add(session_pk)
            self._cond.notify()

    def wake_later(self, session_pk: int, delay_s: float) -> None:
        """A page that could not be drained now (its lock is held by a send or a probe)."""
        with self._cond:
            heapq.heappush(self._later, (time.monotonic() + delay_s, session_pk))
            self._cond.notify()

    def wait(self, timeout_s: float) -> set[int]:
        """Blocks until some page asked to be drained (then waits the batch window for more)
        or the timeout passes; returns the pages to drain now and forgets them."""
        deadline = time.monotonic() + max(0.0, timeout_s)
        with self._cond:
            while True:
                self._move_due_later()
                if self._due:
                    break
                remaining = deadline - time.monotonic()
                if self._later:
                    remaining = min(remaining, self._later[0][0] - time.monotonic())
                if remaining <= 0:
                    self._move_due_later()
                    break
                self._cond.wait(remaining)
        if self._due and self._batch_window_s > 0:
            time.sleep(self._batch_window_s)  # a burst of events becomes one batch per page
        with self._cond:
            self._move_due_later()
            due, self._due = self._due, set()
            return due

    def _move_due_later(self) -> None:
        now = time.monotonic()
        while self._later and self._later[0][0] <= now:
            self._due.add(heapq.heappop(self._later)[1])

    def submit(self, session_pks: Iterable[int]) -> None:
        """Drains each page in the pool; a page already being drained is drained once more
        when that run ends (never twice at once)."""
        with self._cond:
            self.rounds += 1
            fresh = []
            for pk in session_pks:
                if pk in self._running:
                    self._again.add(pk)
                else:
                    self._running.add(pk)
                    fresh.append(pk)
        for pk in fresh:
            self._pool.submit(self._run, pk)

    def _run(self, session_pk: int) -> None:
        try:
            self._harvest(session_pk)
        finally:
            with self._cond:
                self._running.discard(session_pk)
                again = session_pk in self._again
                self._again.discard(session_pk)
            if again:
                self.wake(session_pk)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
