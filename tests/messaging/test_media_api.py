"""Serving media (issue 17): `GET /api/v1/media/{uuid}` with the workspace's API key, and the
signed, expiring link that needs none. Never sniffed by the browser, and inline only for
raster images, audio and video."""

import time

import pytest
from django.core import signing
from django.urls import reverse

from messaging.media.links import LINK_SALT, media_token
from messaging.services.media import media_file_store, media_link
from tests.conftest import api_client_for
from tests.messaging.media_support import HTML_BYTES, PDF_BYTES, SVG_BYTES, png_bytes

pytestmark = pytest.mark.django_db


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def test_it_serves_a_workspaces_file_with_its_api_key(media_root, workspace_a, alice_api):
    data = png_bytes()
    media_file = media_file_store(workspace=workspace_a, data=data, kind="image")

    response = alice_api.get(f"/api/v1/media/{media_file.uuid}")

    assert response.status_code == 200
    assert body(response) == data
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "attachment" not in response.get("Content-Disposition", "")


def test_it_answers_404_for_another_workspaces_file(media_root, workspace_a, workspace_b, bob, alice_api):
    theirs = media_file_store(workspace=workspace_b, data=png_bytes(), kind="image")
    assert alice_api.get(f"/api/v1/media/{theirs.uuid}").status_code == 404
    assert api_client_for(workspace_b, bob).get(f"/api/v1/media/{theirs.uuid}").status_code == 200
    assert alice_api.get("/api/v1/media/not-a-uuid").status_code == 404


def test_it_needs_an_api_key(media_root, workspace_a, client):
    media_file = media_file_store(workspace=workspace_a, data=png_bytes(), kind="image")
    assert client.get(f"/api/v1/media/{media_file.uuid}").status_code in (401, 403)


@pytest.mark.parametrize(
    ("data", "kind"),
    [(SVG_BYTES, "document"), (HTML_BYTES, "document"), (HTML_BYTES, "image"), (PDF_BYTES, "document")],
)
def test_it_never_serves_svg_html_or_documents_inline(media_root, workspace_a, alice_api, client, data, kind):
    media_file = media_file_store(workspace=workspace_a, data=data, kind=kind)
    for response in (
        alice_api.get(f"/api/v1/media/{media_file.uuid}"),
        client.get(media_link(media_file=media_file)),
    ):
        assert response.status_code == 200
        assert response["Content-Disposition"].startswith("attachment")
        assert response["X-Content-Type-Options"] == "nosniff"
        assert "html" not in response["Content-Type"] or response["Content-Type"].startswith("text/html")
        assert "sandbox" in response["Content-Security-Policy"]
        assert body(response) == data


def test_a_mismatched_file_is_octet_stream_and_an_attachment(media_root, workspace_a, client):
    media_file = media_file_store(workspace=workspace_a, data=HTML_BYTES, kind="image")
    response = client.get(media_link(media_file=media_file))
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment")


def test_a_signed_link_needs_no_key_and_expires(media_root, workspace_a, client, settings):
    data = png_bytes()
    media_file = media_file_store(workspace=workspace_a, data=data, kind="image")
    link = media_link(media_file=media_file)
    assert link.startswith("/media/s/")
    assert media_link(media_file=media_file, absolute=True) == settings.BLAZZ_PUBLIC_URL + link

    response = client.get(link)
    assert response.status_code == 200
    assert body(response) == data

    settings.BLAZZ_MEDIA_LINK_LIFETIME_S = 1
    time.sleep(2.1)  # signing timestamps have a resolution of a second
    assert client.get(link).status_code == 404


def test_a_tampered_link_is_refused(media_root, workspace_a, workspace_b, client):
    mine = media_file_store(workspace=workspace_a, data=png_bytes(color=(1, 1, 1)), kind="image")
    theirs = media_file_store(workspace=workspace_b, data=png_bytes(color=(2, 2, 2)), kind="image")
    token = media_token(file_uuid=mine.uuid)
    _payload, rest = token.split(":", 1)
    # The other file's uuid under the first one's signature.
    forged = signing.dumps({"f": str(theirs.uuid), "t": 0}, salt=LINK_SALT).split(":", 1)[0] + ":" + rest
    assert client.get(reverse("media-signed", kwargs={"token": forged})).status_code == 404
    assert client.get(reverse("media-signed", kwargs={"token": token[:-2] + "xx"})).status_code == 404
    # Signed with another salt (another feature's signature) is not a media link.
    other = signing.dumps({"f": str(mine.uuid), "t": 0}, salt="something.else")
    assert client.get(reverse("media-signed", kwargs={"token": other})).status_code == 404
    assert client.get(reverse("media-signed", kwargs={"token": "garbage"})).status_code == 404
    assert client.post(reverse("media-signed", kwargs={"token": token})).status_code == 405


def test_the_thumbnail_link_serves_the_thumbnail(media_root, workspace_a, client, alice_api):
    from messaging.services.media import media_thumbnail_make

    media_file = media_file_store(workspace=workspace_a, data=png_bytes(size=(1200, 800)), kind="image")
    assert client.get(media_link(media_file=media_file, thumbnail=True)).status_code == 404
    assert media_thumbnail_make(media_file_pk=media_file.pk) is True
    media_file.refresh_from_db()
    response = client.get(media_link(media_file=media_file, thumbnail=True))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert body(response)[:3] == b"\xff\xd8\xff"
    assert alice_api.get(f"/api/v1/media/{media_file.uuid}?thumbnail=1").status_code == 200


def test_the_endpoint_is_in_the_openapi_schema(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    assert "/api/v1/media/{media_uuid}" in schema["paths"]


def test_it_answers_a_range_request_for_a_player_seeking(media_root, workspace_a, client):
    ogg = b"OggS\x00\x02" + bytes(range(256)) * 40  # an Ogg page header, then payload
    media_file = media_file_store(workspace=workspace_a, data=ogg, kind="ptt")
    link = media_link(media_file=media_file)

    whole = client.get(link)
    assert whole["Accept-Ranges"] == "bytes"
    assert body(whole) == ogg

    part = client.get(link, HTTP_RANGE="bytes=100-199")
    assert part.status_code == 206
    assert part["Content-Range"] == f"bytes 100-199/{len(ogg)}"
    assert body(part) == ogg[100:200]
    assert part["X-Content-Type-Options"] == "nosniff"

    tail = client.get(link, HTTP_RANGE="bytes=-10")
    assert body(tail) == ogg[-10:]
    assert client.get(link, HTTP_RANGE=f"bytes={len(ogg)}-").status_code == 416
    assert body(client.get(link, HTTP_RANGE="bytes=0-1,5-6")) == ogg  # several ranges: the whole file


def test_a_range_of_a_document_is_still_an_attachment(media_root, workspace_a, client):
    media_file = media_file_store(workspace=workspace_a, data=HTML_BYTES, kind="document")
    part = client.get(media_link(media_file=media_file), HTTP_RANGE="bytes=0-9")
    assert part.status_code == 206
    assert part["Content-Disposition"].startswith("attachment")
