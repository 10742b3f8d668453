"""Real files of every kind a WhatsApp media message carries, made on the fly (no binary
fixtures in the repository): each is a valid file its format's sniffers recognise, and random
enough that two calls never give the same bytes (sha256 comparisons then mean something)."""

from __future__ import annotations

import io
import os
import struct

from PIL import Image


def _noise_image(width: int, height: int) -> Image.Image:
    return Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))


def png(width: int = 64, height: int = 48) -> bytes:
    out = io.BytesIO()
    _noise_image(width, height).save(out, format="PNG")
    return out.getvalue()


def jpeg(width: int = 64, height: int = 48, *, size: int | None = None) -> bytes:
    """A JPEG; with ``size``, padded after its end marker to exactly that many bytes (viewers
    ignore what follows EOI; a 1 MB photo for the benchmarks without a 1 MB encode)."""
    out = io.BytesIO()
    _noise_image(width, height).save(out, format="JPEG", quality=90)
    data = out.getvalue()
    if size is not None:
        if size < len(data):
            raise ValueError(f"a {width}x{height} JPEG is already {len(data)} bytes")
        data += os.urandom(size - len(data))
    return data


def webp(width: int = 96, height: int = 96) -> bytes:
    out = io.BytesIO()
    _noise_image(width, height).save(out, format="WEBP")
    return out.getvalue()


def pdf(text: str = "Blazz receipt") -> bytes:
    """A one-page PDF with a random id (so each is a new file)."""
    stream = f"BT /F1 18 Tf 40 100 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 144] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    file_id = os.urandom(16).hex().encode()
    out.write(
        b"trailer\n<< /Size %d /Root 1 0 R /ID [<%s> <%s>] >>\nstartxref\n%d\n%%%%EOF\n"
        % (len(objects) + 1, file_id, file_id, xref)
    )
    return out.getvalue()


def mp4(payload_bytes: int = 2048) -> bytes:
    """An ISO-BMFF file: ftyp + free + mdat boxes (sniffed as video/mp4)."""
    ftyp = b"ftyp" + b"isom" + struct.pack(">I", 0x200) + b"isomiso2avc1mp41"
    mdat = b"mdat" + os.urandom(payload_bytes)
    free = b"free" + b"blazz"
    return b"".join(struct.pack(">I", len(box) + 4) + box for box in (ftyp, free, mdat))


# --- Ogg/Opus (a voice note, as WhatsApp records them) -------------------------------------


def ogg_crc(data: bytes) -> int:
    """Ogg's CRC-32: polynomial 0x04C11DB7, not reflected, initial 0, no final xor (RFC 3533 §6)."""
    crc = 0
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
            crc &= 0xFFFFFFFF
    return crc


def _ogg_page(packet: bytes, *, serial: int, sequence: int, granule: int, flags: int) -> bytes:
    segments = [255] * (len(packet) // 255) + [len(packet) % 255]
    header = (
        b"OggS"
        + bytes([0, flags])
        + struct.pack("<qIII", granule, serial, sequence, 0)
        + bytes([len(segments)])
        + bytes(segments)
    )
    crc = ogg_crc(header + packet)
    return header[:22] + struct.pack("<I", crc) + header[26:] + packet


def ogg_opus(frames: int = 50) -> bytes:
    """A mono Ogg/Opus stream of ``frames`` 20 ms silence frames with random comment text."""
    serial = int.from_bytes(os.urandom(4), "little")
    head = b"OpusHead" + bytes([1, 1]) + struct.pack("<HIhB", 312, 48000, 0, 0)
    vendor = b"blazz-test"
    comment = b"id=" + os.urandom(8).hex().encode()
    tags = b"OpusTags" + struct.pack("<I", len(vendor)) + vendor + struct.pack("<I", 1)
    tags += struct.pack("<I", len(comment)) + comment
    pages = [
        _ogg_page(head, serial=serial, sequence=0, granule=0, flags=0x02),
        _ogg_page(tags, serial=serial, sequence=1, granule=0, flags=0),
    ]
    silence = bytes([0xF8, 0xFF, 0xFE])  # one 20 ms CELT silence frame
    pages.append(_ogg_page(silence, serial=serial, sequence=2, granule=960 * frames, flags=0x04))
    return b"".join(pages)
