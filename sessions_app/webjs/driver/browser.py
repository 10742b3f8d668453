"""One headless Chromium per WhatsApp session, and a stop that always finishes (F8).

Guarantees:
- Only local binaries run: chromedriver is given by path, so Selenium Manager never runs;
  with ``BLAZZ_BROWSER=uc`` see ``uc_launcher`` (private pre-patched driver, no download).
- ``Browser.start`` kills any process still using the profile and removes the
  ``Singleton*`` symlinks a killed browser leaves (Chrome would otherwise hand its command
  line to a dead or foreign instance and exit). It gives up after ``start_timeout_s`` and
  then leaves nothing running.
- ``Browser.stop(deadline)`` runs ``quit()`` in a thread; past the deadline, or on error,
  the whole process tree is SIGKILLed: chromedriver, the browser and every helper, found
  from the pids we started, their descendants (remembered, as orphans get reparented) and
  the profile path in command lines. Everything is then reaped (``processes``: this process
  becomes a child subreaper, since PID 1 here reaps nothing). After ``stop`` no process of
  the session exists, not even a zombie, and its temp dir is gone.
- Chrome's temp files go to a per-start ``TMPDIR`` (``/tmp/blazz-<data dir hash>-*``: the
  ``org.chromium.Chromium.*`` socket and scoped dirs), removed on stop, so what a session
  leaves in /tmp is known exactly. Crash dumps go to ``<profile>/Crash Reports`` (never
  snapshotted), which also puts the profile path in crashpad's command line.
- A later start on the same profile takes it over (``BlazzOwner`` token): a stale handle's
  ``stop`` then touches neither the new browser nor its locks.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess  # nosec B404 # only for the type of the Popen objects we track
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from .devtools import pages_quiesce
from .errors import BrowserStartError
from .first_tab import open_first_tab_blank
from .processes import (
    KILL_GRACE_S,
    PROFILE_ENV,
    ProcessTable,
    become_child_subreaper,
    close_gracefully,
    freeze_renderers,
    is_zombie,
    kill_and_reap,
    process_infos,
    processes_mentioning,
    reap_browser_zombies,
    wait_gone,
    with_descendants,
    with_driver_parents,
)
from .uc_launcher import defuse_uc_driver, start_uc, uc_private_chromedriver

logger = logging.getLogger(__name__)

LOCK_FILES = ("SingletonLock", "SingletonCookie", "SingletonSocket")
OWNER_FILE = "BlazzOwner"  # which Browser.start owns the profile now
# How long an orphaned browser gets to shut down cleanly (SIGTERM) before it is killed.
ORPHAN_CLOSE_GRACE_S = 5.0
RENDERER_SETTLE_S = 0.3

DEFAULT_ARGUMENTS = (
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--metrics-recording-only",
    "--no-first-run",
    "--no-default-browser-check",
    "--no-pings",
    # Cookies encrypted with the fixed "basic" key, not a desktop keyring: the profile (and
    # its snapshot) opens on any host.
    "--password-store=basic",
    "--use-mock-keychain",
    "--mute-audio",
    "--window-size=1280,900",
)

# Measured with bench/browser_sessions.py (5 sessions on the simulator, Chromium 156): the
# marginal PSS per session drops from ~170 MB to ~136 MB and processes from 12 to 9.
# Site isolation is off because each browser hosts exactly one site; the network service
# and the GPU process run inside the browser process. --no-zygote was measured too and
# costs memory (forked renderers stop sharing pages), so the zygote stays.
# WebUIOmniboxPopup/WebUIOmniboxAimPopup: Chromium 156 preloads the address bar's popup, a
# WebUI page (chrome://omnibox-popup.top-chrome/), in a second renderer of every browser, even
# headless, where nobody types in an address bar (Puppeteer disables both by default too).
# Measured on one browser opening the simulator: 2 renderers → 1, Chrome's CPU for the start
# 1.61 s → 0.72 s (issue 18: restores are bound by the CPU of browser starts).
LEAN_ARGUMENTS = (
    "--enable-features=NetworkServiceInProcess2",
    "--in-process-gpu",
    "--disable-features=site-per-process,IsolateOrigins,Translate,OptimizationHints,MediaRouter,"
    "WebUIOmniboxPopup,WebUIOmniboxAimPopup",
    "--renderer-process-limit=1",
    "--disable-software-rasterizer",
)


def sandbox_arguments(*, euid: int | None = None, force_no_sandbox: bool | None = None) -> tuple[str, ...]:
    """Chromium keeps its sandbox (renderers in their own user and PID namespaces, seccomp)
    whenever it can: a renderer runs a hostile page's code on a worker that hosts other
    tenants' sessions. Chromium refuses to start as root with the sandbox on, so only a
    root worker (containers, the test machine) gets ``--no-sandbox``, and an operator can
    force it with BLAZZ_BROWSER_NO_SANDBOX on a host without unprivileged user namespaces."""
    euid = os.geteuid() if euid is None else euid
    if force_no_sandbox is None:
        force_no_sandbox = _setting("BLAZZ_BROWSER_NO_SANDBOX", False)
    return ("--no-sandbox",) if euid == 0 or force_no_sandbox else ()


def _setting(name: str, default: Any) -> Any:
    """A Blazz setting when Django is configured; the default otherwise (unit tests)."""
    try:
        from django.conf import settings

        return getattr(settings, name, default) if settings.configured else default
    except Exception:  # ImportError, ImproperlyConfigured while settings are mid-edit
        return default


def remove_stale_locks(user_data_dir: str | os.PathLike[str]) -> list[str]:
    """Remove the Singleton* symlinks of a profile. They are dangling symlinks after a kill,
    so ``lexists`` (not ``exists``) finds them. Returns the names removed."""
    removed = []
    for name in LOCK_FILES:
        path = os.path.join(user_data_dir, name)
        if os.path.lexists(path):
            os.unlink(path)
            removed.append(name)
    return removed


def _tmp_prefix(data_dir: str | os.PathLike[str]) -> str:
    # Short on purpose: Chrome binds a unix socket under TMPDIR (sun_path is 108 bytes).
    digest = hashlib.sha256(os.path.abspath(data_dir).encode()).hexdigest()[:8]
    return f"blazz-{digest}-"


def kill_orphan_browsers(
    data_dir: str | os.PathLike[str], *, remove_temp_dirs: bool = True, freeze_pages_first: bool = False
) -> list[int]:
    """Kill every browser process left from an earlier life of the worker that owns
    ``data_dir`` (profiles, crash dumps or a uc driver under it), with the chromedriver
    that launched it, and remove that worker's Chrome temp dirs. Call at worker start,
    before any session starts. Returns the pids killed."""
    become_child_subreaper()
    found = with_driver_parents(with_descendants(processes_mentioning(data_dir, by_environ=True)))
    private_drivers = os.path.join(os.path.abspath(data_dir), "bin") + os.sep
    for proc, info in process_infos(["exe"]):
        if (info["exe"] or "").startswith(private_drivers):
            found.setdefault(proc.pid, proc)
    live = [proc for proc in found.values() if not is_zombie(proc)]
    if freeze_pages_first and live:
        # First the pages stop sending receipts and journal what they hold; a page frozen
        # between its receipt and its journal write would lose that message for good.
        profiles = Path(data_dir) / "profiles"
        pages_quiesce(sorted(p for p in profiles.iterdir() if p.is_dir()) if profiles.is_dir() else [])
    if freeze_pages_first and freeze_renderers(live):
        # Let the journal writes the pages had issued land before the browsers go.
        time.sleep(RENDERER_SETTLE_S)
    # Closed before they are killed: the next start may reuse their profiles, and a browser
    # killed outright can lose storage writes it had not committed yet.
    close_gracefully(live, ORPHAN_CLOSE_GRACE_S)
    kill_and_reap(found.values(), (), KILL_GRACE_S)
    reap_browser_zombies()
    tmp_root = tempfile.gettempdir()
    for name in os.listdir(tmp_root) if remove_temp_dirs else ():
        if name.startswith(_tmp_prefix(data_dir)):
            shutil.rmtree(os.path.join(tmp_root, name), ignore_errors=True)
    if live:
        logger.warning("closed %d orphan browser processes under %s", len(live), data_dir)
    return sorted(proc.pid for proc in live)


@dataclass
class StopReport:
    duration_s: float
    forced: bool  # quit() did not finish in time (or failed) and the tree was killed
    killed_pids: list[int] = field(default_factory=list)
    leftover_pids: list[int] = field(default_factory=list)  # should always be empty


class Browser:
    """A running browser of one session. Not thread safe (neither is the WebDriver): the
    session's lock is held by the caller. Use ``Browser.start(...)``."""

    def __init__(
        self,
        *,
        session_id: str,
        driver: webdriver.Chrome,
        user_data_dir: Path,
        tmp_dir: Path,
        popens: list[subprocess.Popen],
        kind: str,
        owner_token: str,
    ) -> None:
        self.session_id = session_id
        self._owner_token = owner_token
        self.driver = driver
        self.user_data_dir = user_data_dir
        self.kind = kind
        self.browser_version: str = driver.capabilities.get("browserVersion", "")
        self.started_at = time.time()
        self._tmp_dir = tmp_dir
        self._popens = popens  # the processes we started directly: chromedriver (+ Chrome in uc)
        self._known: dict[int, psutil.Process] = {}
        self._stop_report: StopReport | None = None
        self._collect()

    @classmethod
    def start(
        cls,
        *,
        session_id: str,
        user_data_dir: str | os.PathLike[str],
        kind: str | None = None,
        chromium_path: str | None = None,
        chromedriver_path: str | None = None,
        headless: bool | None = None,
        data_dir: str | os.PathLike[str] | None = None,
        extra_arguments: Sequence[str] = (),
        start_timeout_s: float = 30.0,
    ) -> Browser:
        """Start Chromium on ``user_data_dir`` (created if missing; restore a snapshot into it
        first). Raises BrowserStartError, and then nothing of the attempt is left running."""
        kind = kind or _setting("BLAZZ_BROWSER", "selenium")
        chromium_path = chromium_path or _setting("BLAZZ_CHROMIUM_PATH", "/usr/lib/chromium/chromium")
        chromedriver_path = chromedriver_path or _setting("BLAZZ_CHROMEDRIVER_PATH", "/usr/bin/chromedriver")
        headless = _setting("BLAZZ_HEADLESS", True) if headless is None else headless
        profile = Path(os.path.abspath(user_data_dir))
        data_dir = Path(data_dir or _setting("BLAZZ_DATA_DIR", profile.parent.parent))
        if kind not in ("selenium", "uc"):
            raise BrowserStartError(f"unknown browser kind {kind!r} (BLAZZ_BROWSER is 'selenium' or 'uc')")
        become_child_subreaper()
        profile.mkdir(parents=True, exist_ok=True)
        # A browser still on this profile would receive our command line through its
        # SingletonSocket, and the new Chrome would exit at once.
        leftovers = with_driver_parents(with_descendants(processes_mentioning(profile, by_environ=True)))
        kill_and_reap(leftovers.values(), (), KILL_GRACE_S)
        remove_stale_locks(profile)
        open_first_tab_blank(profile)
        owner_token = f"{os.getpid()}:{uuid.uuid4().hex}"
        (profile / OWNER_FILE).write_text(owner_token)
        tmp_dir = Path(tempfile.mkdtemp(prefix=_tmp_prefix(data_dir)))
        env = {
            **os.environ,
            "TMPDIR": str(tmp_dir),
            "BREAKPAD_DUMP_LOCATION": str(profile / "Crash Reports"),
            PROFILE_ENV: str(profile),
        }
        lean = _setting("BLAZZ_BROWSER_LEAN", True)
        arguments = [
            *sandbox_arguments(),
            *DEFAULT_ARGUMENTS,
            *(LEAN_ARGUMENTS if lean else ()),
            *extra_arguments,
        ]
        popens: list[subprocess.Popen] = []
        outcome: dict[str, Any] = {}

        def construct() -> None:
            try:
                if kind == "uc":
                    driver_copy = uc_private_chromedriver(data_dir, chromedriver_path)
                    outcome["driver"] = start_uc(
                        profile, arguments, headless, env, chromium_path, driver_copy, popens
                    )
                else:
                    outcome["driver"] = _start_selenium(
                        profile, arguments, headless, env, chromium_path, chromedriver_path, popens
                    )
            except Exception as exc:
                outcome["error"] = exc

        # chromedriver waits up to a minute for a Chrome that does not come up; a worker
        # thread must not. Past the deadline the processes are killed, which also makes the
        # constructor fail at once.
        starter = threading.Thread(target=construct, name=f"browser-start-{session_id}", daemon=True)
        starter.start()
        starter.join(start_timeout_s)
        if starter.is_alive() or "error" in outcome:
            error = outcome.get("error") or TimeoutError(f"not started within {start_timeout_s:.0f}s")
            roots = processes_mentioning(profile, by_environ=True)
            for popen in popens:
                try:
                    roots.append(psutil.Process(popen.pid))
                except psutil.Error:
                    pass
            kill_and_reap(with_descendants(roots).values(), popens, KILL_GRACE_S)
            starter.join(KILL_GRACE_S)
            reap_browser_zombies()
            remove_stale_locks(profile)
            shutil.rmtree(tmp_dir, ignore_errors=True)
            raise BrowserStartError(
                f"could not start {kind} browser for session {session_id}: {error}"
            ) from error
        driver = outcome["driver"]
        return cls(
            session_id=session_id,
            driver=driver,
            user_data_dir=profile,
            tmp_dir=tmp_dir,
            popens=popens,
            kind=kind,
            owner_token=owner_token,
        )

    def _collect(self, table: ProcessTable | None = None) -> dict[int, psutil.Process]:
        """The session's processes now: what we started, their descendants, and anything
        naming the profile (helpers orphaned when their parent died). Remembered, so a
        process that was reparented away from the tree is still found by pid. ``table``: a
        walk of /proc the caller made for several browsers at once."""
        if table is not None:
            # A remembered pid counts only if it is still that process (psutil compares
            # create times): a pid reused by another program is not ours.
            known = [pid for pid, proc in self._known.items() if table.procs.get(pid) == proc]
            roots = [*known, *(popen.pid for popen in self._popens if popen.poll() is None)]
            if self._owns_profile():
                roots.extend(proc.pid for proc in table.mentioning(self.user_data_dir))
            self._known = table.with_descendants(roots)
            return dict(self._known)
        roots = [proc for proc in self._known.values() if proc.is_running()]
        for popen in self._popens:
            if popen.poll() is None:
                try:
                    roots.append(psutil.Process(popen.pid))
                except psutil.Error:
                    pass
        roots.extend(self._profile_processes())
        self._known = {pid: proc for pid, proc in with_descendants(roots).items() if proc.is_running()}
        return dict(self._known)

    def _owns_profile(self) -> bool:
        try:
            return (self.user_data_dir / OWNER_FILE).read_text() == self._owner_token
        except OSError:
            return False

    def _profile_processes(self) -> list[psutil.Process]:
        """Processes naming the profile, while this start still owns it: a later start on
        the same profile (after a crash) takes it over, and this stale handle must then
        never touch that browser or its locks."""
        return processes_mentioning(self.user_data_dir) if self._owns_profile() else []

    def pids(self, table: ProcessTable | None = None) -> list[int]:
        """Live pids of the session: chromedriver and the whole Chrome process tree."""
        return sorted(pid for pid, proc in self._collect(table).items() if not is_zombie(proc))

    def pss_bytes(self, *, pids: list[int] | None = None) -> int:
        """Proportional set size of the session's processes (shared pages split fairly);
        `pids` when the caller has just listed them (listing walks /proc)."""
        total_kb = 0
        for pid in self.pids() if pids is None else pids:
            try:
                with open(f"/proc/{pid}/smaps_rollup") as rollup:
                    for line in rollup:
                        if line.startswith("Pss:"):
                            total_kb += int(line.split()[1])
                            break
            except OSError:
                pass  # exited meanwhile
        return total_kb * 1024

    def is_alive(self) -> bool:
        """The browser process itself (not a helper, not chromedriver) is running."""
        if self._stop_report is not None:
            return False
        for proc in self._profile_processes():
            try:
                if not any(arg.startswith("--type=") for arg in proc.cmdline()) and not is_zombie(proc):
                    return True
            except psutil.Error:
                pass
        return False

    def stop(self, deadline_s: float | None = None) -> StopReport:
        """Quit within ``deadline_s`` (default BLAZZ_BROWSER_STOP_DEADLINE), else kill the
        tree. Idempotent. On return no process of the session remains."""
        if self._stop_report is not None:
            return self._stop_report
        deadline_s = float(
            _setting("BLAZZ_BROWSER_STOP_DEADLINE", 10.0) if deadline_s is None else deadline_s
        )
        began = time.monotonic()
        before = self._collect()
        quit_done = threading.Event()

        def quit_driver() -> None:
            try:
                if self.kind == "uc":
                    # uc's quit() SIGTERMs Chrome, which then exits without writing pending
                    # localStorage and cookies; Browser.close is Chrome's clean shutdown.
                    try:
                        self.driver.execute_cdp_cmd("Browser.close", {})
                    except Exception as exc:  # Chrome may drop the connection as it exits
                        logger.debug("Browser.close: %s", exc)
                    self._popens[0].wait()  # uc's Chrome is the first process we started
                self.driver.quit()
                quit_done.set()
            except Exception:  # the browser is already gone, or chromedriver died: kill below
                logger.info("quit() failed for session %s", self.session_id, exc_info=True)

        quitter = threading.Thread(target=quit_driver, name=f"browser-quit-{self.session_id}", daemon=True)
        quitter.start()
        quitter.join(deadline_s)
        remaining = max(0.0, deadline_s - (time.monotonic() - began))
        leftover: list[int] = []
        if quit_done.is_set():
            # The browser has exited; its helpers follow within ms. Reap them all.
            leftover = wait_gone(before.values(), self._popens, remaining)
        forced = not quit_done.is_set() or bool(leftover) or bool(self._profile_processes())
        killed: list[int] = []
        if forced:
            tree = {**before, **self._collect()}
            killed = sorted(pid for pid, proc in tree.items() if proc.is_running() and not is_zombie(proc))
            leftover = kill_and_reap(tree.values(), self._popens, KILL_GRACE_S)
        if self.kind == "uc":
            defuse_uc_driver(self.driver)
        reap_browser_zombies()
        leftover = sorted(set(leftover) | {p.pid for p in self._profile_processes()})
        if self._owns_profile():
            remove_stale_locks(self.user_data_dir)
        shutil.rmtree(self._tmp_dir, ignore_errors=True)
        self._stop_report = StopReport(
            duration_s=time.monotonic() - began, forced=forced, killed_pids=killed, leftover_pids=leftover
        )
        if leftover:
            logger.error("session %s: processes %s survived stop", self.session_id, leftover)
        return self._stop_report


def _start_selenium(
    profile: Path,
    arguments: Sequence[str],
    headless: bool,
    env: dict[str, str],
    chromium_path: str,
    chromedriver_path: str,
    popens: list[subprocess.Popen],
) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    for argument in [*arguments, f"--user-data-dir={profile}", *(["--headless=new"] if headless else [])]:
        options.add_argument(argument)
    options.binary_location = chromium_path
    # An explicit driver path is what keeps Selenium Manager (a downloader) from running.
    service = Service(executable_path=chromedriver_path, env=env)
    start_process = service._start_process

    def start_and_track(path: str) -> None:
        start_process(path)
        popens.append(service.process)  # known at once, so a start deadline can kill it

    service._start_process = start_and_track  # type: ignore[method-assign]
    return webdriver.Chrome(service=service, options=options)
