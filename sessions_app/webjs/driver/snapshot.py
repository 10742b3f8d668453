"""Login-state snapshots of a browser profile (F1): taken while the browser runs, restored
into a fresh profile on any worker, so a session comes back without a QR scan.

What is captured, and why (measured with Chromium 156, ``--password-store=basic``: a
fresh profile holding exactly these files reads back every IndexedDB value, every
localStorage item and every cookie, HttpOnly included; with Cookies alone, IndexedDB and
localStorage come back empty):
- ``Default/IndexedDB/<origin>.indexeddb.leveldb`` (+ ``.indexeddb.blob``): the page's
  databases (WhatsApp keeps its device identity there). Only the target origin's.
- ``Default/Local Storage/leveldb``: one LevelDB for all origins; the profile serves one
  site, so it is taken whole.
- ``Default/Cookies``: values are encrypted with the fixed "basic" key (``v10``), so no
  keyring and no ``Local State`` are needed; rows of other hosts are dropped.
Not needed (restores read everything without them), so not taken: ``Local State``,
``Preferences``, ``WebStorage/QuotaManager`` (Chrome rebuilds its quota bookkeeping).
Never taken: caches (``Cache``, ``Code Cache``, ``GPUCache``, ``Service Worker``,
``Dawn*Cache``), history, sessions, crash reports, lock files.

Consistency while the browser writes:
- LevelDB (IndexedDB, Local Storage) is copied the way LevelDB recovers (``leveldb_copy``):
  a point-in-time state in which every committed IndexedDB transaction is whole. Measured:
  a plain file-by-file copy taken under write load lost the whole database in 3 of 6
  restores (Chrome found it corrupt and deleted it: a silent logout); the LevelDB-aware
  copy restored 100% of snapshots under the same load, also with every read slowed to
  50 ms so that log switches and compactions land inside copies (and are retried).
- Cookies are read without any SQLite lock (see ``_read_sqlite_without_locking``): the
  backup API's shared lock, run in a loop beside Chrome, made Chrome drop 134 of 150
  cookie writes; the lock-free read dropped none in 24,000 copies, each a committed state.
- What Chrome has not yet written cannot be copied: IndexedDB commits reach disk at once,
  but Chrome writes localStorage 5 s after a change and then at most about once a minute
  under constant writes (measured: commits at 5 s, 60 s, 120 s), and cookies every ~30 s.
  A snapshot taken from a running browser therefore reflects localStorage up to a minute
  old. A clean ``Browser.stop`` flushes both (measured: the last value written before
  stop is restored), so take the definitive snapshot after a clean stop, and from a
  running browser at least a minute after a login settles.

Format: tar -> zstd -> Fernet (MultiFernet: encrypt with the first key, decrypt with any,
so keys rotate by prepending). The tar holds ``blazz-snapshot.json`` (format, origin,
browser version, files) and the profile files. Restore validates every member (plain
files under the three allowed paths only) before writing anything, into an empty dir.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sqlite3
import tarfile
import tempfile
import time
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import zstandard
from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from . import leveldb_copy
from .errors import (
    SnapshotCorrupt,
    SnapshotError,
    SnapshotInconsistent,
    SnapshotTargetNotEmpty,
    SnapshotTooLarge,
)

FORMAT = 1
MAX_COPY_ATTEMPTS = 20
MANIFEST_NAME = "blazz-snapshot.json"
PROFILE = "Default"
ZSTD_LEVEL = 10
# Members a snapshot may write on restore (anything else is refused as tampering).
ALLOWED_DIRS = (f"{PROFILE}/IndexedDB/", f"{PROFILE}/Local Storage/leveldb/")
ALLOWED_FILES = (MANIFEST_NAME, f"{PROFILE}/Cookies")


@dataclass(frozen=True)
class Snapshot:
    data: bytes  # encrypted
    size_bytes: int
    sha256: str  # of ``data``
    browser_version: str
    files: tuple[str, ...] = ()
    raw_bytes: int = 0  # profile bytes before compression
    took_s: float = 0.0


def _setting(name: str, default: Any) -> Any:
    try:
        from django.conf import settings

        return getattr(settings, name, default) if settings.configured else default
    except Exception:
        return default


def _fernet(keys: Sequence[str | bytes] | None) -> MultiFernet:
    keys = list(keys if keys is not None else _setting("BLAZZ_SNAPSHOT_KEYS", []))
    if not keys:
        raise ValueError("no snapshot keys (BLAZZ_SNAPSHOT_KEYS is empty)")
    return MultiFernet([Fernet(key) for key in keys])


def fernet_token_size(plaintext_bytes: int) -> int:
    """Exact length of a Fernet token for a plaintext of this size (version, timestamp,
    IV, AES-CBC padded body and HMAC, base64url), so the quota is checked before encrypting."""
    body = 1 + 8 + 16 + (plaintext_bytes // 16 + 1) * 16 + 32
    return 4 * ((body + 2) // 3)


def indexeddb_origin_id(origin: str) -> str:
    """Chrome's directory name for an origin: ``http_127.0.0.1_8765``, ``https_web.whatsapp.com_0``."""
    parts = urlsplit(origin)
    port = parts.port or 0  # Chrome writes 0 for a scheme's default port
    return f"{parts.scheme}_{parts.hostname}_{port}"


def _cookie_host_matches(host_key: str, hostname: str) -> bool:
    domain = host_key.lstrip(".")
    return hostname == domain or hostname.endswith("." + domain)


SQLITE_JOURNAL_MAGIC = bytes.fromhex("d9d505f920a163d7")


def _sqlite_fingerprint(path: Path) -> tuple[int, int, bytes] | None:
    """(mtime_ns, size, change counter) of a rollback-journal SQLite file, or None while a
    write transaction is open (a journal with a live header exists)."""
    journal = path.with_name(path.name + "-journal")
    try:
        with open(journal, "rb") as journal_file:
            if journal_file.read(8) == SQLITE_JOURNAL_MAGIC:
                return None
    except FileNotFoundError:
        pass
    stat = path.stat()
    with open(path, "rb") as db_file:
        header = db_file.read(28)
    return stat.st_mtime_ns, stat.st_size, header[24:28]


def _read_sqlite_without_locking(path: Path) -> bytes:
    """The bytes of a SQLite file as of one committed transaction, read without taking a
    lock. Measured: SQLite's backup API (a shared lock for ~1 ms) run in a loop beside
    Chrome made Chrome lose 134 of 150 cookie writes (its commit met SQLITE_BUSY and the
    batch was dropped); this read lost none. Every commit in rollback-journal mode bumps the
    header's change counter and is preceded by a journal with a live header, so an equal
    fingerprint before and after, with no open transaction at either end, means no write
    happened in between."""
    for attempt in range(MAX_COPY_ATTEMPTS):
        before = _sqlite_fingerprint(path)
        data = path.read_bytes() if before is not None else b""
        if before is not None and data[24:28] == before[2] and _sqlite_fingerprint(path) == before:
            return data
        time.sleep(0.01 * (attempt + 1))
    raise SnapshotInconsistent(f"{path} was written during {MAX_COPY_ATTEMPTS} copy attempts")


def _copy_cookies(source: Path, hostname: str | None) -> bytes | None:
    """A consistent copy of the Cookies database, without locking Chrome out, keeping only
    the rows of ``hostname`` (and its parent domains) when given."""
    if not source.exists():
        return None
    with tempfile.TemporaryDirectory() as scratch:
        copy_path = Path(scratch) / "Cookies"
        try:
            if source.with_name(source.name + "-wal").exists():
                # WAL mode (not Chrome's choice today): readers never block its writer there.
                with closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as src:
                    with closing(sqlite3.connect(copy_path)) as dst:
                        src.backup(dst)
            else:
                copy_path.write_bytes(_read_sqlite_without_locking(source))
            with closing(sqlite3.connect(copy_path, isolation_level=None)) as copy:
                if copy.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                    raise SnapshotInconsistent(f"the copy of {source} fails SQLite's quick_check")
                if hostname is not None:
                    rows = copy.execute("SELECT rowid, host_key FROM cookies").fetchall()
                    foreign = [(rowid,) for rowid, host in rows if not _cookie_host_matches(host, hostname)]
                    copy.executemany("DELETE FROM cookies WHERE rowid = ?", foreign)
                    copy.execute("VACUUM")  # dropped rows must not linger in free pages
        except sqlite3.Error as exc:
            raise SnapshotError(f"could not copy {source}: {exc}") from exc
        return copy_path.read_bytes()


def _collect(profile_dir: Path, origin: str | None) -> dict[str, bytes]:
    """Every file of the snapshot, by archive name, read consistently."""
    base = profile_dir / PROFILE
    files: dict[str, bytes] = {}
    idb_root = base / "IndexedDB"
    prefix = f"{indexeddb_origin_id(origin)}.indexeddb." if origin else ""
    if idb_root.is_dir():
        # Databases before their blob dirs: a blob is written before the transaction that
        # references it commits, so blobs copied after the database cover what it names.
        entries = sorted(os.listdir(idb_root), key=lambda name: (name.endswith(".blob"), name))
        for entry in entries:
            if not entry.startswith(prefix):
                continue
            if entry.endswith(".indexeddb.leveldb"):
                copied = leveldb_copy.copy_live(idb_root / entry)
            elif entry.endswith(".indexeddb.blob"):
                copied = leveldb_copy.copy_tree(idb_root / entry)
            else:
                continue
            files.update({f"{PROFILE}/IndexedDB/{entry}/{name}": data for name, data in copied.items()})
    local_storage = base / "Local Storage" / "leveldb"
    if local_storage.is_dir():
        copied = leveldb_copy.copy_live(local_storage)
        files.update({f"{PROFILE}/Local Storage/leveldb/{name}": data for name, data in copied.items()})
    cookies = _copy_cookies(base / "Cookies", urlsplit(origin).hostname if origin else None)
    if cookies is not None:
        files[f"{PROFILE}/Cookies"] = cookies
    return files


def snapshot_take(
    *,
    user_data_dir: str | os.PathLike[str],
    origin: str | None = None,
    browser_version: str = "",
    keys: Sequence[str | bytes] | None = None,
    max_bytes: int | None = None,
) -> Snapshot:
    """Snapshot the login state of a profile, safe while its browser runs.

    ``origin`` (e.g. ``https://web.whatsapp.com``) limits IndexedDB and cookies to that
    site. Raises SnapshotTooLarge (naming size and quota; nothing is truncated) and
    SnapshotInconsistent (LevelDB kept changing under every attempt)."""
    began = time.monotonic()
    fernet = _fernet(keys)
    max_bytes = int(
        _setting("BLAZZ_SNAPSHOT_MAX_BYTES", 50 * 1024 * 1024) if max_bytes is None else max_bytes
    )
    files = _collect(Path(user_data_dir), origin)
    manifest = {
        "format": FORMAT,
        "origin": origin,
        "browser_version": browser_version,
        "taken_at": time.time(),
        "files": sorted(files),
    }
    compressed = io.BytesIO()
    with zstandard.ZstdCompressor(level=ZSTD_LEVEL).stream_writer(compressed, closefd=False) as zstd_out:
        with tarfile.open(fileobj=zstd_out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
            _add(tar, MANIFEST_NAME, json.dumps(manifest, indent=1).encode())
            for name in sorted(files):
                _add(tar, name, files[name])
    plaintext = compressed.getvalue()
    # Checked before encrypting (no 50 MB token built just to be refused), and after.
    if fernet_token_size(len(plaintext)) > max_bytes:
        raise SnapshotTooLarge(size_bytes=fernet_token_size(len(plaintext)), max_bytes=max_bytes)
    data = fernet.encrypt(plaintext)
    if len(data) > max_bytes:
        raise SnapshotTooLarge(size_bytes=len(data), max_bytes=max_bytes)
    return Snapshot(
        data=data,
        size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        browser_version=browser_version,
        files=tuple(sorted(files)),
        raw_bytes=sum(len(blob) for blob in files.values()),
        took_s=time.monotonic() - began,
    )


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o600
    tar.addfile(info, io.BytesIO(data))


def snapshot_open(data: bytes, *, keys: Sequence[str | bytes] | None = None) -> dict[str, bytes]:
    """Decrypt, decompress and read a snapshot into {archive name: bytes}, refusing any
    member that is not a plain file at an allowed relative path."""
    try:
        plaintext = _fernet(keys).decrypt(data)
    except InvalidToken as exc:
        raise SnapshotCorrupt(
            "snapshot does not decrypt with any configured key (tampered or wrong key)"
        ) from exc
    try:
        tar_bytes = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(plaintext)).read()
        members: dict[str, bytes] = {}
        with tarfile.open(fileobj=io.BytesIO(tar_bytes), mode="r:") as tar:
            for member in tar:
                _check_member(member)
                extracted = tar.extractfile(member)
                members[member.name] = extracted.read() if extracted else b""
    except (zstandard.ZstdError, tarfile.TarError, EOFError) as exc:
        raise SnapshotCorrupt(f"snapshot archive is unreadable: {exc}") from exc
    if MANIFEST_NAME not in members:
        raise SnapshotCorrupt(f"snapshot has no {MANIFEST_NAME}")
    return members


def _check_member(member: tarfile.TarInfo) -> None:
    name = member.name
    parts = name.split("/")
    if not member.isfile():
        raise SnapshotCorrupt(f"snapshot member {name!r} is not a regular file")
    if name.startswith("/") or "\\" in name or any(part in ("", ".", "..") for part in parts):
        raise SnapshotCorrupt(f"snapshot member {name!r} has an unsafe path")
    if name not in ALLOWED_FILES and not name.startswith(ALLOWED_DIRS):
        raise SnapshotCorrupt(f"snapshot member {name!r} is outside the login state")


def snapshot_restore(
    *, data: bytes, user_data_dir: str | os.PathLike[str], keys: Sequence[str | bytes] | None = None
) -> dict[str, Any]:
    """Write a snapshot into a fresh, empty (or missing) user-data-dir. Returns its manifest.
    Every member is validated before anything is written."""
    target = Path(user_data_dir)
    if target.exists() and any(target.iterdir()):
        raise SnapshotTargetNotEmpty(f"{target} is not empty; restore only into a fresh user-data-dir")
    members = snapshot_open(data, keys=keys)
    try:
        manifest = json.loads(members.pop(MANIFEST_NAME))
    except ValueError as exc:
        raise SnapshotCorrupt(f"snapshot manifest is unreadable: {exc}") from exc
    for name, blob in members.items():
        path = target.joinpath(*name.split("/"))
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Login secrets: readable by the worker's user only, as Chrome keeps them.
        with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
            out.write(blob)
    return manifest


__all__ = [
    "Snapshot",
    "SnapshotCorrupt",
    "SnapshotError",
    "SnapshotInconsistent",
    "SnapshotTooLarge",
    "snapshot_open",
    "snapshot_restore",
    "snapshot_take",
]
