"""F1: a snapshot holds the login state only, encrypted with rotating keys; a tampered,
oversized or malicious snapshot is refused with a clear error and writes nothing."""

from __future__ import annotations

import io
import json
import sqlite3
import tarfile

import pytest
import zstandard
from cryptography.fernet import Fernet, MultiFernet

from sessions_app.webjs.driver.errors import SnapshotCorrupt, SnapshotTargetNotEmpty, SnapshotTooLarge
from sessions_app.webjs.driver.snapshot import (
    fernet_token_size,
    indexeddb_origin_id,
    snapshot_open,
    snapshot_restore,
    snapshot_take,
)

from .support import fake_profile

ORIGIN = "http://127.0.0.1:8765"
IDB = "Default/IndexedDB/http_127.0.0.1_8765.indexeddb.leveldb"


@pytest.fixture
def profile(tmp_path):
    return fake_profile(
        tmp_path / "profile",
        # the second shares the first's name as a prefix (port 87650): it must not ride along
        origin_ids=("http_127.0.0.1_8765", "http_127.0.0.1_87650", "https_other.example_0"),
    )


def test_it_round_trips_the_login_state(profile, tmp_path, keys):
    snapshot = snapshot_take(user_data_dir=profile, origin=ORIGIN, keys=keys, browser_version="156.0.1")

    manifest = snapshot_restore(data=snapshot.data, user_data_dir=tmp_path / "restored", keys=keys)

    restored = tmp_path / "restored"
    for name in ("CURRENT", "MANIFEST-000001", "000005.ldb", "000006.log"):
        assert (restored / IDB / name).read_bytes() == (profile / IDB / name).read_bytes()
    assert (restored / "Default/Local Storage/leveldb/000003.log").exists()
    assert manifest["origin"] == ORIGIN and manifest["browser_version"] == "156.0.1"
    assert snapshot.browser_version == "156.0.1"
    assert snapshot.size_bytes == len(snapshot.data)
    import hashlib

    assert snapshot.sha256 == hashlib.sha256(snapshot.data).hexdigest()


def test_it_takes_only_login_state_no_caches_no_locks(profile, keys):
    snapshot = snapshot_take(user_data_dir=profile, origin=ORIGIN, keys=keys)

    names = set(snapshot_open(snapshot.data, keys=keys))
    assert names == {"blazz-snapshot.json", "Default/Cookies"} | {
        f"{IDB}/{name}" for name in ("CURRENT", "MANIFEST-000001", "000005.ldb", "000006.log")
    } | {f"Default/Local Storage/leveldb/{name}" for name in ("CURRENT", "MANIFEST-000001", "000003.log")}
    assert not [
        name for name in names if "Cache" in name or "Singleton" in name or name.endswith(("LOCK", "LOG"))
    ]


def test_it_keeps_only_the_target_origin(profile, keys, tmp_path):
    snapshot = snapshot_take(user_data_dir=profile, origin=ORIGIN, keys=keys)
    snapshot_restore(data=snapshot.data, user_data_dir=tmp_path / "restored", keys=keys)

    assert sorted(p.name for p in (tmp_path / "restored/Default/IndexedDB").iterdir()) == [
        "http_127.0.0.1_8765.indexeddb.leveldb"
    ]
    cookies = sqlite3.connect(tmp_path / "restored/Default/Cookies")
    assert [row[0] for row in cookies.execute("SELECT host_key FROM cookies")] == ["127.0.0.1"]


def test_it_takes_every_origin_without_an_origin(profile, keys):
    names = set(snapshot_open(snapshot_take(user_data_dir=profile, keys=keys).data, keys=keys))
    assert any("https_other.example_0" in name for name in names)


def test_it_decrypts_an_old_snapshot_after_a_new_key_is_prepended(profile, tmp_path):
    old_key = Fernet.generate_key()
    snapshot = snapshot_take(user_data_dir=profile, keys=[old_key])
    rotated = [Fernet.generate_key(), old_key]

    snapshot_restore(data=snapshot.data, user_data_dir=tmp_path / "restored", keys=rotated)
    newer = snapshot_take(user_data_dir=profile, keys=rotated)

    assert (tmp_path / "restored" / IDB / "CURRENT").exists()
    with pytest.raises(SnapshotCorrupt):  # new snapshots use the newest key only
        snapshot_open(newer.data, keys=[old_key])


def test_it_refuses_tampered_bytes(profile, keys, tmp_path):
    snapshot = snapshot_take(user_data_dir=profile, keys=keys)
    tampered = bytearray(snapshot.data)
    tampered[len(tampered) // 2] ^= 1

    with pytest.raises(SnapshotCorrupt, match="tampered or wrong key"):
        snapshot_restore(data=bytes(tampered), user_data_dir=tmp_path / "restored", keys=keys)
    assert not (tmp_path / "restored").exists()


def test_it_refuses_a_wrong_key(profile, keys):
    snapshot = snapshot_take(user_data_dir=profile, keys=keys)
    with pytest.raises(SnapshotCorrupt):
        snapshot_open(snapshot.data, keys=[Fernet.generate_key()])


def test_it_raises_over_the_quota_naming_size_and_quota(profile, keys):
    full = snapshot_take(user_data_dir=profile, keys=keys)

    with pytest.raises(SnapshotTooLarge) as raised:
        snapshot_take(user_data_dir=profile, keys=keys, max_bytes=1000)

    error = raised.value
    assert error.max_bytes == 1000
    assert abs(error.size_bytes - full.size_bytes) < 64  # the real size (only the timestamp differs)
    assert f"snapshot is {error.size_bytes} bytes" in str(error) and "quota of 1000 bytes" in str(error)
    assert snapshot_take(user_data_dir=profile, keys=keys, max_bytes=full.size_bytes + 64).size_bytes > 1000


def test_it_computes_fernet_token_sizes_exactly():
    fernet = Fernet(Fernet.generate_key())
    for size in (0, 1, 15, 16, 17, 1000, 65536):
        assert fernet_token_size(size) == len(fernet.encrypt(b"x" * size))


def _malicious(keys: list[bytes], member: tarfile.TarInfo, data: bytes = b"evil") -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        manifest = json.dumps({"format": 1}).encode()
        info = tarfile.TarInfo("blazz-snapshot.json")
        info.size = len(manifest)
        tar.addfile(info, io.BytesIO(manifest))
        if member.isfile():
            member.size = len(data)
            tar.addfile(member, io.BytesIO(data))
        else:
            tar.addfile(member)
    return MultiFernet([Fernet(key) for key in keys]).encrypt(
        zstandard.ZstdCompressor().compress(raw.getvalue())
    )


@pytest.mark.parametrize(
    "name, kind",
    [
        ("../escaped", tarfile.REGTYPE),
        ("/etc/escaped", tarfile.REGTYPE),
        ("Default/IndexedDB/../../../escaped", tarfile.REGTYPE),
        ("Default/Cache/Cache_Data/x", tarfile.REGTYPE),
        ("Default/Cookies-journal", tarfile.REGTYPE),
        ("Default/IndexedDB/link", tarfile.SYMTYPE),
        ("Default/IndexedDB/hard", tarfile.LNKTYPE),
    ],
)
def test_it_rejects_members_outside_the_profile(keys, tmp_path, name, kind):
    member = tarfile.TarInfo(name)
    member.type = kind
    member.linkname = "/etc/passwd"
    data = _malicious(keys, member)

    with pytest.raises(SnapshotCorrupt):
        snapshot_restore(data=data, user_data_dir=tmp_path / "restored", keys=keys)
    assert not (tmp_path / "restored").exists()
    assert not (tmp_path / "escaped").exists()


def test_it_restores_only_into_an_empty_dir(profile, keys, tmp_path):
    snapshot = snapshot_take(user_data_dir=profile, keys=keys)
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "Local State").write_text("{}")

    with pytest.raises(SnapshotTargetNotEmpty):
        snapshot_restore(data=snapshot.data, user_data_dir=tmp_path / "used", keys=keys)


def test_it_names_indexeddb_dirs_as_chrome_does():
    assert indexeddb_origin_id("http://127.0.0.1:8765") == "http_127.0.0.1_8765"
    assert indexeddb_origin_id("https://web.whatsapp.com") == "https_web.whatsapp.com_0"
    assert indexeddb_origin_id("https://web.whatsapp.com/") == "https_web.whatsapp.com_0"
