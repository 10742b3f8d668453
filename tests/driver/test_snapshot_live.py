"""F1 end to end with real Chromium: a snapshot of a running browser restores into a fresh
profile on a new browser with its IndexedDB, localStorage and cookies, also when the page
writes in a tight loop while the snapshots are taken."""

from __future__ import annotations

import time

import pytest

from sessions_app.webjs.driver import leveldb_copy
from sessions_app.webjs.driver.snapshot import snapshot_open, snapshot_restore, snapshot_take

from .support import AWAIT

pytestmark = pytest.mark.browser


def _wait_until(predicate, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def _store_login_state(browser, page_server) -> None:
    browser.driver.set_script_timeout(20)
    browser.driver.get(page_server.url("store.html"))  # also sets the HttpOnly server cookie
    browser.driver.execute_async_script(AWAIT % "put('identity', {device: 'd-1', phone: '+15550001'})")
    browser.driver.execute_script(
        "localStorage.setItem('last-wid-md', 'd-1'); document.cookie = 'wa_lang=en; max-age=86400; path=/';"
    )


def _read_login_state(browser, page_server) -> dict:
    browser.driver.set_script_timeout(20)
    browser.driver.get(page_server.url("blank.html"))  # no Set-Cookie here: cookies must be restored
    browser.driver.get(page_server.url("blank.html").replace("blank", "store"))
    return {
        "identity": browser.driver.execute_async_script(AWAIT % "get('identity')"),
        "marker": browser.driver.execute_script("return localStorage.getItem('last-wid-md')"),
        "cookies": sorted(cookie["name"] for cookie in browser.driver.get_cookies()),
    }


def test_it_restores_the_login_state_of_a_cleanly_stopped_browser(start_browser, page_server, data_dir, keys):
    browser = start_browser("s1")
    _store_login_state(browser, page_server)
    browser.stop(10)  # a clean quit writes localStorage and cookies that Chrome still held back

    snapshot = snapshot_take(
        user_data_dir=browser.user_data_dir, origin=page_server.origin, keys=keys, browser_version="x"
    )
    snapshot_restore(data=snapshot.data, user_data_dir=data_dir / "profiles" / "s1-restored", keys=keys)
    restored = start_browser("s1-restored")

    state = _read_login_state(restored, page_server)
    assert state["identity"] == {"device": "d-1", "phone": "+15550001"}
    assert state["marker"] == "d-1"
    assert "wa_lang" in state["cookies"] and "server_session" in state["cookies"]  # HttpOnly too


def test_it_never_takes_caches_from_a_real_profile(start_browser, page_server, keys):
    browser = start_browser("s1")
    _store_login_state(browser, page_server)
    browser.driver.get(page_server.url("store.html"))  # cached CSS and image on a second load
    browser.stop(10)
    cache_dirs = [p for p in (browser.user_data_dir / "Default").iterdir() if "Cache" in p.name]
    assert cache_dirs, "the browser wrote no cache: the test proves nothing"

    snapshot = snapshot_take(user_data_dir=browser.user_data_dir, origin=page_server.origin, keys=keys)

    names = set(snapshot_open(snapshot.data, keys=keys))
    assert not [n for n in names if "Cache" in n or "Service Worker" in n or "GPU" in n or "Code" in n]
    assert {n.split("/")[1] for n in names if n.startswith("Default/")} == {
        "IndexedDB",
        "Local Storage",
        "Cookies",
    }
    print(
        f"snapshot of a small page profile: {snapshot.size_bytes} bytes encrypted, {snapshot.raw_bytes} raw"
    )


def _ls_committed(profile, needle: bytes) -> bool:
    files = leveldb_copy.copy_live(profile / "Default" / "Local Storage" / "leveldb")
    return any(needle in data for name, data in files.items() if name.endswith(".log"))


@pytest.mark.parametrize("slow_copy", [False, True], ids=["fast-disk", "slow-disk"])
def test_it_restores_snapshots_taken_under_write_load(
    start_browser, page_server, data_dir, keys, monkeypatch, slow_copy
):
    writer = start_browser("writer")
    writer.driver.set_script_timeout(20)
    writer.driver.get(page_server.url("load.html"))
    assert writer.driver.execute_async_script(AWAIT % "startLoad()") == "started"
    # localStorage reaches disk about 5 s after a write (Chrome batches commits): wait for
    # the key written before the loop, so "committed" is known.
    _wait_until(lambda: _ls_committed(writer.user_data_dir, b"known"), 15, "localStorage commit")
    if slow_copy:
        # Every file read takes 50 ms: compactions and log switches now land inside copies.
        real_read = leveldb_copy._read
        monkeypatch.setattr(leveldb_copy, "_read", lambda path: (time.sleep(0.05), real_read(path))[1])

    snapshots = []
    for _ in range(5):
        time.sleep(0.7)
        written_before = writer.driver.execute_script("return state.n")
        snapshot = snapshot_take(user_data_dir=writer.user_data_dir, origin=page_server.origin, keys=keys)
        written_after = writer.driver.execute_script("return state.n")
        snapshots.append((written_before, written_after, snapshot))
        print(f"snapshot at n={written_before}: {snapshot.size_bytes} bytes, {snapshot.took_s:.3f}s")
    assert writer.driver.execute_script("return state.err") is None
    writer.stop(10)
    monkeypatch.undo()

    previous = {"count": 0, "lsCount": 0}
    for index, (written_before, written_after, snapshot) in enumerate(snapshots):
        profile = data_dir / "profiles" / f"restored-{index}"
        snapshot_restore(data=snapshot.data, user_data_dir=profile, keys=keys)
        reader = start_browser(f"restored-{index}")
        reader.driver.set_script_timeout(20)
        reader.driver.get(page_server.url("load.html"))

        state = reader.driver.execute_async_script(AWAIT % "readBack()")
        reader.stop(10)

        assert isinstance(state, dict), state  # IndexedDB opened without error
        assert state["known"] == "present" and state["lsKnown"] == "present"
        # Every transaction committed before the copy began is in it; none is half in.
        assert written_before <= state["count"] <= written_after
        assert state["lastRowMatches"]
        assert state["count"] >= previous["count"] and state["lsCount"] >= previous["lsCount"]
        previous = state
