"""Renders the QR code a WhatsApp Web page shows (its `auth code` string) as an image.

segno is pure Python and writes PNG without Pillow, so rendering needs no system library.
The light modules are painted white rather than left transparent: phone cameras need the
quiet zone to contrast with whatever page or dark-mode background the image sits on."""

from __future__ import annotations

import base64
import io

import segno

# Pixels per module. A WhatsApp code is ~240 characters (version 10-11, ~60 modules), so
# this gives a ~370 px image: large enough to scan from a laptop screen.
DEFAULT_SCALE = 6
# The QR spec asks for a 4-module quiet zone; scanners are reliable with that.
DEFAULT_BORDER = 4


def _qr(code: str) -> segno.QRCode:
    if not code:
        raise ValueError("An empty string has no QR code.")
    # micro=False: phones only read full-size QR codes.
    return segno.make(code, micro=False)


def qr_svg(code: str, *, scale: int = DEFAULT_SCALE, border: int = DEFAULT_BORDER) -> str:
    """`code` as a standalone SVG document (no XML declaration, so it can also be inlined).
    It has a viewBox and no fixed size, so it scales to whatever box shows it: the page's
    <img> sizes it, and a code too long for the default scale is never clipped."""
    buffer = io.BytesIO()
    _qr(code).save(
        buffer,
        kind="svg",
        scale=scale,
        border=border,
        dark="#000",
        light="#fff",
        xmldecl=False,
        omitsize=True,
        title="WhatsApp QR code",
    )
    return buffer.getvalue().decode("utf-8")


def qr_png(code: str, *, scale: int = DEFAULT_SCALE, border: int = DEFAULT_BORDER) -> bytes:
    buffer = io.BytesIO()
    _qr(code).save(buffer, kind="png", scale=scale, border=border, dark="#000", light="#fff")
    return buffer.getvalue()


def qr_png_base64(code: str, **kwargs: int) -> str:
    return base64.b64encode(qr_png(code, **kwargs)).decode("ascii")
