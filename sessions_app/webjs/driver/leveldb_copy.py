"""Consistent copies of LevelDB directories that a running Chrome is writing (IndexedDB,
Local Storage), without stopping it and without a LevelDB library.

A plain file copy of a live LevelDB can catch a table that a compaction deletes a moment
later, a MANIFEST that names tables not copied, or a log cut inside a record; Chrome then
reports corruption and *deletes* the database. This module copies what LevelDB's own
recovery reads, in the order that makes the copy a point-in-time state:

1. ``CURRENT`` names the MANIFEST. The MANIFEST is append-only; its bytes are read and
   parsed up to the last complete record, giving the live table files, the current log
   number and the previous log number.
2. The live tables are copied. Tables are immutable once a MANIFEST record names them; if
   one is gone, a compaction finished after step 1 and we start again.
3. The logs numbered from the log number on are listed *after* step 1 and copied in order,
   each cut after its last complete record. A log is only written until the next one is
   created, so every listed log but the newest is complete, and the newest is a prefix:
   the copy holds every WriteBatch up to an instant and none after it. A WriteBatch is one
   IndexedDB transaction, so no transaction is half in. If the current log is gone, its
   memtable was flushed into tables our MANIFEST bytes do not name: start again.
4. If ``CURRENT`` changed meanwhile (a new MANIFEST), start again.

Record checksums are not verified: a reader of a file being appended sees a prefix of the
appended bytes, never garbage, so a complete record is the one written.

Evidence (Chromium 156, a page committing one IndexedDB transaction per ~2 ms): plain
copies made file by file with a slow disk restored with the database *deleted* by Chrome
in 3 of 6 cases; copies made here restored every time (tests/driver/test_snapshot_live.py,
with and without 50 ms per file read, where retries on vanished logs do occur).
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from .errors import SnapshotInconsistent

BLOCK_SIZE = 32768
HEADER_SIZE = 7  # crc32c (4) + length (2) + type (1)
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4
MAX_ATTEMPTS = 20
# VersionEdit tags (leveldb/db/version_edit.cc).
COMPARATOR, LOG_NUMBER, NEXT_FILE, LAST_SEQUENCE, COMPACT_POINTER, DELETED_FILE, NEW_FILE = (
    1,
    2,
    3,
    4,
    5,
    6,
    7,
)
PREV_LOG_NUMBER = 9
MANIFEST_NAME = re.compile(r"MANIFEST-(\d+)")
NUMBERED_FILE = re.compile(r"(\d+)\.(log|ldb|sst)")


class LevelDBFormatError(ValueError):
    """The bytes are not a LevelDB log/MANIFEST this module understands."""


class _Changed(Exception):
    """The database changed under the copy in a way that needs a new attempt."""


@dataclass
class ManifestState:
    log_number: int | None = None
    prev_log_number: int | None = None
    live_tables: set[int] = field(default_factory=set)


def complete_records(data: bytes) -> tuple[list[bytes], int]:
    """The logical records of a LevelDB log or MANIFEST, and the length of the prefix that
    ends with the last complete one (a torn tail is left out, as LevelDB's reader does)."""
    records: list[bytes] = []
    fragments: list[bytes] | None = None
    position = good_end = 0
    while True:
        left_in_block = BLOCK_SIZE - position % BLOCK_SIZE
        if left_in_block < HEADER_SIZE:  # the writer zero-fills a block's short trailer
            position += left_in_block
            continue
        if position + HEADER_SIZE > len(data):
            break
        length = data[position + 4] | data[position + 5] << 8
        record_type = data[position + 6]
        end = position + HEADER_SIZE + length
        if end > len(data):
            break  # torn: the writer had not finished this record
        if record_type == 0 and length == 0:
            break  # preallocated zeros: nothing written past here
        payload = data[position + HEADER_SIZE : end]
        if record_type == FULL and fragments is None:
            records.append(payload)
            good_end = end
        elif record_type == FIRST and fragments is None:
            fragments = [payload]
        elif record_type == MIDDLE and fragments is not None:
            fragments.append(payload)
        elif record_type == LAST and fragments is not None:
            records.append(b"".join([*fragments, payload]))
            fragments = None
            good_end = end
        else:
            raise LevelDBFormatError(f"unexpected record type {record_type} at offset {position}")
        position = end
    return records, good_end


def _varint(data: bytes, position: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if position >= len(data):
            raise LevelDBFormatError("truncated varint")
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, position
        shift += 7


def _skip_slice(data: bytes, position: int) -> int:
    length, position = _varint(data, position)
    return position + length


def parse_manifest(records: list[bytes]) -> ManifestState:
    """Replay the VersionEdits of a MANIFEST: live tables and log numbers."""
    state = ManifestState()
    for record in records:
        position = 0
        while position < len(record):
            tag, position = _varint(record, position)
            if tag == COMPARATOR:
                position = _skip_slice(record, position)
            elif tag == LOG_NUMBER:
                state.log_number, position = _varint(record, position)
            elif tag == PREV_LOG_NUMBER:
                state.prev_log_number, position = _varint(record, position)
            elif tag in (NEXT_FILE, LAST_SEQUENCE):
                _, position = _varint(record, position)
            elif tag == COMPACT_POINTER:
                _, position = _varint(record, position)  # level
                position = _skip_slice(record, position)
            elif tag == DELETED_FILE:
                _, position = _varint(record, position)  # level
                number, position = _varint(record, position)
                state.live_tables.discard(number)
            elif tag == NEW_FILE:
                _, position = _varint(record, position)  # level
                number, position = _varint(record, position)
                _, position = _varint(record, position)  # file size
                position = _skip_slice(record, position)  # smallest key
                position = _skip_slice(record, position)  # largest key
                state.live_tables.add(number)
            else:
                raise LevelDBFormatError(f"unknown VersionEdit tag {tag}")
    return state


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise _Changed(f"{path.name} vanished") from exc


def _copy_once(directory: Path) -> dict[str, bytes]:
    if not (directory / "CURRENT").exists() and not any(
        MANIFEST_NAME.fullmatch(n) for n in os.listdir(directory)
    ):
        return {}  # never opened (or not yet): an empty database, nothing to copy
    current = _read(directory / "CURRENT")
    manifest_name = current.decode("ascii", "replace").strip()
    if not MANIFEST_NAME.fullmatch(manifest_name):
        raise LevelDBFormatError(f"CURRENT names {manifest_name!r}")
    manifest = _read(directory / manifest_name)
    records, manifest_end = complete_records(manifest)
    state = parse_manifest(records)
    files = {"CURRENT": current, manifest_name: manifest[:manifest_end]}

    # Listed after the MANIFEST was read: a log created later only holds later writes.
    numbered = {}
    for name in os.listdir(directory):
        match = NUMBERED_FILE.fullmatch(name)
        if match:
            numbered[(int(match[1]), match[2])] = name
    for number in sorted(state.live_tables):
        name = numbered.get((number, "ldb")) or numbered.get((number, "sst"))
        if name is None:
            raise _Changed(f"table {number} was compacted away")
        files[name] = _read(directory / name)

    log_number = state.log_number or 0
    logs = sorted(
        n for (n, kind) in numbered if kind == "log" and (n >= log_number or n == state.prev_log_number)
    )
    if state.log_number and state.log_number not in logs:
        raise _Changed(f"log {state.log_number} was flushed and deleted")
    for number in logs:
        data = _read(directory / numbered[(number, "log")])
        _, end = complete_records(data)
        files[numbered[(number, "log")]] = data[:end]

    if _read(directory / "CURRENT") != current:
        raise _Changed("CURRENT changed")
    return files


def copy_live(directory: str | os.PathLike[str]) -> dict[str, bytes]:
    """A point-in-time copy of a live LevelDB: {file name: bytes}, ready to be written into
    an empty directory. Raises SnapshotInconsistent if every attempt raced a change."""
    directory = Path(directory)
    reason = ""
    for attempt in range(MAX_ATTEMPTS):
        try:
            return _copy_once(directory)
        except _Changed as change:
            reason = str(change)
            time.sleep(0.005 * (attempt + 1))
        except LevelDBFormatError as exc:
            raise SnapshotInconsistent(f"{directory} is not a LevelDB this copier reads: {exc}") from exc
    raise SnapshotInconsistent(f"{directory} changed under {MAX_ATTEMPTS} copy attempts (last: {reason})")


def copy_tree(directory: str | os.PathLike[str]) -> dict[str, bytes]:
    """Copy a directory of immutable files (IndexedDB blobs), {relative posix path: bytes}.
    A blob is written before the transaction that references it commits, so blobs the
    LevelDB copy references exist unless a later transaction dropped them; a blob deleted
    during the walk makes the walk start again."""
    directory = Path(directory)
    for attempt in range(MAX_ATTEMPTS):
        files: dict[str, bytes] = {}
        try:
            for root, _, names in os.walk(directory):
                for name in names:
                    path = Path(root, name)
                    files[path.relative_to(directory).as_posix()] = path.read_bytes()
            return files
        except FileNotFoundError:
            time.sleep(0.005 * (attempt + 1))
    raise SnapshotInconsistent(f"{directory} changed under {MAX_ATTEMPTS} copy attempts")
