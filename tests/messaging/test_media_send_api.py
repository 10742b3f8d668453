"""Sending media through `POST /api/v1/messages` (issue 17): a multipart upload, a file uploaded
earlier through `POST /api/v1/media`, a location, a contact card. The message is stored
pending with its `media` and `media_file` (ready) and its send queued after commit exactly as
a text is; the same Idempotency-Key twice makes one message and stores the bytes once; bytes
that are not what the client claims are stored as application/octet-stream and sent as a
document; forged or hostile input is a 4xx naming the field, never a 500, and stores nothing.
Oversize uploads are refused with 413 before their body is read, by a real daphne."""

from __future__ import annotations

import hashlib
import json
import socket
from urllib.parse import urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from messaging.models import Chat, MediaFile
from messaging.services.outbound import VCARD_MAX_CHARS
from tests.e2e.web import asgi_server
from tests.messaging.test_messages_api import connected_number, sends
from tests.sessions_app.conftest import broker, fresh_route, live_worker  # noqa: F401

TO = "+12015550199"
# A 1x1 PNG, and the start of a PDF.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360606060000000050001a5f645400000000049454e44ae426082"
)
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture
def number(workspace_a, live_worker):  # noqa: F811
    return connected_number(workspace_a, live_worker, "+12015550101", is_primary=True)


def upload(api, capture, fields: dict, name: str = "photo.png", data: bytes = PNG, **headers):
    with capture(execute=True):
        return api.post(
            "/api/v1/messages",
            {**fields, "file": SimpleUploadedFile(name, data)},
            format="multipart",
            **headers,
        )


def send_json(api, capture, body: dict, **headers):
    with capture(execute=True):
        return api.post("/api/v1/messages", body, format="json", **headers)


def nothing_stored() -> bool:
    return not Chat.objects.exists() and not MediaFile.objects.exists()


# --- Uploads -------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_sends_an_uploaded_photo_with_its_caption(
    alice_api,
    number,
    live_worker,  # noqa: F811
    broker,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    response = upload(
        alice_api, django_capture_on_commit_callbacks, {"to": TO, "caption": "Your receipt", "type": "image"}
    )

    assert response.status_code == 201, response.content
    chat = Chat.objects.get(uuid=response.json()["uuid"])
    assert (chat.status, chat.body, chat.media_status) == ("pending", "Your receipt", "ready")
    assert chat.media["type"] == "image" and chat.media["mimetype"] == "image/png"
    assert chat.media["size"] == len(PNG) and chat.media["filename"] == "photo.png"
    assert chat.media_file.sha256 == hashlib.sha256(PNG).hexdigest()
    assert chat.media_file.workspace_id == chat.workspace_id
    media = response.json()["media"]
    assert (media["type"], media["mimetype"], media["caption"]) == ("image", "image/png", "Your receipt")
    # Handed to the number's worker exactly as a text is.
    assert [t.kwargs for t in sends(broker, live_worker)] == [{"session_pk": number.pk, "chat_pk": chat.pk}]


@pytest.mark.django_db
def test_it_infers_the_type_from_the_bytes(alice_api, number, django_capture_on_commit_callbacks):
    response = upload(alice_api, django_capture_on_commit_callbacks, {"to": TO}, name="invoice.pdf", data=PDF)

    assert response.status_code == 201, response.content
    chat = Chat.objects.get(uuid=response.json()["uuid"])
    assert chat.media["type"] == "document"
    assert chat.media["mimetype"] == "application/pdf"
    assert chat.media["filename"] == "invoice.pdf"
    assert chat.body == ""


@pytest.mark.django_db
def test_bytes_that_are_not_the_claimed_type_go_out_as_a_document(
    alice_api, number, django_capture_on_commit_callbacks
):
    """A PDF uploaded as an `image` named .png: never stored or sent as an image."""
    response = upload(
        alice_api, django_capture_on_commit_callbacks, {"to": TO, "type": "image"}, name="cat.png", data=PDF
    )

    assert response.status_code == 201, response.content
    chat = Chat.objects.get(uuid=response.json()["uuid"])
    assert chat.media_file.mimetype == "application/octet-stream"
    assert chat.media["type"] == "document"
    assert chat.media["mimetype"] == "application/octet-stream"


@pytest.mark.django_db
def test_the_same_idempotency_key_twice_makes_one_message_and_one_file(
    alice_api,
    number,
    live_worker,  # noqa: F811
    broker,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    first = upload(
        alice_api, django_capture_on_commit_callbacks, {"to": TO, "caption": "hi"}, HTTP_IDEMPOTENCY_KEY="k-1"
    )
    second = upload(
        alice_api, django_capture_on_commit_callbacks, {"to": TO, "caption": "hi"}, HTTP_IDEMPOTENCY_KEY="k-1"
    )

    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["uuid"] == second.json()["uuid"]
    assert Chat.objects.count() == 1 and MediaFile.objects.count() == 1
    assert len(sends(broker, live_worker)) == 1


@pytest.mark.django_db
def test_the_same_bytes_in_two_messages_are_stored_once(
    alice_api, number, django_capture_on_commit_callbacks
):
    upload(alice_api, django_capture_on_commit_callbacks, {"to": TO})
    upload(alice_api, django_capture_on_commit_callbacks, {"to": "+12015550198"})

    assert Chat.objects.count() == 2 and MediaFile.objects.count() == 1


@pytest.mark.django_db
def test_a_voice_note_is_sent_as_ptt_and_takes_no_caption(
    alice_api, number, django_capture_on_commit_callbacks
):
    ogg = b"OggS\x00\x02" + b"\x00" * 20 + b"\x01\x13OpusHead\x01\x01" + b"\x00" * 40
    refused = upload(
        alice_api,
        django_capture_on_commit_callbacks,
        {"to": TO, "type": "ptt", "caption": "listen"},
        name="note.ogg",
        data=ogg,
    )
    assert refused.status_code == 400 and refused.json()["error"]["field"] == "caption"
    assert not Chat.objects.exists()

    response = upload(
        alice_api, django_capture_on_commit_callbacks, {"to": TO, "type": "ptt"}, name="note.ogg", data=ogg
    )
    assert response.status_code == 201, response.content
    chat = Chat.objects.get(uuid=response.json()["uuid"])
    assert chat.media["type"] == "ptt" and chat.media["mimetype"].startswith("audio/")


@pytest.mark.django_db
def test_a_file_uploaded_once_is_sent_by_its_uuid(alice_api, number, django_capture_on_commit_callbacks):
    stored = alice_api.post("/api/v1/media", {"file": SimpleUploadedFile("a.pdf", PDF)}, format="multipart")
    assert stored.status_code == 201, stored.content
    assert stored.json()["mimetype"] == "application/pdf"

    for to in (TO, "+12015550198"):
        response = send_json(
            alice_api,
            django_capture_on_commit_callbacks,
            {"to": to, "media": stored.json()["uuid"], "filename": "price list.pdf", "caption": "Prices"},
        )
        assert response.status_code == 201, response.content

    assert MediaFile.objects.count() == 1
    assert {c.media["filename"] for c in Chat.objects.all()} == {"price list.pdf"}


@pytest.mark.django_db
def test_another_workspaces_file_is_unknown(
    alice_api, bob, workspace_b, number, django_capture_on_commit_callbacks
):
    from tests.conftest import api_client_for

    theirs = api_client_for(workspace_b, bob).post(
        "/api/v1/media", {"file": SimpleUploadedFile("a.pdf", PDF)}, format="multipart"
    )
    response = send_json(
        alice_api, django_capture_on_commit_callbacks, {"to": TO, "media": theirs.json()["uuid"]}
    )

    assert response.status_code == 400 and response.json()["error"]["field"] == "media"
    assert not Chat.objects.exists()


@pytest.mark.django_db
def test_a_file_over_its_types_limit_is_413(alice_api, number, settings, django_capture_on_commit_callbacks):
    from messaging.services.media import media_size_limit

    too_big = b"\x89PNG\r\n\x1a\n" + b"\0" * media_size_limit("image")
    response = upload(
        alice_api, django_capture_on_commit_callbacks, {"to": TO, "type": "image"}, data=too_big
    )

    assert response.status_code == 413, response.content
    assert response.json()["error"]["field"] == "file"
    assert nothing_stored()


@pytest.mark.django_db
def test_a_full_workspace_storage_is_413(alice_api, number, settings, django_capture_on_commit_callbacks):
    settings.BLAZZ_MEDIA_WORKSPACE_QUOTA_BYTES = 10

    response = upload(alice_api, django_capture_on_commit_callbacks, {"to": TO})
    uploaded = alice_api.post("/api/v1/media", {"file": SimpleUploadedFile("a.png", PNG)}, format="multipart")

    assert (response.status_code, uploaded.status_code) == (413, 413), response.content
    assert response.json()["error"]["field"] == "file"
    assert nothing_stored()


# --- Locations and contact cards ----------------------------------------------------------------------


@pytest.mark.django_db
def test_it_sends_a_location(
    alice_api,
    number,
    live_worker,  # noqa: F811
    broker,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    response = send_json(
        alice_api,
        django_capture_on_commit_callbacks,
        {
            "to": TO,
            "location": {"lat": -8.0476, "lng": -34.877, "name": "Shop", "address": "Rua da Aurora 1"},
        },
    )

    assert response.status_code == 201, response.content
    chat = Chat.objects.get(uuid=response.json()["uuid"])
    assert chat.media == {
        "type": "location",
        "lat": -8.0476,
        "lng": -34.877,
        "name": "Shop",
        "address": "Rua da Aurora 1",
    }
    assert chat.media_file is None and chat.media_status is None and chat.body == ""
    assert response.json()["media"]["type"] == "location"
    assert len(sends(broker, live_worker)) == 1


@pytest.mark.django_db
def test_it_builds_a_vcard_for_a_contact_card(alice_api, number, django_capture_on_commit_callbacks):
    response = send_json(
        alice_api,
        django_capture_on_commit_callbacks,
        {"to": TO, "contact_card": {"name": "Ana; Lima, Jr", "phone": "+55 11 98765-0103"}},
    )

    assert response.status_code == 201, response.content
    vcard = Chat.objects.get(uuid=response.json()["uuid"]).media["vcard"]
    assert vcard.startswith("BEGIN:VCARD\r\nVERSION:3.0\r\n") and vcard.endswith("END:VCARD")
    assert "FN:Ana\\; Lima\\, Jr\r\n" in vcard
    assert "TEL;type=CELL;type=VOICE;waid=5511987650103:+5511987650103" in vcard


@pytest.mark.django_db
def test_it_sends_a_raw_vcard(alice_api, number, django_capture_on_commit_callbacks):
    card = "BEGIN:VCARD\nVERSION:3.0\nFN:Bo\nTEL:+12015550100\nEND:VCARD"
    response = send_json(alice_api, django_capture_on_commit_callbacks, {"to": TO, "vcard": card})

    assert response.status_code == 201, response.content
    assert Chat.objects.get().media == {"type": "vcard", "vcard": card}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"location": {"lat": 91, "lng": 0}}, "location.lat"),
        ({"location": {"lat": 0, "lng": "east"}}, "location.lng"),
        ({"location": {"lat": 0}}, "location.lng"),
        ({"location": {"lat": 0, "lng": 0, "altitude": 3}}, "location.altitude"),
        ({"location": {"lat": 0, "lng": 0, "name": "x" * 300}}, "location.name"),
        ({"location": "here"}, "location"),
        ({"location": {"lat": 0, "lng": 0}, "caption": "see you"}, "caption"),
        ({"location": {"lat": 0, "lng": 0}, "vcard": "BEGIN:VCARD\nEND:VCARD"}, "vcard"),
        ({"contact_card": {"name": "Ana", "phone": "not a phone"}}, "contact_card.phone"),
        ({"contact_card": {"name": "", "phone": "+12015550100"}}, "contact_card.name"),
        ({"contact_card": {"name": "Ana"}}, "contact_card.phone"),
        ({"vcard": "FN:Ana"}, "vcard"),
        ({"vcard": "BEGIN:VCARD\n" + "N:x\n" * VCARD_MAX_CHARS + "END:VCARD"}, "vcard"),
        ({"vcard": "BEGIN:VCARD\nFN:a\x00b\nEND:VCARD"}, "vcard"),
        ({"type": "image", "body": "no file"}, "type"),
        ({"filename": "a.pdf", "body": "no file"}, "filename"),
        ({"caption": "no media"}, "caption"),
        ({"media": "not-a-uuid"}, "media"),
        ({"media": "00000000-0000-0000-0000-000000000001"}, "media"),
        ({"media_url": "https://example.com/a.png", "type": "gif"}, "type"),
        ({"media_url": 42}, "media_url"),
        ({"media_url": "https://example.com/" + "a" * 3000}, "media_url"),
    ],
)
def test_it_refuses_invalid_media_with_the_field_and_stores_nothing(
    alice_api, number, body, field, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = alice_api.post("/api/v1/messages", {"to": TO, **body}, format="json")

    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert field in {error["field"], *(d["field"] for d in error.get("details", []))}, error
    assert nothing_stored() and not callbacks


# --- Hostile multipart ------------------------------------------------------------------------------


def raw_post(client, path: str, body: bytes, content_type: str, key: str):
    return client.generic("POST", path, body, content_type=content_type, HTTP_AUTHORIZATION=f"Api-Key {key}")


@pytest.fixture
def api_key(workspace_a, alice):
    from accounts.services import api_key_create

    return api_key_create(workspace=workspace_a, name="media", created_by=alice)[1]


def multipart(parts: list[tuple[str, str | None, bytes]], boundary: str = "b0undary") -> bytes:
    out = b""
    for name, filename, data in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        out += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + data + b"\r\n"
    return out + f"--{boundary}--\r\n".encode()


FORM = "multipart/form-data; boundary=b0undary"


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/messages", "/api/v1/media"])
@pytest.mark.parametrize(
    ("name", "body", "content_type", "field"),
    [
        ("no boundary", multipart([("to", None, TO.encode())]), "multipart/form-data", None),
        ("boundary that is not in the body", multipart([("to", None, b"x")]), FORM.replace("b0", "zz"), None),
        ("truncated", multipart([("to", None, TO.encode()), ("file", "a.png", PNG)])[:150], FORM, None),
        ("garbage", b"\xff\xfe\x00garbage" * 50, FORM, None),
        ("no file", multipart([("to", None, TO.encode()), ("caption", None, b"hi")]), FORM, "file"),
        ("an empty file", multipart([("to", None, TO.encode()), ("file", "a.png", b"")]), FORM, "file"),
        ("file as a plain field", multipart([("to", None, TO.encode()), ("file", None, PNG)]), FORM, "file"),
        (
            "unknown type",
            multipart([("to", None, TO.encode()), ("type", None, b"gif"), ("file", "a.png", PNG)]),
            FORM,
            "type",
        ),
        (
            "unknown field",
            multipart([("to", None, TO.encode()), ("is_admin", None, b"1"), ("file", "a.png", PNG)]),
            FORM,
            "is_admin",
        ),
    ],
)
def test_forged_multipart_is_a_400_and_stores_nothing(
    client, api_key, number, path, name, body, content_type, field
):
    response = raw_post(client, path, body, content_type, api_key)

    assert response.status_code == 400, (name, response.content)
    error = response.json()["error"]
    if field and path == "/api/v1/messages":  # /api/v1/media names `to` first: not its field
        assert field in {error["field"], *(d["field"] for d in error.get("details", []))}, error
    assert nothing_stored()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("parts", "field"),
    [
        ([("file", "a.png", PNG)], "to"),
        ([("to", None, b"abc"), ("file", "a.png", PNG)], "to"),
        ([("to", None, TO.encode()), ("caption", None, b"a\x00b"), ("file", "a.png", PNG)], "caption"),
        ([("to", None, TO.encode()), ("session", None, b"nope"), ("file", "a.png", PNG)], "session"),
        (
            [
                ("to", None, TO.encode()),
                ("caption", None, b"a"),
                ("body", None, b"b"),
                ("file", "a.png", PNG),
            ],
            "caption",
        ),
        ([("to", None, TO.encode()), ("filename", None, b"x" * 300), ("file", "a.png", PNG)], "filename"),
    ],
)
def test_invalid_upload_fields_are_a_400_naming_the_field(client, api_key, number, parts, field):
    response = raw_post(client, "/api/v1/messages", multipart(parts), FORM, api_key)

    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert field in {error["field"], *(d["field"] for d in error.get("details", []))}, error
    assert not Chat.objects.exists()


@pytest.mark.django_db
def test_form_urlencoded_is_still_refused(client, api_key, number):
    response = raw_post(
        client, "/api/v1/messages", b"to=%2B12015550199&body=hi", "application/x-www-form-urlencoded", api_key
    )
    assert response.status_code == 415


# --- The body cap, on a real daphne ----------------------------------------------------------------

UPLOAD_CAP = 3_000_000
ANSWER_WAIT_SECONDS = 20


@pytest.fixture(scope="module")
def server(django_db_setup, tmp_path_factory):
    # The default JSON cap (~1 MB); uploads capped at 3 MB instead of ~101 MB so the test moves
    # little data. Same code path: the multipart cap by path prefix.
    with asgi_server(
        tmp_path_factory.mktemp("media-cap"),
        extra_env={"BLAZZ_MEDIA_UPLOAD_MAX_REQUEST_BYTES": str(UPLOAD_CAP)},
    ) as process:
        yield process


def exchange(server, head: bytes, body: bytes) -> tuple[int, bytes]:
    address = urlsplit(server.url)
    with socket.create_connection((address.hostname, address.port), timeout=ANSWER_WAIT_SECONDS) as sock:
        sock.sendall(head + body)
        data = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except (TimeoutError, ConnectionResetError):
                break
            if not chunk:
                break
            data += chunk
            answer_head, separator, answer_body = data.partition(b"\r\n\r\n")
            if separator:
                length = [
                    int(line.split(b":", 1)[1])
                    for line in answer_head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                ]
                if length and len(answer_body) >= length[0]:
                    break
    assert data, f"no answer within {ANSWER_WAIT_SECONDS} s"
    return int(data.split(b" ", 2)[1]), data.partition(b"\r\n\r\n")[2]


def head(path: str, content_type: str, length: int) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {length}\r\nConnection: close\r\n\r\n"
    ).encode()


def test_an_upload_over_the_cap_is_413_before_its_body_is_sent(server):
    """200 MB announced, 1 KB sent: the answer comes at once, so the body was never awaited."""
    status, body = exchange(server, head("/api/v1/messages", FORM, 200 * 1024 * 1024), b"x" * 1024)

    assert status == 413
    assert json.loads(body)["error"]["code"] == "request_too_large"


def test_an_upload_under_the_cap_is_read_while_json_of_that_size_is_refused(server):
    size = 2_000_000  # over the JSON cap, under the upload cap
    form = multipart([("to", None, TO.encode()), ("file", "big.bin", b"x" * size)])
    upload_status, answer = exchange(server, head("/api/v1/messages", FORM, len(form)), form)
    # Refused on its declared length: 1 KB of it is enough to show that.
    json_status, json_body = exchange(server, head("/api/v1/messages", "application/json", size), b" " * 1024)
    media_status, _ = exchange(server, head("/api/v1/media", FORM, len(form)), form)

    assert upload_status in (401, 403), answer  # read in full, then Django's answer: no API key
    assert media_status in (401, 403)
    assert json_status == 413
    assert json.loads(json_body)["error"]["code"] == "request_too_large"


def test_other_paths_keep_the_small_cap_for_multipart(server):
    status, _ = exchange(server, head("/api/v1/contacts", FORM, 2_000_000), b"x" * 1024)
    assert status == 413


# --- The cap's policy on its own -------------------------------------------------------------------


def test_only_a_multipart_body_gets_the_upload_cap_and_only_on_the_upload_paths():
    from blazz.body_limit import BodyLimits

    limits = BodyLimits(
        default=1000,
        by_path_prefix={"/contacts/import/": 5000},
        multipart_by_path_prefix={"/api/v1/messages": 100_000, "/contacts/": 2000},
    )

    assert limits.for_path("/api/v1/messages", "multipart/form-data; boundary=x") == 100_000
    assert limits.for_path("/api/v1/messages", b"Multipart/Form-Data; boundary=x") == 100_000
    assert limits.for_path("/api/v1/messages", "application/json") == 1000
    assert limits.for_path("/api/v1/messages", None) == 1000
    assert limits.for_path("/api/v1/messages", "multipart/mixed; boundary=x") == 1000
    assert limits.for_path("/api/v1/contacts", "multipart/form-data") == 1000
    # A path's own cap stays when it is larger than its multipart one.
    assert limits.for_path("/contacts/import/", "multipart/form-data") == 5000
    assert limits.largest == 100_000


def test_the_middleware_reads_the_content_type_before_any_of_the_body():
    import asyncio

    from blazz.body_limit import BodyLimits, RequestBodyLimitMiddleware

    async def app(scope, receive, send):
        await receive()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    def status_for(content_type: bytes, length: int) -> tuple[int, int]:
        middleware = RequestBodyLimitMiddleware(
            app, BodyLimits(default=1000, multipart_by_path_prefix={"/api/v1/messages": 100_000})
        )
        calls, sent = 0, []

        async def receive():
            nonlocal calls
            calls += 1
            return {"type": "http.request", "body": b"x" * length, "more_body": False}

        async def send(message):
            sent.append(message)

        headers = [(b"content-type", content_type), (b"content-length", str(length).encode())]
        scope = {"type": "http", "method": "POST", "path": "/api/v1/messages", "headers": headers}
        asyncio.run(middleware(scope, receive, send))
        return sent[0]["status"], calls

    assert status_for(b"application/json", 5000) == (413, 0)
    assert status_for(b"multipart/form-data; boundary=x", 5000) == (200, 1)
    assert status_for(b"multipart/form-data; boundary=x", 200_000) == (413, 0)


def test_a_cap_below_the_document_limit_and_a_bare_allowed_host_are_check_errors(settings):
    from blazz.checks import check_media_uploads

    assert check_media_uploads(None) == []
    settings.BLAZZ_MEDIA_UPLOAD_MAX_REQUEST_BYTES = settings.BLAZZ_MEDIA_MAX_DOCUMENT_BYTES
    settings.BLAZZ_MEDIA_URL_ALLOWED_HOSTS = ["assets.internal", "assets.internal:8080"]

    assert [error.id for error in check_media_uploads(None)] == ["blazz.E020", "blazz.E021"]
