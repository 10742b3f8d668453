"""The control API: tests, the demo and a human at ``/control/`` act as the phones and the
outside world through it. JSON in, JSON out; errors are ``{"error": "..."}`` with 400
(malformed input), 404 (unknown thing) or 409 (not possible in the current state) — never 500.

Routes (all under ``/control/api``):

  GET  /state                          everything below in one object (the control page polls it)
  GET  /qr                             QR codes on screen now: [{device_id, code, ref, issued_at, expires_at}]
  POST /scan                           {phone, code} or {phone, device_id}: the phone scans a QR
  POST /link-code                      {phone, code}: the phone enters an 8-character link code
  GET  /devices                        [{device_id, status, phone, online, frozen, dropped, linked_at,
                                         last_seen_at, pending_events}]
  GET  /devices/{device_id}            one of those
  POST /devices/{device_id}/logout     the phone removes this linked device
  POST /devices/{device_id}/freeze     silent hang: looks connected and ready, delivers nothing
  POST /devices/{device_id}/unfreeze   end the hang; held events are delivered
  POST /devices/{device_id}/drop       {hold_s?}: cut the connection; refuse reconnects for hold_s
                                         seconds (absent or null: until /reconnect)
  POST /devices/{device_id}/reconnect  allow a dropped device to connect again
  GET  /phones                         {"+E164": [device_id, ...]} for phones with linked devices
  POST /phones/{phone}/logout          log out every device of this phone
  POST /phones/{phone}/replay          deliver every inbound message of this phone again (same ids)
  GET  /phones/{phone}/outbox          what this phone's devices sent: [{id, msg_id, device_id, to,
                                         body, at, ack, type, media}]; `media` holds the sha256 of the
                                         uploaded bytes (fetch them at /media/{sha256}), mimetype,
                                         filename, size, lat/lng/loc, vcardFormattedName...
  POST /messages                       {from?, from_lid?, share_pn?, to, type?, body?, caption?, mimetype?,
                                         filename?, size?, duration?, push_name?, ...}: a contact sends a
                                         message to phone ``to`` (text, media, or a system type);
                                         answers {message, devices: [{device_id, online, frozen}]}
                                       media: type image|video|audio|ptt|document|sticker with the
                                         file as `data` (base64) and optional `thumbnail` (base64 JPEG,
                                         the message body), `caption`, `filename`, `mimetype`, `duration`,
                                         `width`, `height`, `is_view_once`; location: `lat`, `lng`, `loc`
                                         ("name\naddress"); vcard: the vCard text as `body`
  POST /messages/{id}/forward          {to?}: the sender forwards that message again: a new id, the
                                         same file on the media servers (isForwarded)
  GET  /media/{sha256}                 the bytes of a file on the media servers (what a page uploaded
                                         or a contact attached), application/octet-stream
  GET  /media-downloads                {paused, fail_next, served: {sha256: count}}
  POST /media-downloads                {paused?, fail_next?}: hold every page's media download until
                                         unpaused (a slow CDN), or fail the next N with 404
  POST /contacts                       {phone?, lid?, share_pn?, on_whatsapp?, fail_sends?}: someone the
                                         servers know (a LID-addressed contact, a number not on WhatsApp,
                                         one whose messages the servers refuse)
  POST /devices/{device_id}/reload     WhatsApp Web reloads itself (every injected script is gone)
  GET  /read-receipts                  read receipts pages sent: [{device_id, phone, chat, ids, at}]
  GET  /third-party                    what pages' wa-js sent to third parties (analytics, link previews)
  POST /acks                           {id, ack: 2|3}: the recipient's phone got / read a sent text
  POST /reset                          forget everything (tests); every page is disconnected

Phones are E.164 (``+5511999999999``); in paths the ``+`` may be left out.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from .hub import Hub
from .model import SimError, parse_phone

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
HUB_KEY: web.AppKey[Hub] = web.AppKey("hub", Hub)


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=lambda obj: json.dumps(obj, ensure_ascii=False))


@web.middleware
async def control_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn refusals into clear JSON errors; a bug still surfaces as 500 in the log."""
    try:
        return await handler(request)
    except SimError as exc:
        return _json({"error": exc.message}, status=exc.status)


async def _body(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise SimError(400, "body must be a JSON object") from exc
    if not isinstance(data, dict):
        raise SimError(400, "body must be a JSON object")
    return data


def _hub(request: web.Request) -> Hub:
    return request.app[HUB_KEY]


def _outbox_rows(hub: Hub, phone: str) -> list[dict[str, Any]]:
    return [
        {
            "id": e.id,
            "msg_id": e.msg_id,
            "device_id": e.device_id,
            "to": e.to,
            "body": e.body,
            "at": e.at,
            "ack": e.ack,
            "type": e.type,
            "media": e.media,
        }
        for e in hub.state.outbox_of(phone)
    ]


async def get_state(request: web.Request) -> web.Response:
    hub = _hub(request)
    phones = hub.state.phones()
    return _json(
        {
            "qr_period": hub.qr_period,
            "qr": hub.waiting_qr(),
            "devices": hub.device_summaries(),
            "phones": phones,
            "outbox": {phone: _outbox_rows(hub, phone) for phone in phones},
        }
    )


async def get_qr(request: web.Request) -> web.Response:
    return _json(_hub(request).waiting_qr())


async def post_scan(request: web.Request) -> web.Response:
    hub = _hub(request)
    data = await _body(request)
    phone = parse_phone(data.get("phone"))
    if data.get("device_id") is not None:
        device = hub.state.get_device(data["device_id"])
        if device.status == "pending" and not (hub.is_online(device.device_id) and device.qr):
            raise SimError(409, "no page is showing a QR code for this device")
    elif data.get("code") is not None:
        device = hub.state.find_by_code(data["code"])
    else:
        raise SimError(400, "give the QR text as code, or a device_id")
    hub.state.link(device, phone)
    await hub.device_linked(device)
    return _json(device.summary(online=hub.is_online(device.device_id), now=time.time()))


async def post_link_code(request: web.Request) -> web.Response:
    hub = _hub(request)
    data = await _body(request)
    device = hub.state.enter_link_code(phone_value=data.get("phone"), code_value=data.get("code"))
    await hub.device_linked(device)
    return _json(device.summary(online=hub.is_online(device.device_id), now=time.time()))


async def get_devices(request: web.Request) -> web.Response:
    return _json(_hub(request).device_summaries())


async def get_device(request: web.Request) -> web.Response:
    hub = _hub(request)
    device = hub.state.get_device(request.match_info["device_id"])
    return _json(device.summary(online=hub.is_online(device.device_id), now=time.time()))


async def post_device_action(request: web.Request) -> web.Response:
    hub = _hub(request)
    device = hub.state.get_device(request.match_info["device_id"])
    action = request.match_info["action"]
    data = await _body(request)
    if action == "logout":
        hub.state.logout(device)
        await hub.device_logged_out(device)
    elif action == "freeze":
        await hub.freeze(device)
    elif action == "unfreeze":
        await hub.unfreeze(device)
    elif action == "drop":
        hold_s = data.get("hold_s")
        if hold_s is not None and (
            isinstance(hold_s, bool) or not isinstance(hold_s, int | float) or not 0 <= hold_s <= 86400
        ):
            raise SimError(400, "hold_s must be a number of seconds between 0 and 86400, or null")
        await hub.drop(device, None if hold_s is None else float(hold_s))
    elif action == "reconnect":
        hub.allow_reconnect(device)
    elif action == "reload":
        await hub.reload(device)
    else:
        raise SimError(404, f"no action {action}")
    return _json(device.summary(online=hub.is_online(device.device_id), now=time.time()))


async def get_phones(request: web.Request) -> web.Response:
    return _json(_hub(request).state.phones())


async def post_phone_logout(request: web.Request) -> web.Response:
    hub = _hub(request)
    phone = parse_phone(request.match_info["phone"])
    devices = hub.state.linked_devices(phone)
    for device in devices:
        hub.state.logout(device)
        await hub.device_logged_out(device)
    return _json({"logged_out": [device.device_id for device in devices]})


async def post_phone_replay(request: web.Request) -> web.Response:
    hub = _hub(request)
    count, devices = hub.state.replay_inbound(request.match_info["phone"])
    for device in devices:
        await hub.flush(device)
    return _json({"replayed": count, "devices": [device.device_id for device in devices]})


async def get_outbox(request: web.Request) -> web.Response:
    hub = _hub(request)
    return _json(_outbox_rows(hub, parse_phone(request.match_info["phone"])))


async def _delivered(hub: Hub, message: dict[str, Any], devices: list) -> web.Response:
    """Pushes a delivered message to its devices and answers with where it went."""
    for device in devices:
        await hub.flush(device)
    return _json(
        {
            "message": message,
            "devices": [
                {"device_id": d.device_id, "online": hub.is_online(d.device_id), "frozen": d.frozen}
                for d in devices
            ],
        }
    )


async def post_message(request: web.Request) -> web.Response:
    hub = _hub(request)
    message, devices = hub.state.deliver_inbound(await _body(request))
    return await _delivered(hub, message, devices)


async def post_forward(request: web.Request) -> web.Response:
    hub = _hub(request)
    message, devices = hub.state.forward_inbound(request.match_info["message_id"], await _body(request))
    return await _delivered(hub, message, devices)


async def get_media(request: web.Request) -> web.Response:
    raw = _hub(request).state.media_bytes(request.match_info["sha256"])
    return web.Response(body=raw, content_type="application/octet-stream")


async def get_media_downloads(request: web.Request) -> web.Response:
    return _json(_hub(request).media_downloads_summary())


async def post_media_downloads(request: web.Request) -> web.Response:
    hub = _hub(request)
    data = await _body(request)
    paused, fail_next = data.get("paused"), data.get("fail_next")
    if paused is not None and not isinstance(paused, bool):
        raise SimError(400, "paused must be true or false")
    bad_count = isinstance(fail_next, bool) or not isinstance(fail_next, int) or fail_next < 0
    if fail_next is not None and bad_count:
        raise SimError(400, "fail_next must be a count (0 or more)")
    hub.set_media_downloads(paused=paused, fail_next=fail_next)
    return _json(hub.media_downloads_summary())


async def post_ack(request: web.Request) -> web.Response:
    hub = _hub(request)
    data = await _body(request)
    entry, devices = hub.state.ack(id_value=data.get("id"), ack_value=data.get("ack"))
    for device in devices:
        await hub.flush(device)
    return _json({"id": entry.id, "ack": entry.ack, "devices": [d.device_id for d in devices]})


async def post_contact(request: web.Request) -> web.Response:
    hub = _hub(request)
    data = await _body(request)
    contact = hub.state.register_contact(
        phone_value=data.get("phone"),
        lid_value=data.get("lid"),
        share_pn=data.get("share_pn"),
        on_whatsapp=data.get("on_whatsapp"),
        fail_sends=data.get("fail_sends"),
    )
    return _json(dataclasses.asdict(contact))


async def get_read_receipts(request: web.Request) -> web.Response:
    return _json(_hub(request).state.read_receipts)


async def get_third_party(request: web.Request) -> web.Response:
    return _json(_hub(request).state.third_party)


async def post_third_party_beacon(request: web.Request) -> web.Response:
    """What a page's wa-js would have sent to a third party (analytics, link previews)."""
    raw = await request.read()
    try:
        data = json.loads(raw.decode("utf-8")) if raw else {}
    except (UnicodeDecodeError, ValueError):
        data = {}
    if isinstance(data, dict):
        _hub(request).state.third_party.append(
            {"what": str(data.get("what"))[:100], "detail": str(data.get("detail"))[:500], "at": time.time()}
        )
    return web.Response(status=204)


async def post_reset(request: web.Request) -> web.Response:
    await _hub(request).reset()
    return _json({"ok": True})


def add_routes(app: web.Application) -> None:
    prefix = "/control/api"
    app.router.add_get(f"{prefix}/state", get_state)
    app.router.add_get(f"{prefix}/qr", get_qr)
    app.router.add_post(f"{prefix}/scan", post_scan)
    app.router.add_post(f"{prefix}/link-code", post_link_code)
    app.router.add_get(f"{prefix}/devices", get_devices)
    app.router.add_get(f"{prefix}/devices/{{device_id}}", get_device)
    app.router.add_post(f"{prefix}/devices/{{device_id}}/{{action}}", post_device_action)
    app.router.add_get(f"{prefix}/phones", get_phones)
    app.router.add_post(f"{prefix}/phones/{{phone}}/logout", post_phone_logout)
    app.router.add_post(f"{prefix}/phones/{{phone}}/replay", post_phone_replay)
    app.router.add_get(f"{prefix}/phones/{{phone}}/outbox", get_outbox)
    app.router.add_post(f"{prefix}/messages", post_message)
    app.router.add_post(f"{prefix}/messages/{{message_id}}/forward", post_forward)
    app.router.add_get(f"{prefix}/media/{{sha256}}", get_media)
    app.router.add_get(f"{prefix}/media-downloads", get_media_downloads)
    app.router.add_post(f"{prefix}/media-downloads", post_media_downloads)
    app.router.add_post(f"{prefix}/acks", post_ack)
    app.router.add_post(f"{prefix}/reset", post_reset)
    app.router.add_post(f"{prefix}/contacts", post_contact)
    app.router.add_get(f"{prefix}/read-receipts", get_read_receipts)
    app.router.add_get(f"{prefix}/third-party", get_third_party)
    app.router.add_post("/third-party", post_third_party_beacon)
