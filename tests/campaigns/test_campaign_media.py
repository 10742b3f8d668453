"""A campaign with one media attachment (issue 17): the file is uploaded once (the form, or
`POST /api/v1/media` then the campaign API) and every recipient's message carries that same
MediaFile, with the campaign body as its caption, filled in per recipient by the usual
`{{variable}}` rules. The form redirects after its POST and says clearly when a file is too
big; the detail and the start preview name the attachment; a file a campaign holds cannot be
deleted under it, and the media cleanup leaves it alone."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import ProtectedError
from django.urls import reverse
from django.utils import timezone

from campaigns import services
from campaigns.dispatch import campaigns_tick
from campaigns.models import Campaign, CampaignLog
from messaging import services as messaging
from messaging.models import Chat, MediaFile
from messaging.services.media import media_cleanup, media_file_store
from tests.campaigns.conftest import connected_number, make_contacts
from tests.factories import WorkspaceFactory

pytestmark = pytest.mark.django_db

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360606060000000050001a5f645400000000049454e44ae426082"
)
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture(autouse=True)
def quick_pacing(settings):
    settings.BLAZZ_CAMPAIGN_GAP_MIN_SECONDS = 0.001
    settings.BLAZZ_CAMPAIGN_GAP_MAX_SECONDS = 0.002
    settings.BLAZZ_CAMPAIGN_PER_MINUTE = 10_000
    settings.BLAZZ_CAMPAIGN_PER_HOUR = 10_000


def run_to_completion(campaign: Campaign) -> None:
    """Ticks the dispatcher and plays the number's worker (claim, then sent) until done."""
    now = timezone.now()
    for _ in range(20):
        now += timedelta(seconds=1)
        campaigns_tick(now=now, rng=random.Random(7))
        for chat in Chat.objects.filter(status="pending", direction="outbound"):
            claimed = messaging.chat_claim_for_send(chat_pk=chat.pk, session_pk=chat.whatsapp_session_id)
            if claimed is not None:
                messaging.chat_mark_sent(chat=claimed, wam_id=f"wam-{chat.pk}")
        campaign.refresh_from_db()
        if campaign.status == "completed":
            return
    raise AssertionError(f"campaign still {campaign.status}")


def test_every_recipient_gets_the_same_file_with_a_caption_filled_in_for_them():
    workspace = WorkspaceFactory(timezone="UTC")
    connected_number(workspace)
    make_contacts(workspace, 4)
    photo = media_file_store(workspace=workspace, data=PNG, kind="image", filename="sale.png")
    campaign, _ = services.campaign_create(
        workspace=workspace,
        name="Sale",
        body="Hi {{name}}, this week only",
        media_file=photo,
        media_kind="image",
        media_filename="sale.png",
        window_start_hour=0,
        window_end_hour=24,
    )
    services.campaign_start(campaign=campaign, now=timezone.now() - timedelta(seconds=1))

    run_to_completion(campaign)

    chats = Chat.objects.filter(workspace=workspace, direction="outbound")
    assert sorted(chats.values_list("body", flat=True)) == [
        f"Hi Person {i}, this week only" for i in range(4)
    ]
    assert {c.media_file_id for c in chats} == {photo.pk}
    assert {(c.media["type"], c.media["filename"], c.media_status) for c in chats} == {
        ("image", "sale.png", "ready")
    }
    assert MediaFile.objects.filter(workspace=workspace).count() == 1
    assert CampaignLog.objects.filter(campaign=campaign, status="success").count() == 4


def test_a_voice_note_or_sticker_campaign_takes_no_text_and_a_photo_may_have_none():
    workspace = WorkspaceFactory()
    photo = media_file_store(workspace=workspace, data=PNG, kind="image")
    common = {"workspace": workspace, "name": "x", "media_file": photo}

    with pytest.raises(services.CampaignInvalid) as refused:
        services.campaign_create(**common, body="Hi {{name}}", media_kind="sticker")
    assert refused.value.field == "body"
    with pytest.raises(services.CampaignInvalid) as refused:
        services.campaign_create(workspace=workspace, name="x", body="")
    assert refused.value.field == "body"  # no attachment: the text is the message

    campaign, _ = services.campaign_create(**common, body="", media_kind="image")
    assert (campaign.body, campaign.media_kind) == ("", "image")


def test_bytes_that_are_not_the_chosen_type_go_out_as_a_document():
    workspace = WorkspaceFactory()
    pdf_as_image = media_file_store(workspace=workspace, data=PDF, kind="image")
    campaign, _ = services.campaign_create(
        workspace=workspace, name="x", body="Menu", media_file=pdf_as_image, media_kind="image"
    )
    assert pdf_as_image.mimetype == "application/octet-stream"
    assert campaign.media_kind == "document"


def test_another_workspaces_file_is_refused():
    mine, theirs = WorkspaceFactory(), WorkspaceFactory()
    their_file = media_file_store(workspace=theirs, data=PNG, kind="image")
    with pytest.raises(services.CampaignInvalid) as refused:
        services.campaign_create(workspace=mine, name="x", body="hi", media_file=their_file)
    assert refused.value.field == "media"


def test_a_file_a_campaign_holds_is_neither_deleted_nor_cleaned_up(settings):
    workspace = WorkspaceFactory()
    photo = media_file_store(workspace=workspace, data=PNG, kind="image")
    MediaFile.objects.filter(pk=photo.pk).update(created_at=timezone.now() - timedelta(days=30))
    services.campaign_create(workspace=workspace, name="x", body="hi", media_file=photo)

    media_cleanup()
    assert MediaFile.objects.filter(pk=photo.pk).exists()
    with pytest.raises(ProtectedError):
        photo.delete()


# --- The API -------------------------------------------------------------------------------------


def test_the_api_attaches_a_file_uploaded_once(alice_api, workspace_a):
    connected_number(workspace_a)
    make_contacts(workspace_a, 2)
    stored = alice_api.post(
        "/api/v1/media", {"file": SimpleUploadedFile("menu.pdf", PDF), "type": "document"}, format="multipart"
    )
    assert stored.status_code == 201, stored.content

    created = alice_api.post(
        "/api/v1/campaigns",
        {
            "name": "Menu",
            "body": "Hello {{name}}, our new menu",
            "media": stored.json()["uuid"],
            "media_filename": "Menu.pdf",
            "window_start_hour": 0,
            "window_end_hour": 24,
        },
        format="json",
    )

    assert created.status_code == 201, created.content
    media = created.json()["media"]
    assert media["uuid"] == stored.json()["uuid"]
    assert (media["type"], media["mimetype"], media["filename"]) == (
        "document",
        "application/pdf",
        "Menu.pdf",
    )

    campaign = Campaign.objects.get(uuid=created.json()["uuid"])
    removed = alice_api.patch(f"/api/v1/campaigns/{campaign.uuid}", {"media": None}, format="json")
    assert removed.status_code == 200 and removed.json()["media"] is None


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"media": "00000000-0000-0000-0000-000000000001"}, "media"),
        ({"media": "nope"}, "media"),
        ({"media_type": "gif"}, "media_type"),
        ({"media_type": "image"}, "media_type"),  # no file
        ({"body": ""}, "body"),  # no file: text required
    ],
)
def test_the_api_refuses_bad_attachments(alice_api, workspace_a, fields, field):
    response = alice_api.post("/api/v1/campaigns", {"name": "x", "body": "hi", **fields}, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["field"] == field
    assert not Campaign.objects.exists()


# --- The form ------------------------------------------------------------------------------------


def form(**extra):
    return {
        "name": "Launch",
        "body": "Hi {{name}}",
        "audience_kind": "all",
        "scheduled_at": "",
        "window_start_hour": "0",
        "window_end_hour": "24",
        **extra,
    }


def test_the_form_uploads_the_attachment_and_redirects(alice_client, workspace_a):
    connected_number(workspace_a)
    make_contacts(workspace_a, 2)

    response = alice_client.post(
        reverse("campaigns:campaign_new"), form(attachment=SimpleUploadedFile("launch.png", PNG))
    )

    campaign = Campaign.objects.get(workspace=workspace_a)
    assert response.status_code == 302
    assert response["Location"] == reverse("campaigns:campaign_detail", args=[campaign.uuid])
    assert (campaign.media_kind, campaign.media_filename) == ("image", "launch.png")
    assert campaign.media_file.mimetype == "image/png"
    detail = alice_client.get(response["Location"]).content.decode()
    assert 'data-testid="attachment"' in detail and "launch.png" in detail
    preview = alice_client.get(
        reverse("campaigns:campaign_start_confirm", args=[campaign.uuid])
    ).content.decode()
    assert "launch.png" in preview

    # Editing without a new file keeps it; ticking "remove" drops it.
    alice_client.post(reverse("campaigns:campaign_edit", args=[campaign.uuid]), form(body="Hello {{name}}"))
    campaign.refresh_from_db()
    assert campaign.media_file is not None and campaign.body == "Hello {{name}}"
    alice_client.post(reverse("campaigns:campaign_edit", args=[campaign.uuid]), form(remove_attachment="on"))
    campaign.refresh_from_db()
    assert campaign.media_file is None and campaign.media_kind == ""


def test_the_form_says_when_a_file_is_too_big(alice_client, workspace_a, settings):
    settings.BLAZZ_MEDIA_MAX_IMAGE_BYTES = 50

    response = alice_client.post(
        reverse("campaigns:campaign_new"),
        form(attachment=SimpleUploadedFile("huge.png", PNG), attachment_type="image"),
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert "limit for image" in page
    assert not Campaign.objects.exists() and not MediaFile.objects.exists()
