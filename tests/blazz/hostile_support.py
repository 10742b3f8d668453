"""What tests/blazz/test_hostile_input.py is made of: the world every case starts from, requests
sent and watched (which rows changed, what was queued after commit), the API's write
operations with a valid baseline each, and the ways a case changes a baseline."""

from __future__ import annotations

import json
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from campaigns.models import Campaign, CampaignLog
from messaging.models import (
    Chat,
    Contact,
    ContactSession,
    ConversationNote,
    QuickReply,
    WebhookDelivery,
    WebhookEndpoint,
)
from sessions_app.models import SessionEvent, WhatsAppSession


@dataclass
class World:
    key: str
    connected: WhatsAppSession
    second: WhatsAppSession
    scanning: WhatsAppSession
    stopped: WhatsAppSession
    contact: Contact
    endpoint: WebhookEndpoint
    dead_delivery: WebhookDelivery
    draft: Campaign
    running: Campaign
    paused: Campaign


# Rows an API write could create or change. ApiKey is left out: every request touches its
# `last_used_at`, which is bookkeeping, not input being stored.
WATCHED = [WhatsAppSession, SessionEvent, Contact, ContactSession, Chat, WebhookEndpoint, WebhookDelivery]
WATCHED += [ConversationNote, QuickReply]
WATCHED += [Campaign, CampaignLog, Campaign.sessions.through]


def snapshot() -> dict[str, list[dict]]:
    return {model._meta.label: list(model.objects.order_by("pk").values()) for model in WATCHED}


def what_changed(before: dict, after: dict) -> list[str]:
    changes = []
    for label, rows in after.items():
        if len(rows) != len(before[label]):
            changes.append(f"{label}: {len(before[label])} -> {len(rows)} rows")
        elif rows != before[label]:
            changed = [new for old, new in zip(before[label], rows, strict=True) if old != new]
            changes.append(f"{label}: changed {changed[:2]}")
    return changes


# --- Requests ------------------------------------------------------------------------------------------


class Raw(bytes):
    """A body sent exactly as these bytes (not JSON-encoded)."""


NO_BODY = object()


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: Any = NO_BODY
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> bytes:
        if self.body is NO_BODY:
            return b""
        if isinstance(self.body, Raw):
            return bytes(self.body)
        return json.dumps(self.body).encode()


def send(world: World, request: Request):
    client = Client(raise_request_exception=False)
    return client.generic(
        request.method,
        request.path,
        data=request.encoded(),
        content_type=request.content_type,
        headers={"Authorization": f"Api-Key {world.key}", **request.headers},
    )


def send_watching(world: World, request: Request, capture_on_commit) -> tuple[Any, list[str]]:
    """Sends, and says what the request stored or queued: changed rows, and work registered
    to run after commit (Celery sends, webhook deliveries, realtime pushes), which the test's
    transaction never runs but a real request would."""
    before = snapshot()
    with capture_on_commit(execute=False) as callbacks:
        response = send(world, request)
    effects = what_changed(before, snapshot())
    if callbacks:
        effects.append(
            f"{len(callbacks)} after-commit callback(s): {[getattr(c, '__qualname__', c) for c in callbacks]}"
        )
    return response, effects


def describe(request: Request, response) -> str:
    sent = request.encoded()
    sent_text = sent[:300].decode("utf-8", "backslashreplace") + (
        f"… ({len(sent)} bytes)" if len(sent) > 300 else ""
    )
    text = (
        f"{request.method} {request.path} headers={request.headers!r} content-type={request.content_type}\n"
    )
    text += f"  sent: {sent_text}\n  got {response.status_code} {response.get('Content-Type')}: "
    text += response.content[:600].decode("utf-8", "backslashreplace")
    exc_info = getattr(response, "exc_info", None)
    if exc_info:
        frames = traceback.extract_tb(exc_info[2])
        base = str(settings.BASE_DIR) + "/"
        ours = [f for f in frames if f.filename.startswith(base) and "/.venv/" not in f.filename]
        shown = [*ours[-2:], frames[-1]] if ours and ours[-1] is not frames[-1] else ours[-3:] or frames[-3:]
        where = " > ".join(f"{f.filename.removeprefix(base)}:{f.lineno} ({f.name})" for f in shown)
        text += f"\n  server exception: {exc_info[0].__name__}: {exc_info[1]} at {where}"
    return text


def error_of(request: Request, response) -> dict:
    """The error body, or an assertion that says what came instead."""
    context = describe(request, response)
    assert response.get("Content-Type", "").startswith("application/json"), f"not JSON\n{context}"
    body = response.json()
    assert isinstance(body, dict) and isinstance(body.get("error"), dict), f"not the error body\n{context}"
    error = body["error"]
    assert isinstance(error.get("code"), str) and error["code"], f"no error.code\n{context}"
    assert isinstance(error.get("message"), str) and error["message"].strip(), f"no error.message\n{context}"
    assert "field" in error and (error["field"] is None or isinstance(error["field"], str)), (
        f"bad field\n{context}"
    )
    for detail in error.get("details", []):
        assert {"field", "code", "message"} <= set(detail), f"bad details\n{context}"
    return error


def fields_named(error: dict) -> set:
    return {error.get("field")} | {detail.get("field") for detail in error.get("details", [])}


# --- The operations and their valid baselines -----------------------------------------------------


@dataclass(frozen=True)
class Operation:
    method: str
    route: str  # as in the schema
    path: Callable[[World], str]
    body: Callable[[World], Any] | None = None  # None: the operation takes no body
    text_field: str | None = None  # a string the operation stores
    idempotency_key_max: int | None = None  # it reads an Idempotency-Key of at most this

    @property
    def name(self) -> str:
        return f"{self.method} {self.route}"

    def baseline(self, world: World) -> Request:
        body = self.body(world) if self.body else NO_BODY
        return Request(self.method, self.path(world), body)


def _session_verb(verb: str, session: str) -> Operation:
    return Operation(
        "POST",
        f"/api/v1/sessions/{{session_uuid}}/{verb}",
        lambda w: f"/api/v1/sessions/{getattr(w, session).uuid}/{verb}",
    )


def _campaign_verb(verb: str, campaign: str) -> Operation:
    return Operation(
        "POST",
        f"/api/v1/campaigns/{{campaign_uuid}}/{verb}",
        lambda w: f"/api/v1/campaigns/{getattr(w, campaign).uuid}/{verb}",
    )


# Write operations that take a file upload, not JSON: the JSON cases below do not apply, and
# each has its own hostile-input tests in the module named here.
MULTIPART_OPERATIONS = {
    "POST /api/v1/contacts/imports": "tests/messaging/test_contact_import_api.py",
    "POST /api/v1/media": "tests/messaging/test_media_send_api.py",
    # JSON too (its JSON cases are below, in OPERATIONS); its multipart upload is walked there.
    "POST /api/v1/messages": "tests/messaging/test_media_send_api.py",
}

OPERATIONS = {
    op.name: op
    for op in [
        Operation(
            "POST",
            "/api/v1/messages",
            lambda w: "/api/v1/messages",
            lambda w: {"to": "+12015550199", "body": "Hello from the API"},
            text_field="body",
            idempotency_key_max=200,
        ),
        Operation(
            "POST",
            "/api/v1/contacts",
            lambda w: "/api/v1/contacts",
            lambda w: {"phone": "+12015550177", "name": "Ana", "metadata": {"city": "Recife"}},
            text_field="name",
        ),
        Operation(
            "PATCH",
            "/api/v1/contacts/{contact_uuid}",
            lambda w: f"/api/v1/contacts/{w.contact.uuid}",
            lambda w: {"name": "Ana Lima", "metadata": {"tags": ["vip"]}},
            text_field="name",
        ),
        Operation("POST", "/api/v1/sessions", lambda w: "/api/v1/sessions", idempotency_key_max=255),
        Operation(
            "PATCH",
            "/api/v1/sessions/{session_uuid}",
            lambda w: f"/api/v1/sessions/{w.connected.uuid}",
            lambda w: {"display_name": "Sales"},
            text_field="display_name",
        ),
        Operation(
            "POST",
            "/api/v1/sessions/{session_uuid}/link-code",
            lambda w: f"/api/v1/sessions/{w.scanning.uuid}/link-code",
            lambda w: {"phone_number": "+12015550103"},
            text_field="phone_number",
        ),
        _session_verb("start", "stopped"),
        _session_verb("stop", "connected"),
        _session_verb("restart", "connected"),
        _session_verb("logout", "connected"),
        _session_verb("primary", "second"),
        _session_verb("refresh-qr", "scanning"),
        Operation(
            "POST",
            "/api/v1/webhooks",
            lambda w: "/api/v1/webhooks",
            lambda w: {"url": "https://hooks.example.com/blazz", "events": ["message.received"]},
            text_field="url",
            idempotency_key_max=200,
        ),
        Operation(
            "PATCH",
            "/api/v1/webhooks/{webhook_uuid}",
            lambda w: f"/api/v1/webhooks/{w.endpoint.uuid}",
            lambda w: {
                "url": "https://other.example.com/blazz",
                "events": ["message.sent"],
                "is_active": False,
            },
            text_field="url",
        ),
        Operation(
            "POST",
            "/api/v1/webhooks/{webhook_uuid}/rotate-secret",
            lambda w: f"/api/v1/webhooks/{w.endpoint.uuid}/rotate-secret",
        ),
        Operation(
            "POST",
            "/api/v1/webhooks/{webhook_uuid}/deliveries/{delivery_id}/redeliver",
            lambda w: f"/api/v1/webhooks/{w.endpoint.uuid}/deliveries/{w.dead_delivery.pk}/redeliver",
        ),
        Operation(
            "POST",
            "/api/v1/campaigns",
            lambda w: "/api/v1/campaigns",
            lambda w: {
                "name": "Spring sale",
                "body": "Hi {{name}}, 20% off this week.",
                "audience": {"kind": "filter", "metadata": {"city": "Recife"}},
                "sessions": [str(w.connected.uuid)],
                "window_start_hour": 8,
                "window_end_hour": 20,
            },
            text_field="name",
            idempotency_key_max=200,
        ),
        Operation(
            "PATCH",
            "/api/v1/campaigns/{campaign_uuid}",
            lambda w: f"/api/v1/campaigns/{w.draft.uuid}",
            lambda w: {"name": "Renamed", "body": "Hello {{name}}"},
            text_field="name",
        ),
        _campaign_verb("start", "draft"),
        _campaign_verb("pause", "running"),
        _campaign_verb("resume", "paused"),
        _campaign_verb("cancel", "running"),
        Operation(
            "POST",
            "/api/v1/chats/{contact_uuid}/read",
            lambda w: f"/api/v1/chats/{w.contact.uuid}/read",
        ),
        Operation(
            "PATCH",
            "/api/v1/conversations/{conversation_uuid}",
            lambda w: f"/api/v1/conversations/{_conversation(w).uuid}",
            lambda w: {"status": "resolved", "unread": True},
            text_field="status",
        ),
        Operation(
            "POST",
            "/api/v1/conversations/{conversation_uuid}/notes",
            lambda w: f"/api/v1/conversations/{_conversation(w).uuid}/notes",
            lambda w: {"body": "Call back after 5pm"},
            text_field="body",
        ),
        Operation(
            "POST",
            "/api/v1/quick-replies",
            lambda w: "/api/v1/quick-replies",
            lambda w: {"shortcut": "thanks", "body": "Thanks, {{name|there}}!"},
            text_field="body",
        ),
        Operation(
            "PUT",
            "/api/v1/quick-replies/{quick_reply_uuid}",
            lambda w: f"/api/v1/quick-replies/{_quick_reply(w).uuid}",
            lambda w: {"shortcut": "hello", "body": "Hello {{name|there}}"},
            text_field="body",
        ),
    ]
}


def _conversation(world: World) -> ContactSession:
    return ContactSession.objects.get(contact=world.contact, whatsapp_session=world.connected)


def _quick_reply(world: World) -> QuickReply:
    return QuickReply.objects.get_or_create(
        workspace=world.contact.workspace, shortcut="greeting", defaults={"body": "Hi {{name|there}}"}
    )[0]


# --- Hostile cases -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    id: str
    operation: str
    change: Callable[[Request, World], Request]
    expect: frozenset[int] = frozenset({400})
    field: str | None = None  # the error must name this field

    @property
    def param(self):
        return pytest.param(self, id=f"{self.operation} | {self.id}")


def with_fields(**values) -> Callable[[Request, World], Request]:
    """The baseline body with these fields set (a callable value is given the world)."""

    def change(request: Request, world: World) -> Request:
        resolved = {k: v(world) if callable(v) else v for k, v in values.items()}
        return replace(request, body={**request.body, **resolved})

    return change


def with_body(body: Any) -> Callable[[Request, World], Request]:
    return lambda request, world: replace(request, body=body(request.body) if callable(body) else body)


def with_raw(make: Callable[[bytes], bytes]) -> Callable[[Request, World], Request]:
    return lambda request, world: replace(request, body=Raw(make(request.encoded())))


def with_content_type(content_type: str) -> Callable[[Request, World], Request]:
    return lambda request, world: replace(request, content_type=content_type)


def with_header(name: str, value: str) -> Callable[[Request, World], Request]:
    return lambda request, world: replace(request, headers={**request.headers, name: value})


def oversized(request: Request, world: World) -> Request:
    """The valid request followed by whitespace (still valid JSON, the same fields) up to one
    byte over DATA_UPLOAD_MAX_MEMORY_SIZE: only the size is wrong."""
    encoded = request.encoded() if request.body is not NO_BODY else b"{}"
    padding = settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1 - len(encoded)
    return replace(request, body=Raw(encoded + b" " * max(padding, 1)))


def invalid_utf8(encoded: bytes) -> bytes:
    # Inside the first string value: bytes that are not UTF-8 at all.
    index = encoded.index(b'": "') + 4
    return encoded[:index] + b"\xff\xfe\xc3\x28" + encoded[index:]


def deeply_nested(depth: int) -> Callable[[bytes], bytes]:
    # Well under the size limit; deep enough to exhaust a recursive parser (100000) or a
    # recursive walk of the parsed data (900, which the C parser still accepts).
    return lambda encoded: encoded[:-1] + b', "nested": ' + b"[" * depth + b"]" * depth + b"}"
