"""Thumbnails (issue 17): made by the general worker's task with Pillow, bounded in size,
refusing decompression bombs; Beat's sweep asks again for those a lost message left undone."""

from datetime import timedelta
from io import BytesIO

import pytest
from django.utils import timezone
from PIL import Image

from messaging import tasks
from messaging.media.storage import media_storage
from messaging.models import MediaFile
from messaging.services.media import media_file_store, media_thumbnails_sweep
from tests.messaging.media_support import PDF_BYTES, jpeg_bytes, png_bytes

pytestmark = pytest.mark.django_db


def test_the_task_makes_a_bounded_jpeg_thumbnail(media_root, workspace_a, settings):
    settings.BLAZZ_MEDIA_THUMBNAIL_PX = 200
    media_file = media_file_store(workspace=workspace_a, data=jpeg_bytes(size=(1600, 900)), kind="image")
    assert (media_file.width, media_file.height) == (1600, 900)

    assert tasks.media_thumbnail_make(media_file_pk=media_file.pk) is True
    assert tasks.media_thumbnail_make(media_file_pk=media_file.pk) is False  # twice: nothing more

    media_file.refresh_from_db()
    with media_storage().open(media_file.thumbnail_name, "rb") as thumb:
        image = Image.open(BytesIO(thumb.read()))
    assert image.format == "JPEG"
    assert max(image.size) == 200
    assert image.size[1] in (112, 113)  # the aspect ratio kept, rounded


def test_a_transparent_sticker_gets_a_thumbnail_too(media_root, workspace_a):
    out = BytesIO()
    Image.new("RGBA", (512, 512), (0, 0, 0, 0)).save(out, format="WEBP")
    media_file = media_file_store(workspace=workspace_a, data=out.getvalue(), kind="sticker")
    assert media_file.mimetype == "image/webp"
    assert tasks.media_thumbnail_make(media_file_pk=media_file.pk) is True


def test_it_refuses_a_decompression_bomb(media_root, workspace_a, settings):
    media_file = media_file_store(workspace=workspace_a, data=png_bytes(size=(300, 300)), kind="image")
    settings.BLAZZ_MEDIA_MAX_IMAGE_PIXELS = 300 * 300 - 1

    assert tasks.media_thumbnail_make(media_file_pk=media_file.pk) is False

    media_file.refresh_from_db()
    assert media_file.thumbnail_failed is True
    assert media_file.thumbnail_name == ""
    # The sweep does not ask again for a file Pillow refused.
    MediaFile.objects.filter(pk=media_file.pk).update(created_at=timezone.now() - timedelta(hours=1))
    assert media_thumbnails_sweep() == []


def test_it_makes_no_thumbnail_of_a_document(media_root, workspace_a):
    media_file = media_file_store(workspace=workspace_a, data=PDF_BYTES, kind="document")
    assert tasks.media_thumbnail_make(media_file_pk=media_file.pk) is False


def test_the_sweep_wakes_the_task_a_lost_message_left_undone(
    media_root, workspace_a, monkeypatch, django_capture_on_commit_callbacks
):
    from blazz.celery import app

    sent = []
    monkeypatch.setattr(app, "send_task", lambda name, kwargs: sent.append((name, kwargs)))
    with django_capture_on_commit_callbacks(execute=True):
        old = media_file_store(workspace=workspace_a, data=png_bytes(color=(9, 9, 9)), kind="image")
        fresh = media_file_store(workspace=workspace_a, data=png_bytes(color=(8, 8, 8)), kind="image")
    # Each new image asked for its thumbnail once its row was committed...
    assert sent == [
        ("messaging.tasks.media_thumbnail_make", {"media_file_pk": pk}) for pk in (old.pk, fresh.pk)
    ]
    sent.clear()
    MediaFile.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(minutes=5))

    # ...and when that message is lost, the sweep asks again (the fresh one's may still be queued).
    with django_capture_on_commit_callbacks(execute=True):
        assert media_thumbnails_sweep() == [old.pk]
    assert sent == [("messaging.tasks.media_thumbnail_make", {"media_file_pk": old.pk})]
    assert fresh.pk not in [kwargs["media_file_pk"] for _, kwargs in sent]
