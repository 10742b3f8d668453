"""Keeps each page's memory near its working set: a periodic garbage collection over the
page's DevTools connection (issue 18: memory growth over ten minutes of load).

At fifty numbers most of Chrome's growth under load was in the renderers, and most of that
was garbage V8 had not collected yet: one page drained of 4,000 messages grew 12-18 KB per
message, but stayed at 147-154 MB when a full collection ran before each reading (bench/
README.md, "Where Chrome's growth is"). V8 collects lazily because a lone browser on a
desktop has memory to spare; fifty on one host do not, and what they hold decides how many
numbers a host can take. ``HeapProfiler.collectGarbage`` is V8's low-memory notification, the
collection Chrome itself runs under memory pressure.

Each page is collected every BLAZZ_PAGE_MEMORY_TRIM_SECONDS, the first time at a random point
of that interval, so pages restored together are not all collected at once. The command is
sent without waiting for the answer: a hung page never holds up the heartbeat thread that
sends it (F7's probe is what judges a hung page)."""

from __future__ import annotations

import random
import time

from django.conf import settings

from sessions_app.webjs.host.live import LiveSession

GARBAGE_COLLECTION = "HeapProfiler.collectGarbage"


def first_memory_trim_due(now: float | None = None) -> float:
    """When a page that just started is first collected: somewhere in the first interval."""
    interval = settings.BLAZZ_PAGE_MEMORY_TRIM_SECONDS
    now = time.monotonic() if now is None else now
    return now + interval * random.random()  # nosec B311 # spreading work over time, not security


class MemoryTrimMixin:
    def pages_memory_trim(self, now: float | None = None) -> int:
        """Collects the garbage of every page whose collection is due; returns how many were
        asked. Pages without a DevTools connection are skipped (a WebDriver call would need
        the page lock)."""
        interval = settings.BLAZZ_PAGE_MEMORY_TRIM_SECONDS
        if interval <= 0:
            return 0
        now = time.monotonic() if now is None else now
        with self._registry_lock:
            due: list[LiveSession] = [live for live in self._live.values() if live.memory_trim_due_at <= now]
        asked = 0
        for live in due:
            live.memory_trim_due_at = now + interval
            channel = live.push
            if channel is not None and channel.command_nowait(GARBAGE_COLLECTION):
                live.memory_trims += 1
                asked += 1
        return asked
