"""Media messages in the team inbox (issue 17), from rows the test creates: each kind renders
as it should (photos and stickers inline from their thumbnail, players for audio and video,
downloads for documents and for anything that is not a safe raster image, places with a map
link, contact cards from their vCard, pending and failed downloads say so), the list previews
them, and the reply box's file goes out through the same services as the API's, with its
refusals shown and never a 500. (In a real browser: tests/e2e/test_inbox_media_browser.py.)"""

from __future__ import annotations

import hashlib
import io
import json
import time
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from blazz.body_limit import BodyLimits
from messaging.inbox_media import media_preview, upload_kind, vcard_contacts
from messaging.models import Chat, ContactSession, MediaFile
from messaging.services.media import media_link, media_size_limit
from tests.factories import ChatFactory, ContactFactory, ContactSessionFactory, WhatsAppSessionFactory
from tests.sessions_app.conftest import broker, fresh_route, live_worker  # noqa: F401

# media_root (tests/messaging/conftest.py): every file a test stores goes to its own directory.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_root")]


def png_bytes(color: str = "red", size: tuple[int, int] = (8, 6)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="PNG")
    return out.getvalue()


PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@pytest.fixture
def number(workspace_a, live_worker):  # noqa: F811
    session = WhatsAppSessionFactory(
        workspace=workspace_a,
        status="connected",
        phone_number="+12015550301",
        assigned_worker=live_worker,
        is_primary=True,
    )
    fresh_route(session)
    return session


@pytest.fixture
def conversation(workspace_a, number) -> ContactSession:
    ann = ContactFactory(workspace=workspace_a, name="Ann", phone="+12015550401")
    return ContactSessionFactory(contact=ann, whatsapp_session=number)


def stored_file(workspace, *, mimetype: str, size: int = 1234, thumbnail: bool = False) -> MediaFile:
    """A MediaFile row as the storage leaves it (rendering reads only the row)."""
    sha = hashlib.sha256(uuid.uuid4().bytes).hexdigest()
    return MediaFile.objects.create(
        workspace=workspace,
        sha256=sha,
        size=size,
        mimetype=mimetype,
        storage_name=f"tests/{sha}",
        thumbnail_name=f"tests/{sha}.thumb.jpg" if thumbnail else "",
        width=640 if mimetype.startswith(("image/", "video/")) else None,
        height=480 if mimetype.startswith(("image/", "video/")) else None,
    )


def media_message(conversation, *, media: dict, body: str = "", file=None, status=None, **fields) -> Chat:
    if file is not None and status is None:
        status = Chat.MediaStatus.READY
    return ChatFactory(
        workspace=conversation.contact.workspace,
        whatsapp_session=conversation.whatsapp_session,
        contact=conversation.contact,
        body=body,
        media=media,
        media_file=file,
        media_status=status,
        **fields,
    )


def thread_html(client, conversation) -> str:
    response = client.get(
        reverse("messaging:inbox_conversation", kwargs={"conversation_uuid": conversation.uuid})
    )
    assert response.status_code == 200
    return response.content.decode()


def block_of(html: str, chat: Chat) -> str:
    """The <li> of one message."""
    start = html.index(f'data-chat="{chat.uuid}"')
    return html[start : html.index("</li>", start)]


# --- rendering each kind ------------------------------------------------------------------------


def test_it_shows_a_photo_inline_from_its_thumbnail_with_the_full_size_on_click(
    alice_client, workspace_a, conversation
):
    file = stored_file(workspace_a, mimetype="image/jpeg", thumbnail=True)
    chat = media_message(
        conversation, media={"type": "image", "mimetype": "image/jpeg"}, body="my receipt", file=file
    )
    block = block_of(thread_html(alice_client, conversation), chat)
    thumb, full = media_link(media_file=file, thumbnail=True), media_link(media_file=file)
    assert thumb.startswith("/") and full.startswith("/")  # same origin: CSP's 'self' covers them
    assert f'<img src="{thumb}"'.replace("&", "&amp;") in block
    assert f'href="{full}"'.replace("&", "&amp;") in block and 'target="_blank" rel="noopener"' in block
    assert 'class="msg-body msg-caption">my receipt</div>' in block


def test_a_photo_without_a_thumbnail_yet_shows_the_file_itself(alice_client, workspace_a, conversation):
    file = stored_file(workspace_a, mimetype="image/png")
    chat = media_message(conversation, media={"type": "image"}, file=file)
    block = block_of(thread_html(alice_client, conversation), chat)
    assert f'<img src="{media_link(media_file=file)}"'.replace("&", "&amp;") in block
    assert "msg-body" not in block  # no caption: no empty bubble line


def test_a_sticker_shows_inline(alice_client, workspace_a, conversation):
    chat = media_message(
        conversation, media={"type": "sticker"}, file=stored_file(workspace_a, mimetype="image/webp")
    )
    block = block_of(thread_html(alice_client, conversation), chat)
    assert 'data-media="image"' in block and "kind-sticker" in block


def test_a_media_block_keeps_its_key_across_renders_while_its_links_are_signed_anew(
    alice_client, workspace_a, conversation
):
    """The page keeps a playing player or a loaded photo across a live re-read only while this
    key stays the same (static/blazz/team_inbox.js); a new signature must not change it."""
    chat = media_message(
        conversation, media={"type": "ptt"}, file=stored_file(workspace_a, mimetype="audio/ogg")
    )

    def key_and_link() -> tuple[str, str]:
        block = block_of(thread_html(alice_client, conversation), chat)
        return (
            block.split('data-media-key="', 1)[1].split('"', 1)[0],
            block.split('<audio controls preload="metadata" src="', 1)[1].split('"', 1)[0],
        )

    first_key, first_link = key_and_link()
    time.sleep(1.1)  # the signature's timestamp counts seconds
    key, link = key_and_link()
    assert link != first_link
    assert key == first_key == f"audio:{chat.media_file.uuid}"


@pytest.mark.parametrize("mimetype", ["image/svg+xml", "application/octet-stream", "text/html"])
def test_bytes_that_are_not_a_safe_raster_image_are_never_shown_inline(
    alice_client, workspace_a, conversation, mimetype
):
    file = stored_file(workspace_a, mimetype=mimetype, thumbnail=True)
    chat = media_message(conversation, media={"type": "image", "mimetype": "image/png"}, file=file)
    block = block_of(thread_html(alice_client, conversation), chat)
    assert "<img" not in block
    assert (
        'data-media="download"' in block
        and f'href="{media_link(media_file=file)}"'.replace("&", "&amp;") in block
    )


def test_a_voice_note_plays_in_the_browsers_player(alice_client, workspace_a, conversation):
    file = stored_file(workspace_a, mimetype="audio/ogg", size=5321)
    chat = media_message(conversation, media={"type": "ptt", "duration": 7}, file=file)
    block = block_of(thread_html(alice_client, conversation), chat)
    assert (
        f'<audio controls preload="metadata" src="{media_link(media_file=file)}"'.replace("&", "&amp;")
        in block
    )
    assert "Voice note · 0:07" in block


def test_a_video_plays_with_its_frame_as_poster(alice_client, workspace_a, conversation):
    file = stored_file(workspace_a, mimetype="video/mp4", size=2_000_000, thumbnail=True)
    chat = media_message(conversation, media={"type": "video", "duration": 75}, body="unboxing", file=file)
    block = block_of(thread_html(alice_client, conversation), chat)
    assert "<video controls" in block
    assert f'poster="{media_link(media_file=file, thumbnail=True)}"'.replace("&", "&amp;") in block
    assert "1:15" in block and "unboxing" in block


def test_a_document_is_a_download_with_its_name_and_size(alice_client, workspace_a, conversation):
    file = stored_file(workspace_a, mimetype="application/pdf", size=1_234_567)
    chat = media_message(conversation, media={"type": "document", "filename": "invoice <7>.pdf"}, file=file)
    block = block_of(thread_html(alice_client, conversation), chat)
    assert 'download="invoice &lt;7&gt;.pdf"' in block
    assert '<span class="media-filename">invoice &lt;7&gt;.pdf</span>' in block
    assert "1.2\xa0MB" in block and "application/pdf" in block


def test_a_location_shows_its_coordinates_and_an_openstreetmap_link(alice_client, conversation):
    chat = media_message(
        conversation,
        media={
            "type": "location",
            "lat": -23.5505,
            "lng": -46.6333,
            "name": "<b>Shop</b>",
            "address": "Av. Paulista",
        },
    )
    block = block_of(thread_html(alice_client, conversation), chat)
    assert "-23.550500, -46.633300" in block
    assert (
        'href="https://www.openstreetmap.org/?mlat=-23.550500&amp;mlon=-46.633300'
        '#map=16/-23.550500/-46.633300" target="_blank" rel="noopener noreferrer"'
    ) in block
    assert "&lt;b&gt;Shop&lt;/b&gt;" in block and "<b>Shop" not in block


def test_a_location_with_bad_coordinates_says_so(alice_client, conversation):
    chat = media_message(conversation, media={"type": "location", "lat": "nan", "lng": 500})
    block = block_of(thread_html(alice_client, conversation), chat)
    assert "openstreetmap" not in block and "no valid coordinates" in block


def test_a_contact_card_shows_name_and_number_escaped(alice_client, conversation):
    vcard = (
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Bia <script>alert(1)</script>\r\n"
        "item1.TEL;waid=5511987650001:+55 11 98765-0001\r\nEND:VCARD\r\n"
    )
    chat = media_message(conversation, media={"type": "vcard", "vcard": vcard})
    block = block_of(thread_html(alice_client, conversation), chat)
    assert "Bia &lt;script&gt;alert(1)&lt;/script&gt;" in block and "<script>alert" not in block
    assert '<span class="media-phone">+55 11 98765-0001</span>' in block


def test_a_download_in_progress_and_a_failed_one_say_so(alice_client, conversation):
    pending = media_message(
        conversation, media={"type": "document", "filename": "big.zip", "size": 5_000_000}, status="pending"
    )
    failed = media_message(
        conversation, media={"type": "image", "error": "over the 16 MB limit"}, status="failed"
    )
    html = thread_html(alice_client, conversation)
    assert "big.zip (4.8\xa0MB): Downloading…" in block_of(html, pending)
    assert 'data-testid="media-failed"' in block_of(html, failed)
    assert "Photo could not be downloaded: over the 16 MB limit" in block_of(html, failed)


def test_a_system_message_is_named_not_taken_for_a_file(alice_client, conversation):
    old = media_message(conversation, media={"type": "revoked"}, body="")
    block = block_of(thread_html(alice_client, conversation), old)
    assert "A “revoked” message" in block and "Document" not in block and "download" not in block


def test_the_list_previews_a_media_message_instead_of_an_empty_body(alice_client, workspace_a, conversation):
    media_message(
        conversation,
        media={"type": "ptt", "duration": 7},
        file=stored_file(workspace_a, mimetype="audio/ogg"),
    )
    response = alice_client.get(reverse("messaging:inbox"))
    assert "🎤 Voice note (0:07)" in response.content.decode()


def test_previews_name_each_kind():
    assert media_preview({"type": "image"}) == "📷 Photo"
    assert media_preview({"type": "image"}, "the receipt") == "📷 the receipt"
    assert media_preview({"type": "ptt", "duration": 7.4}) == "🎤 Voice note (0:07)"
    assert media_preview({"type": "document", "filename": "invoice.pdf"}, "see attached") == "📄 invoice.pdf"
    assert media_preview({"type": "location", "name": "Shop"}) == "📍 Shop"
    assert media_preview({"type": "vcard", "vcard": "BEGIN:VCARD\nFN:Bia\nEND:VCARD"}) == "👤 Bia"
    assert media_preview(None, "plain text") == "plain text"
    assert media_preview({"type": "revoked"}) == "💬 Message"


def test_vcards_are_read_tolerantly():
    text = (
        "BEGIN:VCARD\nVERSION:3.0\nN:Souza;Bia;;Dr.;\nTEL;type=CELL:+55 11 9\n 8765-0001\n"
        "TEL:tel:+5511912345678\nEND:VCARD\n"
        "BEGIN:VCARD\nFN:Team\\, Sales\nEND:VCARD\ngarbage line\n"
    )
    cards = vcard_contacts(text)
    assert [(c.name, c.phones) for c in cards] == [
        ("Dr. Bia Souza", ("+55 11 98765-0001", "+5511912345678")),
        ("Team, Sales", ()),
    ]
    assert vcard_contacts(None) == () and vcard_contacts("no card here") == ()


def test_an_upload_is_sent_as_the_kind_its_bytes_say():
    assert upload_kind(mimetype="image/png") == "image"
    assert upload_kind(mimetype="image/svg+xml") == "document"
    assert upload_kind(mimetype="audio/ogg", send_as="ptt") == "ptt"
    assert upload_kind(mimetype="application/pdf", send_as="ptt") == "document"
    assert upload_kind(mimetype="image/png", send_as="document") == "document"
    assert upload_kind(mimetype="video/mp4") == "video"
    assert upload_kind(mimetype="application/ogg") == "audio"
    assert upload_kind(mimetype="video/ogg", send_as="ptt") == "ptt"


# --- security headers ----------------------------------------------------------------------------


def test_the_inbox_policy_lets_players_and_images_load_from_this_origin_only(alice_client, conversation):
    response = alice_client.get(
        reverse("messaging:inbox_conversation", kwargs={"conversation_uuid": conversation.uuid})
    )
    policy = dict(
        (part.split()[0], part.split()[1:]) for part in response.headers["Content-Security-Policy"].split(";")
    )
    assert policy["media-src"] == ["'self'"]
    assert policy["img-src"] == ["'self'", "data:"]
    assert policy["script-src"] == ["'self'"] and policy["style-src"] == ["'self'"]


def test_a_reply_with_a_file_may_be_as_large_as_the_largest_media_kind():
    limits = BodyLimits.from_settings()
    path = reverse("messaging:inbox_reply", kwargs={"conversation_uuid": uuid.uuid4()})
    assert limits.for_path(path, "multipart/form-data; boundary=x") >= media_size_limit("document")
    # Only a file upload: any other body there keeps the default cap.
    assert limits.for_path(path, "application/x-www-form-urlencoded") == limits.default


# --- the attach button ---------------------------------------------------------------------------


def reply_url(conversation) -> str:
    return reverse("messaging:inbox_reply", kwargs={"conversation_uuid": conversation.uuid})


def test_a_photo_from_the_reply_box_goes_out_with_its_caption(alice_client, workspace_a, conversation):
    data = png_bytes()
    response = alice_client.post(
        reply_url(conversation),
        {
            "body": "here is the label",
            "idempotency_key": "k1",
            # The browser's claim is ignored: the bytes say PNG.
            "file": SimpleUploadedFile("label.png", data, content_type="application/pdf"),
        },
    )
    assert response.status_code == 302, response.content[:300]
    chat = Chat.objects.get(direction="outbound")
    assert chat.body == "here is the label"
    assert chat.media["type"] == "image"
    assert chat.media_file.sha256 == hashlib.sha256(data).hexdigest()
    assert chat.media_file.mimetype == "image/png" and chat.media_file.workspace == workspace_a
    # The same form posted again (a double click) sends nothing more and stores nothing more.
    again = alice_client.post(
        reply_url(conversation),
        {"body": "here is the label", "idempotency_key": "k1", "file": SimpleUploadedFile("label.png", data)},
    )
    assert again.status_code == 302
    assert Chat.objects.filter(direction="outbound").count() == 1 and MediaFile.objects.count() == 1


def test_the_reply_box_script_gets_json_and_a_document_needs_no_caption(alice_client, conversation):
    response = alice_client.post(
        reply_url(conversation),
        {"body": "", "file": SimpleUploadedFile("invoice.pdf", PDF)},
        headers={"X-Requested-With": "fetch"},
    )
    assert response.status_code == 200, response.content[:300]
    assert json.loads(response.content)["redirect"].startswith(f"/inbox/c/{conversation.uuid}/")
    chat = Chat.objects.get(direction="outbound")
    assert (chat.media["type"], chat.media.get("filename"), chat.body) == ("document", "invoice.pdf", "")


def test_a_photo_over_the_photo_limit_goes_as_a_document_as_in_the_api(alice_client, conversation, settings):
    settings.BLAZZ_MEDIA_MAX_IMAGE_BYTES = 100
    data = png_bytes(size=(64, 64))
    response = alice_client.post(
        reply_url(conversation), {"body": "x", "file": SimpleUploadedFile("big.png", data)}
    )
    assert response.status_code == 302
    chat = Chat.objects.get(direction="outbound")
    assert chat.media["type"] == "document" and chat.media_file.mimetype == "image/png"


def test_a_file_over_the_limit_is_refused_with_a_clear_message(alice_client, conversation, settings):
    settings.BLAZZ_MEDIA_MAX_DOCUMENT_BYTES = 100
    data = png_bytes(size=(64, 64))
    assert len(data) > 100
    response = alice_client.post(
        reply_url(conversation), {"body": "x", "file": SimpleUploadedFile("big.png", data)}, follow=True
    )
    assert response.status_code == 200
    flashes = [str(m) for m in response.context["messages"]]
    assert flashes and any("limit" in m.lower() or "large" in m.lower() for m in flashes), flashes
    assert not Chat.objects.filter(direction="outbound").exists()
    # The script's path: the same refusal as JSON, with the API's status.
    answer = alice_client.post(
        reply_url(conversation),
        {"body": "x", "file": SimpleUploadedFile("big.png", data)},
        headers={"X-Requested-With": "fetch"},
    )
    assert answer.status_code == 413 and json.loads(answer.content)["error"]


def test_a_voice_note_must_be_audio_and_an_empty_file_is_refused(alice_client, conversation):
    for upload, send_as, expected in (
        (SimpleUploadedFile("a.pdf", PDF), "ptt", "A voice note must be an audio file."),
        (SimpleUploadedFile("empty.txt", b""), "", "The file is empty."),
    ):
        response = alice_client.post(
            reply_url(conversation), {"body": "x", "send_as": send_as, "file": upload}, follow=True
        )
        assert response.status_code == 200
        assert expected in [str(m) for m in response.context["messages"]]
    assert not Chat.objects.filter(direction="outbound").exists()


def test_another_workspaces_conversation_is_a_404_and_stores_nothing(workspace_b, conversation):
    from tests.conftest import logged_in_client

    bob_client = logged_in_client(workspace_b.memberships.get().user, workspace_b)
    response = bob_client.post(
        reply_url(conversation), {"body": "x", "file": SimpleUploadedFile("a.png", png_bytes())}
    )
    assert response.status_code == 404
    assert not MediaFile.objects.exists() and not Chat.objects.filter(direction="outbound").exists()
