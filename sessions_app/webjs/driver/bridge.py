"""The Python side of the page bridge (``sessions_app/webjs/bridge.js``, DESIGN §6).

``PageBridge`` wraps one WebDriver. It is not thread safe, like the WebDriver itself: the
caller holds the session's lock. Every read is one ``execute_script`` call, except the
drain and its confirm, which go over the page's own DevTools connection when the worker holds
one (``push.py``); if the page lost the bridge (WhatsApp Web reloads itself after a logout) it
is injected again and the call retried once, and the queue comes back from the page's
sessionStorage.

Delivery contract: ``drain`` never removes events; ``confirm(seq)`` does, and must only be
called after the events are committed to the database. A crash in between means the next
``drain`` (from any new ``PageBridge`` on the same page) returns the same events again.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import uuid
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import urllib3
from selenium.common.exceptions import JavascriptException, TimeoutException, WebDriverException
from selenium.webdriver.remote.webdriver import WebDriver

from .errors import (
    BridgeError,
    BridgeNotInjected,
    BridgeScriptError,
    BridgeTimeout,
    SendFailed,
    SendNotConfirmed,
    SendNotStarted,
)
from .push import EvaluationFailed, EvaluationTimeout, PushUnavailable

logger = logging.getLogger(__name__)

MISSING = "__blazz_missing__"
E164 = re.compile(r"\+[1-9][0-9]{6,14}")
# A contact whose number the phone library refuses is answered under its own WhatsApp id.
PHONE_JID = re.compile(r"[1-9][0-9]{4,19}@c\.us")
LID_JID = re.compile(r"[0-9]{1,40}@lid")
# Slack between the page's own deadline and WebDriver's, so the page answers first when it can.
PAGE_DEADLINE_MARGIN_S = 0.25


class PageChannel(Protocol):
    """A page's own DevTools connection (``push.PageWakeChannel``)."""

    @property
    def is_open(self) -> bool: ...

    def evaluate(self, expression: str, *, timeout_s: float) -> Any: ...


def _by_value_expression(call: str) -> str:
    """``call`` (JS on ``b`` = window.__blazz) as a DevTools ``Runtime.evaluate`` expression;
    MISSING when the page has no bridge."""
    return f"(function (b) {{ return b && b.installed ? {call} : {json.dumps(MISSING)}; }})(window.__blazz)"


def _sync_script(body: str) -> str:
    """Wrap ``body`` (JS seeing ``b`` = window.__blazz and ``args``) for execute_script."""
    return (
        "var b = window.__blazz;\n"
        f"if (!b || !b.installed) {{ return '{MISSING}'; }}\n"
        f"return (function (b, args) {{ {body} }}).call(null, b, arguments);"
    )


def _async_script(body: str) -> str:
    """Wrap ``body`` for execute_async_script; what it returns (or resolves to) is the
    answer, and a rejection becomes ``{ok: false, reason: 'error'}``."""
    return (
        "var done = arguments[arguments.length - 1];\n"
        "var b = window.__blazz;\n"
        f"if (!b || !b.installed) {{ done('{MISSING}'); return; }}\n"
        "var args = Array.prototype.slice.call(arguments, 0, arguments.length - 1);\n"
        f"Promise.resolve().then(function () {{ {body} }}).then(done, function (e) {{\n"
        "  done({ok: false, reason: 'error', error: String((e && e.message) || e)});\n"
        "});"
    )


def default_bridge_path() -> Path:
    """The page code beside this package: ``sessions_app/webjs/bridge.js``. It is page code
    for the worker, not a UI asset, so it is not under static/ (collectstatic never sees it)."""
    return Path(__file__).resolve().parents[1] / "bridge.js"


@lru_cache(maxsize=4)
def _read_source(path: Path) -> str:
    return path.read_text(encoding="utf-8")


class PageBridge:
    def __init__(
        self,
        driver: WebDriver,
        *,
        script_path: Path | None = None,
        auto_inject: bool = True,
        sync_timeout_s: float = 10.0,
    ) -> None:
        self.driver = driver
        self.script_path = script_path or default_bridge_path()
        self.auto_inject = auto_inject
        self.sync_timeout_s = sync_timeout_s

    # --- plumbing ------------------------------------------------------------------------

    def _execute(self, script: str, *args: Any, asynchronous: bool = False) -> Any:
        try:
            if asynchronous:
                return self.driver.execute_async_script(script, *args)
            return self.driver.execute_script(script, *args)
        except TimeoutException as exc:
            raise BridgeTimeout(f"page did not answer within the script timeout: {exc.msg}") from exc
        except JavascriptException as exc:
            raise BridgeScriptError(f"bridge script failed: {exc.msg}") from exc
        except WebDriverException as exc:
            raise BridgeScriptError(f"browser refused the bridge script: {exc.msg}") from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            # chromedriver itself is gone (connection refused): the page is lost, which the
            # harvest loop and the liveness probe handle like any failed bridge call.
            raise BridgeScriptError(f"the browser's driver is unreachable: {exc}") from exc

    def _call(self, body: str, *args: Any) -> Any:
        """Run ``body`` (JS with ``b`` = window.__blazz and ``args``) in one round trip,
        injecting the bridge first if the page lost it."""
        result = self._execute(_sync_script(body), *args)
        if result == MISSING:
            self._reinject_or_raise()
            result = self._execute(_sync_script(body), *args)
            if result == MISSING:
                raise BridgeNotInjected("window.__blazz vanished right after injection")
        return result

    def _call_async(self, body: str, *args: Any, timeout_s: float) -> Any:
        try:
            self.driver.set_script_timeout(timeout_s)
        except WebDriverException as exc:
            raise BridgeScriptError(f"browser refused a script timeout: {exc.msg}") from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise BridgeScriptError(f"the browser's driver is unreachable: {exc}") from exc
        try:
            result = self._execute(_async_script(body), *args, asynchronous=True)
            if result == MISSING:
                self._reinject_or_raise()
                result = self._execute(_async_script(body), *args, asynchronous=True)
        finally:
            try:
                self.driver.set_script_timeout(self.sync_timeout_s)
            except WebDriverException:
                logger.debug("could not restore the script timeout", exc_info=True)
        if result == MISSING:
            raise BridgeNotInjected("window.__blazz vanished right after injection")
        return result

    def _reinject_or_raise(self) -> None:
        if not self.auto_inject:
            raise BridgeNotInjected("window.__blazz is not in the page (reloaded?)")
        logger.info("page bridge missing (page reloaded?); injecting it again")
        self.inject()

    # --- API -----------------------------------------------------------------------------

    def inject(self) -> dict[str, Any]:
        """Install the bridge (idempotent: a second injection keeps the existing queue).
        Returns ``{version, seq, queue_length, subscribed}``."""
        try:
            self.driver.set_script_timeout(self.sync_timeout_s)
        except WebDriverException as exc:
            raise BridgeScriptError(f"browser refused a script timeout: {exc.msg}") from exc
        source = _read_source(self.script_path)
        summary = self._execute(source + "\nreturn window.__blazz && window.__blazz.summary();")
        if not isinstance(summary, dict):
            raise BridgeNotInjected("bridge script ran but window.__blazz is missing")
        return summary

    def source(self) -> str:
        """The bridge script, for installing it on every new document of the page."""
        return _read_source(self.script_path)

    def is_injected(self) -> bool:
        return bool(self._execute("return !!(window.__blazz && window.__blazz.installed);"))

    def drain(self, max_events: int = 500) -> list[dict[str, Any]]:
        """The oldest ``max_events`` queued events, oldest first, NOT removed from the page."""
        return list(self._call("return b.drain(args[0]);", int(max_events)))

    def harvest(self, max_events: int = 500, *, channel: PageChannel | None = None) -> dict[str, Any]:
        """``{"events": drain(max_events), "state": state()}`` in one round trip; over
        ``channel`` (the page's own DevTools connection) when it is open."""
        call = f"b.harvest({int(max_events)})"
        answer = self._call_over(channel, call)
        if answer is MISSING:
            answer = self._call("return b.harvest(args[0]);", int(max_events))
        return dict(answer)

    def confirm(self, upto_seq: int, *, channel: PageChannel | None = None) -> int:
        """Remove events with ``seq <= upto_seq``; returns how many remain queued."""
        answer = self._call_over(channel, f"b.confirm({int(upto_seq)})")
        if answer is MISSING:
            answer = self._call("return b.confirm(args[0]);", int(upto_seq))
        return int(answer)

    def _call_over(self, channel: PageChannel | None, call: str) -> Any:
        """``call`` (JS on ``b`` = window.__blazz) over the page's DevTools connection, by
        value. MISSING (the caller goes through WebDriver instead, which also injects the
        bridge a reloaded page lost) when there is no open channel, the connection fails, or
        the page has no bridge."""
        if channel is None or not channel.is_open:
            return MISSING
        try:
            answer = channel.evaluate(_by_value_expression(call), timeout_s=self.sync_timeout_s)
        except EvaluationFailed as exc:
            raise BridgeScriptError(f"bridge script failed: {exc}") from exc
        except PushUnavailable as exc:
            logger.info("page channel unavailable (%s); going through WebDriver", exc)
            return MISSING
        return MISSING if answer == MISSING else answer

    def state(self) -> dict[str, Any]:
        """authenticated, ready, auth_code, connected, me, heartbeat_at and now (page clock,
        ms), last_event_at, queue_length, seq, last_error."""
        return dict(self._call("return b.state();"))

    def me(self) -> str | None:
        """The logged-in number as E.164, or None before login."""
        result = self._call("return b.me();")
        return result if isinstance(result, str) else None

    # --- media (issue 17) -------------------------------------------------------------------

    def media_start(self, wam_id: str, *, max_bytes: int) -> dict[str, Any]:
        """Starts the page downloading a message's file (``WPP.chat.downloadMedia``) and
        returns at once: ``{"state": "downloading" | "ready" | "failed", "size", "sha256",
        "reason", "transient"}``. Calling it again returns the same download's state."""
        return self._media_state(self._call("return b.mediaStart(args[0], args[1]);", wam_id, int(max_bytes)))

    def media_status(self, wam_id: str) -> dict[str, Any]:
        return self._media_state(self._call("return b.mediaStatus(args[0]);", wam_id))

    @staticmethod
    def _media_state(result: Any) -> dict[str, Any]:
        if not isinstance(result, dict):
            raise BridgeError(f"unexpected answer from the bridge: {result!r}")
        return result

    def media_chunk(self, wam_id: str, offset: int, length: int) -> bytes:
        """``length`` bytes (fewer at the end) of a downloaded file from ``offset``; one call
        carrying at most ``length`` bytes as base64.

        Read with DevTools' Runtime.evaluate (by value), not execute_script: measured in a real
        page, every string chromedriver's execute_script returned stayed in the page's heap
        (+54 MB of JS heap per 40 files of 1 MB, after a forced collection; bench/media.py:
        +320 MB of Chrome per 200 files, growing each round), while the same chunks read by
        value through DevTools left nothing behind."""
        call = f"b.mediaChunk({json.dumps(wam_id)}, {int(offset)}, {int(length)})"
        try:
            answer = self.driver.execute_cdp_cmd(
                "Runtime.evaluate", {"expression": _by_value_expression(call), "returnByValue": True}
            )
        except WebDriverException as exc:
            raise BridgeScriptError(f"browser refused the bridge call: {exc.msg}") from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise BridgeScriptError(f"the browser's driver is unreachable: {exc}") from exc
        if answer.get("exceptionDetails"):
            raise BridgeScriptError(f"bridge script failed: {answer['exceptionDetails'].get('text')}")
        encoded = (answer.get("result") or {}).get("value")
        if encoded == MISSING:
            raise BridgeNotInjected("window.__blazz is not in the page (reloaded?)")
        if not isinstance(encoded, str):
            raise BridgeError(f"the page no longer holds the file of {wam_id}")
        return base64.b64decode(encoded)

    def media_release(self, wam_id: str) -> bool:
        return bool(self._call("return b.mediaRelease(args[0]);", wam_id))

    def collect_garbage(self) -> bool:
        """A full garbage collection of the page, through DevTools (invisible to the page).
        The Blob wa-js's downloadMedia returns holds its bytes outside the JavaScript heap, so
        collecting the (tiny) Blob objects is never urgent to V8; after a page handed over many
        files the worker asks for it. False when the browser refused."""
        try:
            self.driver.execute_cdp_cmd("HeapProfiler.collectGarbage", {})
        except (WebDriverException, urllib3.exceptions.HTTPError, OSError):
            logger.debug("page garbage collection refused", exc_info=True)
            return False
        return True

    def media_put(self, key: str, data: bytes, *, chunk_bytes: int = 512 * 1024) -> int:
        """Pushes an outbound file into the page under ``key`` in chunks of ``chunk_bytes``
        (one execute_script each); starts over at offset 0. Returns the bytes the page holds."""
        held = 0
        view = memoryview(data)
        while True:
            part = bytes(view[held : held + chunk_bytes])
            answer = self.media_put_chunk(key, held, part)
            if answer != held + len(part):
                raise BridgeError(f"the page refused a chunk of {key} at {held} (holds {answer})")
            held = answer
            if held >= len(data):
                return held

    def media_put_chunk(self, key: str, offset: int, part: bytes) -> int:
        """One chunk of an outbound file at ``offset`` (0 starts the file again); returns the
        bytes the page holds for ``key`` afterwards."""
        answer = self._call(
            "return b.mediaPut(args[0], args[1], args[2]);",
            key,
            int(offset),
            base64.b64encode(part).decode("ascii"),
        )
        if not isinstance(answer, int) or answer < 0:
            raise BridgeError(f"the page refused a chunk of {key} at {offset} (answered {answer!r})")
        return answer

    def media_drop(self, key: str) -> bool:
        return bool(self._call("return b.mediaDrop(args[0]);", key))

    def send_media(
        self,
        to_e164: str,
        spec: Mapping[str, Any],
        *,
        timeout: float = 60.0,
        idempotency_key: str,
    ) -> str:
        """Sends a file pushed with ``media_put(idempotency_key, ...)`` (spec ``kind`` image,
        video, audio, ptt, document, sticker with ``size``, ``filename``, ``mimetype``,
        ``caption``), a location (``lat``, ``lng``, ``name``, ``address``) or a contact card
        (``contact`` as E.164, ``name``). Same answers and exceptions as ``send``."""
        self._check_recipient(to_e164)
        return self._send_call(
            "return b.sendMedia(args[0], args[1], args[2], args[3]);",
            to_e164,
            dict(spec),
            timeout=timeout,
            key=idempotency_key,
        )

    @staticmethod
    def _check_recipient(to_e164: str) -> None:
        if not isinstance(to_e164, str) or not (
            E164.fullmatch(to_e164) or LID_JID.fullmatch(to_e164) or PHONE_JID.fullmatch(to_e164)
        ):
            raise ValueError(
                f"recipient must be E.164 like +5511999999999, a LID or a <digits>@c.us id, got {to_e164!r}"
            )

    def send(
        self, to_e164: str, text: str, *, timeout: float = 20.0, idempotency_key: str | None = None
    ) -> str:
        """Send a text and return its WhatsApp message id once the servers acked it.

        Raises ``SendNotConfirmed`` (with ``wam_id``) when the page created the message but no
        server ack came within ``timeout`` — including when the page is hung — and
        ``SendFailed`` when WhatsApp refused it. Calling again with the same
        ``idempotency_key`` on the same page never sends a second message."""
        self._check_recipient(to_e164)
        if not isinstance(text, str) or not text:
            raise ValueError("text must be a non-empty string")
        # A UUID key becomes the WhatsApp message id, known before the page sends: a page that
        # hangs mid-send can still tell which message it made.
        key = idempotency_key or str(uuid.uuid4())
        return self._send_call(
            "return b.send(args[0], args[1], args[2], args[3]);", to_e164, text, timeout=timeout, key=key
        )

    def _send_call(self, script: str, to_e164: str, what: Any, *, timeout: float, key: str) -> str:
        page_ms = max(100, int((timeout - PAGE_DEADLINE_MARGIN_S) * 1000))
        try:
            result = self._call_async(script, to_e164, what, page_ms, key, timeout_s=timeout)
        except BridgeTimeout:
            # The page never answered (hung). It may still have created the message; ask for
            # its id, which a truly blocked page cannot give either.
            try:
                record = self._call("return b.sendRecord(args[0]);", key)
            except BridgeError:
                record = None
            wam_id = record.get("id") if isinstance(record, dict) else None
            raise SendNotConfirmed(
                f"no answer from the page within {timeout}s", reason="timeout", wam_id=wam_id
            ) from None
        if not isinstance(result, dict):
            raise BridgeError(f"unexpected answer from the bridge: {result!r}")
        wam_id = result.get("id")
        if result.get("ok") and result.get("confirmed"):
            return str(wam_id)
        if result.get("ok"):
            raise SendNotConfirmed(
                "WhatsApp did not ack the message in time", reason="not_confirmed", wam_id=wam_id
            )
        reason = str(result.get("reason") or "error")
        if result.get("transient"):
            # Nothing was created (not logged in yet, offline, no answer finding the chat).
            raise SendNotStarted(f"send not started: {reason} {result.get('error') or ''}".strip())
        raise SendFailed(
            f"send failed: {reason} {result.get('error') or ''}".strip(), reason=reason, wam_id=wam_id
        )

    def logout(self, timeout_s: float = 10.0) -> dict[str, Any]:
        """Logs this device out on WhatsApp's side (``WPP.conn.logout``). Never raises:
        ``{"ok": True}`` or ``{"ok": False, "reason": ...}``."""
        try:
            result = self._call_async("return b.logout();", timeout_s=timeout_s)
        except BridgeError as exc:
            return {"ok": False, "reason": "bridge_error", "error": str(exc)}
        return result if isinstance(result, dict) else {"ok": False, "reason": f"unexpected {result!r}"}

    def link_code(self, phone_e164: str, timeout_s: float = 30.0) -> dict[str, Any]:
        """Asks WhatsApp for an 8-character pairing code for ``phone_e164``: ``{"code": ...}``
        or ``{"error": ...}``; never raises."""
        try:
            result = self._call_async("return b.linkCode(args[0]);", phone_e164, timeout_s=timeout_s)
        except BridgeError as exc:
            return {"error": str(exc)}
        return result if isinstance(result, dict) else {"error": f"unexpected answer {result!r}"}

    def probe_over(self, channel: PageChannel | None, timeout_s: float = 5.0) -> tuple[dict, dict] | None:
        """``(state(), probe())`` over the page's own DevTools connection: no WebDriver call,
        so the caller needs no page lock and a probe never waits behind a send (issue 18:
        every 30 s, fifty probes through chromedriver each held their page's lock).
        None when that connection cannot be used or the page has no bridge: the caller then
        probes through WebDriver, which also re-injects the bridge. Raises BridgeError when
        the page's state cannot be read, like ``state``."""
        state = self._call_over(channel, "b.state()")
        if state is MISSING or channel is None:
            return None
        page_ms = max(100, int((timeout_s - PAGE_DEADLINE_MARGIN_S) * 1000))
        call = (
            f"Promise.resolve(b.probe({page_ms})).catch(function (e) {{"
            " return {ok: false, reason: 'error', error: String((e && e.message) || e)}; })"
        )
        try:
            probe = channel.evaluate(_by_value_expression(call), timeout_s=timeout_s)
        except EvaluationTimeout:
            probe = {"ok": False, "reason": "timeout"}  # a hung page: the same verdict as WebDriver's
        except EvaluationFailed as exc:
            probe = {"ok": False, "reason": "script_error", "error": str(exc)}
        except PushUnavailable:
            return None
        if probe == MISSING:
            probe = {"ok": False, "reason": "not_injected"}
        elif not isinstance(probe, dict):
            probe = {"ok": False, "reason": "script_error", "error": f"unexpected answer {probe!r}"}
        return dict(state), probe

    def probe(self, timeout_s: float = 5.0) -> dict[str, Any]:
        """An active round trip to WhatsApp's servers. Never raises: returns
        ``{"ok": True, "rtt_ms": n}`` or ``{"ok": False, "reason": ...}`` within ``timeout_s``."""
        page_ms = max(100, int((timeout_s - PAGE_DEADLINE_MARGIN_S) * 1000))
        try:
            result = self._call_async("return b.probe(args[0]);", page_ms, timeout_s=timeout_s)
        except BridgeTimeout:
            return {"ok": False, "reason": "timeout"}
        except BridgeNotInjected:
            return {"ok": False, "reason": "not_injected"}
        except BridgeError as exc:
            return {"ok": False, "reason": "script_error", "error": str(exc)}
        if not isinstance(result, dict):
            return {"ok": False, "reason": "script_error", "error": f"unexpected answer {result!r}"}
        return result
