"""The simulated world's memory: linked devices, phones, QR codes, pending deliveries and
the outbox. Pure Python, no I/O except the optional JSON state file, so every rule here is
testable without a server.

Vocabulary follows WhatsApp's multi-device model:
- a *device* is one browser profile; it generates its identity (``device_id`` plus a secret)
  itself and keeps it in its own IndexedDB, like WhatsApp Web keeps its keys;
- a device is ``pending`` (showing a QR code), ``linked`` to a phone, or ``logged_out``;
- a *phone* (E.164) owns up to four linked devices;
- events for a device (inbound messages, acks) wait in ``device.pending`` until the page
  confirms it received them, so a device that is offline, dropped or frozen gets them later,
  the way WhatsApp's servers hold messages for a device that is away.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
import secrets
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .model import (
    DEFAULT_MIMETYPES,
    DEVICE_ID,
    INBOUND_HISTORY_MAX,
    LID,
    LINK_CODE_ALPHABET,
    LINK_CODE_TTL_S,
    MAX_BODY_CHARS,
    MAX_LINKED_DEVICES,
    MEDIA_TYPES,
    MESSAGE_EXTRAS,
    MESSAGE_TYPES,
    THUMBNAIL_JPEG_B64,
    UPLOAD_LIMIT_DEFAULT,
    UPLOAD_LIMITS,
    Device,
    LinkCode,
    OutboxEntry,
    SimError,
    WorldContact,
    _b64,
    jid_for,
    parse_phone,
)


class SimState:
    """Everything the simulated servers and phones know. Methods raise ``SimError`` with the
    HTTP status the control API should answer; they never touch sockets (``hub`` does)."""

    def __init__(self, state_file: str | os.PathLike[str] | None = None) -> None:
        self.state_file = Path(state_file) if state_file else None
        self.devices: dict[str, Device] = {}
        self.outbox: list[OutboxEntry] = []
        self.link_codes: dict[str, LinkCode] = {}
        # Inbound messages per receiving phone, in memory only, for replays (duplicates).
        self.inbound: dict[str, list[dict[str, Any]]] = {}
        # The world's contacts by phone and by LID (in memory: tests register what they need).
        self.contacts: dict[str, WorldContact] = {}
        self.contacts_by_lid: dict[str, WorldContact] = {}
        # What pages reported: read receipts they sent, and calls to third parties (telemetry,
        # link previews) that wa-js makes unless configured not to.
        self.read_receipts: list[dict[str, Any]] = []
        self.third_party: list[dict[str, Any]] = []
        # WhatsApp's media servers: the (decrypted) bytes of every file a message refers to,
        # by the sha256 of the bytes (hex). In memory only: a restarted simulator has lost its
        # media, as expired media on WhatsApp's servers is lost.
        self.media: dict[str, bytes] = {}
        if self.state_file and self.state_file.exists():
            self._load(self.state_file)

    # --- persistence -------------------------------------------------------------------

    def _load(self, state_file: Path) -> None:
        data = json.loads(state_file.read_text(encoding="utf-8"))
        for raw in data.get("devices", []):
            raw.pop("qr", None)
            raw.pop("qr_issued_at", None)
            raw["frozen"] = False  # a hang belongs to a connection, and none survived the restart
            device = Device(**raw)
            self.devices[device.device_id] = device
        self.outbox = [OutboxEntry(**raw) for raw in data.get("outbox", [])]

    def save(self) -> None:
        """Write the state file atomically (rename), so a kill mid-write leaves the old one."""
        if not self.state_file:
            return
        devices = []
        for device in self.devices.values():
            raw = asdict(device)
            raw.pop("qr")
            raw.pop("qr_issued_at")
            devices.append(raw)
        data = {"devices": devices, "outbox": [asdict(entry) for entry in self.outbox]}
        tmp = self.state_file.with_suffix(self.state_file.suffix + ".tmp")
        tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, self.state_file)

    def reset(self) -> None:
        self.devices.clear()
        self.outbox.clear()
        self.link_codes.clear()
        self.inbound.clear()
        self.contacts.clear()
        self.contacts_by_lid.clear()
        self.read_receipts.clear()
        self.third_party.clear()
        self.media.clear()
        self.save()

    # --- devices and login ---------------------------------------------------------------

    def get_device(self, device_id: Any) -> Device:
        if not isinstance(device_id, str) or not DEVICE_ID.fullmatch(device_id):
            raise SimError(400, "device_id must be 8-64 letters, digits, '-' or '_'")
        device = self.devices.get(device_id)
        if device is None:
            raise SimError(404, f"no device {device_id}")
        return device

    def hello(self, *, device_id: Any, secret: Any, claimed_phone: Any) -> tuple[str, Device | None]:
        """A page announces the identity it found in its own storage. Returns the verdict:
        ``linked`` (log in without QR), ``pending`` (show a QR), ``logged_out`` (the phone
        removed this device: the page must wipe its identity) or ``rejected``."""
        if not isinstance(device_id, str) or not DEVICE_ID.fullmatch(device_id):
            return "rejected", None
        if not isinstance(secret, str) or not 16 <= len(secret) <= 128:
            return "rejected", None
        device = self.devices.get(device_id)
        if device is None:
            if claimed_phone:
                # The page believes it is logged in but the servers do not know it (state
                # reset): WhatsApp answers such a client with a logout.
                return "logged_out", None
            device = Device(device_id=device_id, secret=secret, created_at=time.time())
            self.devices[device_id] = device
            self.save()
            return "pending", device
        if not secrets.compare_digest(device.secret, secret):
            return "rejected", None
        return device.status, device

    def rotate_qr(self, device: Device) -> dict[str, Any]:
        """Issue a new QR reference for a pending device, shaped like wa-js' AuthCode."""
        digest = hashlib.sha256(device.secret.encode()).digest()
        ref = "2@" + _b64(secrets.token_bytes(48))
        static_key = _b64(hashlib.sha256(b"noise" + digest).digest())
        identity_key = _b64(hashlib.sha256(b"identity" + digest).digest())
        secret_key = _b64(hashlib.sha256(b"adv" + digest).digest())
        device.qr = {
            "type": "multidevice",
            "ref": ref,
            "staticKeyPair": static_key,
            "identityKeyPair": identity_key,
            "secretKey": secret_key,
            "fullCode": ",".join([ref, static_key, identity_key, secret_key]),
        }
        device.qr_issued_at = time.time()
        return device.qr

    def find_by_code(self, code: Any) -> Device:
        """Find the pending device whose *current* QR is ``code`` (the full code or its ref).
        An older code of a device that has rotated since is refused, as the phone would."""
        if not isinstance(code, str) or not code.strip():
            raise SimError(400, "code must be the QR text (or its ref)")
        code = code.strip()
        for device in self.devices.values():
            if device.status == "pending" and device.qr and code in (device.qr["fullCode"], device.qr["ref"]):
                return device
        raise SimError(404, "no QR code with this value is on screen (expired or never shown)")

    def link(self, device: Device, phone: str) -> Device:
        if device.status != "pending":
            raise SimError(409, f"device {device.device_id} is {device.status}, not waiting for a scan")
        linked = self.linked_devices(phone)
        if len(linked) >= MAX_LINKED_DEVICES:
            raise SimError(409, f"{phone} already has {MAX_LINKED_DEVICES} linked devices")
        device.status = "linked"
        device.phone = phone
        device.lid = self.lid_of_phone(phone)
        device.linked_at = time.time()
        device.qr = None
        device.qr_issued_at = None
        self.save()
        return device

    def request_link_code(self, device: Device, phone_value: Any) -> str:
        if device.status != "pending":
            raise SimError(409, "cannot_get_code_for_already_authenticated")
        phone = parse_phone(phone_value)
        self.link_codes = {
            code: entry for code, entry in self.link_codes.items() if entry.device_id != device.device_id
        }
        code = "".join(secrets.choice(LINK_CODE_ALPHABET) for _ in range(8))
        self.link_codes[code] = LinkCode(
            code=code, device_id=device.device_id, phone=phone, created_at=time.time()
        )
        return code

    def enter_link_code(self, *, phone_value: Any, code_value: Any) -> Device:
        phone = parse_phone(phone_value)
        if not isinstance(code_value, str):
            raise SimError(400, "code must be the 8-character link code")
        code = code_value.replace("-", "").replace(" ", "").upper()
        if len(code) != 8 or any(ch not in LINK_CODE_ALPHABET for ch in code):
            raise SimError(400, "code must be the 8-character link code")
        entry = self.link_codes.get(code)
        if entry is None or time.time() - entry.created_at > LINK_CODE_TTL_S:
            raise SimError(404, "no such link code (wrong or expired)")
        if entry.phone != phone:
            raise SimError(409, "this code was requested for another phone number")
        device = self.devices.get(entry.device_id)
        if device is None:
            raise SimError(404, "the device that asked for this code is gone")
        del self.link_codes[code]
        return self.link(device, phone)

    def logout(self, device: Device) -> Device:
        if device.status != "linked":
            raise SimError(409, f"device {device.device_id} is {device.status}, not linked")
        device.status = "logged_out"
        device.logged_out_at = time.time()
        device.pending.clear()
        device.frozen = False
        self.save()
        return device

    def linked_devices(self, phone: str) -> list[Device]:
        return [d for d in self.devices.values() if d.status == "linked" and d.phone == phone]

    def phones(self) -> dict[str, list[str]]:
        result: dict[str, list[str]] = {}
        for device in self.devices.values():
            if device.status == "linked" and device.phone:
                result.setdefault(device.phone, []).append(device.device_id)
        return result

    # --- messages ------------------------------------------------------------------------

    def _queue_event(self, device: Device, kind: str, payload: dict[str, Any]) -> None:
        device.pending.append({"eseq": device.next_event_seq, "kind": kind, "payload": payload})
        device.next_event_seq += 1

    # --- the world's contacts and LIDs ---------------------------------------------------------

    def lid_of_phone(self, phone: str) -> str:
        """Every account has a LID; a stable one per phone (a hash), unless registered."""
        contact = self.contacts.get(phone)
        if contact is not None and contact.lid:
            return contact.lid
        digest = hashlib.sha256(("lid:" + phone).encode()).hexdigest()
        return f"{int(digest[:13], 16) % 10**14 + 10**14}@lid"

    def register_contact(
        self, *, phone_value: Any, lid_value: Any, share_pn: Any, on_whatsapp: Any, fail_sends: Any
    ) -> WorldContact:
        phone = parse_phone(phone_value) if phone_value is not None else None
        if lid_value is not None and (not isinstance(lid_value, str) or not LID.fullmatch(lid_value)):
            raise SimError(400, "lid must look like 123456789012345@lid")
        if phone is None and lid_value is None:
            raise SimError(400, "give a phone, a lid or both")
        flags = {"share_pn": share_pn, "on_whatsapp": on_whatsapp, "fail_sends": fail_sends}
        for name, value in flags.items():
            if value is not None and not isinstance(value, bool):
                raise SimError(400, f"{name} must be true or false")
        contact = WorldContact(
            phone=phone,
            lid=lid_value,
            share_pn=True if share_pn is None else share_pn,
            on_whatsapp=True if on_whatsapp is None else on_whatsapp,
            fail_sends=bool(fail_sends),
        )
        if phone:
            self.contacts[phone] = contact
        if lid_value:
            self.contacts_by_lid[lid_value] = contact
        return contact

    def query_exists(self, jid: Any) -> dict[str, Any]:
        """The servers' USync answer for ``jid``: whether it is on WhatsApp and, for a
        phone whose contact moved to LID addressing, the LID its chat lives under."""
        if not isinstance(jid, str):
            return {"exists": False}
        user, _, server = jid.partition("@")
        if server == "lid":
            contact = self.contacts_by_lid.get(jid)
            return {"exists": contact is None or contact.on_whatsapp, "lid": jid}
        try:
            phone = parse_phone(user)
        except SimError:
            return {"exists": False}
        contact = self.contacts.get(phone)
        if contact is not None and not contact.on_whatsapp:
            return {"exists": False}
        return {"exists": True, "lid": contact.lid if contact is not None and contact.lid else None}

    def _recipient(self, chat: str) -> tuple[str | None, WorldContact | None]:
        """The phone behind a chat id (``<phone>@c.us`` or ``<lid>@lid``)."""
        user, _, server = chat.partition("@")
        if server == "lid":
            contact = self.contacts_by_lid.get(chat)
            return (contact.phone if contact else None), contact
        phone = parse_phone(user, field_name="chat")
        return phone, self.contacts.get(phone)

    # --- messages ------------------------------------------------------------------------

    def deliver_inbound(self, data: dict[str, Any]) -> tuple[dict[str, Any], list[Device]]:
        """A contact sends a message to phone ``to``: queue it for every device linked to that
        phone. ``from`` (a phone) and/or ``from_lid``: a LID sender's chat lives under its LID,
        and the page learns its phone only when ``share_pn`` (the default) is true. ``type``
        is ``chat`` or a media or system type; media bodies are thumbnails, the text is in
        ``caption``."""
        phone = parse_phone(data.get("to"), field_name="to")
        sender = parse_phone(data["from"], field_name="from") if data.get("from") is not None else None
        from_lid = data.get("from_lid")
        if from_lid is not None and (not isinstance(from_lid, str) or not LID.fullmatch(from_lid)):
            raise SimError(400, "from_lid must look like 123456789012345@lid")
        if sender is None and from_lid is None:
            raise SimError(400, "give from (a phone), from_lid, or both")
        kind = data.get("type", "chat")
        if kind not in MESSAGE_TYPES:
            raise SimError(400, f"type must be one of {', '.join(sorted(MESSAGE_TYPES))}")
        body = data.get("body")
        caption = data.get("caption")
        if kind == "chat":
            if not isinstance(body, str) or body == "":
                raise SimError(400, "body must be a non-empty string")
        elif kind in MEDIA_TYPES:
            if caption is not None and not isinstance(caption, str):
                raise SimError(400, "caption must be a string")
            # WhatsApp puts a JPEG thumbnail in a media message's body; the text is the caption.
            body = self._thumbnail(data.get("thumbnail"))
        elif kind == "location":
            for name in ("lat", "lng"):
                value = data.get(name)
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise SimError(400, f"{name} must be a number of degrees")
            if not -90 <= data["lat"] <= 90 or not -180 <= data["lng"] <= 180:
                raise SimError(400, "lat must be within ±90 and lng within ±180")
            if data.get("loc") is not None and not isinstance(data.get("loc"), str):
                raise SimError(400, "loc must be a string (name and address, one per line)")
            body = self._thumbnail(data.get("thumbnail"))  # a map thumbnail, like media
        elif kind == "vcard":
            if not isinstance(body, str) or not body.lstrip().upper().startswith("BEGIN:VCARD"):
                raise SimError(400, "a vcard message needs the vCard text as body (BEGIN:VCARD ...)")
        elif body is not None and not isinstance(body, str):
            raise SimError(400, "body must be a string")
        for text in (body, caption):
            if isinstance(text, str) and len(text) > MAX_BODY_CHARS:
                raise SimError(400, f"text is longer than {MAX_BODY_CHARS} characters")
        share_pn = data.get("share_pn", True)
        if not isinstance(share_pn, bool):
            raise SimError(400, "share_pn must be true or false")
        devices = self.linked_devices(phone)
        if not devices:
            raise SimError(404, f"{phone} has no linked device")
        msg_id = "3A" + secrets.token_hex(9).upper()
        chat = from_lid or jid_for(sender or "")
        message = {
            "id": f"false_{chat}_{msg_id}",
            "msg_id": msg_id,
            "from": sender,
            "from_lid": from_lid,
            "share_pn": bool(share_pn and sender and from_lid),
            "to": phone,
            "type": kind,
            "body": body if isinstance(body, str) else "",
            "t": int(time.time()),
        }
        for name in MESSAGE_EXTRAS:
            if data.get(name) is not None:
                message[name] = data[name]
        if kind in MEDIA_TYPES:
            raw = self._decode_bytes(data.get("data"))
            message.update(self._media_fields(kind, raw, message))
        elif kind == "vcard":
            named = data.get("vcard_name")
            message["vcard_name"] = _vcard_name(body) if named is None else str(named)
        if from_lid:
            contact = self.contacts_by_lid.get(from_lid) or WorldContact(phone=sender, lid=from_lid)
            contact.share_pn = bool(share_pn)
            self.contacts_by_lid[from_lid] = contact
            if sender:
                self.contacts.setdefault(sender, contact)
        for device in devices:
            self._queue_event(device, "message", message)
        history = self.inbound.setdefault(phone, [])
        history.append(message)
        del history[:-INBOUND_HISTORY_MAX]
        self.save()
        return message, devices

    def _thumbnail(self, value: Any) -> str:
        if value is None:
            return THUMBNAIL_JPEG_B64
        if not isinstance(value, str):
            raise SimError(400, "thumbnail must be base64 (a small JPEG)")
        self._decode_bytes(value, field_name="thumbnail")
        return value

    @staticmethod
    def _decode_bytes(value: Any, *, field_name: str = "data") -> bytes:
        """The file a test attaches, in base64. Without one, the message still refers to a
        file: the thumbnail's bytes stand in (media is never without bytes on WhatsApp)."""
        if value is None:
            return base64.b64decode(THUMBNAIL_JPEG_B64)
        if not isinstance(value, str):
            raise SimError(400, f"{field_name} must be base64 text")
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise SimError(400, f"{field_name} is not valid base64") from exc

    def store_media(self, raw: bytes) -> str:
        """Keep a file on the media servers; returns its sha256 (hex), its address there."""
        digest = hashlib.sha256(raw).hexdigest()
        self.media.setdefault(digest, raw)
        return digest

    def _media_fields(self, kind: str, raw: bytes, message: dict[str, Any]) -> dict[str, Any]:
        """MsgModel's media fields for a file (wa-js whatsapp/models/MsgModel.ts): `filehash`
        (base64 sha256 of the plain bytes), `directPath` on the media servers, a `mediaKey`
        (random, per message on WhatsApp; the bytes here are served decrypted), the size."""
        limit = UPLOAD_LIMITS.get(kind, UPLOAD_LIMIT_DEFAULT)
        if len(raw) > limit:
            raise SimError(413, f"{kind} files are limited to {limit} bytes by WhatsApp")
        digest = self.store_media(raw)
        fields: dict[str, Any] = {
            "sha256": digest,
            "filehash": base64.b64encode(bytes.fromhex(digest)).decode("ascii"),
            "direct_path": f"/v/t62.7118-24/{digest}",
            "media_key": base64.b64encode(secrets.token_bytes(32)).decode("ascii"),
            "mimetype": message.get("mimetype") or DEFAULT_MIMETYPES[kind],
        }
        if message.get("size") is None:
            fields["size"] = len(raw)
        return fields

    def media_bytes(self, digest: Any) -> bytes:
        if not isinstance(digest, str) or not re.fullmatch(r"[0-9a-f]{64}", digest):
            raise SimError(400, "media is addressed by the sha256 of its bytes (64 hex digits)")
        raw = self.media.get(digest)
        if raw is None:
            raise SimError(404, "no such media on the servers")
        return raw

    def forward_inbound(self, message_id: Any, data: dict[str, Any]) -> tuple[dict[str, Any], list[Device]]:
        """The contact forwards a message it sent before (to the same phone, or ``to``): a new
        message id, the same file on the media servers (WhatsApp forwards media by reference,
        same filehash), marked ``isForwarded``."""
        if not isinstance(message_id, str) or not message_id:
            raise SimError(400, "give the id of a delivered message")
        original = next(
            (m for history in self.inbound.values() for m in history if message_id in (m["id"], m["msg_id"])),
            None,
        )
        if original is None:
            raise SimError(404, f"no delivered message {message_id}")
        phone = parse_phone(data["to"], field_name="to") if data.get("to") is not None else original["to"]
        devices = self.linked_devices(phone)
        if not devices:
            raise SimError(404, f"{phone} has no linked device")
        msg_id = "3A" + secrets.token_hex(9).upper()
        chat = original["from_lid"] or jid_for(original["from"] or "")
        message = dict(original, id=f"false_{chat}_{msg_id}", msg_id=msg_id, to=phone, t=int(time.time()))
        message["is_forwarded"] = True
        if "media_key" in original:
            message["media_key"] = base64.b64encode(secrets.token_bytes(32)).decode("ascii")
        for device in devices:
            self._queue_event(device, "message", message)
        self.inbound.setdefault(phone, []).append(message)
        self.save()
        return message, devices

    def replay_inbound(self, phone_value: Any) -> tuple[int, list[Device]]:
        """Deliver every inbound message ``phone`` received again, with the same ids, to its
        linked devices: the duplicates a flaky network or a resync produces."""
        phone = parse_phone(phone_value)
        devices = self.linked_devices(phone)
        if not devices:
            raise SimError(404, f"{phone} has no linked device")
        history = self.inbound.get(phone, [])
        for device in devices:
            for message in history:
                self._queue_event(device, "message", message)
        self.save()
        return len(history), devices

    def record_send(
        self,
        device: Device,
        *,
        msg_id: Any,
        chat_value: Any,
        body: Any,
        kind: Any = "chat",
        media: Any = None,
    ) -> OutboxEntry:
        """A linked page sent a message to a chat: the servers accept it (ack 1) and the phone
        sees it; or refuse it (a contact whose messages fail). A media message refers to a
        file the page uploaded first (``media.sha256``); its body is the caption."""
        if device.status != "linked" or not device.phone:
            raise SimError(409, "not_authenticated")
        if not isinstance(msg_id, str) or not re.fullmatch(r"[0-9A-F]{16,32}", msg_id):
            raise SimError(400, "message id must be 16-32 uppercase hex characters")
        if not isinstance(chat_value, str) or "@" not in chat_value:
            raise SimError(400, "chat must be a jid")
        to, contact = self._recipient(chat_value)
        if to is None and contact is None:
            raise SimError(404, "no such chat")
        if contact is not None and (contact.fail_sends or not contact.on_whatsapp):
            raise SimError(409, "message refused by the servers")
        kind = kind or "chat"
        if kind not in ("chat", "location", "vcard") and kind not in MEDIA_TYPES:
            raise SimError(400, f"cannot send a message of type {kind!r}")
        if media is not None and not isinstance(media, dict):
            raise SimError(400, "media must be an object")
        media = dict(media or {})
        if kind in MEDIA_TYPES:
            raw = self.media_bytes(media.get("sha256"))  # uploaded first, or refused
            media["size"] = len(raw)
            if body is None:
                body = ""
        elif kind == "chat" and (not isinstance(body, str) or body == ""):
            raise SimError(400, "body must be a non-empty string")
        elif body is None:
            body = ""  # a location has no text
        if not isinstance(body, str):
            raise SimError(400, "body must be a string")
        wam_id = f"true_{chat_value}_{msg_id}"
        for entry in self.outbox:
            if entry.id == wam_id:
                return entry  # a resend after a reconnect is the same message
        entry = OutboxEntry(
            id=wam_id,
            msg_id=msg_id,
            phone=device.phone,
            device_id=device.device_id,
            to=to or (contact.lid if contact else ""),
            body=body,
            at=time.time(),
            chat=chat_value,
            type=kind,
            media=media or None,
        )
        self.outbox.append(entry)
        self.save()
        return entry

    def outbox_of(self, phone: str) -> list[OutboxEntry]:
        return [entry for entry in self.outbox if entry.phone == phone]

    def ack(self, *, id_value: Any, ack_value: Any) -> tuple[OutboxEntry, list[Device]]:
        """The recipient's phone reports a sent message delivered (2) or read (3)."""
        if not isinstance(id_value, str) or not id_value:
            raise SimError(400, "id must be the message id (serialised key or bare id)")
        if type(ack_value) is not int or ack_value not in (2, 3):
            raise SimError(400, "ack must be 2 (delivered) or 3 (read)")
        entry = next((e for e in self.outbox if id_value in (e.id, e.msg_id)), None)
        if entry is None:
            raise SimError(404, f"no sent message {id_value}")
        if ack_value < entry.ack:
            raise SimError(409, f"message is already at ack {entry.ack}; acks never go back")
        entry.ack = ack_value
        devices = self.linked_devices(entry.phone)
        # The receipt names the chat as the message addressed it (a LID chat: its LID).
        chat = entry.chat or jid_for(entry.to)
        payload = {"ack": ack_value, "id": entry.id, "msg_id": entry.msg_id, "chat": chat}
        for device in devices:
            self._queue_event(device, "ack", payload)
        self.save()
        return entry, devices

    def confirm_events(self, device: Device, upto: Any) -> None:
        if isinstance(upto, bool) or not isinstance(upto, int):
            return
        before = len(device.pending)
        device.pending = [event for event in device.pending if event["eseq"] > upto]
        if len(device.pending) != before:
            self.save()


def _vcard_name(vcard: str) -> str:
    """The FN (formatted name) of a vCard: what WhatsApp shows as the card's title
    (MsgModel.vcardFormattedName)."""
    for line in vcard.splitlines():
        name, _, value = line.partition(":")
        if name.split(";")[0].strip().upper() == "FN":
            return value.strip()
    return ""
