"""Media messages through the simulator and the page bridge (issue 17), as wa-js 4.6.0 shapes
them: inbound MsgModel fields turned into Chat.media keys, the file fetched with
WPP.chat.downloadMedia and handed over in chunks byte for byte, and files, locations and
contact cards sent with sendFileMessage / sendLocationMessage / sendVCardContactMessage
reaching the simulated phone's outbox with the same bytes."""

from __future__ import annotations

import base64
import hashlib
import time
import uuid

import pytest

from sessions_app.webjs.driver.bridge import PageBridge
from sessions_app.webjs.driver.errors import SendNotStarted

from . import media_samples
from .support import control_api, last_seq, login, random_phone, wait_event, wait_for

pytestmark = pytest.mark.browser


@pytest.fixture
def linked(sim, browsers, phone):
    browser = browsers().open(sim.url)
    login(sim, browser, phone)
    return browser


def deliver(sim, phone, contact, **fields):
    return sim.ok("POST", "/messages", {"from": contact, "to": phone, **fields})["message"]


def fetch_bytes(
    bridge: PageBridge, wam_id: str, *, max_bytes: int = 16 * 2**20, chunk: int = 64 * 1024
) -> bytes:
    state = bridge.media_start(wam_id, max_bytes=max_bytes)
    state = wait_for(
        lambda: (s := bridge.media_status(wam_id))["state"] != "downloading" and s,
        timeout=15,
        what="download",
    )
    assert state["state"] == "ready", state
    data = b"".join(bridge.media_chunk(wam_id, offset, chunk) for offset in range(0, state["size"], chunk))
    assert hashlib.sha256(data).hexdigest() == state["sha256"]
    assert bridge.media_release(wam_id)
    return data


def message_event(bridge, wam_id):
    return wait_event(bridge, "message", match=lambda e: e["payload"]["id"] == wam_id)["payload"]


def test_it_hands_over_an_inbound_image_byte_for_byte_with_its_caption(sim, linked, phone):
    image = media_samples.png(120, 80)
    sent = deliver(
        sim,
        phone,
        random_phone(),
        type="image",
        data=base64.b64encode(image).decode(),
        caption="the receipt",
        mimetype="image/png",
        width=120,
        height=80,
    )

    message = message_event(linked.bridge, sent["id"])

    assert message["type"] == "image"
    assert message["body"] == "the receipt"  # the caption, not the thumbnail in MsgModel.body
    assert message["media"] == {
        "mimetype": "image/png",
        "size": len(image),
        "width": 120,
        "height": 80,
        "view_once": False,
    }
    # Chunks far smaller than the file: the hand-over is really chunked.
    assert fetch_bytes(linked.bridge, sent["id"], chunk=1000) == image


@pytest.mark.parametrize(
    ("kind", "make", "extra", "expected_media"),
    [
        (
            "ptt",
            media_samples.ogg_opus,
            {"duration": 7},
            {"mimetype": "audio/ogg; codecs=opus", "duration": 7},
        ),
        (
            "video",
            media_samples.mp4,
            {"caption": "unboxing", "duration": 3, "mimetype": "video/mp4"},
            {"mimetype": "video/mp4", "duration": 3},
        ),
        (
            "document",
            media_samples.pdf,
            {"filename": "nota.pdf", "mimetype": "application/pdf"},
            {"mimetype": "application/pdf", "filename": "nota.pdf"},
        ),
        ("sticker", media_samples.webp, {}, {"mimetype": "image/webp"}),
    ],
)
def test_it_hands_over_every_kind_of_file(sim, linked, phone, kind, make, extra, expected_media):
    data = make()
    sent = deliver(sim, phone, random_phone(), type=kind, data=base64.b64encode(data).decode(), **extra)

    message = message_event(linked.bridge, sent["id"])

    assert message["type"] == kind
    assert message["body"] == extra.get("caption")
    assert {k: message["media"][k] for k in expected_media} == expected_media
    assert message["media"]["size"] == len(data)
    assert fetch_bytes(linked.bridge, sent["id"]) == data


def test_a_document_named_but_not_captioned_has_no_caption(sim, linked, phone):
    # wa-js sendFileMessage.ts puts the file name in `caption` when the sender wrote none.
    sent = deliver(
        sim,
        phone,
        random_phone(),
        type="document",
        data=base64.b64encode(media_samples.pdf()).decode(),
        filename="boleto.pdf",
    )
    linked.driver.execute_script(
        "const m = window.__wasimApp.MsgStore.models.get(arguments[0]); m.caption = m.filename;"
        " m.isCaptionByUser = false;",
        sent["id"],
    )  # shapes the stored model only; the event may already be queued with the caption absent
    assert message_event(linked.bridge, sent["id"])["body"] is None


def test_it_reads_locations_and_contact_cards_without_bytes(sim, linked, phone):
    contact = random_phone()
    location = deliver(
        sim,
        phone,
        contact,
        type="location",
        lat=-23.5614,
        lng=-46.6559,
        loc="Loja Paulista\nAv. Paulista, 1000",
    )
    vcard = (
        "BEGIN:VCARD\nVERSION:3.0\nFN:Maria Souza\n"
        "TEL;type=CELL;waid=5511988887777:+55 11 98888-7777\nEND:VCARD"
    )
    card = deliver(sim, phone, contact, type="vcard", body=vcard)

    where = message_event(linked.bridge, location["id"])
    who = message_event(linked.bridge, card["id"])

    assert where["type"] == "location" and where["body"] is None
    assert where["media"] == {
        "lat": -23.5614,
        "lng": -46.6559,
        "name": "Loja Paulista",
        "address": "Av. Paulista, 1000",
    }
    assert who["type"] == "vcard" and who["body"] is None
    assert who["media"] == {"vcard": vcard, "name": "Maria Souza"}
    state = linked.bridge.media_start(location["id"], max_bytes=2**20)
    state = wait_for(
        lambda: (s := linked.bridge.media_status(location["id"]))["state"] != "downloading" and s
    )
    assert (
        state["state"] == "failed"
        and state["reason"] == "message_not_contains_media"
        and not state.get("transient")
    )


def test_it_refuses_a_file_over_the_limit_before_handing_it_over(sim, linked, phone):
    data = media_samples.jpeg(size=300_000)
    sent = deliver(sim, phone, random_phone(), type="image", data=base64.b64encode(data).decode())
    message_event(linked.bridge, sent["id"])

    linked.bridge.media_start(sent["id"], max_bytes=100_000)
    state = wait_for(lambda: (s := linked.bridge.media_status(sent["id"]))["state"] != "downloading" and s)

    assert state["state"] == "failed" and state["reason"] == "too_large" and not state.get("transient")
    served = sim.ok("GET", "/media-downloads")["served"]
    assert hashlib.sha256(data).hexdigest() not in served  # refused on the declared size


def test_a_forwarded_file_is_the_same_bytes_under_a_new_id(sim, linked, phone):
    image = media_samples.jpeg()
    contact = random_phone()
    first = deliver(sim, phone, contact, type="image", data=base64.b64encode(image).decode())
    again = sim.ok("POST", f"/messages/{first['id']}/forward", {})["message"]

    assert again["id"] != first["id"] and again["filehash"] == first["filehash"]
    assert message_event(linked.bridge, again["id"])["forwarded"] is True
    assert fetch_bytes(linked.bridge, again["id"]) == image


def test_a_paused_download_stays_pending_until_the_servers_answer(sim, linked, phone):
    image = media_samples.png()
    sent = deliver(sim, phone, random_phone(), type="image", data=base64.b64encode(image).decode())
    message_event(linked.bridge, sent["id"])
    sim.ok("POST", "/media-downloads", {"paused": True})
    try:
        assert linked.bridge.media_start(sent["id"], max_bytes=2**20)["state"] == "downloading"
        time.sleep(1)
        assert linked.bridge.media_status(sent["id"])["state"] == "downloading"
    finally:
        sim.ok("POST", "/media-downloads", {"paused": False})
    assert fetch_bytes(linked.bridge, sent["id"]) == image


def test_a_reloaded_page_still_finds_an_older_message_and_its_file(sim, linked, phone):
    # WhatsApp Web keeps received messages in IndexedDB ("model-storage").
    image = media_samples.png()
    sent = deliver(sim, phone, random_phone(), type="image", data=base64.b64encode(image).decode())
    message_event(linked.bridge, sent["id"])
    before = last_seq(linked.bridge)
    linked.driver.refresh()
    wait_event(linked.bridge, "ready", after_seq=before, timeout=20)
    assert not linked.driver.execute_script(
        "return window.__wasimApp.MsgStore.models.has(arguments[0])", sent["id"]
    )  # not loaded: found in storage
    assert fetch_bytes(linked.bridge, sent["id"]) == image


@pytest.mark.parametrize(
    ("kind", "make", "mimetype", "filename", "caption", "wpp_type"),
    [
        ("image", media_samples.png, "image/png", "photo.png", "look", "image"),
        ("ptt", media_samples.ogg_opus, "audio/ogg; codecs=opus", "voice.ogg", None, "ptt"),
        ("audio", media_samples.ogg_opus, "audio/ogg", "song.ogg", None, "audio"),
        ("video", media_samples.mp4, "video/mp4", "clip.mp4", "clip", "video"),
        ("document", media_samples.pdf, "application/pdf", "nota fiscal.pdf", "your invoice", "document"),
        ("sticker", media_samples.webp, "image/webp", "sticker.webp", None, "sticker"),
    ],
)
def test_it_sends_every_kind_of_file_byte_for_byte(
    sim, linked, phone, kind, make, mimetype, filename, caption, wpp_type
):
    data = make()
    contact = random_phone()
    key = str(uuid.uuid4())

    assert linked.bridge.media_put(key, data, chunk_bytes=700) == len(data)
    wam_id = linked.bridge.send_media(
        contact,
        {"kind": kind, "size": len(data), "mimetype": mimetype, "filename": filename, "caption": caption},
        idempotency_key=key,
    )

    [sent] = sim.ok("GET", f"/phones/{phone}/outbox")
    assert sent["id"] == wam_id and sent["to"] == contact and sent["type"] == wpp_type
    assert sent["media"]["sha256"] == hashlib.sha256(data).hexdigest()
    assert sent["media"]["mimetype"] == mimetype and sent["media"]["filename"] == filename
    assert sent["media"]["caption"] == caption
    status, raw = _raw_media(sim, sent["media"]["sha256"])
    assert status == 200 and raw == data
    # The same key again is the same message (idempotency, as for texts).
    assert (
        linked.bridge.send_media(
            contact,
            {"kind": kind, "size": len(data), "mimetype": mimetype, "filename": filename},
            idempotency_key=key,
        )
        == wam_id
    )
    assert len(sim.ok("GET", f"/phones/{phone}/outbox")) == 1


def test_a_file_not_fully_pushed_is_not_sent(sim, linked, phone):
    data = media_samples.png()
    key = str(uuid.uuid4())
    linked.bridge.media_put(key, data[:100])
    with pytest.raises(SendNotStarted, match="media_incomplete"):
        linked.bridge.send_media(
            random_phone(), {"kind": "image", "size": len(data), "mimetype": "image/png"}, idempotency_key=key
        )
    assert sim.ok("GET", f"/phones/{phone}/outbox") == []


def test_it_sends_a_location_and_a_contact_card(sim, linked, phone):
    contact = random_phone()
    where = linked.bridge.send_media(
        contact,
        {
            "kind": "location",
            "lat": -22.95201,
            "lng": -43.2102601,
            "name": "Cristo Redentor",
            "address": "Rio",
        },
        idempotency_key=str(uuid.uuid4()),
    )
    who = linked.bridge.send_media(
        contact,
        {"kind": "vcard", "contact": "+5511988887777", "name": "Maria Souza"},
        idempotency_key=str(uuid.uuid4()),
    )

    outbox = {m["id"]: m for m in sim.ok("GET", f"/phones/{phone}/outbox")}
    assert outbox[where]["type"] == "location"
    assert (
        outbox[where]["media"]["lat"] == -22.95201 and outbox[where]["media"]["loc"] == "Cristo Redentor\nRio"
    )
    assert outbox[who]["type"] == "vcard"
    assert "waid=5511988887777" in outbox[who]["body"] and "FN:Maria Souza" in outbox[who]["body"]


def _raw_media(sim, digest):
    import urllib.request

    with urllib.request.urlopen(sim.url + "control/api/media/" + digest, timeout=10) as response:
        return response.status, response.read()


def test_the_control_api_refuses_bad_media_input(sim, phone, linked):
    contact = random_phone()
    for body, needle in [
        ({"type": "image", "data": "not base64!!"}, "base64"),
        ({"type": "location", "lat": "north", "lng": 1}, "lat"),
        ({"type": "vcard", "body": "hello"}, "vCard"),
    ]:
        status, answer = control_api(sim.url, "POST", "/messages", {"from": contact, "to": phone, **body})
        assert status == 400 and needle in answer["error"], (body, answer)
    assert sim.api("POST", "/messages/nope/forward", {})[0] == 404
    assert sim.api("GET", "/media/" + "0" * 64)[0] == 404


def test_handing_files_over_leaves_nothing_in_the_page(sim, linked, phone):
    # Chunks returned by execute_script stayed in the page's heap (about 1.35 MB of JS heap per
    # 1 MB file, after a forced collection); read through DevTools they do not.
    def heap_mb() -> float:
        linked.bridge.collect_garbage()
        return linked.driver.execute_script("return performance.memory.usedJSHeapSize") / 2**20

    contact = random_phone()
    warm = deliver(sim, phone, contact, type="image", data=base64.b64encode(media_samples.png()).decode())
    message_event(linked.bridge, warm["id"])
    fetch_bytes(linked.bridge, warm["id"])
    before = heap_mb()
    for _ in range(24):
        data = media_samples.jpeg(size=2**20)
        sent = deliver(sim, phone, contact, type="image", data=base64.b64encode(data).decode())
        message_event(linked.bridge, sent["id"])
        assert fetch_bytes(linked.bridge, sent["id"], chunk=512 * 1024) == data
    linked.bridge.confirm(10**18)

    assert heap_mb() - before < 12, "24 MB of files handed over left their bytes in the page"
