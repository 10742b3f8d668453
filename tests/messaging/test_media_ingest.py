"""Inbound media bytes (issue 17): the message row is stored pending, the bytes flip it to
ready once (media.ready webhook), failed fetches are retried with backoff then failed."""

from datetime import timedelta

import pytest
from django.utils import timezone

from messaging.models import Chat, MediaFile, WebhookDelivery
from messaging.services.media import (
    inbound_media_bytes_store,
    inbound_media_fetch_failed,
    media_fetches_due,
    media_payload,
)
from messaging.webhooks import webhook_endpoint_create
from tests.factories import ChatFactory
from tests.messaging.media_support import jpeg_bytes, png_bytes

pytestmark = pytest.mark.django_db


def pending_chat(workspace, *, kind="image", **media):
    return ChatFactory(
        workspace=workspace,
        wam_id=f"false_123@c.us_{kind}{Chat.objects.count()}",
        body="the receipt",
        media={"type": kind, "mimetype": "image/png", **media},
        media_status=Chat.MediaStatus.PENDING,
        media_next_attempt_at=timezone.now(),
    )


def test_it_flips_pending_to_ready_once_and_records_media_ready(
    media_root, workspace_a, django_capture_on_commit_callbacks
):
    webhook_endpoint_create(workspace=workspace_a, url="https://a.example/hook", events=["media.ready"])
    chat = pending_chat(workspace_a)
    data = png_bytes()

    with django_capture_on_commit_callbacks(execute=False):
        assert inbound_media_bytes_store(chat_pk=chat.pk, data=data) is True
        assert inbound_media_bytes_store(chat_pk=chat.pk, data=data) is False

    chat.refresh_from_db()
    assert chat.media_status == Chat.MediaStatus.READY
    assert chat.media_file.size == len(data)
    assert chat.media["mimetype"] == "image/png"
    assert MediaFile.objects.count() == 1
    delivery = WebhookDelivery.objects.get(event_type="media.ready")
    assert delivery.payload["uuid"] == str(chat.uuid)
    media = delivery.payload["media"]
    assert media["type"] == "image"
    assert media["caption"] == "the receipt"
    assert media["status"] == "ready"
    assert media["url"].startswith("http://") and "/media/s/" in media["url"]
    assert media["api_url"].endswith(f"/api/v1/media/{chat.media_file.uuid}")
    assert "data" not in media


def test_it_retries_with_backoff_then_fails(media_root, workspace_a, settings):
    settings.BLAZZ_MEDIA_FETCH_MAX_ATTEMPTS = 3
    settings.BLAZZ_MEDIA_FETCH_BACKOFF_S = 10
    chat = pending_chat(workspace_a)
    session_pk = chat.whatsapp_session_id
    assert [f.chat_pk for f in media_fetches_due(session_pks=[session_pk])] == [chat.pk]

    before = timezone.now()
    inbound_media_fetch_failed(chat_pk=chat.pk, reason="page closed")
    chat.refresh_from_db()
    assert (chat.media_status, chat.media_attempts, chat.media["error"]) == ("pending", 1, "page closed")
    assert chat.media_next_attempt_at >= before + timedelta(seconds=10)
    assert media_fetches_due(session_pks=[session_pk]) == []  # not due yet

    inbound_media_fetch_failed(chat_pk=chat.pk, reason="page closed")
    chat.refresh_from_db()
    assert chat.media_next_attempt_at >= before + timedelta(seconds=20)  # doubled
    inbound_media_fetch_failed(chat_pk=chat.pk, reason="gone\x00 for good")
    chat.refresh_from_db()
    assert (chat.media_status, chat.media_attempts, chat.media["error"]) == ("failed", 3, "gone for good")
    assert media_payload(chat)["status"] == "failed"
    # A late success report changes nothing.
    assert inbound_media_bytes_store(chat_pk=chat.pk, data=png_bytes()) is False


def test_it_fails_at_once_when_the_bytes_are_over_the_limit(media_root, workspace_a, settings):
    settings.BLAZZ_MEDIA_MAX_IMAGE_BYTES = 100
    chat = pending_chat(workspace_a)
    assert inbound_media_bytes_store(chat_pk=chat.pk, data=png_bytes(size=(300, 300))) is False
    chat.refresh_from_db()
    assert chat.media_status == "failed"
    assert "larger than" in chat.media["error"]
    assert not MediaFile.objects.exists()


def test_it_keeps_the_pages_thumbnail_of_a_video(media_root, workspace_a):
    chat = pending_chat(workspace_a, kind="video", mimetype="video/mp4")
    mp4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 64
    assert inbound_media_bytes_store(chat_pk=chat.pk, data=mp4, thumbnail=jpeg_bytes(size=(80, 60))) is True
    chat.refresh_from_db()
    assert chat.media_file.mimetype == "video/mp4"
    assert chat.media_file.thumbnail_name.endswith(".thumb.jpg")
    assert media_payload(chat)["thumbnail_url"]


def inbound(session, **message):
    from django.db import transaction

    from messaging.services import inbound_messages_ingest

    with transaction.atomic():
        return inbound_messages_ingest(session_pk=session.pk, messages=[message])


def test_it_stores_a_media_message_pending_with_its_checked_metadata(workspace_a):
    from tests.factories import WhatsAppSessionFactory

    session = WhatsAppSessionFactory(workspace=workspace_a)
    (chat,) = inbound(
        session,
        id="false_5511@c.us_IMG1",
        phone="+5511987654321",
        type="image",
        body="look\x00 at this",
        timestamp=1_700_000_000,
        media={
            "mimetype": "image/jpeg",
            "size": 12345,
            "width": 640.0,
            "height": "480",  # not a number: dropped
            "filename": "a" * 1000,
            "view_once": True,
            "duration": True,  # a bool is not a number
            "evil": "dropped",
        },
    )
    assert chat.body == "look at this"
    assert chat.media == {
        "type": "image",
        "mimetype": "image/jpeg",
        "size": 12345,
        "width": 640,
        "filename": "a" * 255,
        "view_once": True,
    }
    assert chat.media_status == "pending"
    assert chat.media_next_attempt_at is not None


def test_it_stores_locations_and_contact_cards_without_bytes(workspace_a):
    from tests.factories import WhatsAppSessionFactory

    session = WhatsAppSessionFactory(workspace=workspace_a)
    (place,) = inbound(
        session,
        id="false_5511@c.us_LOC1",
        phone="+5511987654321",
        type="location",
        body="",
        media={"lat": -23.55, "lng": 999, "name": "Office\x00", "address": "Av. Paulista"},
    )
    assert place.media == {"type": "location", "lat": -23.55, "name": "Office", "address": "Av. Paulista"}
    assert place.media_status is None
    (card,) = inbound(
        session,
        id="false_5511@c.us_VC1",
        phone="+5511987654321",
        type="multi_vcard",
        body="",
        media={"vcard": "BEGIN:VCARD\nFN:Ann\nEND:VCARD"},
    )
    assert card.media == {"type": "vcard", "vcard": "BEGIN:VCARD\nFN:Ann\nEND:VCARD"}
    payload = media_payload(card)
    assert payload["vcard"].startswith("BEGIN:VCARD") and payload["url"] is None
    assert media_payload(place)["location"] == {
        "lat": -23.55,
        "lng": None,
        "name": "Office",
        "address": "Av. Paulista",
    }


def test_it_keeps_system_messages_as_before(workspace_a):
    from tests.factories import WhatsAppSessionFactory

    session = WhatsAppSessionFactory(workspace=workspace_a)
    (chat,) = inbound(session, id="false_5511@c.us_E2E", phone="+5511987654321", type="e2e_notification")
    assert chat.media == {"type": "e2e_notification"}
    assert chat.media_status is None


def test_message_received_carries_the_media_object_and_never_bytes(workspace_a):
    from tests.factories import WhatsAppSessionFactory

    webhook_endpoint_create(workspace=workspace_a, url="https://a.example/hook", events=["message.received"])
    session = WhatsAppSessionFactory(workspace=workspace_a)
    inbound(
        session,
        id="false_5511@c.us_DOC1",
        phone="+5511987654321",
        type="document",
        body="the contract",
        media={"mimetype": "application/pdf", "filename": "contract.pdf", "size": 2048},
    )
    inbound(session, id="false_5511@c.us_TXT1", phone="+5511987654321", type="chat", body="hi")

    payloads = {
        d.payload["body"]: d.payload for d in WebhookDelivery.objects.filter(event_type="message.received")
    }
    assert payloads["hi"]["media"] is None
    media = payloads["the contract"]["media"]
    assert media == {
        "type": "document",
        "caption": "the contract",
        "mimetype": "application/pdf",
        "size": 2048,
        "filename": "contract.pdf",
        "ptt": False,
        "status": "pending",
        "url": None,
        "api_url": None,
        "thumbnail_url": None,
    }


def test_the_worker_sees_only_its_sessions_due_fetches_oldest_first(workspace_a, settings):
    from tests.factories import WhatsAppSessionFactory

    mine, other = WhatsAppSessionFactory(workspace=workspace_a), WhatsAppSessionFactory(workspace=workspace_a)
    now = timezone.now()

    def make(session, wam_id, *, due, kind="image", status=Chat.MediaStatus.PENDING):
        return ChatFactory(
            workspace=workspace_a,
            whatsapp_session=session,
            wam_id=wam_id,
            media={"type": kind},
            media_status=status,
            media_next_attempt_at=due,
        )

    newer = make(mine, "w-newer", due=now - timedelta(seconds=1))
    older = make(mine, "w-older", due=now - timedelta(minutes=5), kind="document")
    make(mine, "w-later", due=now + timedelta(minutes=5))
    make(mine, "w-ready", due=None, status=Chat.MediaStatus.READY)
    make(other, "w-other", due=now - timedelta(hours=1))

    fetches = media_fetches_due(session_pks=[mine.pk])
    assert [(f.chat_pk, f.wam_id, f.kind) for f in fetches] == [
        (older.pk, "w-older", "document"),
        (newer.pk, "w-newer", "image"),
    ]
    assert fetches[0].size_limit == settings.BLAZZ_MEDIA_MAX_DOCUMENT_BYTES
    assert fetches[0].session_pk == mine.pk
    assert len(media_fetches_due(session_pks=[mine.pk], limit=1)) == 1

    from messaging.selectors import media_fetches_due as reexported

    assert reexported is media_fetches_due


def test_a_storage_failure_is_retried_not_lost(workspace_a, settings, tmp_path):
    from blazz.settings import media_storage_config

    blocked = tmp_path / "not-a-directory"
    blocked.write_bytes(b"")  # the media root is a file: every save fails with an OSError
    settings.STORAGES = {
        **settings.STORAGES,
        "blazz_media": media_storage_config(
            root=blocked, bucket="", endpoint_url="", region="", access_key="", secret_key=""
        ),
    }
    chat = pending_chat(workspace_a)

    assert inbound_media_bytes_store(chat_pk=chat.pk, data=png_bytes()) is False

    chat.refresh_from_db()
    assert (chat.media_status, chat.media_attempts) == ("pending", 1)
    assert chat.media["error"].startswith("storage error")
    assert not MediaFile.objects.exists()
