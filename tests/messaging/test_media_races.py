"""Races on the media path (issue 17), on real PostgreSQL connections: the same bytes stored
at the same moment are one file, and a message's bytes handed in twice at once flip it to
ready once, with one media.ready event."""

import pytest
from django.utils import timezone

from messaging.models import Chat, MediaFile, WebhookDelivery
from messaging.services.media import inbound_media_bytes_store, media_file_store
from messaging.webhooks import webhook_endpoint_create
from tests.concurrency import run_at_once
from tests.factories import ChatFactory
from tests.messaging.media_support import png_bytes

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_stores_the_same_bytes_once_when_stored_at_the_same_moment(media_root, workspace_a):
    data = png_bytes(size=(400, 300))
    files = run_at_once(lambda: media_file_store(workspace=workspace_a, data=data, kind="image"), times=6)
    assert len({f.pk for f in files}) == 1
    assert MediaFile.objects.count() == 1
    assert [p.name for p in media_root.rglob("*") if p.is_file()] == [files[0].sha256]


def test_it_flips_a_message_to_ready_once_under_two_concurrent_stores(media_root, workspace_a):
    webhook_endpoint_create(workspace=workspace_a, url="https://a.example/hook", events=[])
    chat = ChatFactory(
        workspace=workspace_a,
        wam_id="false_1@c.us_RACE",
        media={"type": "image"},
        media_status=Chat.MediaStatus.PENDING,
        media_next_attempt_at=timezone.now(),
    )
    data = png_bytes(size=(500, 500))
    results = run_at_once(lambda: inbound_media_bytes_store(chat_pk=chat.pk, data=data), times=4)
    assert sorted(results) == [False, False, False, True]
    chat.refresh_from_db()
    assert chat.media_status == "ready"
    assert MediaFile.objects.count() == 1
    assert WebhookDelivery.objects.filter(event_type="media.ready").count() == 1
