"""Turns a batch of page-bridge events into database writes, in one transaction (DESIGN
section 7). The caller confirms the events to the page only after this returns, so a
crash in between re-reads them; every write here is therefore idempotent."""

from __future__ import annotations

import logging
import os
import signal
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction

from blazz.phones import InvalidPhoneNumber, normalize_phone
from messaging.services import chat_acks_apply, chats_send_pending, inbound_messages_ingest
from sessions_app import services
from sessions_app.models import SessionEvent, WhatsAppSession

logger = logging.getLogger(__name__)
Status = WhatsAppSession.Status


@dataclass
class BatchResult:
    became_ready: bool = False
    logged_out: bool = False


@transaction.atomic
def apply_page_events(
    *, session_pk: int, events: list[dict[str, Any]], page_me: str | None = None
) -> BatchResult:
    """``page_me`` is the number the page said it is logged in as, read with the events (no
    page call happens inside this transaction)."""
    result = BatchResult()
    inbound: list[dict[str, Any]] = []
    acks: list[dict[str, Any]] = []
    lifecycle_kinds = ("auth_code", "authenticated", "ready")
    status = None
    for event in sorted(events, key=lambda e: e["seq"]):
        kind, payload = event.get("type"), event.get("payload") or {}
        # The status is read once per batch and again only around lifecycle events (which
        # change it), not for each of a batch's hundreds of messages.
        if status is None or kind in lifecycle_kinds:
            status = WhatsAppSession.objects.filter(pk=session_pk).values_list("status", flat=True).first()
            if status is None:
                break
        # A QR only matters to a session that is logging in; a page deleted or stopped in the
        # meantime keeps showing codes until its browser closes, and those are ignored.
        if kind == "auth_code" and payload.get("code") and status in (Status.STARTING, Status.QR_SCANNING):
            services.session_qr_update(session_pk=session_pk, code=payload["code"])
        elif kind == "authenticated" and status in (Status.STARTING, Status.QR_SCANNING):
            services.session_transition(session_pk=session_pk, to_status=Status.AUTHENTICATED, qr_code="")
        elif kind == "ready" and status != Status.CONNECTED:
            me = payload.get("me") or page_me
            try:
                phone = normalize_phone(me or "")
            except InvalidPhoneNumber:
                logger.error("session %s ready without a readable phone (%r)", session_pk, me)
                continue
            services.session_mark_connected(session_pk=session_pk, phone_number=phone)
            chats_send_pending(session_pk=session_pk)
            result.became_ready = True
        elif kind == "logout":
            result.logged_out = True
        elif kind == "message":
            inbound.append(payload)
        elif kind == "ack":
            acks.append(payload)
        elif kind in ("connected", "disconnected"):
            SessionEvent.objects.create(
                session_id=session_pk, kind=SessionEvent.Kind.PAGE_EVENT, detail={"type": kind, **payload}
            )
            if kind == "connected" and status == Status.CONNECTED:
                # Sends that found the page offline were left pending: they go now.
                chats_send_pending(session_pk=session_pk)
        elif kind == "system":
            # Security-code changes, call logs, revokes...: part of the number's timeline, never
            # a message in the inbox or a webhook.
            SessionEvent.objects.create(
                session_id=session_pk,
                kind=SessionEvent.Kind.PAGE_EVENT,
                detail={
                    "type": "system",
                    "message_type": payload.get("type"),
                    **{k: payload.get(k) for k in ("id", "chat", "subtype")},
                },
            )
    # One insert for the whole batch, in this same transaction (F4: no hop, no queue).
    if inbound:
        inbound_messages_ingest(session_pk=session_pk, messages=inbound)
        if settings.BLAZZ_FAULT_KILL_BEFORE_INBOUND_COMMIT:
            _die_before_commit(session_pk, len(inbound))
    if acks:
        chat_acks_apply(session_pk=session_pk, acks=acks)
    return result


def _die_before_commit(session_pk: int, count: int) -> None:
    """The fault test's crash: rows written, transaction open, events not confirmed."""
    logger.critical("fault hook: killing this worker before committing %d messages of %s", count, session_pk)
    os.kill(os.getpid(), signal.SIGKILL)
