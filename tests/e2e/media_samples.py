"""Real media bytes for browser tests (issue 17), made here so no binary sits in the repository:
a PNG (Pillow), an Ogg/Opus voice note a browser plays, a small valid PDF."""

from __future__ import annotations

import io
import struct

from PIL import Image, ImageDraw

from tests.simulator.media_samples import ogg_crc

# libopus' own output for 20 ms of digital silence (TOC 0xF8: CELT-only, fullband, 20 ms,
# mono, one frame; RFC 6716 §3.1), so no encoder is needed for a playable stream.
OPUS_SILENT_FRAME = bytes([0xF8, 0xFF, 0xFE])
OPUS_FRAME_SAMPLES = 960  # 20 ms at 48 kHz, the rate Ogg/Opus granules count in (RFC 7845 §4)
OPUS_PRE_SKIP = 312


def png(width: int = 480, height: int = 360) -> bytes:
    """A receipt-like picture: recognisable in a screenshot, a few kB."""
    image = Image.new("RGB", (width, height), "#f4f1e8")
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, 0, width, 48], fill="#128c7e")
    draw.text((16, 16), "RECEIPT #1042", fill="white")
    for row in range(6):
        y = 72 + row * 36
        draw.text((16, y), f"item {row + 1}", fill="#333333")
        draw.text((width - 90, y), f"$ {(row + 1) * 7}.90", fill="#333333")
        draw.line([16, y + 26, width - 16, y + 26], fill="#d9d4c7")
    draw.text((16, height - 40), "TOTAL  $ 146.40", fill="#075e54")
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _ogg_page(packets: list[bytes], *, granule: int, serial: int, sequence: int, flags: int) -> bytes:
    lacing = b""
    for packet in packets:
        lacing += b"\xff" * (len(packet) // 255) + bytes([len(packet) % 255])
    header = struct.pack("<4sBBqIIIB", b"OggS", 0, flags, granule, serial, sequence, 0, len(lacing))
    page = header + lacing + b"".join(packets)
    return page[:22] + struct.pack("<I", ogg_crc(page)) + page[26:]


def ogg_opus_voice_note(seconds: float = 7.0) -> bytes:
    """An Ogg/Opus mono stream of `seconds` (RFC 7845: OpusHead, OpusTags, then audio pages)."""
    serial = 0x0B1A22
    head = b"OpusHead" + struct.pack("<BBHIhB", 1, 1, OPUS_PRE_SKIP, 48000, 0, 0)
    tags = b"OpusTags" + struct.pack("<I", 5) + b"blazz" + struct.pack("<I", 0)
    pages = [
        _ogg_page([head], granule=0, serial=serial, sequence=0, flags=0x02),
        _ogg_page([tags], granule=0, serial=serial, sequence=1, flags=0),
    ]
    frames = int(seconds * 50)
    per_page = 50
    for start in range(0, frames, per_page):
        count = min(per_page, frames - start)
        last = start + count >= frames
        pages.append(
            _ogg_page(
                [OPUS_SILENT_FRAME] * count,
                # Samples decoded by the end of the page, pre-skip included (RFC 7845 §4).
                granule=(start + count) * OPUS_FRAME_SAMPLES,
                serial=serial,
                sequence=len(pages),
                flags=0x04 if last else 0,
            )
        )
    return b"".join(pages)


def pdf(text: str = "Invoice 1042") -> bytes:
    """A one-page PDF with a valid cross-reference table."""
    content = f"BT /F1 24 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return out
