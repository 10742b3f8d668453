"""After the send request: the worker's claim on a pending message (so a task delivered twice
sends once), WhatsApp's ack or the failure, releasing claims a dead worker held, and the Beat
sweep that wakes what a lost Celery message never delivered. The Chat row is the record;
every status change is a conditional update."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from blazz.realtime import publish_to_workspace
from messaging.models import Chat
from messaging.services.common import chat_payload, contact_sessions_bump, webhook_record
from messaging.transport import NoTransport, transport_for
from sessions_app.models import WhatsAppSession


def chat_claim_for_send(*, chat_pk: int, session_pk: int) -> Chat | None:
    """The worker about to send: claims the pending row (conditional update), so a task
    delivered twice sends once. None when it was already claimed or is no longer pending."""
    claimed = Chat.objects.filter(
        pk=chat_pk, whatsapp_session_id=session_pk, status=Chat.Status.PENDING, send_claimed_at__isnull=True
    ).update(send_claimed_at=timezone.now())
    if not claimed:
        return None
    return Chat.objects.select_related("contact", "whatsapp_session__workspace").get(pk=chat_pk)


def chat_mark_sent(*, chat: Chat, wam_id: str | None) -> None:
    """WhatsApp's servers acked the message: status, contact-number link and the
    `message.sent` webhook in one transaction, the live push after it."""
    now = timezone.now()
    session = chat.whatsapp_session
    with transaction.atomic():
        Chat.objects.filter(pk=chat.pk).update(status=Chat.Status.SENT, wam_id=wam_id, sent_at=now, error="")
        chat.status, chat.wam_id, chat.sent_at, chat.error = Chat.Status.SENT, wam_id, now, ""
        contact_sessions_bump(session_pk=session.pk, contact_ids=[chat.contact_id], at=now)
        payload = chat_payload(chat, session=session, contact=chat.contact)
        webhook_record(session.workspace_id, "message.sent", payload)
    publish_to_workspace(workspace_uuid=session.workspace.uuid, event="message.sent", payload=payload)


def chat_mark_awaiting_ack(*, chat: Chat, wam_id: str | None) -> None:
    """The page made the message but WhatsApp's servers have not acked it yet: it stays
    pending (and claimed, so it is not sent twice) with its id, until an ack (sent, or
    failed) arrives for that id."""
    Chat.objects.filter(pk=chat.pk, status=Chat.Status.PENDING).update(
        wam_id=wam_id, error="waiting for WhatsApp's ack"
    )
    chat.wam_id = wam_id


def chat_mark_failed(*, chat: Chat, error: str) -> None:
    """The message will not be delivered: status, `message.failed` webhook and the live
    push, the first two in one transaction."""
    error = error[:2000]
    with transaction.atomic():
        Chat.objects.filter(pk=chat.pk).update(status=Chat.Status.FAILED, error=error)
        chat.status, chat.error = Chat.Status.FAILED, error
        session = chat.whatsapp_session
        payload = {**chat_payload(chat, session=session, contact=chat.contact), "error": error[:500]}
        webhook_record(session.workspace_id, "message.failed", payload)
    publish_to_workspace(workspace_uuid=session.workspace.uuid, event="message.failed", payload=payload)


def chat_release_claim(*, chat_pk: int) -> None:
    """The send did not happen (the browser was not here): let the next owner claim it."""
    Chat.objects.filter(pk=chat_pk, status=Chat.Status.PENDING).update(send_claimed_at=None)


def chats_release_claims(*, session_pk: int) -> int:
    """The session moved because its worker died: claims that worker took on pending sends
    will never be finished by it. Released, the new owner sends them (same message id, so
    one that did leave is not sent twice). Returns how many were released."""
    return Chat.objects.filter(
        whatsapp_session_id=session_pk,
        direction=Chat.Direction.OUTBOUND,
        status=Chat.Status.PENDING,
        send_claimed_at__isnull=False,
    ).update(send_claimed_at=None)


def chats_send_pending(*, session_pk: int) -> int:
    """The session's page is ready: (re)enqueue every unclaimed pending message of it on its
    worker's queue, after commit. Sends that reached the worker before its browser was up,
    or while it had none, go out now; the claim makes a duplicate task harmless."""
    provider = WhatsAppSession.objects.filter(pk=session_pk).values_list("provider_type", flat=True).first()
    if provider is None:
        return 0
    pending = list(
        Chat.objects.filter(
            whatsapp_session_id=session_pk,
            direction=Chat.Direction.OUTBOUND,
            status=Chat.Status.PENDING,
            send_claimed_at__isnull=True,
        )
        .order_by("created_at", "id")
        .values_list("pk", flat=True)
    )
    transport = transport_for(provider)
    for chat_pk in pending:
        transport.send(session_pk=session_pk, chat_pk=chat_pk)
    return len(pending)


@dataclass
class SendSweep:
    woken: int = 0
    released: int = 0
    failed: int = 0


def chats_sweep_pending(*, now: datetime | None = None) -> SendSweep:
    """Beat's sweep of outbound messages (every 30 s). The Chat row is the record of a send;
    the Celery message that announced it is only a wake-up call, which a broker that lost its
    data (FLUSHALL, a restart without persistence) never delivers. So:

    - a pending message of a connected number that nobody claimed for
      BLAZZ_SEND_SWEEP_AFTER_SECONDS is woken again (the claim makes a duplicate harmless);
    - a claim older than BLAZZ_SEND_CLAIM_STALE_SECONDS that made nothing (no wam_id) is
      released, so the next wake-up can send it;
    - a message still pending BLAZZ_SEND_DEADLINE_SECONDS after it was accepted is failed,
      with `message.failed`, instead of going out hours late or never."""
    now = now or timezone.now()
    result = SendSweep()
    pending = Chat.objects.filter(direction=Chat.Direction.OUTBOUND, status=Chat.Status.PENDING)
    deadline = now - timedelta(seconds=settings.BLAZZ_SEND_DEADLINE_SECONDS)
    for chat in pending.filter(created_at__lt=deadline).select_related(
        "contact", "whatsapp_session__workspace"
    )[:500]:
        if chat_give_up(chat=chat, error=f"not sent within {settings.BLAZZ_SEND_DEADLINE_SECONDS} s"):
            result.failed += 1
    result.released = pending.filter(
        send_claimed_at__lt=now - timedelta(seconds=settings.BLAZZ_SEND_CLAIM_STALE_SECONDS),
        wam_id__isnull=True,
    ).update(send_claimed_at=None)
    lost = (
        pending.filter(
            send_claimed_at__isnull=True,
            created_at__lt=now - timedelta(seconds=settings.BLAZZ_SEND_SWEEP_AFTER_SECONDS),
            whatsapp_session__status=WhatsAppSession.Status.CONNECTED,
            whatsapp_session__deleted_at__isnull=True,
        )
        .order_by("created_at", "id")
        .values_list("pk", "whatsapp_session_id", "whatsapp_session__provider_type")[:1000]
    )
    for chat_pk, session_pk, provider in lost:
        try:
            transport_for(provider).send(session_pk=session_pk, chat_pk=chat_pk)
        except NoTransport:
            continue
        result.woken += 1
    return result


def chat_give_up(*, chat: Chat, error: str) -> bool:
    """Fails a message only if it is still pending (a send that raced to `sent` wins).
    Returns whether it failed it."""
    with transaction.atomic():
        if not Chat.objects.filter(pk=chat.pk, status=Chat.Status.PENDING).update(status=Chat.Status.FAILED):
            return False
        chat_mark_failed(chat=chat, error=error)
    return True
