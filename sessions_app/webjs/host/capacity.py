"""How many browsers one session-worker host starts at once (issue 18)."""

from __future__ import annotations

import os

import psutil
from django.conf import settings


def start_concurrency() -> int:
    """BLAZZ_BROWSER_START_CONCURRENCY when set (> 0); otherwise bounded by the cores (a
    Chromium start and WhatsApp Web's first load keep about one core busy for seconds, with
    waits on the network and disk in between, so two per core) and by the memory free now
    (BLAZZ_BROWSER_START_MEMORY_MB per browser starting), and never more than 8."""
    configured = settings.BLAZZ_BROWSER_START_CONCURRENCY
    if configured > 0:
        return configured
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    by_memory = psutil.virtual_memory().available // (settings.BLAZZ_BROWSER_START_MEMORY_MB * 1024 * 1024)
    return int(max(1, min(2 * cores, by_memory, 8)))
