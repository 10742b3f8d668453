"""Helpers for the driver tests: a local page server, a LevelDB log writer for fake
profiles, and process inspection."""

from __future__ import annotations

import functools
import http.server
import os
import sqlite3
import struct
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

import psutil

from sessions_app.webjs.driver.processes import BROWSER_PROCESS_NAMES, processes_mentioning

# Async page calls: `AWAIT % "expression"` runs `await expression` and returns its value.
AWAIT = (
    "const done = arguments[arguments.length - 1];"
    "(async () => await %s)().then(done, (e) => done('ERR: ' + e));"
)

STORE_PAGE = """<!doctype html><title>store</title><script>
function openDb() { return new Promise((res, rej) => { const r = indexedDB.open('blazz', 1);
  r.onupgradeneeded = () => r.result.createObjectStore('kv');
  r.onsuccess = () => res(r.result); r.onerror = () => rej(r.error); }); }
window.put = async (key, value) => { const db = await openDb(); await new Promise((res, rej) => {
  const t = db.transaction('kv', 'readwrite'); t.objectStore('kv').put(value, key);
  t.oncomplete = res; t.onerror = () => rej(t.error); }); db.close(); return 'ok'; };
window.get = async (key) => { const db = await openDb(); const v = await new Promise((res, rej) => {
  const r = db.transaction('kv').objectStore('kv').get(key);
  r.onsuccess = () => res(r.result); r.onerror = () => rej(r.error); }); db.close(); return v; };
</script><link rel="stylesheet" href="/style.css"><img src="/pixel.gif"><p>store</p>"""

# Writes IndexedDB (one transaction per step, 2 KB rows, so logs rotate and tables compact)
# and localStorage in a tight loop. `readBack()` reports what a (restored) profile holds.
LOAD_PAGE = """<!doctype html><title>load</title><script>
const PAD = 'x'.repeat(2000);
function openDb() { return new Promise((res, rej) => { const r = indexedDB.open('load', 1);
  r.onupgradeneeded = () => { r.result.createObjectStore('kv'); r.result.createObjectStore('meta'); };
  r.onsuccess = () => res(r.result); r.onerror = () => rej(r.error); }); }
function tx(db, stores, body) { return new Promise((res, rej) => {
  const t = db.transaction(stores, 'readwrite'); body(t);
  t.oncomplete = res; t.onerror = () => rej(t.error); }); }
function get(db, store, key) { return new Promise((res, rej) => {
  const r = db.transaction(store).objectStore(store).get(key);
  r.onsuccess = () => res(r.result); r.onerror = () => rej(r.error); }); }
window.state = {n: 0, err: null, running: false};
window.startLoad = async () => {
  const db = await openDb();
  await tx(db, ['meta'], (t) => t.objectStore('meta').put('present', 'known'));
  localStorage.setItem('known', 'present');
  state.running = true;
  (async () => { while (state.running) { const n = state.n + 1; try {
    await tx(db, ['kv', 'meta'], (t) => { t.objectStore('kv').put({n, pad: PAD + n}, 'k' + (n % 5000));
                                          t.objectStore('meta').put(n, 'count'); });
    state.n = n; localStorage.setItem('count', String(n)); localStorage.setItem('pad' + (n % 50), PAD + n);
  } catch (e) { state.err = String(e); break; } } })();
  return 'started';
};
window.readBack = async () => {
  const db = await openDb();
  const count = await get(db, 'meta', 'count');
  const known = await get(db, 'meta', 'known');
  const last = count ? await get(db, 'kv', 'k' + (count % 5000)) : null;
  db.close();
  return {count: count || 0, known: known || null, lastRowMatches: count ? !!last && last.n === count : true,
          lsKnown: localStorage.getItem('known'), lsCount: Number(localStorage.getItem('count') || 0)};
};
</script><p>load</p>"""

HANG_PAGE = "<!doctype html><title>hang</title><script>setTimeout(() => { while (true) {} }, 200);</script>"

PAGES = {
    "store.html": STORE_PAGE,
    "load.html": LOAD_PAGE,
    "hang.html": HANG_PAGE,
    "blank.html": "<!doctype html><title>blank</title>",
    "style.css": "p { color: green }" + "/* padding */" * 2000,
    "pixel.gif": "GIF89a",
}


class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def end_headers(self) -> None:
        if self.path.startswith("/store.html"):
            # An HttpOnly cookie: only the server can set it, JS cannot read it.
            self.send_header("Set-Cookie", "server_session=s3cr3t; Max-Age=86400; HttpOnly; Path=/")
        if self.path.endswith((".css", ".gif")):
            self.send_header("Cache-Control", "max-age=86400")  # so the HTTP cache fills
        super().end_headers()


class PageServer:
    def __init__(self, root: Path) -> None:
        for name, body in PAGES.items():
            (root / name).write_text(body)
        self._server = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), functools.partial(_Handler, directory=root)
        )
        self.port = self._server.server_address[1]
        self.origin = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def url(self, path: str) -> str:
        return f"{self.origin}/{path}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def browser_descendants() -> list[psutil.Process]:
    """Browser processes (live or zombie) below this test process."""
    found = []
    for proc in psutil.Process().children(recursive=True):
        try:
            if proc.name().startswith(BROWSER_PROCESS_NAMES):
                found.append(proc)
        except psutil.Error:
            pass
    return found


def session_processes(pids: Iterable[int], user_data_dir: Path) -> list[int]:
    """Which of ``pids`` still exist (zombies included), plus anything naming the profile."""
    alive = [pid for pid in pids if psutil.pid_exists(pid)]
    return sorted(set(alive) | {proc.pid for proc in processes_mentioning(user_data_dir)})


# --- a LevelDB writer, enough to build fake profiles for the pure tests -------------------
BLOCK = 32768


def leveldb_log(records: Sequence[bytes]) -> bytes:
    """Encode records as LevelDB's log writer does (fragments across 32 KiB blocks, zero
    trailers). Checksums are zero: the copier does not verify them."""
    out = bytearray()
    for record in records:
        remaining, first = record, True
        while True:
            left = BLOCK - len(out) % BLOCK
            if left < 7:
                out += b"\0" * left
                left = BLOCK
            chunk = remaining[: left - 7]
            remaining = remaining[len(chunk) :]
            last = not remaining
            kind = 1 if first and last else 2 if first else 4 if last else 3
            out += struct.pack("<IHB", 0, len(chunk), kind) + chunk
            first = False
            if last:
                break
    return bytes(out)


def _varint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def version_edit(
    *, log_number: int | None = None, new_files: Sequence[int] = (), deleted: Sequence[int] = ()
) -> bytes:
    edit = _varint(1) + _varint(len(b"leveldb.BytewiseComparator")) + b"leveldb.BytewiseComparator"
    if log_number is not None:
        edit += _varint(2) + _varint(log_number)
    for number in deleted:
        edit += _varint(6) + _varint(0) + _varint(number)
    for number in new_files:
        edit += (
            _varint(7) + _varint(0) + _varint(number) + _varint(100) + _varint(1) + b"a" + _varint(1) + b"z"
        )
    return edit


def fake_leveldb(
    directory: Path, *, tables: Sequence[int], log_number: int, log_records: Sequence[bytes]
) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "CURRENT").write_text("MANIFEST-000001\n")
    (directory / "MANIFEST-000001").write_bytes(
        leveldb_log([version_edit(log_number=log_number, new_files=tables)])
    )
    for number in tables:
        (directory / f"{number:06d}.ldb").write_bytes(b"table %d" % number)
    (directory / f"{log_number:06d}.log").write_bytes(leveldb_log(log_records))
    (directory / "LOCK").write_bytes(b"")
    (directory / "LOG").write_text("informational\n")


def fake_profile(root: Path, origin_ids: Sequence[str] = ("http_127.0.0.1_8765",)) -> Path:
    """A profile with the files a snapshot takes, and the caches it must not take."""
    default = root / "Default"
    for origin_id in origin_ids:
        fake_leveldb(
            default / "IndexedDB" / f"{origin_id}.indexeddb.leveldb",
            tables=[5],
            log_number=6,
            log_records=[b"identity of " + origin_id.encode()],
        )
    fake_leveldb(default / "Local Storage" / "leveldb", tables=[], log_number=3, log_records=[b"last-wid-md"])
    cookies = sqlite3.connect(default / "Cookies")
    cookies.execute("CREATE TABLE cookies (host_key TEXT, name TEXT, value TEXT)")
    cookies.executemany(
        "INSERT INTO cookies VALUES (?, ?, ?)",
        [("127.0.0.1", "wa_session", "1"), (".example.com", "tracker", "2"), ("web.whatsapp.com", "wa", "3")],
    )
    cookies.commit()
    cookies.close()
    for cache in ("Cache/Cache_Data", "Code Cache/js", "GPUCache", "Service Worker/CacheStorage"):
        (default / cache).mkdir(parents=True)
        (default / cache / "data_0").write_bytes(b"cached")
    (root / "Local State").write_text("{}")
    (default / "Preferences").write_text("{}")
    os.symlink("vm-12345", root / "SingletonLock")
    return root
