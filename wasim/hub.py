"""Live pages: the websocket each simulated WhatsApp Web page keeps open to the simulator,
and everything pushed over it in real time (QR rotation, pairing, events, logout, freeze).

Page -> server frames (JSON objects with a ``type``):
  hello {device_id, secret, phone}     identity found in the page's IndexedDB
  ping {req}                            page heartbeat; answered with pong
  query_exists {req, user}              USync: is this jid on WhatsApp (and under which LID)?
  send {req, id, chat, body, msg_type?, media?}
                                        outgoing message to a chat jid; answered with send_result.
                                        A media message refers to a file uploaded first over HTTP
                                        (POST /mms/upload, media.sha256); body is its caption
  read {chat, ids}                      read receipts the page sends (markIsRead)
  recv {upto}                           the page got every event up to this eseq
  link_code {req, phone}                ask for an 8-character link code
  logout {req}                          the page logs itself out

Server -> page frames:
  qr {code: {type, ref, staticKeyPair, identityKeyPair, secretKey, fullCode}, expires_in}
  session {phone, lid}                  stored identity is linked: log in without QR
  paired {phone, lid}                   a phone scanned the QR / entered the link code
  reload {}                             WhatsApp Web reloads itself (new version, conflict)
  logged_out {}                         wipe the identity (the page then reloads)
  rejected {}                           identity unknown to the servers / bad secret
  unavailable {retry_in}                connection refused for now (a "drop" is held)
  event {eseq, kind: message|ack, payload}
  freeze {} / unfreeze {}               start / end the silent hang
  pong / query_result / send_result / link_code_result {req, ...}

A frozen device is the silent hang of F7: the server ignores everything the page sends and
pushes nothing to it except ``unfreeze``; the page keeps claiming it is connected and ready.
The hang belongs to the connections open when it began, as the whatsapp-web.js hang did: a
page that connects afresh (a restarted browser) is served normally.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Any

from aiohttp import WSMsgType, web

from .model import UPLOAD_LIMIT_DEFAULT, UPLOAD_LIMITS, Device, SimError
from .state import SimState

logger = logging.getLogger(__name__)

CLOSE_DROPPED = 4000
CLOSE_UNAVAILABLE = 4001
CLOSE_RESET = 4002
CLOSE_LOGGED_OUT = 4003
INDEFINITE_S = 10 * 365 * 24 * 3600.0


class PageConnection:
    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws
        self.device_id: str | None = None
        # Highest event seq pushed on this socket; a new socket (reconnect) starts again at
        # 0, so every event the page has not confirmed is pushed again.
        self.sent_upto = 0
        self.frozen = False

    async def send(self, frame: dict[str, Any]) -> None:
        if self.ws.closed:
            return
        with contextlib.suppress(ConnectionError, RuntimeError):
            await self.ws.send_str(json.dumps(frame, ensure_ascii=False))

    async def close(self, code: int, reason: str) -> None:
        with contextlib.suppress(ConnectionError, RuntimeError):
            await self.ws.close(code=code, message=reason.encode())


class Hub:
    def __init__(self, state: SimState, *, qr_period: float = 20.0) -> None:
        self.state = state
        self.qr_period = qr_period
        self.conns: dict[str, set[PageConnection]] = {}
        self.qr_tasks: dict[str, asyncio.Task[None]] = {}
        self._anonymous: set[PageConnection] = set()
        # The media servers' downloads (GET /mms/...): a test pauses them (a slow CDN) or
        # fails the next few; `served` counts what each file was downloaded.
        self.media_open = asyncio.Event()
        self.media_open.set()
        self.media_fail_next = 0
        self.media_served: dict[str, int] = {}

    # --- queries -----------------------------------------------------------------------

    def is_online(self, device_id: str) -> bool:
        return bool(self.conns.get(device_id))

    def waiting_qr(self) -> list[dict[str, Any]]:
        now = time.time()
        waiting = []
        for device_id, conns in self.conns.items():
            device = self.state.devices.get(device_id)
            if not conns or device is None or device.status != "pending" or not device.qr:
                continue
            issued = device.qr_issued_at or now
            waiting.append(
                {
                    "device_id": device_id,
                    "code": device.qr["fullCode"],
                    "ref": device.qr["ref"],
                    "issued_at": issued,
                    "expires_at": issued + self.qr_period,
                }
            )
        return waiting

    def device_summaries(self) -> list[dict[str, Any]]:
        now = time.time()
        return [d.summary(online=self.is_online(d.device_id), now=now) for d in self.state.devices.values()]

    # --- websocket ---------------------------------------------------------------------

    async def handle_ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=1024 * 1024)
        await ws.prepare(request)
        conn = PageConnection(ws)
        self._anonymous.add(conn)
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                try:
                    frame = json.loads(msg.data)
                except ValueError:
                    continue
                if isinstance(frame, dict):
                    await self._on_frame(conn, frame)
        finally:
            self._detach(conn)
        return ws

    def _detach(self, conn: PageConnection) -> None:
        self._anonymous.discard(conn)
        if conn.device_id is None:
            return
        conns = self.conns.get(conn.device_id, set())
        conns.discard(conn)
        device = self.state.devices.get(conn.device_id)
        if conn.frozen and device is not None:
            self._note_frozen(device)
        if not conns:
            self.conns.pop(conn.device_id, None)
            task = self.qr_tasks.pop(conn.device_id, None)
            if task:
                task.cancel()
            device = self.state.devices.get(conn.device_id)
            if device is not None:
                # Nobody shows this QR any more; scanning it must fail.
                device.qr = None

    async def _on_frame(self, conn: PageConnection, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        if kind == "hello":
            await self._on_hello(conn, frame)
            return
        device = self.state.devices.get(conn.device_id or "")
        if device is None or conn.frozen:
            return  # frozen: the servers silently drop everything the page says
        device.last_seen_at = time.time()
        req = frame.get("req")
        if kind == "ping":
            await conn.send({"type": "pong", "req": req, "t": time.time()})
        elif kind == "query_exists":
            answer = self.state.query_exists(frame.get("user"))
            await conn.send({"type": "query_result", "req": req, "user": frame.get("user"), **answer})
        elif kind == "read":
            self.state.read_receipts.append(
                {
                    "device_id": device.device_id,
                    "phone": device.phone,
                    "chat": frame.get("chat"),
                    "ids": frame.get("ids") if isinstance(frame.get("ids"), list) else [],
                    "at": time.time(),
                }
            )
        elif kind == "recv":
            self.state.confirm_events(device, frame.get("upto"))
        elif kind == "send":
            try:
                entry = self.state.record_send(
                    device,
                    msg_id=frame.get("id"),
                    chat_value=frame.get("chat"),
                    body=frame.get("body"),
                    kind=frame.get("msg_type"),
                    media=frame.get("media"),
                )
            except SimError as exc:
                await conn.send({"type": "send_result", "req": req, "ok": False, "error": exc.message})
            else:
                await conn.send(
                    {"type": "send_result", "req": req, "ok": True, "id": entry.id, "t": int(entry.at)}
                )
        elif kind == "link_code":
            try:
                code = self.state.request_link_code(device, frame.get("phone"))
            except SimError as exc:
                await conn.send({"type": "link_code_result", "req": req, "ok": False, "error": exc.message})
            else:
                await conn.send({"type": "link_code_result", "req": req, "ok": True, "code": code})
        elif kind == "logout" and device.status == "linked":
            self.state.logout(device)
            await self.device_logged_out(device)

    async def _on_hello(self, conn: PageConnection, frame: dict[str, Any]) -> None:
        if conn.device_id is not None:
            return
        verdict, device = self.state.hello(
            device_id=frame.get("device_id"), secret=frame.get("secret"), claimed_phone=frame.get("phone")
        )
        if verdict in ("rejected", "logged_out") or device is None:
            await conn.send({"type": verdict})
            await conn.close(CLOSE_LOGGED_OUT, verdict)
            return
        now = time.time()
        if device.is_dropped(now):
            retry_in = min(device.dropped_until - now if device.dropped_until else 1.0, 5.0)
            await conn.send({"type": "unavailable", "retry_in": retry_in})
            await conn.close(CLOSE_UNAVAILABLE, "unavailable")
            return
        self._anonymous.discard(conn)
        conn.device_id = device.device_id
        self.conns.setdefault(device.device_id, set()).add(conn)
        device.last_seen_at = now
        if verdict == "pending":
            if device.device_id in self.qr_tasks and device.qr:
                await conn.send({"type": "qr", "code": device.qr, "expires_in": self.qr_period})
            else:
                self.qr_tasks[device.device_id] = asyncio.create_task(self._rotate_qr(device.device_id))
        else:
            await conn.send({"type": "session", "phone": device.phone, "lid": device.lid})
            await self.flush(device)

    async def _rotate_qr(self, device_id: str) -> None:
        while True:
            device = self.state.devices.get(device_id)
            if device is None or device.status != "pending" or not self.conns.get(device_id):
                return
            code = self.state.rotate_qr(device)
            await self._broadcast(device_id, {"type": "qr", "code": code, "expires_in": self.qr_period})
            await asyncio.sleep(self.qr_period)

    async def _broadcast(self, device_id: str, frame: dict[str, Any]) -> None:
        for conn in list(self.conns.get(device_id, ())):
            if not conn.frozen:
                await conn.send(frame)

    async def _close_device(self, device_id: str, code: int, reason: str) -> None:
        for conn in list(self.conns.get(device_id, ())):
            await conn.close(code, reason)

    # --- actions of the phones and the world (called by the control API) ----------------

    async def flush(self, device: Device) -> None:
        """Push every event the device has not confirmed yet, unless it cannot hear them."""
        if device.status != "linked":
            return
        for conn in list(self.conns.get(device.device_id, ())):
            if conn.frozen:
                continue
            for event in device.pending:
                if event["eseq"] > conn.sent_upto:
                    await conn.send({"type": "event", **event})
                    conn.sent_upto = event["eseq"]

    async def device_linked(self, device: Device) -> None:
        task = self.qr_tasks.pop(device.device_id, None)
        if task:
            task.cancel()
        await self._broadcast(device.device_id, {"type": "paired", "phone": device.phone, "lid": device.lid})

    async def reload(self, device: Device) -> None:
        """WhatsApp Web reloads itself (a new version is out, a conflict): the page's
        document, and every script injected into it, is replaced."""
        await self._broadcast(device.device_id, {"type": "reload"})

    async def device_logged_out(self, device: Device) -> None:
        await self._broadcast(device.device_id, {"type": "logged_out"})
        await self._close_device(device.device_id, CLOSE_LOGGED_OUT, "logged out")

    async def freeze(self, device: Device) -> None:
        await self._broadcast(device.device_id, {"type": "freeze"})
        for conn in self.conns.get(device.device_id, ()):
            conn.frozen = True
        self._note_frozen(device)

    async def unfreeze(self, device: Device) -> None:
        for conn in self.conns.get(device.device_id, ()):
            if conn.frozen:
                conn.frozen = False
                await conn.send({"type": "unfreeze"})
        self._note_frozen(device)
        await self.flush(device)

    def _note_frozen(self, device: Device) -> None:
        """``device.frozen`` (shown by the control API) is true while a connection of it hangs."""
        device.frozen = any(conn.frozen for conn in self.conns.get(device.device_id, ()))
        self.state.save()

    async def drop(self, device: Device, hold_s: float | None) -> None:
        """Cut the page's connection; it may come back after ``hold_s`` (None: only after
        ``reconnect``). The page shows itself disconnected and keeps retrying."""
        device.dropped_until = time.time() + (INDEFINITE_S if hold_s is None else hold_s)
        self.state.save()
        await self._close_device(device.device_id, CLOSE_DROPPED, "dropped")

    def allow_reconnect(self, device: Device) -> None:
        device.dropped_until = None
        self.state.save()

    # --- media servers --------------------------------------------------------------------

    def set_media_downloads(self, *, paused: bool | None, fail_next: int | None) -> None:
        if paused is True:
            self.media_open.clear()
        elif paused is False:
            self.media_open.set()
        if fail_next is not None:
            self.media_fail_next = fail_next

    def media_downloads_summary(self) -> dict[str, Any]:
        return {
            "paused": not self.media_open.is_set(),
            "fail_next": self.media_fail_next,
            "served": dict(self.media_served),
        }

    async def handle_media_download(self, request: web.Request) -> web.Response:
        """``GET /mms/{sha256}``: what WhatsApp Web's downloadMedia fetches (from
        mmg.whatsapp.net on the real site, by the message's directPath)."""
        digest = request.match_info["sha256"]
        await self.media_open.wait()
        if self.media_fail_next > 0:
            self.media_fail_next -= 1
            return web.Response(status=404, text="media not found")
        try:
            raw = self.state.media_bytes(digest)
        except SimError as exc:
            return web.Response(status=exc.status, text=exc.message)
        self.media_served[digest] = self.media_served.get(digest, 0) + 1
        return web.Response(body=raw, content_type="application/octet-stream")

    async def handle_media_upload(self, request: web.Request) -> web.Response:
        """``POST /mms/upload?type=<kind>``: the page uploads a file before sending the message
        that refers to it (WhatsApp's uploadMedia); answers its address."""
        kind = request.query.get("type", "document")
        raw = await request.read()
        if not raw:
            return web.json_response({"error": "empty file"}, status=400)
        limit = UPLOAD_LIMITS.get(kind, UPLOAD_LIMIT_DEFAULT)
        if len(raw) > limit:
            return web.json_response({"error": "file_too_large", "limit": limit}, status=413)
        digest = self.state.store_media(raw)
        answer = {"sha256": digest, "direct_path": f"/v/t62.7118-24/{digest}", "size": len(raw)}
        return web.json_response(answer)

    async def reset(self) -> None:
        self.media_open.set()
        self.media_fail_next = 0
        self.media_served.clear()
        for task in self.qr_tasks.values():
            task.cancel()
        self.qr_tasks.clear()
        conns = [conn for group in self.conns.values() for conn in group] + list(self._anonymous)
        self.state.reset()
        for conn in conns:
            await conn.close(CLOSE_RESET, "reset")

    async def shutdown(self) -> None:
        for task in self.qr_tasks.values():
            task.cancel()
        for conn in [conn for group in self.conns.values() for conn in group] + list(self._anonymous):
            await conn.close(1001, "server shutting down")
