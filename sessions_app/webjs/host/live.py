"""What a session worker holds for each live session, and the answers of a start."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from sessions_app.webjs.driver.bridge import PageBridge
from sessions_app.webjs.driver.browser import Browser


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


class StartResult:
    STARTED = "started"
    ALREADY_RUNNING = "already_running"
    NOT_OWNER = "not_owner"
    AT_CAPACITY = "at_capacity"
    GONE = "gone"
    SHUTTING_DOWN = "shutting_down"
