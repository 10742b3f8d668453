"""Writes for messaging: contacts, inbound ingestion (F4, F5), outbound sending (F10, F11)
and acks. Webhook deliveries are written in the same transaction as the event they report
(the outbox), and live pushes happen after commit."""

from messaging.services.common import (
    InvalidContact,
    InvalidMessage,
    MessagingError,
    NoConnectedNumber,
    chat_payload,
)
from messaging.services.contacts import (
    CONTACT_METADATA_MAX_BYTES,
    CONTACT_METADATA_MAX_KEYS,
    CONTACT_NAME_MAX_CHARS,
    LID_JID,
    SenderIdentity,
    contact_create,
    contact_update,
    contact_upsert,
    inbound_sender_identity,
)
from messaging.services.inbound import chat_acks_apply, inbound_messages_ingest
from messaging.services.outbound import (
    chat_claim_for_send,
    chat_give_up,
    chat_mark_awaiting_ack,
    chat_mark_failed,
    chat_mark_sent,
    chat_release_claim,
    chat_send,
    chats_release_claims,
    chats_send_pending,
    chats_sweep_pending,
    message_body_problem,
    sending_session_choose,
)

__all__ = [
    "CONTACT_METADATA_MAX_BYTES",
    "CONTACT_METADATA_MAX_KEYS",
    "CONTACT_NAME_MAX_CHARS",
    "LID_JID",
    "InvalidContact",
    "InvalidMessage",
    "MessagingError",
    "NoConnectedNumber",
    "SenderIdentity",
    "chat_acks_apply",
    "chat_claim_for_send",
    "chat_give_up",
    "chat_mark_awaiting_ack",
    "chat_mark_failed",
    "chat_mark_sent",
    "chat_payload",
    "chat_release_claim",
    "chat_send",
    "chats_release_claims",
    "chats_send_pending",
    "chats_sweep_pending",
    "contact_create",
    "contact_update",
    "contact_upsert",
    "inbound_messages_ingest",
    "inbound_sender_identity",
    "message_body_problem",
    "sending_session_choose",
]
