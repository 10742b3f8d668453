"""Media messages end to end (issue 17), through a real session worker, real Chromium and the
simulator: every kind arrives with the exact bytes that were sent (sha256), its caption and
its metadata; every kind goes out byte for byte; a worker killed between the message row and
its bytes stores the bytes once after it comes back; a forwarded image is one file."""

from __future__ import annotations

import base64
import hashlib
import time

import pytest

from messaging import services as messaging
from messaging.models import Chat, MediaFile
from messaging.services.media import OutboundMedia, media_file_store, outbound_media_open
from sessions_app.models import SessionSnapshot, WorkerInstance
from tests.e2e.test_connect_number import connect
from tests.e2e.workers import wait_until
from tests.factories import WorkspaceFactory
from tests.simulator import media_samples

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
NUMBER, CUSTOMER = "+5511987650171", "+14155550271"
VCARD = (
    "BEGIN:VCARD\nVERSION:3.0\nFN:Maria Souza\nTEL;type=CELL;waid=5511988887777:+55 11 98888-7777\nEND:VCARD"
)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def stored_bytes(chat: Chat) -> bytes:
    handle = outbound_media_open(chat=chat)
    try:
        return handle.read()
    finally:
        handle.close()


def deliver(sim, **fields) -> str:
    return sim.ok("POST", "/messages", {"from": CUSTOMER, "to": NUMBER, **fields})["message"]["id"]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@pytest.fixture
def worker(start_worker):
    worker = start_worker("wa_media")
    wait_until(lambda: WorkerInstance.objects.filter(name="wa_media").exists(), what="worker", log=worker.log)
    return worker


def test_every_kind_arrives_byte_for_byte_with_its_caption_and_metadata(sim, worker):
    workspace = WorkspaceFactory()
    connect(sim, worker, workspace, NUMBER)
    files = {
        "image": media_samples.png(120, 80),
        "ptt": media_samples.ogg_opus(),
        "video": media_samples.mp4(),
        "document": media_samples.pdf(),
        "sticker": media_samples.webp(),
    }
    ids = {
        "image": deliver(
            sim, type="image", data=b64(files["image"]), caption="o recibo 🧾", width=120, height=80
        ),
        "ptt": deliver(sim, type="ptt", data=b64(files["ptt"]), duration=4),
        "video": deliver(sim, type="video", data=b64(files["video"]), caption="unboxing", duration=3),
        "document": deliver(sim, type="document", data=b64(files["document"]), filename="nota fiscal.pdf"),
        "sticker": deliver(sim, type="sticker", data=b64(files["sticker"])),
        "location": deliver(sim, type="location", lat=-23.5614, lng=-46.6559, loc="Loja\nAv. Paulista, 1000"),
        "vcard": deliver(
            sim,
            type="vcard",
            body=VCARD,
        ),
    }

    wait_until(
        lambda: Chat.objects.filter(workspace=workspace, media_status="ready").count() == len(files),
        timeout=60,
        what="every file stored",
        log=worker.log,
    )
    chats = {kind: Chat.objects.get(workspace=workspace, wam_id=wam_id) for kind, wam_id in ids.items()}
    for kind, data in files.items():
        chat = chats[kind]
        assert chat.media["type"] == kind
        assert chat.media_file.sha256 == sha(data) and sha(stored_bytes(chat)) == sha(data), kind
        assert chat.media["size"] == len(data) == chat.media_file.size
    assert chats["image"].body == "o recibo 🧾" and chats["video"].body == "unboxing"
    assert chats["image"].media_file.mimetype == "image/png"  # sniffed from the bytes
    assert (chats["image"].media["width"], chats["image"].media["height"]) == (120, 80)
    assert chats["ptt"].media["duration"] == 4 and chats["ptt"].media_file.mimetype.startswith("audio/ogg")
    assert chats["video"].media["duration"] == 3
    assert chats["document"].media["filename"] == "nota fiscal.pdf" and chats["document"].body == ""
    assert chats["document"].media_file.mimetype == "application/pdf"
    location = chats["location"].media
    assert {k: location.get(k) for k in ("type", "lat", "lng", "name", "address")} == {
        "type": "location",
        "lat": -23.5614,
        "lng": -46.6559,
        "name": "Loja",
        "address": "Av. Paulista, 1000",
    }
    assert chats["vcard"].media["vcard"] == VCARD
    assert chats["location"].media_file is None and chats["vcard"].media_file is None


@pytest.mark.parametrize(
    ("kind", "make", "filename", "caption"),
    [
        ("image", media_samples.png, "photo.png", "olha só"),
        ("ptt", media_samples.ogg_opus, "voice.ogg", ""),
        ("video", media_samples.mp4, "clip.mp4", "o vídeo"),
        ("document", media_samples.pdf, "boleto.pdf", "seu boleto"),
        ("sticker", media_samples.webp, "sticker.webp", ""),
    ],
)
def test_every_kind_goes_out_byte_for_byte(sim, worker, kind, make, filename, caption):
    workspace = WorkspaceFactory()
    connect(sim, worker, workspace, NUMBER)
    data = make()
    media_file = media_file_store(workspace=workspace, data=data, kind=kind, filename=filename)

    chat, created = messaging.chat_send(
        workspace=workspace,
        to=CUSTOMER,
        body=caption,
        idempotency_key=f"media-{kind}",
        media=OutboundMedia(kind=kind, file=media_file, filename=filename),
    )

    assert created
    wait_until(lambda: Chat.objects.get(pk=chat.pk).status == "sent", timeout=60, what="sent", log=worker.log)
    [sent] = sim.ok("GET", f"/phones/{NUMBER}/outbox")
    assert sent["type"] == kind and sent["to"] == CUSTOMER
    assert sent["media"]["sha256"] == sha(data)
    if caption:
        assert sent["media"]["caption"] == caption
    if kind == "document":
        assert sent["media"]["filename"] == filename
    assert Chat.objects.get(pk=chat.pk).wam_id == sent["id"]


def test_a_location_and_a_contact_card_go_out(sim, worker):
    workspace = WorkspaceFactory()
    connect(sim, worker, workspace, NUMBER)
    vcard = VCARD

    where, _ = messaging.chat_send(
        workspace=workspace,
        to=CUSTOMER,
        body="",
        idempotency_key="loc-1",
        media=OutboundMedia(
            kind="location",
            location={"lat": -22.95201, "lng": -43.2102601, "name": "Cristo", "address": "Rio"},
        ),
    )
    who, _ = messaging.chat_send(
        workspace=workspace,
        to=CUSTOMER,
        body="",
        idempotency_key="vcard-1",
        media=OutboundMedia(kind="vcard", vcard=vcard),
    )

    for chat in (where, who):
        wait_until(
            lambda c=chat: Chat.objects.get(pk=c.pk).status == "sent", timeout=60, what="sent", log=worker.log
        )
    outbox = {m["type"]: m for m in sim.ok("GET", f"/phones/{NUMBER}/outbox")}
    assert (
        outbox["location"]["media"]["lat"] == -22.95201
        and outbox["location"]["media"]["loc"] == "Cristo\nRio"
    )
    assert "waid=5511988887777" in outbox["vcard"]["body"] and "FN:Maria Souza" in outbox["vcard"]["body"]


def test_a_worker_killed_between_the_row_and_the_bytes_stores_them_once_after_restart(sim, start_worker):
    crashing = start_worker("wa_media_crash")
    wait_until(
        lambda: WorkerInstance.objects.filter(name="wa_media_crash").exists(), what="worker", log=crashing.log
    )
    workspace = WorkspaceFactory()
    session = connect(sim, crashing, workspace, NUMBER)
    wait_until(
        lambda: SessionSnapshot.objects.filter(session=session).exists(),
        timeout=30,
        what="the first snapshot",
        log=crashing.log,
    )
    image = media_samples.jpeg(size=200_000)
    # The media servers hold the download: the row is stored, the bytes cannot follow.
    sim.ok("POST", "/media-downloads", {"paused": True})
    wam_id = deliver(sim, type="image", data=b64(image), caption="antes do crash")
    wait_until(
        lambda: Chat.objects.filter(workspace=workspace, wam_id=wam_id, media_status="pending").exists(),
        timeout=30,
        what="the pending row",
        log=crashing.log,
    )
    time.sleep(1.5)  # the worker has asked its page for the file by now
    assert sha(image) not in sim.ok("GET", "/media-downloads")["served"]

    crashing.kill()
    sim.ok("POST", "/media-downloads", {"paused": False})
    restarted = start_worker("wa_media_crash")

    wait_until(
        lambda: Chat.objects.get(workspace=workspace, wam_id=wam_id).media_status == "ready",
        timeout=90,
        what="the bytes after the restart",
        log=restarted.log,
    )
    time.sleep(2)  # a second store would show now
    [chat] = Chat.objects.filter(workspace=workspace, direction="inbound")
    assert chat.body == "antes do crash"
    assert chat.media_file.sha256 == sha(image) and sha(stored_bytes(chat)) == sha(image)
    assert MediaFile.objects.filter(workspace=workspace).count() == 1


def test_the_same_image_forwarded_twice_is_stored_once(sim, worker):
    workspace = WorkspaceFactory()
    connect(sim, worker, workspace, NUMBER)
    image = media_samples.jpeg()
    first = deliver(sim, type="image", data=b64(image))
    sim.ok("POST", f"/messages/{first}/forward", {})
    sim.ok("POST", f"/messages/{first}/forward", {})

    wait_until(
        lambda: Chat.objects.filter(workspace=workspace, media_status="ready").count() == 3,
        timeout=60,
        what="three messages with their bytes",
        log=worker.log,
    )
    chats = list(Chat.objects.filter(workspace=workspace, direction="inbound"))
    assert len({c.wam_id for c in chats}) == 3
    assert len({c.media_file_id for c in chats}) == 1
    assert MediaFile.objects.filter(workspace=workspace).count() == 1
    assert MediaFile.objects.get(workspace=workspace).sha256 == sha(image)
