"""The LevelDB copier reads logs and MANIFESTs as LevelDB's recovery does, drops a torn
tail, and retries when a compaction changes the files under it."""

from __future__ import annotations

import os

import pytest

from sessions_app.webjs.driver import leveldb_copy
from sessions_app.webjs.driver.errors import SnapshotInconsistent
from sessions_app.webjs.driver.leveldb_copy import complete_records, copy_live, parse_manifest

from .support import fake_leveldb, leveldb_log, version_edit

RECORDS = [b"a" * 10, b"b" * 40000, b"c" * 32761, b"", b"d" * 100000, b"e"]  # spans, trailers, empties


def test_it_reads_records_spanning_blocks():
    data = leveldb_log(RECORDS)

    records, end = complete_records(data)

    assert records == RECORDS
    assert end == len(data)


def test_it_drops_a_torn_tail_at_every_cut():
    data = leveldb_log(RECORDS)
    ends = []
    previous = 0
    for cut in range(0, len(data) + 1, 97):
        records, end = complete_records(data[:cut])
        assert records == RECORDS[: len(records)]  # always a prefix of whole records
        assert previous <= end <= cut
        assert complete_records(data[:end])[0] == records  # the cut copy re-reads the same
        previous = end
        ends.append(end)
    assert len(set(ends)) > 3


def test_it_replays_version_edits():
    edits = [
        version_edit(log_number=3, new_files=[5, 7]),
        version_edit(log_number=9, new_files=[10], deleted=[5]),
    ]

    state = parse_manifest(edits)

    assert state.live_tables == {7, 10}
    assert state.log_number == 9


def test_it_copies_the_live_files_only(tmp_path):
    fake_leveldb(tmp_path / "db", tables=[5], log_number=6, log_records=[b"one", b"two"])
    (tmp_path / "db" / "000002.log").write_bytes(leveldb_log([b"old, already flushed"]))
    (tmp_path / "db" / "000004.ldb").write_bytes(b"obsolete table awaiting deletion")

    files = copy_live(tmp_path / "db")

    assert sorted(files) == ["000005.ldb", "000006.log", "CURRENT", "MANIFEST-000001"]


def test_it_retries_when_a_compaction_removes_a_table(tmp_path, monkeypatch):
    db = tmp_path / "db"
    fake_leveldb(db, tables=[5], log_number=6, log_records=[b"x"])
    real_listdir = os.listdir
    calls = []

    def racing_listdir(path):
        names = real_listdir(path)
        calls.append(path)
        if len(calls) == 1:  # first attempt: the table vanished between MANIFEST and listing
            return [name for name in names if name != "000005.ldb"]
        return names

    monkeypatch.setattr(leveldb_copy.os, "listdir", racing_listdir)

    files = copy_live(db)

    assert len(calls) == 2
    assert "000005.ldb" in files


def test_it_gives_up_when_the_database_never_holds_still(tmp_path):
    db = tmp_path / "db"
    fake_leveldb(db, tables=[5], log_number=6, log_records=[b"x"])
    (db / "000005.ldb").unlink()  # the MANIFEST names a table that is gone for good

    with pytest.raises(SnapshotInconsistent, match="table 5"):
        copy_live(db)


def test_it_needs_the_current_log(tmp_path):
    db = tmp_path / "db"
    fake_leveldb(db, tables=[], log_number=6, log_records=[b"x"])
    (db / "000006.log").unlink()  # flushed and deleted after our MANIFEST read

    with pytest.raises(SnapshotInconsistent, match="log 6"):
        copy_live(db)


def test_it_copies_nothing_from_a_database_never_opened(tmp_path):
    (tmp_path / "db").mkdir()
    assert copy_live(tmp_path / "db") == {}
