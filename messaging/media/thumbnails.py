"""Pillow work on stored images, run by the general worker only (never the browser's thread):
the dimensions of an image, and a bounded JPEG thumbnail. Decompression bombs (more pixels
than BLAZZ_MEDIA_MAX_IMAGE_PIXELS) are refused before any pixel is decoded."""

from __future__ import annotations

import io
import warnings
from typing import IO

from django.conf import settings
from PIL import Image, ImageOps, UnidentifiedImageError


class ThumbnailRefused(ValueError):
    """The bytes are not an image Pillow will decode safely."""


def _open(source: IO[bytes]) -> Image.Image:
    # Pillow warns above MAX_IMAGE_PIXELS and raises above twice that; here both are refusals.
    Image.MAX_IMAGE_PIXELS = settings.BLAZZ_MEDIA_MAX_IMAGE_PIXELS
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(source)
            width, height = image.size
        except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
            raise ThumbnailRefused(f"too many pixels: {exc}") from exc
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
            raise ThumbnailRefused(f"not a readable image: {exc}") from exc
    if width * height > settings.BLAZZ_MEDIA_MAX_IMAGE_PIXELS:
        raise ThumbnailRefused(f"too many pixels: {width}x{height}")
    return image


def image_size(source: IO[bytes]) -> tuple[int, int] | None:
    """Width and height from the header (no pixel decoded); None if unreadable."""
    try:
        return _open(source).size
    except ThumbnailRefused:
        return None


def thumbnail_jpeg(source: IO[bytes], *, max_px: int | None = None) -> bytes:
    """A JPEG whose longest side is at most `max_px` (BLAZZ_MEDIA_THUMBNAIL_PX)."""
    bound = max_px or settings.BLAZZ_MEDIA_THUMBNAIL_PX
    image = _open(source)
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image.draft("RGB", (bound, bound))  # JPEG: decode at a reduced scale
            image = ImageOps.exif_transpose(image)
            image.thumbnail((bound, bound))
            if image.mode in ("RGBA", "LA", "P"):
                # Stickers and PNGs with transparency: on white, as WhatsApp shows them.
                image = image.convert("RGBA")
                background = Image.new("RGB", image.size, (255, 255, 255))
                background.paste(image, mask=image.getchannel("A"))
                image = background
            elif image.mode != "RGB":
                image = image.convert("RGB")
            out = io.BytesIO()
            image.save(out, format="JPEG", quality=80, optimize=True)
        except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
            raise ThumbnailRefused(f"too many pixels: {exc}") from exc
        except (OSError, ValueError, SyntaxError) as exc:
            raise ThumbnailRefused(f"not a readable image: {exc}") from exc
    return out.getvalue()
