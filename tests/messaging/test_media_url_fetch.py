"""`media_url` (issue 17): the server fetches a file from a URL the API client names, through
the webhooks' SSRF guard on every hop, with a size cap enforced while reading and a deadline.

The far end is a real HTTP server on localhost (a thread of this process) that plays a media
host: it serves a PNG, redirects (to itself, to another local port, to a private address),
declares or streams more than the cap, answers slowly, compresses. Loopback is exactly what
the guard refuses, so the positive path lists that server in BLAZZ_MEDIA_URL_ALLOWED_HOSTS
(the operator's exemption for an internal asset server); every other host, and every hop a
redirect leads to, still goes through the guard. Refusals are also checked end to end
through `POST /api/v1/messages`: they come before anything is stored."""

from __future__ import annotations

import gzip
import hashlib
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from messaging.media_fetch import media_url_fetch
from messaging.models import Chat, MediaFile
from messaging.services.media import MediaRefused
from tests.messaging.test_messages_api import connected_number
from tests.sessions_app.conftest import broker, fresh_route, live_worker  # noqa: F401

# A 1x1 PNG.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360606060000000050001a5f645400000000049454e44ae426082"
)
BIG = 50 * 1024 * 1024


class MediaHost(BaseHTTPRequestHandler):
    """Routes by path; records how many body bytes each streamed answer got out."""

    written: dict[str, int] = {}
    finished: dict[str, bool] = {}
    other_port: int = 0

    def log_message(self, *args) -> None:  # quiet
        pass

    def _answer(self, code: int, body: bytes = b"", **headers: str) -> None:
        self.send_response(code)
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        if "Content_Length" not in headers:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _stream(self, name: str, total: int, *, declare: bool) -> None:
        """Sends `total` bytes in 64 KiB pieces, counting what got out before the client left."""
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        if declare:
            self.send_header("Content-Length", str(total))
        else:
            self.send_header("Connection", "close")
        self.end_headers()
        MediaHost.written[name], MediaHost.finished[name] = 0, False
        piece = b"\0" * 65536
        try:
            while MediaHost.written[name] < total:
                self.wfile.write(piece)
                MediaHost.written[name] += len(piece)
            MediaHost.finished[name] = True
        except (BrokenPipeError, ConnectionResetError):
            pass

    def do_GET(self) -> None:  # http.server calls it by this name
        path = self.path
        if path == "/photo.png":
            self._answer(200, PNG, Content_Type="image/png")
        elif path == "/download?id=7":
            self._answer(
                200, PNG, Content_Type="image/png", Content_Disposition='attachment; filename="receipt.png"'
            )
        elif path == "/moved":
            self._answer(302, Location="/photo.png")
        elif path == "/to-private":
            self._answer(302, Location="https://10.0.0.7/photo.png")
        elif path == "/to-other-port":
            self._answer(302, Location=f"http://127.0.0.1:{MediaHost.other_port}/photo.png")
        elif path == "/to-https-loopback":
            self._answer(301, Location="https://localhost/photo.png")
        elif path == "/loop":
            self._answer(302, Location="/loop")
        elif path == "/declared-big":
            self._stream("declared-big", BIG, declare=True)
        elif path == "/undeclared-big":
            self._stream("undeclared-big", BIG, declare=False)
        elif path == "/slow":
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            try:
                for _ in range(100):
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(0.1)
            except (BrokenPipeError, ConnectionResetError):
                pass
        elif path == "/gzip":
            self._answer(200, gzip.compress(PNG), Content_Type="image/png", Content_Encoding="gzip")
        else:
            self._answer(404, b"no")


def _serve() -> tuple[ThreadingHTTPServer, threading.Thread]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), MediaHost)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread


@pytest.fixture(scope="module")
def media_host():
    server, _ = _serve()
    other, _ = _serve()  # a second local port, never allowed
    MediaHost.other_port = other.server_address[1]
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        for s in (server, other):
            s.shutdown()
            s.server_close()


@pytest.fixture(autouse=True)
def guard_on(settings, media_host):
    settings.BLAZZ_WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    settings.BLAZZ_MEDIA_URL_ALLOWED_HOSTS = [media_host.removeprefix("http://")]
    settings.BLAZZ_MEDIA_URL_DEADLINE_SECONDS = 3.0
    settings.BLAZZ_MEDIA_URL_TIMEOUT_SECONDS = 2.0


def refusal(url: str, max_bytes: int = 1_000_000) -> MediaRefused:
    with pytest.raises(MediaRefused) as refused:
        media_url_fetch(url=url, max_bytes=max_bytes)
    return refused.value


# --- The fetch on its own -------------------------------------------------------------------------------


def test_it_fetches_a_file_from_an_allowed_host(media_host):
    fetched = media_url_fetch(url=f"{media_host}/photo.png", max_bytes=1_000_000)

    data = fetched.file.read()
    assert hashlib.sha256(data).hexdigest() == hashlib.sha256(PNG).hexdigest()
    assert (fetched.size, fetched.filename, fetched.content_type) == (len(PNG), "photo.png", "image/png")


def test_it_takes_the_filename_from_content_disposition(media_host):
    assert media_url_fetch(url=f"{media_host}/download?id=7", max_bytes=10_000).filename == "receipt.png"


def test_it_follows_a_redirect_to_an_allowed_place(media_host):
    assert media_url_fetch(url=f"{media_host}/moved", max_bytes=10_000).file.read() == PNG


def test_it_refuses_a_redirect_to_a_private_address(media_host):
    refused = refusal(f"{media_host}/to-private")
    assert refused.status == 400 and refused.field == "media_url"
    assert "10.0.0.7" in str(refused)


def test_it_checks_every_hop_not_just_the_first(media_host):
    """The next hop is loopback too, but not the allowed host:port: refused like any other."""
    assert "https://" in str(refusal(f"{media_host}/to-other-port"))
    assert "private" in str(refusal(f"{media_host}/to-https-loopback"))


def test_it_gives_up_after_a_few_redirects(media_host):
    assert "redirected more than" in str(refusal(f"{media_host}/loop"))


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/photo.png",
        "https://10.1.2.3/photo.png",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::1]/photo.png",
        "https://[::ffff:192.168.1.1]/photo.png",
        "https://localhost/photo.png",
    ],
)
def test_it_refuses_private_and_loopback_hosts(url):
    refused = refusal(url)
    assert (refused.status, refused.field) == (400, "media_url")


@pytest.mark.parametrize(
    "url", ["http://93.184.215.14/photo.png", "ftp://93.184.215.14/x", "file:///etc/passwd", "not a url", ""]
)
def test_it_refuses_what_is_not_https(url):
    assert refusal(url).field == "media_url"


def test_it_refuses_a_declared_length_over_the_cap_without_reading_the_body(media_host):
    refused = refusal(f"{media_host}/declared-big", max_bytes=100_000)

    assert refused.status == 413
    time.sleep(0.2)
    assert not MediaHost.finished["declared-big"]
    # Socket buffers take a few MB at most: nowhere near the 50 MB the server offered.
    assert MediaHost.written["declared-big"] < 16 * 1024 * 1024


def test_it_stops_reading_an_undeclared_body_once_past_the_cap(media_host):
    refused = refusal(f"{media_host}/undeclared-big", max_bytes=100_000)

    assert refused.status == 413
    time.sleep(0.2)
    assert not MediaHost.finished["undeclared-big"]
    assert MediaHost.written["undeclared-big"] < 16 * 1024 * 1024


def test_a_server_dripping_bytes_hits_the_deadline(media_host, settings):
    settings.BLAZZ_MEDIA_URL_DEADLINE_SECONDS = 1.0
    started = time.monotonic()

    refused = refusal(f"{media_host}/slow")

    assert "in time" in str(refused)
    assert time.monotonic() - started < 5


def test_it_refuses_an_error_answer_and_a_compressed_body(media_host):
    assert "404" in str(refusal(f"{media_host}/nothing-here"))
    assert "compressed" in str(refusal(f"{media_host}/gzip"))


# --- Through the API: refused before anything is stored --------------------------------------------------


@pytest.fixture
def number(workspace_a, live_worker):  # noqa: F811
    return connected_number(workspace_a, live_worker, "+12015550101", is_primary=True)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path_or_url",
    [
        "https://127.0.0.1/receipt.png",
        "https://10.20.30.40/receipt.png",
        "/to-private",
        "/to-other-port",
    ],
)
def test_the_api_refuses_unsafe_media_urls_and_stores_nothing(
    alice_api, number, media_host, path_or_url, django_capture_on_commit_callbacks
):
    url = media_host + path_or_url if path_or_url.startswith("/") else path_or_url
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = alice_api.post(
            "/api/v1/messages",
            {"to": "+12015550199", "media_url": url, "type": "image", "caption": "your receipt"},
            format="json",
        )

    assert response.status_code == 400, response.content
    assert response.json()["error"]["field"] == "media_url"
    assert not Chat.objects.exists() and not MediaFile.objects.exists() and not callbacks


@pytest.mark.django_db
def test_the_api_answers_413_for_a_file_over_the_types_limit(
    alice_api, number, media_host, settings, django_capture_on_commit_callbacks
):
    response = alice_api.post(
        "/api/v1/messages",
        {"to": "+12015550199", "media_url": f"{media_host}/undeclared-big", "type": "image"},
        format="json",
    )

    assert response.status_code == 413, response.content
    assert response.json()["error"] == {
        "code": "too_large",
        "message": response.json()["error"]["message"],
        "field": "media_url",
    }
    assert not Chat.objects.exists() and not MediaFile.objects.exists()
