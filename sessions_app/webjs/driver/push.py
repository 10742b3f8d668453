"""Page events pushed to the worker (issue 18, DESIGN §6).

The worker used to learn of new page events only by polling each page with a WebDriver
``execute_script``. Now each page it drives gets a DevTools binding (``Runtime.addBinding``):
a function ``window.__blazzWake`` that the page bridge calls when events are ready to drain,
and that reaches the worker as a ``Runtime.bindingCalled`` notification on a DevTools
connection of its own. The notification carries no event, only "drain me": events still
leave the page through the bridge's drain and are forgotten only on confirm after the
database commit, so what the journal guarantees does not change. The worker keeps a slow
sweep for a page whose connection is lost.

``Runtime.enable`` is sent first: without it, a binding does not survive the page's reloads
(measured on Chromium 156: after a reload ``window.__blazzWake`` was gone), and WhatsApp Web
reloads itself. The connection is to the page target whose id is the WebDriver window handle
(chromedriver's handles are DevTools target ids).

The same connection also drains the page (``evaluate``, ``Runtime.evaluate`` by value): a
drain through chromedriver's ``execute_script`` costs an HTTP hop through chromedriver, and
measured in a real page every value ``execute_script`` returned stayed in the page's heap
(see ``PageBridge.media_chunk``), which a page drained several times a second for weeks
cannot afford."""

from __future__ import annotations

import json
import logging
import threading
import urllib.request
from collections.abc import Callable
from typing import Any

import websocket

logger = logging.getLogger(__name__)

WAKE_BINDING = "__blazzWake"  # the name sessions_app/webjs/bridge.js calls


class PushUnavailable(RuntimeError):
    """The page's DevTools endpoint could not be reached or refused the binding."""


class EvaluationFailed(RuntimeError):
    """The page answered an ``evaluate`` with an exception."""


class EvaluationTimeout(PushUnavailable):
    """The connection is open but the page did not answer an ``evaluate`` in time (a hung
    page, or a promise that never settles)."""


def _page_socket_url(debugger_address: str, target_id: str | None, timeout_s: float) -> str:
    host, _, port = debugger_address.rpartition(":")
    if host not in ("localhost", "127.0.0.1") or not port.isdigit():
        # chromedriver binds DevTools to loopback; anything else is not ours to open.
        raise PushUnavailable(f"unexpected DevTools address {debugger_address!r}")
    url = f"http://127.0.0.1:{int(port)}/json/list"
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as reply:  # nosec B310 # a fixed http://127.0.0.1 URL
            targets = json.load(reply)
    except (OSError, ValueError) as exc:
        raise PushUnavailable(f"DevTools target list: {exc}") from exc
    pages = [t for t in targets if t.get("type") == "page" and t.get("webSocketDebuggerUrl")]
    chosen = [t for t in pages if t.get("id") == target_id] or pages
    if not chosen:
        raise PushUnavailable("no page target")
    return chosen[0]["webSocketDebuggerUrl"]


class PageWakeChannel:
    """One page's DevTools connection: calls ``on_wake`` each time the page asks to be
    drained. A daemon thread blocks on the socket; ``close`` ends it. Never raises after
    ``open``: a lost connection is logged and ``is_open`` turns False, and the worker's sweep
    covers the page until it is reopened."""

    def __init__(
        self, *, debugger_address: str, target_id: str | None, on_wake: Callable[[], None], name: str
    ):
        self.debugger_address = debugger_address
        self.target_id = target_id
        self.name = name
        self._on_wake = on_wake
        self._socket: websocket.WebSocket | None = None
        self._thread: threading.Thread | None = None
        self._closing = threading.Event()
        self._next_id = 0
        self._send_lock = threading.Lock()
        # id of an evaluate waiting for its reply -> [event set by the reader, the reply]
        self._waiting: dict[int, list[Any]] = {}
        self.wakes = 0

    @property
    def is_open(self) -> bool:
        return self._socket is not None and self._socket.connected and not self._closing.is_set()

    def open(self, timeout_s: float = 5.0) -> None:
        url = _page_socket_url(self.debugger_address, self.target_id, timeout_s)
        try:
            sock = websocket.create_connection(url, timeout=timeout_s, suppress_origin=True)
        except (OSError, websocket.WebSocketException) as exc:
            raise PushUnavailable(f"DevTools connection: {exc}") from exc
        try:
            self._command(sock, "Runtime.enable", {})
            self._command(sock, "Runtime.addBinding", {"name": WAKE_BINDING})
        except Exception:
            sock.close()
            raise
        sock.settimeout(None)  # the reader blocks until a notification or close()
        self._socket = sock
        self._thread = threading.Thread(target=self._read, name=f"push-{self.name}", daemon=True)
        self._thread.start()

    def rearm(self) -> None:
        """Adds the binding again (a page that lost it); the reply is read by the reader."""
        self.command_nowait("Runtime.addBinding", {"name": WAKE_BINDING})

    def command_nowait(self, method: str, params: dict[str, Any] | None = None) -> bool:
        """Sends one DevTools command without waiting for its answer (the reader drops it):
        for housekeeping a caller must not block on, such as a garbage collection on a page
        that may be hung. False when the connection is closed or the send failed."""
        sock = self._socket
        if sock is None or not self.is_open:
            return False
        with self._send_lock:
            self._next_id += 1
            try:
                sock.send(json.dumps({"id": self._next_id, "method": method, "params": params or {}}))
            except (OSError, websocket.WebSocketException) as exc:
                logger.info("push channel %s: %s not sent: %s", self.name, method, exc)
                return False
        return True

    def evaluate(self, expression: str, *, timeout_s: float) -> Any:
        """The value of ``expression`` in the page's main world (``Runtime.evaluate``, by
        value, promises awaited). Thread safe; the reader thread hands the reply over.
        Raises PushUnavailable when the connection is lost or the page does not answer in
        time (EvaluationTimeout when the connection is still open), EvaluationFailed when the
        expression threw."""
        sock = self._socket
        if sock is None or not self.is_open:
            raise PushUnavailable("the DevTools connection is closed")
        answered = threading.Event()
        slot: list[Any] = [answered, None]
        with self._send_lock:
            self._next_id += 1
            wanted = self._next_id
            self._waiting[wanted] = slot
            try:
                sock.send(
                    json.dumps(
                        {
                            "id": wanted,
                            "method": "Runtime.evaluate",
                            "params": {"expression": expression, "returnByValue": True, "awaitPromise": True},
                        }
                    )
                )
            except (OSError, websocket.WebSocketException) as exc:
                self._waiting.pop(wanted, None)
                raise PushUnavailable(f"evaluate: {exc}") from exc
        if not answered.wait(timeout_s) or slot[1] is None:
            with self._send_lock:
                self._waiting.pop(wanted, None)
            if self.is_open:
                raise EvaluationTimeout("the page did not answer in time")
            raise PushUnavailable("connection lost")
        reply = slot[1]
        if "error" in reply:
            raise PushUnavailable(f"evaluate refused: {reply['error']}")
        result = reply.get("result") or {}
        if result.get("exceptionDetails"):
            details = result["exceptionDetails"]
            text = ((details.get("exception") or {}).get("description")) or details.get("text")
            raise EvaluationFailed(str(text))
        return (result.get("result") or {}).get("value")

    def close(self) -> None:
        self._closing.set()
        sock, self._socket = self._socket, None
        if sock is not None:
            try:
                sock.abort()  # unblocks the reader's recv at once
                sock.close(timeout=0)
            except (OSError, websocket.WebSocketException):
                pass
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2)

    def _command(self, sock: websocket.WebSocket, method: str, params: dict[str, Any]) -> None:
        with self._send_lock:
            self._next_id += 1
            wanted = self._next_id
            sock.send(json.dumps({"id": wanted, "method": method, "params": params}))
        while True:
            try:
                reply = json.loads(sock.recv())
            except (OSError, ValueError, websocket.WebSocketException) as exc:
                raise PushUnavailable(f"{method}: {exc}") from exc
            if reply.get("id") == wanted:
                if "error" in reply:
                    raise PushUnavailable(f"{method}: {reply['error']}")
                return

    def _read(self) -> None:
        sock = self._socket
        while sock is not None and not self._closing.is_set():
            try:
                raw = sock.recv()
            except (OSError, websocket.WebSocketException) as exc:
                if not self._closing.is_set():
                    logger.info("push channel %s lost: %s", self.name, exc)
                break
            if raw and raw.startswith('{"id":'):
                self._hand_over_reply(raw)
                continue
            if not raw or '"Runtime.bindingCalled"' not in raw:
                continue  # console messages, context events
            try:
                params = json.loads(raw).get("params") or {}
            except ValueError:
                continue
            if params.get("name") == WAKE_BINDING:
                self.wakes += 1
                try:
                    self._on_wake()
                except Exception:
                    logger.exception("push channel %s: wake handler failed", self.name)
        if not self._closing.is_set():
            # Lost, not closed: the sweep covers the page; is_open tells the host to reopen.
            self._closing.set()
        with self._send_lock:
            waiting, self._waiting = self._waiting, {}
        for answered, _ in waiting.values():
            answered.set()  # no reply: evaluate raises "connection lost" at once

    def _hand_over_reply(self, raw: str) -> None:
        try:
            reply = json.loads(raw)
        except ValueError:
            return
        with self._send_lock:
            slot = self._waiting.pop(reply.get("id"), None)
        if slot is not None:
            slot[1] = reply
            slot[0].set()


def page_target_id(driver: Any) -> str | None:
    """The DevTools target id of the driver's page (a WebDriver call: only where no other
    thread uses the driver)."""
    try:
        return driver.current_window_handle
    except Exception:
        return None


def open_wake_channel(
    driver: Any, *, target_id: str | None, on_wake: Callable[[], None], name: str
) -> PageWakeChannel | None:
    """The push channel of a WebDriver-driven page, or None when its DevTools endpoint is not
    available (the page is then polled). Reads only the driver's capabilities, no WebDriver
    call, so it may run while another thread drives the page."""
    options = (getattr(driver, "capabilities", None) or {}).get("goog:chromeOptions") or {}
    address = options.get("debuggerAddress")
    if not address:
        return None
    channel = PageWakeChannel(debugger_address=address, target_id=target_id, on_wake=on_wake, name=name)
    try:
        channel.open()
    except PushUnavailable as exc:
        logger.warning("page events of %s are not pushed (%s); the sweep drains them", name, exc)
        return None
    return channel
