"""Cleaning up media (issue 17): orphan files (nothing refers to them) are deleted with their
bytes, files of numbers deleted long ago are detached first, and erasing a contact removes
the files only that contact's messages used."""

from datetime import timedelta

import pytest
from django.utils import timezone

from messaging import tasks
from messaging.media.storage import media_storage
from messaging.models import Chat, MediaFile
from messaging.services import contact_erase
from messaging.services.media import media_file_store
from tests.factories import ChatFactory, ContactFactory, WhatsAppSessionFactory
from tests.messaging.media_support import png_bytes

pytestmark = pytest.mark.django_db


def stored(workspace, color):
    media_file = media_file_store(workspace=workspace, data=png_bytes(color=color), kind="image")
    MediaFile.objects.filter(pk=media_file.pk).update(created_at=timezone.now() - timedelta(days=1))
    return media_file


def exists(media_file) -> bool:
    return media_storage().exists(media_file.storage_name)


def test_it_deletes_orphans_and_keeps_what_is_in_use(media_root, workspace_a, settings):
    settings.BLAZZ_MEDIA_RETIRED_NUMBER_DAYS = 30
    orphan = stored(workspace_a, (1, 1, 1))
    used = stored(workspace_a, (2, 2, 2))
    just_uploaded = media_file_store(workspace=workspace_a, data=png_bytes(color=(3, 3, 3)), kind="image")
    ChatFactory(workspace=workspace_a, media={"type": "image"}, media_file=used, media_status="ready")

    retired = WhatsAppSessionFactory(workspace=workspace_a, deleted_at=timezone.now() - timedelta(days=31))
    recently_retired = WhatsAppSessionFactory(
        workspace=workspace_a, deleted_at=timezone.now() - timedelta(days=1)
    )
    of_retired = stored(workspace_a, (4, 4, 4))
    shared = stored(workspace_a, (5, 5, 5))
    of_recent = stored(workspace_a, (6, 6, 6))
    old_chat = ChatFactory(
        workspace=workspace_a, whatsapp_session=retired, media={"type": "image"}, media_file=of_retired
    )
    ChatFactory(workspace=workspace_a, whatsapp_session=retired, media={"type": "image"}, media_file=shared)
    ChatFactory(workspace=workspace_a, media={"type": "image"}, media_file=shared)  # also on a live number
    ChatFactory(
        workspace=workspace_a,
        whatsapp_session=recently_retired,
        media={"type": "image"},
        media_file=of_recent,
    )

    result = tasks.media_cleanup()

    assert result == {"detached": 2, "deleted": 2}
    remaining = set(MediaFile.objects.values_list("pk", flat=True))
    assert remaining == {used.pk, just_uploaded.pk, shared.pk, of_recent.pk}
    assert not exists(orphan) and not exists(of_retired)
    assert exists(used) and exists(shared) and exists(of_recent)
    old_chat.refresh_from_db()
    assert old_chat.media_file is None  # the message stays, without its bytes, saying why
    assert old_chat.media_status == "failed"
    assert old_chat.media == {"type": "image", "error": "removed: the number that received it was deleted"}
    assert Chat.objects.filter(pk=old_chat.pk).exists()


def test_a_campaign_or_any_other_reference_keeps_a_file(media_root, workspace_a):
    """Every foreign key to MediaFile counts as a use, found generically (messaging does not
    import campaigns): a campaign's attachment is no orphan."""
    from tests.factories import CampaignFactory

    attachment = stored(workspace_a, (9, 9, 9))
    CampaignFactory(workspace=workspace_a, media_file=attachment, media_kind="image")
    orphan = stored(workspace_a, (10, 10, 10))

    assert tasks.media_cleanup()["deleted"] == 1
    assert set(MediaFile.objects.values_list("pk", flat=True)) == {attachment.pk}
    assert exists(attachment) and not exists(orphan)


def test_erasing_a_contact_removes_the_files_only_it_used(
    media_root, workspace_a, django_capture_on_commit_callbacks
):
    ann, bea = ContactFactory(workspace=workspace_a), ContactFactory(workspace=workspace_a)
    own = media_file_store(workspace=workspace_a, data=png_bytes(color=(7, 7, 7)), kind="image")
    forwarded = media_file_store(workspace=workspace_a, data=png_bytes(color=(8, 8, 8)), kind="image")
    ChatFactory(workspace=workspace_a, contact=ann, media={"type": "image"}, media_file=own)
    ChatFactory(workspace=workspace_a, contact=ann, media={"type": "image"}, media_file=forwarded)
    ChatFactory(workspace=workspace_a, contact=bea, media={"type": "image"}, media_file=forwarded)

    with django_capture_on_commit_callbacks(execute=True):
        contact_erase(contact=ann)

    assert set(MediaFile.objects.values_list("pk", flat=True)) == {forwarded.pk}
    assert not exists(own)
    assert exists(forwarded)
