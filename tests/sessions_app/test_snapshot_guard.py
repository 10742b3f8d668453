"""A snapshot never replaces a good one with the state of a page that is not logged in
(issue 16: "a 332-byte snapshot replaced the good one"): the session must be connected, its
page logged in and ready when asked, and the profile must hold the login's IndexedDB.

The page is a stand-in answering `state()` as the bridge does (sessions_app/webjs/bridge.js
`bridge.state`); the profile is a real directory and the snapshot code is the real one."""

import threading
from pathlib import Path

import pytest

from sessions_app.models import SessionEvent, SessionSnapshot
from sessions_app.webjs.host.live import LiveSession
from sessions_app.webjs.host.profiles import ProfilesMixin
from tests.driver.support import fake_profile
from tests.factories import SessionSnapshotFactory, WhatsAppSessionFactory

pytestmark = pytest.mark.django_db

LOGGED_IN = {"authenticated": True, "ready": True, "me": "+5511987650090"}
QR_SCREEN = {"authenticated": False, "ready": False, "me": None, "auth_code": "2@abc"}


class PageState:
    def __init__(self, state):
        self._state = state

    def state(self):
        return dict(self._state)


class FakeBrowser:
    def __init__(self, user_data_dir: Path):
        self.user_data_dir = user_data_dir
        self.browser_version = "test"


class Host(ProfilesMixin):
    def __init__(self, data_dir: Path):
        self.data_dir = data_dir
        self._registry_lock = threading.Lock()
        self._live = {}
        self._starting = set()


def profile_with(tmp_path: Path, *, login: bool) -> Path:
    """A profile as Chrome lays it out (LevelDBs, cookies, caches); without `login`, no
    IndexedDB for the origin: what a profile being restored, or a fresh QR page, holds."""
    return fake_profile(tmp_path / "profile", origin_ids=("http_127.0.0.1_8765",) if login else ())


def snapshot_of(tmp_path, state, *, login=True, status="connected"):
    session = WhatsAppSessionFactory(status=status)
    good = SessionSnapshotFactory(session=session, data=b"good" * 1000, size_bytes=4000)
    live = LiveSession(
        session.pk, session.session_id, FakeBrowser(profile_with(tmp_path, login=login)), PageState(state)
    )
    stored = Host(tmp_path)._snapshot(live)
    return session, good, stored


def test_it_keeps_the_good_snapshot_when_the_page_shows_a_qr(tmp_path):
    session, good, stored = snapshot_of(tmp_path, QR_SCREEN)

    assert SessionSnapshot.objects.get(session=session).sha256 == good.sha256
    assert stored is False
    assert SessionEvent.objects.filter(session=session, detail__has_key="snapshot_refused").exists()


def test_it_keeps_the_good_snapshot_when_the_profile_holds_no_login(tmp_path):
    # A page that says it is logged in over a profile being restored under it.
    session, good, stored = snapshot_of(tmp_path, LOGGED_IN, login=False)

    assert SessionSnapshot.objects.get(session=session).size_bytes == good.size_bytes
    assert stored is False


def test_it_keeps_the_good_snapshot_when_the_page_cannot_answer(tmp_path):
    class Hung:
        def state(self):
            raise TimeoutError("page hung")

    session = WhatsAppSessionFactory(status="connected")
    SessionSnapshotFactory(session=session, data=b"good", size_bytes=4)
    live = LiveSession(
        session.pk, session.session_id, FakeBrowser(profile_with(tmp_path, login=True)), Hung()
    )

    stored = Host(tmp_path)._snapshot(live)

    assert bytes(SessionSnapshot.objects.get(session=session).data) == b"good"
    assert stored is False


def test_it_replaces_the_snapshot_with_a_logged_in_ready_page(tmp_path, settings):
    settings.BLAZZ_WA_URL = "http://127.0.0.1:8765/"
    session, good, stored = snapshot_of(tmp_path, LOGGED_IN, login=True)

    assert stored is True
    assert SessionSnapshot.objects.get(session=session).sha256 != good.sha256
