"""What a session worker holds for each live session, and the answers of a start."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from enum import StrEnum

from sessions_app.webjs.driver.bridge import PageBridge
from sessions_app.webjs.driver.browser import Browser
from sessions_app.webjs.driver.push import PageWakeChannel


@dataclass
class LiveSession:
    session_pk: int
    session_id: str
    browser: Browser
    bridge: PageBridge
    lock: threading.Lock = field(default_factory=threading.Lock)
    started_at: float = field(default_factory=time.monotonic)
    snapshot_due_at: float | None = None
    last_error: str = ""
    # The page's DevTools connection that pushes "events ready" (None: polled instead).
    push: PageWakeChannel | None = None
    page_target_id: str | None = None
    push_retry_at: float = 0.0
    # Periodic garbage collection of the page (host/memory.py): when it is next due, how many ran.
    memory_trim_due_at: float = float("inf")
    memory_trims: int = 0


class StartResult(StrEnum):
    STARTED = "started"
    ALREADY_RUNNING = "already_running"
    NOT_OWNER = "not_owner"
    AT_CAPACITY = "at_capacity"
    GONE = "gone"
    SHUTTING_DOWN = "shutting_down"


class SendOutcome(StrEnum):
    """What became of one outbound message handed to this worker."""

    SENT = "sent"  # WhatsApp's servers acked it
    AWAITING_ACK = "awaiting_ack"  # the page made it; its ack (or failure) comes as a page event
    FAILED = "failed"  # refused (not on WhatsApp, refused by the servers, invalid)
    NOT_STARTED = "not_started"  # the page made nothing; the message stays pending for a later send
    SKIPPED = "skipped"  # another delivery of the task claimed it already
    NOT_HERE = "not_here"  # this worker does not hold the number: the caller re-routes


class PageOutcome(StrEnum):
    """What one harvest of a page found that the host must act on."""

    LOGGED_OUT = "logout"
    BROWSER_LOST = "browser_lost"


class ProbeSkipped(StrEnum):
    NOT_HERE = "not_here"
    BUSY = "busy"
