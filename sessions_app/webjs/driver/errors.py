"""Exceptions of the browser driver and the page bridge. Callers catch the base class of
the layer they talk to (``BridgeError`` for ``PageBridge``)."""

from __future__ import annotations


class BridgeError(Exception):
    """The page bridge could not do what was asked (base class)."""


class BridgeNotInjected(BridgeError):
    """``window.__blazz`` is missing (page reloaded or navigated) and could not be injected."""


class BridgeTimeout(BridgeError):
    """A bridge call did not finish within its deadline (page hung, or WhatsApp silent)."""


class BridgeScriptError(BridgeError):
    """The browser refused or failed the script (JavaScript error, browser gone)."""


class SendNotStarted(BridgeError):
    """The page created no message (not logged in yet, offline, no answer finding the chat):
    sending again later is safe."""


class SendFailed(BridgeError):
    """WhatsApp did not accept a text. ``wam_id`` is set when the page created the message
    (it exists in the page and might still go out later), ``reason`` is machine-readable."""

    def __init__(self, message: str, *, reason: str, wam_id: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.wam_id = wam_id


class SendNotConfirmed(SendFailed):
    """The page created the message (``wam_id``) but the servers did not ack it in time.
    It may or may not be delivered; treat it as sent-unconfirmed and let acks decide."""


# --- Browser process and snapshot errors (sessions_app/webjs/driver/browser.py, snapshot.py) ---


class BrowserError(Exception):
    """The browser process layer failed (base class)."""


class BrowserStartError(BrowserError):
    """Chromium or chromedriver could not be started; nothing of the attempt is left running."""


class SnapshotError(Exception):
    """A login-state snapshot could not be taken or restored (base class)."""


class SnapshotTooLarge(SnapshotError):
    """The encrypted snapshot is larger than the quota. Nothing is truncated: the caller keeps
    the previous snapshot and reports this one."""

    def __init__(self, *, size_bytes: int, max_bytes: int) -> None:
        super().__init__(
            f"snapshot is {size_bytes} bytes ({size_bytes / 1048576:.1f} MiB), over the quota of "
            f"{max_bytes} bytes ({max_bytes / 1048576:.1f} MiB); nothing was saved"
        )
        self.size_bytes = size_bytes
        self.max_bytes = max_bytes


class SnapshotCorrupt(SnapshotError):
    """The snapshot bytes do not decrypt with any configured key, do not decompress, or hold
    an archive member that is not allowed (absolute path, ``..``, link, device)."""


class SnapshotInconsistent(SnapshotError):
    """A consistent copy of a live LevelDB could not be made after several attempts (the
    database kept changing under the copy). Retrying later is safe."""


class SnapshotTargetNotEmpty(SnapshotError):
    """A snapshot is only restored into a fresh, empty user-data-dir."""
