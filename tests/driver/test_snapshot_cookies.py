"""Cookies are copied without taking an SQLite lock (a lock makes Chrome drop cookie
writes), yet every copy is one committed state."""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest

from sessions_app.webjs.driver import snapshot
from sessions_app.webjs.driver.errors import SnapshotInconsistent

from .support import fake_profile


def test_it_copies_a_database_that_another_connection_keeps_writing(tmp_path, monkeypatch):
    path = tmp_path / "Cookies"
    writer = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    writer.execute("PRAGMA journal_mode=TRUNCATE")  # Chrome's mode: a rollback journal
    writer.execute("CREATE TABLE cookies (host_key TEXT, name TEXT, value TEXT)")
    stop = threading.Event()

    def write() -> None:
        n = 0
        while not stop.is_set():
            writer.execute("BEGIN IMMEDIATE")
            writer.executemany(
                "INSERT INTO cookies VALUES ('127.0.0.1', ?, ?)",
                [(f"c{n}-{i}", "x" * 500) for i in range(20)],
            )
            writer.execute("COMMIT")
            n += 1
            stop.wait(0.02)  # a commit every ~20 ms (Chrome commits cookies every ~30 s)

    retries = [0]
    real_sleep = time.sleep

    def counting_sleep(seconds: float) -> None:
        retries[0] += 1
        real_sleep(seconds)

    monkeypatch.setattr(snapshot.time, "sleep", counting_sleep)
    thread = threading.Thread(target=write)
    thread.start()
    counts = []
    try:
        for _ in range(200):
            copy = tmp_path / "copy"
            copy.write_bytes(snapshot._copy_cookies(path, "127.0.0.1"))
            with sqlite3.connect(copy) as reader:
                counts.append(reader.execute("SELECT count(*) FROM cookies").fetchone()[0])
    finally:
        stop.set()
        thread.join()
        writer.close()
    assert all(count % 20 == 0 for count in counts)  # whole transactions only
    assert counts == sorted(counts) and counts[-1] > counts[0]
    assert retries[0] > 0  # the writer did land inside copies, and they were redone


def test_it_waits_out_an_open_write_transaction(tmp_path, monkeypatch):
    profile = fake_profile(tmp_path / "profile")
    journal = profile / "Default" / "Cookies-journal"
    journal.write_bytes(snapshot.SQLITE_JOURNAL_MAGIC + b"\0" * 100)  # a transaction is open
    sleeps = []

    def commit_later(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 3:
            journal.write_bytes(b"")  # committed: TRUNCATE mode empties the journal

    monkeypatch.setattr(snapshot.time, "sleep", commit_later)

    data = snapshot._copy_cookies(profile / "Default" / "Cookies", None)

    assert len(sleeps) == 3 and data.startswith(b"SQLite format 3")


def test_it_gives_up_when_a_transaction_never_ends(tmp_path, monkeypatch):
    profile = fake_profile(tmp_path / "profile")
    (profile / "Default" / "Cookies-journal").write_bytes(snapshot.SQLITE_JOURNAL_MAGIC + b"\0" * 100)
    monkeypatch.setattr(snapshot.time, "sleep", lambda seconds: None)

    with pytest.raises(SnapshotInconsistent, match="was written during"):
        snapshot._copy_cookies(profile / "Default" / "Cookies", None)
