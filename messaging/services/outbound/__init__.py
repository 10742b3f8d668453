"""Outbound messages (F10, F11): written first, handed to the number's transport after
commit, claimed once, marked sent only on WhatsApp's ack.

A package (the ~500-line rule): `send` (the send request, up to the pending row),
`attachments` (what a file, its name or a contact card may be) and `worker` (the claim, the
ack or failure, and the sweep, after the request). Callers import from here."""

from messaging.services.outbound.attachments import (
    LOCATION_TEXT_MAX_CHARS,
    MEDIA_FILENAME_MAX_CHARS,
    VCARD_MAX_CHARS,
    media_filename_clean,
    media_kind_for_file,
    vcard_build,
    vcard_problem,
)
from messaging.services.outbound.send import (
    chat_for_idempotency_key,
    chat_send,
    media_send_precheck,
    message_body_problem,
    sending_session_choose,
)
from messaging.services.outbound.worker import (
    SendSweep,
    chat_claim_for_send,
    chat_give_up,
    chat_mark_awaiting_ack,
    chat_mark_failed,
    chat_mark_sent,
    chat_release_claim,
    chats_release_claims,
    chats_send_pending,
    chats_sweep_pending,
)

__all__ = [
    "LOCATION_TEXT_MAX_CHARS",
    "MEDIA_FILENAME_MAX_CHARS",
    "VCARD_MAX_CHARS",
    "SendSweep",
    "chat_claim_for_send",
    "chat_for_idempotency_key",
    "chat_give_up",
    "chat_mark_awaiting_ack",
    "chat_mark_failed",
    "chat_mark_sent",
    "chat_release_claim",
    "chat_send",
    "chats_release_claims",
    "chats_send_pending",
    "chats_sweep_pending",
    "media_filename_clean",
    "media_kind_for_file",
    "media_send_precheck",
    "message_body_problem",
    "sending_session_choose",
    "vcard_build",
    "vcard_problem",
]
