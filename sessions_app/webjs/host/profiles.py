"""The browser profiles of a session worker: where a session's login state comes from at
start (its own profile left by a crash, or the database snapshot), snapshots of live pages,
and sweeping profiles and browsers that belong to no live session (F1, F6, F8)."""

from __future__ import annotations

import logging
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings

from sessions_app import services
from sessions_app.models import SessionSnapshot, WhatsAppSession
from sessions_app.webjs.driver.browser import kill_orphan_browsers
from sessions_app.webjs.driver.errors import SnapshotCorrupt
from sessions_app.webjs.driver.snapshot import snapshot_restore, snapshot_take
from sessions_app.webjs.host.live import LiveSession

logger = logging.getLogger(__name__)
Status = WhatsAppSession.Status
# Where Chrome keeps what a login consists of (what snapshots hold, too).
PROFILE_STATE_DIRS = ("Default/IndexedDB", "Default/Local Storage")
# A snapshot without a member under here holds no login (WhatsApp Web keeps its keys in IndexedDB).
LOGIN_STATE_PREFIX = "Default/IndexedDB/"
SNAPSHOT_RETRY_SECONDS = 30.0


class ProfilesMixin:
    """SessionHost's profile and snapshot handling. Expects ``data_dir``, ``worker``,
    ``_registry_lock``, ``_live`` and ``_starting`` from SessionHost."""

    def _prune_profiles(self) -> None:
        """Keeps the profiles of sessions still assigned here (an earlier process of this
        worker died with them open: they hold its page journal, see _prepare_profile) and
        removes every other one."""
        self.profiles_dir.mkdir(parents=True, exist_ok=True)
        keep = set(
            WhatsAppSession.objects.filter(assigned_worker=self.worker, deleted_at__isnull=True).values_list(
                "session_id", flat=True
            )
        )
        for entry in self.profiles_dir.iterdir():
            if entry.name not in keep:
                shutil.rmtree(entry, ignore_errors=True)

    @property
    def profiles_dir(self) -> Path:
        return self.data_dir / "profiles"

    def snapshot_now(self, session_pk: int) -> bool:
        """Refreshes the session's snapshot (Beat asks when the stored one is old). Returns
        whether one was stored."""
        with self._registry_lock:
            live = self._live.get(session_pk)
        if live is None:
            return False
        with live.lock:
            return self._snapshot(live)

    def _prepare_profile(self, session: WhatsAppSession, profile: Path) -> str:
        """Where the browser's login state comes from: "local" when an earlier process of
        this worker left the profile behind (a crash) and it is newer than the snapshot,
        "snapshot" when restored from the database, "none" for a first login.

        The local profile wins because it is the only copy of the page journal: the
        messages and acks that process read but never committed (WhatsApp's servers do
        not send them again). Only this worker can have it, and only under the lease it
        holds now (F1: one owner at a time)."""
        snapshot_saved_at = (
            SessionSnapshot.objects.filter(session_id=session.pk).values_list("saved_at", flat=True).first()
        )
        last_write = profile_last_write(profile)
        if last_write is not None and (snapshot_saved_at is None or last_write > snapshot_saved_at):
            logger.info("session %s resumes from the profile its last browser left", session.session_id)
            return "local"
        shutil.rmtree(profile, ignore_errors=True)
        return "snapshot" if self._restore_profile(session, profile) else "none"

    def _restore_profile(self, session: WhatsAppSession, profile: Path) -> bool:
        row = SessionSnapshot.objects.filter(session_id=session.pk).first()
        if row is None:
            return False
        try:
            snapshot_restore(data=bytes(row.data), user_data_dir=profile, keys=settings.BLAZZ_SNAPSHOT_KEYS)
        except SnapshotCorrupt as exc:
            # Unreadable (e.g. every key that could open it was retired): a QR is the only way back.
            logger.error("snapshot of %s unusable: %s", session.session_id, exc)
            services.snapshot_drop(session_pk=session.pk)
            shutil.rmtree(profile, ignore_errors=True)
            return False
        return True

    def _snapshot(self, live: LiveSession) -> bool:
        """Caller holds live.lock. Only a logged-in page's state is worth keeping: the
        session must be connected in the database *and* its page logged in and ready now
        (asked, not remembered), and what was read must hold the login's IndexedDB. Anything
        else keeps the stored snapshot: one taken from a profile being restored, or from a
        page on its QR screen, is a few hundred bytes of nothing that logs the number out at
        the next restore (issue 16: a 332-byte snapshot replaced the good one). Returns
        whether a snapshot was stored."""
        status = WhatsAppSession.objects.filter(pk=live.session_pk).values_list("status", flat=True).first()
        if status != Status.CONNECTED:
            return False
        refusal = _not_logged_in(live)
        if refusal:
            self._snapshot_refused(live, refusal)
            return False
        try:
            taken = snapshot_take(
                user_data_dir=live.browser.user_data_dir,
                origin=_origin(settings.BLAZZ_WA_URL),
                browser_version=live.browser.browser_version,
                keys=settings.BLAZZ_SNAPSHOT_KEYS,
                max_bytes=settings.BLAZZ_SNAPSHOT_MAX_BYTES,
            )
        except Exception as exc:
            services.session_record(session_pk=live.session_pk, kind="error", detail={"snapshot": str(exc)})
            logger.error("snapshot of %s failed: %s", live.session_id, exc)
            return False
        if not any(name.startswith(LOGIN_STATE_PREFIX) for name in taken.files):
            self._snapshot_refused(live, "the profile holds no IndexedDB login state")
            return False
        services.snapshot_store(
            session_pk=live.session_pk,
            data=taken.data,
            sha256=taken.sha256,
            browser_version=taken.browser_version,
        )
        live.snapshot_due_at = time.monotonic() + settings.BLAZZ_SNAPSHOT_INTERVAL_SECONDS
        return True

    def _snapshot_refused(self, live: LiveSession, why: str) -> None:
        # The harvest loop asks again after this, not at its next tick.
        live.snapshot_due_at = time.monotonic() + SNAPSHOT_RETRY_SECONDS
        logger.warning("snapshot of %s not taken, the stored one is kept: %s", live.session_id, why)
        services.session_record(session_pk=live.session_pk, kind="error", detail={"snapshot_refused": why})

    def sweep_orphans(self) -> list[str]:
        """Removes profiles, and kills browsers, under this worker's data dir that belong to
        no live session (F6, F8): what a start that failed half-way or a kill that missed a
        helper left. Skipped while a start is under way (its profile is not registered yet).
        Returns the profile names removed."""
        with self._registry_lock:
            if self._starting:
                return []
            keep = {live.session_id for live in self._live.values()}
        removed = []
        for profile in self.profiles_dir.iterdir() if self.profiles_dir.is_dir() else ():
            if profile.name in keep:
                continue
            kill_orphan_browsers(profile, remove_temp_dirs=False)  # logs what it closed
            shutil.rmtree(profile, ignore_errors=True)
            removed.append(profile.name)
        return removed


def _not_logged_in(live: LiveSession) -> str:
    """Why the page is not a logged-in, ready WhatsApp Web right now ("" when it is)."""
    try:
        state = live.bridge.state()
    except Exception as exc:  # a hung or closed page: nothing trustworthy to read from it
        return f"page state unreadable: {exc}"
    if not (state.get("authenticated") and state.get("ready") and state.get("me")):
        return (
            "page not logged in and ready "
            f"(authenticated={state.get('authenticated')}, ready={state.get('ready')})"
        )
    return ""


def profile_last_write(profile: Path) -> datetime | None:
    """When the login state in a profile (its IndexedDB and Local Storage) last changed,
    or None if the profile holds none."""
    newest = None
    for part in PROFILE_STATE_DIRS:
        root = profile / part
        if not root.is_dir():
            continue
        for path in root.rglob("*"):
            try:
                mtime = path.stat().st_mtime
            except OSError:
                continue
            newest = mtime if newest is None else max(newest, mtime)
    return None if newest is None else datetime.fromtimestamp(newest, tz=UTC)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
