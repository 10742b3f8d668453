"""The session worker's host of live browsers: ``SessionHost`` (session_host.py) with its
profile and snapshot handling (profiles.py) and per-session state (live.py)."""

from sessions_app.webjs.host.live import LiveSession, PageOutcome, ProbeSkipped, SendOutcome, StartResult
from sessions_app.webjs.host.profiles import profile_last_write
from sessions_app.webjs.host.session_host import SessionHost

__all__ = [
    "LiveSession",
    "PageOutcome",
    "ProbeSkipped",
    "SendOutcome",
    "SessionHost",
    "StartResult",
    "profile_last_write",
]
