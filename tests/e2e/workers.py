"""Real session-worker processes for end-to-end tests: `celery worker -Q wa.<name>` against
the test database, stopped by PID (warmly with SIGTERM, or with kill -9 for fault tests)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
from django.conf import settings
from django.db import connection

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def test_database_url() -> str:
    db = connection.settings_dict
    return (
        f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    )


class WorkerProcess:
    def __init__(
        self,
        name: str,
        *,
        wa_url: str,
        data_dir: Path,
        capacity: int = 4,
        log_dir: Path,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.name = name
        self.extra_env = extra_env or {}
        self.wa_url = wa_url
        self.data_dir = data_dir
        self.capacity = capacity
        self.log_path = log_dir / f"worker-{name}.log"
        self.proc: subprocess.Popen | None = None
        self.stopped = False

    def start(self) -> WorkerProcess:
        env = {
            **os.environ,
            "DATABASE_URL": test_database_url(),
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "REDIS_URL": settings.REDIS_URL,
            "CHANNEL_LAYER_URL": settings.CHANNEL_LAYER_URL,
            "BLAZZ_WA_URL": self.wa_url,
            "BLAZZ_DATA_DIR": str(self.data_dir),
            "BLAZZ_WORKER_CAPACITY": str(self.capacity),
            "BLAZZ_WORKER_HEARTBEAT_SECONDS": "1",
            "BLAZZ_SNAPSHOT_AFTER_LOGIN_SECONDS": "6",
            "BLAZZ_HARVEST_TICK_MS": "200",
            # Media the worker stores must be readable by the test (and by the next worker).
            "BLAZZ_MEDIA_ROOT": str(settings.BLAZZ_MEDIA_ROOT),
            **self.extra_env,
        }
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "blazz",
                "worker",
                "-n",
                f"{self.name}@%h",
                "-Q",
                f"wa.{self.name}",
                "--pool",
                "threads",
                "--concurrency",
                "4",
                "-l",
                "info",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        return self

    def stop(self, *, timeout: float = 60) -> int:
        """Warm shutdown (SIGTERM): the worker snapshots and closes its browsers. A worker
        already stopped is left alone: a later worker may use the same data dir."""
        assert self.proc is not None
        if self.stopped:
            return self.proc.returncode
        self.stopped = True
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self.reap_leftovers()
        return self.proc.returncode

    def kill(self) -> None:
        """kill -9: the worker and (as a crash would) nothing else; its Chrome is orphaned."""
        assert self.proc is not None
        self.stopped = True
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def reap_leftovers(self) -> list[int]:
        """Kill any browser process still pointing into this worker's data dir."""
        marker = str(self.data_dir)
        leftovers = []
        for proc in psutil.process_iter(["pid", "cmdline"]):
            if any(marker in part for part in proc.info["cmdline"] or []):
                leftovers.append(proc.pid)
                try:
                    proc.kill()
                except psutil.Error:
                    pass
        psutil.wait_procs([psutil.Process(p) for p in leftovers if psutil.pid_exists(p)], timeout=5)
        return leftovers

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:]


def wait_until(predicate, *, timeout: float = 30.0, interval: float = 0.2, what: str = "", log=None):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            detail = f"\n--- worker log ---\n{log()}" if log else ""
            raise AssertionError(f"timed out after {timeout}s waiting for {what}{detail}")
        time.sleep(interval)


BROWSER_PROCESS_NAMES = {"chromedriver", "chromium", "chrome", "chrome_crashpad", "chrome_crashpad_handler"}


# Every process this test run starts (workers, daphne, and through them chromedriver and
# Chromium) inherits this marker, so the leak check counts this run's browsers only: a demo
# or a second test run on the same machine is neither blamed nor killed.
TEST_RUN_MARKER = "BLAZZ_TEST_RUN"
os.environ.setdefault(TEST_RUN_MARKER, f"{os.getpid()}-{time.time_ns()}")


def _started_by_this_run(proc: psutil.Process) -> bool:
    try:
        if proc.status() == psutil.STATUS_ZOMBIE:
            # A zombie's environment is gone; a zombie is ours if we (or our subreaper) must reap it.
            return proc.ppid() in (os.getpid(), 1)
        return proc.environ().get(TEST_RUN_MARKER) == os.environ[TEST_RUN_MARKER]
    except psutil.Error:
        return False


def browser_processes() -> set[int]:
    """This test run's Chromium and chromedriver processes, zombies included."""
    found = set()
    for proc in psutil.process_iter(["pid", "name"]):
        if (proc.info["name"] or "") in BROWSER_PROCESS_NAMES and _started_by_this_run(proc):
            found.add(proc.info["pid"])
    return found
