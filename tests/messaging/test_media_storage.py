"""media_file_store (issue 17): content-addressed per workspace, mimetype sniffed from the
bytes, size limits per kind and the workspace quota."""

import io

import pytest

from messaging.media.storage import media_storage
from messaging.models import MediaFile
from messaging.services.media import MediaRefused, media_file_store, media_size_limit
from tests.messaging.media_support import HTML_BYTES, PDF_BYTES, SVG_BYTES, png_bytes

pytestmark = pytest.mark.django_db


def test_it_stores_the_same_bytes_once_per_workspace(media_root, workspace_a, workspace_b):
    data = png_bytes()
    first = media_file_store(workspace=workspace_a, data=data, kind="image")
    again = media_file_store(workspace=workspace_a, data=io.BytesIO(data), kind="image")
    other = media_file_store(workspace=workspace_b, data=data, kind="image")

    assert again.pk == first.pk
    assert other.pk != first.pk
    assert MediaFile.objects.count() == 2
    assert first.storage_name == f"{workspace_a.uuid}/{first.sha256[:2]}/{first.sha256}"
    assert other.storage_name.startswith(str(workspace_b.uuid))
    assert (first.mimetype, first.size, first.width, first.height) == ("image/png", len(data), 64, 48)
    with media_storage().open(first.storage_name, "rb") as stored:
        assert stored.read() == data
    assert sorted(p.name for p in media_root.rglob("*") if p.is_file()) == [first.sha256, first.sha256]


def test_it_stores_bytes_that_are_not_what_they_claim_as_octet_stream(media_root, workspace_a):
    assert media_file_store(workspace=workspace_a, data=HTML_BYTES, kind="image").mimetype == (
        "application/octet-stream"
    )
    assert media_file_store(workspace=workspace_a, data=PDF_BYTES + b"%voice", kind="ptt").mimetype == (
        "application/octet-stream"
    )
    # An SVG is not a photo (it can carry scripts).
    assert media_file_store(workspace=workspace_a, data=SVG_BYTES, kind="image").mimetype == (
        "application/octet-stream"
    )
    # A document is whatever it is.
    assert (
        media_file_store(workspace=workspace_a, data=PDF_BYTES, kind="document").mimetype == "application/pdf"
    )


def test_it_refuses_a_file_over_its_kinds_limit(media_root, workspace_a, settings):
    settings.BLAZZ_MEDIA_MAX_IMAGE_BYTES = 1000
    assert media_size_limit("image") == 1000
    with pytest.raises(MediaRefused) as refused:
        media_file_store(workspace=workspace_a, data=io.BytesIO(b"\x89PNG" + b"0" * 2000), kind="image")
    assert refused.value.status == 413
    assert "1000 bytes" in str(refused.value)
    assert not MediaFile.objects.exists()
    assert not media_root.exists() or not any(p.is_file() for p in media_root.rglob("*"))


def test_it_refuses_kinds_without_bytes(media_root, workspace_a):
    with pytest.raises(MediaRefused):
        media_file_store(workspace=workspace_a, data=b"x", kind="location")


def test_it_refuses_when_the_workspace_quota_is_full(media_root, workspace_a, workspace_b, settings):
    first = png_bytes(color=(1, 2, 3))
    settings.BLAZZ_MEDIA_WORKSPACE_QUOTA_BYTES = len(first) + 10
    media_file_store(workspace=workspace_a, data=first, kind="image")
    # The same bytes again cost nothing.
    media_file_store(workspace=workspace_a, data=first, kind="image")
    with pytest.raises(MediaRefused) as refused:
        media_file_store(workspace=workspace_a, data=png_bytes(color=(4, 5, 6)), kind="image")
    assert refused.value.status == 413
    assert "full" in str(refused.value)
    # Another workspace has its own quota.
    media_file_store(workspace=workspace_b, data=png_bytes(color=(4, 5, 6)), kind="image")
