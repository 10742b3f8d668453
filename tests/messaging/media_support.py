"""Shared by the media tests: a media storage of the test's own (a temporary directory, so
nothing a test stores outlives it), and small real files made on the spot."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from blazz.settings import media_storage_config


@pytest.fixture
def media_root(settings, tmp_path):
    root = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "blazz_media": media_storage_config(
            root=root, bucket="", endpoint_url="", region="", access_key="", secret_key=""
        ),
    }
    return root


def png_bytes(*, size: tuple[int, int] = (64, 48), color: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="PNG")
    return out.getvalue()


def jpeg_bytes(*, size: tuple[int, int] = (640, 480), color: tuple[int, int, int] = (10, 120, 200)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="JPEG")
    return out.getvalue()


PDF_BYTES = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)
SVG_BYTES = (
    b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>alert(1)</script></svg>\n"
)
HTML_BYTES = (
    b"<!DOCTYPE html>\n<html><head><title>x</title></head><body><script>alert(1)</script></body></html>\n"
)
