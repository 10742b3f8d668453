"""Media for a session worker (issue 17): the loop that fetches inbound files from the pages,
and the page side of sending a file, a location or a contact card.

Inbound: the message row is stored by the harvest at once with ``media_status = pending``
(messaging's inbound ingest); the bytes follow here, on their own thread, so a 16 MB video
never holds up the harvest of a page. For each pending message of a live session
(``media_fetches_due``) the page downloads the file itself (``WPP.chat.downloadMedia``; the
call returns at once), the loop polls it, then pulls it in bounded base64 chunks, taking the
page's lock only around each call, and stores it (``inbound_media_bytes_store``). The pending
row is the record of what is owed: a worker killed mid-file leaves it pending, the next worker
hosting the number fetches it again, and the store's conditional flip pending -> ready makes a
second store of the same message a no-op.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import threading
import time
from dataclasses import dataclass
from typing import Any

from django.db import DatabaseError, close_old_connections

from messaging.services.media import (
    DOWNLOADABLE_KINDS,
    MediaFetch,
    MediaRefused,
    inbound_media_bytes_store,
    inbound_media_fetch_failed,
    media_fetches_due,
    outbound_media_open,
)
from sessions_app.webjs.driver.errors import BridgeError
from sessions_app.webjs.host.live import LiveSession

logger = logging.getLogger(__name__)

# One execute_script carries at most this many bytes (as base64, a third more).
CHUNK_BYTES = 512 * 1024
TICK_S = 0.5
# Files a page downloads at once for this worker (the rest wait for the next round).
IN_FLIGHT_PER_SESSION = 4
# A download the page has not finished by then is given up for now and retried with backoff.
DOWNLOAD_TIMEOUT_S = 150.0
# A page that failed a bridge call is left alone that long (the harvest and liveness deal
# with a sick page; a file is not the page's fault, so no attempt is counted).
PAGE_COOLDOWN_S = 5.0
LOCK_WAIT_S = 10.0
# A page that handed over this many bytes since its last collection is collected
# (PageBridge.collect_garbage: the downloaded Blobs' bytes live outside V8's heap).
COLLECT_AFTER_BYTES = 32 * 2**20


@dataclass
class _InFlight:
    fetch: MediaFetch
    started: float


class MediaMixin:
    """The media half of SessionHost; expects ``_live``, ``_registry_lock`` and ``_stopping``."""

    _live: dict[int, LiveSession]
    _registry_lock: threading.Lock
    _stopping: threading.Event

    def _media_state(self) -> tuple[dict[int, _InFlight], dict[int, float]]:
        if not hasattr(self, "_media_inflight"):
            self._media_inflight: dict[int, _InFlight] = {}
            self._media_cooldown: dict[int, float] = {}
            self._media_uncollected: dict[int, int] = {}
        return self._media_inflight, self._media_cooldown

    def _media_loop(self) -> None:
        while not self._stopping.is_set():
            busy = False
            try:
                close_old_connections()
                busy = self.media_fetch_once()
            except Exception:
                logger.exception("media fetch round failed")
            self._stopping.wait(0.02 if busy else TICK_S)

    def media_fetch_once(self) -> bool:
        """One round: take up what is due, move every file in flight one step. True when
        something moved (the loop then goes again at once)."""
        inflight, cooldown = self._media_state()
        with self._registry_lock:
            live = dict(self._live)
        now = time.monotonic()
        for pk, until in list(cooldown.items()):
            if until <= now:
                del cooldown[pk]
        pks = sorted(pk for pk in live if pk not in cooldown)
        if pks:
            per_session: dict[int, int] = {}
            for item in inflight.values():
                per_session[item.fetch.session_pk] = per_session.get(item.fetch.session_pk, 0) + 1
            for fetch in media_fetches_due(session_pks=pks, limit=IN_FLIGHT_PER_SESSION * len(pks)):
                if fetch.chat_pk in inflight or per_session.get(fetch.session_pk, 0) >= IN_FLIGHT_PER_SESSION:
                    continue
                per_session[fetch.session_pk] = per_session.get(fetch.session_pk, 0) + 1
                inflight[fetch.chat_pk] = _InFlight(fetch, now)
        moved = False
        for chat_pk, item in list(inflight.items()):
            if self._stopping.is_set():
                break
            session = live.get(item.fetch.session_pk)
            if session is None or item.fetch.session_pk in cooldown:
                # The page is gone (stopped, moved): the row stays pending for whoever hosts it.
                inflight.pop(chat_pk, None)
                continue
            try:
                moved |= self._media_step(session, item)
            except BridgeError as exc:
                session.last_error = str(exc)
                inflight.pop(chat_pk, None)
                cooldown[item.fetch.session_pk] = time.monotonic() + PAGE_COOLDOWN_S
                logger.warning("media of chat %s: page call failed (%s)", chat_pk, exc)
            except DatabaseError:
                inflight.pop(chat_pk, None)
                logger.exception("media of chat %s: database unavailable; retried later", chat_pk)
        self._media_collect(live, busy={item.fetch.session_pk for item in inflight.values()})
        return moved

    def _media_collect(self, live: dict[int, LiveSession], *, busy: set[int]) -> None:
        """Collects the garbage of pages that handed over many bytes, or some and are idle now."""
        for session_pk, handed in list(self._media_uncollected.items()):
            session = live.get(session_pk)
            if session is None:
                del self._media_uncollected[session_pk]
                continue
            if handed < COLLECT_AFTER_BYTES and session_pk in busy:
                continue
            if self._on_page(session, lambda b: b.collect_garbage()) is not None:
                del self._media_uncollected[session_pk]

    def _on_page(self, live: LiveSession, call: Any) -> Any:
        """``call(bridge)`` under the page's lock, which is held for this one call only."""
        if not live.lock.acquire(timeout=LOCK_WAIT_S):
            return None
        try:
            return call(live.bridge)
        finally:
            live.lock.release()

    def _media_step(self, live: LiveSession, item: _InFlight) -> bool:
        inflight, _ = self._media_state()
        fetch = item.fetch
        state = self._on_page(live, lambda b: b.media_start(fetch.wam_id, max_bytes=fetch.size_limit))
        if state is None:
            return False  # the page is busy (a long send): next round
        status = state.get("state")
        if status == "downloading":
            if time.monotonic() - item.started < DOWNLOAD_TIMEOUT_S:
                return False
            self._media_give_up(live, fetch, reason="download timed out", permanent=False)
            return True
        if status == "failed":
            reason = str(state.get("reason") or "error")
            if state.get("error"):
                reason = f"{reason}: {state['error']}"
            self._media_give_up(live, fetch, reason=reason, permanent=not state.get("transient"))
            return True
        if status != "ready":
            inflight.pop(fetch.chat_pk, None)
            return False
        size = int(state.get("size") or 0)
        if size > fetch.size_limit:
            self._media_give_up(live, fetch, reason="too_large", permanent=True)
            return True
        parts = []
        for offset in range(0, size, CHUNK_BYTES):
            chunk = self._on_page(live, lambda b, at=offset: b.media_chunk(fetch.wam_id, at, CHUNK_BYTES))
            if chunk is None:
                return False  # busy: the page keeps the file; the pull starts again next round
            parts.append(chunk)
        data = b"".join(parts)
        del parts
        self._on_page(live, lambda b: b.media_release(fetch.wam_id))
        self._media_uncollected[fetch.session_pk] = self._media_uncollected.get(fetch.session_pk, 0) + size
        inflight.pop(fetch.chat_pk, None)
        expected = state.get("sha256")
        if len(data) != size or (expected and hashlib.sha256(data).hexdigest() != expected):
            inbound_media_fetch_failed(chat_pk=fetch.chat_pk, reason="the bytes changed in transit")
            return True
        thumbnail = None
        if isinstance(state.get("thumbnail"), str):
            try:
                thumbnail = base64.b64decode(state["thumbnail"], validate=True)
            except ValueError:
                thumbnail = None  # a thumbnail is a nicety; the file is what counts
        try:
            stored = inbound_media_bytes_store(chat_pk=fetch.chat_pk, data=data, thumbnail=thumbnail)
        except MediaRefused as exc:
            inbound_media_fetch_failed(chat_pk=fetch.chat_pk, reason=str(exc), permanent=True)
            return True
        logger.info(
            "media of chat %s (%s, %d bytes) %s",
            fetch.chat_pk,
            fetch.kind,
            size,
            "stored" if stored else "already stored",
        )
        return True

    def _media_give_up(self, live: LiveSession, fetch: MediaFetch, *, reason: str, permanent: bool) -> None:
        inflight, _ = self._media_state()
        inflight.pop(fetch.chat_pk, None)
        self._on_page(live, lambda b: b.media_release(fetch.wam_id))
        logger.warning("media of chat %s not fetched: %s (permanent=%s)", fetch.chat_pk, reason, permanent)
        inbound_media_fetch_failed(chat_pk=fetch.chat_pk, reason=reason[:500], permanent=permanent)


# --- sending ------------------------------------------------------------------------------------


def outbound_media_spec(chat: Any) -> dict[str, Any] | None:
    """What the page needs to send an outbound chat that carries media (Chat.media), without
    the bytes; None for a text. Raises ValueError for media the page cannot send."""
    media = chat.media if isinstance(chat.media, dict) else None
    kind = media.get("type") if media else None
    if not kind:
        return None
    if kind in DOWNLOADABLE_KINDS:
        media_file = chat.media_file
        if media_file is None:
            raise ValueError("the message's file is missing")
        return {
            "kind": kind,
            "size": int(media_file.size),
            "mimetype": media_file.mimetype or media.get("mimetype") or "application/octet-stream",
            "filename": media.get("filename") or "",
            "caption": chat.body or None,
        }
    if kind == "location":
        return {
            "kind": "location",
            "lat": media.get("lat"),
            "lng": media.get("lng"),
            "name": media.get("name") or "",
            "address": media.get("address") or "",
        }
    if kind == "vcard":
        phone, name = vcard_contact(media.get("vcard") or "")
        if phone is None:
            raise ValueError("the contact card has no phone number")
        return {"kind": "vcard", "contact": phone, "name": media.get("name") or name}
    raise ValueError(f"cannot send media of type {kind!r}")


_WAID = re.compile(r"waid=(\d{7,15})", re.IGNORECASE)


def vcard_contact(vcard: str) -> tuple[str | None, str]:
    """The number and name a vCard describes: wa-js 4.6.0's sendVCardContactMessage takes a
    contact id and a name and WhatsApp builds the card itself (VCard.vcardFromContactModel),
    so that is all of a card that can be sent. The number is the TEL's ``waid`` (WhatsApp's
    own cards), else the first TEL's digits."""
    phone = None
    name = ""
    for line in vcard.replace("\r\n", "\n").split("\n"):
        key, _, value = line.partition(":")
        field = key.split(";")[0].strip().upper()
        if field == "FN" and not name:
            name = value.strip()
        elif field == "TEL" and phone is None:
            found = _WAID.search(key)
            digits = found.group(1) if found else re.sub(r"\D", "", value)
            if 7 <= len(digits) <= 15 and digits[0] != "0":
                phone = "+" + digits
    return phone, name


def push_outbound_file(live: LiveSession, chat: Any, key: str) -> int:
    """Pushes the stored bytes of an outbound chat into its page under ``key``, chunk by chunk,
    the page's lock held around each chunk only. Returns the size pushed."""
    handle = outbound_media_open(chat=chat)
    try:
        data = handle.read()
    finally:
        handle.close()
    offset = 0
    while True:
        part = data[offset : offset + CHUNK_BYTES]
        with live.lock:
            held = live.bridge.media_put_chunk(key, offset, part)
        if held != offset + len(part):
            raise BridgeError(f"the page holds {held} bytes of {key}, expected {offset + len(part)}")
        offset = held
        if offset >= len(data):
            return offset


def send_timeout_for(spec: dict[str, Any]) -> float:
    """Uploading the file is part of the send: allow for its size."""
    return min(300.0, 30.0 + int(spec.get("size") or 0) / 2**20 * 2)
