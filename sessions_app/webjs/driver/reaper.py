"""The browser reaper: one small watchdog process per session worker.

A worker killed with SIGKILL (or by the OOM killer) cannot close its browsers, and Chrome
does not die with the process that launched it. An orphaned page would go on receiving a
number's messages (WhatsApp's servers then consider them delivered, and nobody stores
them) while the number is restored on another worker: two browsers on one number (F1, F8).
The reaper watches the worker's pid; when the worker is gone it quiesces the pages (through
DevTools: no more receipts to WhatsApp's servers, every held event journaled), then closes
every browser under the worker's data dir, gracefully first (Chrome commits its storage on
SIGTERM, so the page journal and the login survive in the profile), then by force.

``python -m sessions_app.webjs.driver.reaper --pid PID --data-dir DIR``; started by SessionHost in
its own session, so the signal that kills the worker's process group does not reach it.
"""

from __future__ import annotations

import argparse
import logging
import os
import resource
import subprocess  # nosec B404 # starts our own interpreter and module, no shell
import sys
import time
from pathlib import Path

import psutil

logger = logging.getLogger("blazz.reaper")
POLL_S = 0.1
# The reaper's start (Django's setup, about 1.5 s of CPU) happens as its worker restores its
# numbers, which is CPU-bound on a small host: it yields to those browser starts.
BOOT_NICENESS = 10


def boot_at_low_priority() -> bool:
    """Lowers this process's priority for its start, if it may raise it again afterwards
    (root, or an RLIMIT_NICE that allows nice 0): a reaper left at low priority would rescue
    slowly on a busy host. Returns whether it did; then call ``back_to_normal_priority``."""
    limit, _ = resource.getrlimit(resource.RLIMIT_NICE)
    if os.geteuid() != 0 and limit != resource.RLIM_INFINITY and limit < 20:
        return False
    os.nice(BOOT_NICENESS)
    return True


def back_to_normal_priority() -> None:
    os.setpriority(os.PRIO_PROCESS, 0, 0)


def worker_is_gone(worker: psutil.Process) -> bool:
    try:
        return not worker.is_running() or worker.status() == psutil.STATUS_ZOMBIE
    except psutil.Error:
        return True


def wait_for_death(pid: int, poll_s: float = POLL_S) -> None:
    try:
        worker = psutil.Process(pid)
    except psutil.Error:
        return
    while not worker_is_gone(worker):
        time.sleep(poll_s)


def close_browsers(data_dir: Path) -> list[int]:
    from sessions_app.webjs.driver.browser import kill_orphan_browsers

    # Temp dirs are left to the next worker's start: one may already be running.
    return kill_orphan_browsers(data_dir, remove_temp_dirs=False, freeze_pages_first=True)


def spawn(
    *, worker_pid: int, worker_name: str, data_dir: Path, log_path: Path | None = None
) -> subprocess.Popen:
    """Starts the reaper for ``worker_pid``. It exits by itself after the worker is gone."""
    log = open(log_path, "ab") if log_path else subprocess.DEVNULL
    command = [sys.executable, "-m", "sessions_app.webjs.driver.reaper", "--pid", str(worker_pid)]
    return subprocess.Popen(  # noqa: S603 — our own interpreter and module, no shell  # nosec B603
        [*command, "--worker-name", worker_name, "--data-dir", str(data_dir)],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        cwd=Path(__file__).resolve().parents[3],  # the project root, so `-m` finds the package
        env={**os.environ},
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--worker-name", required=True)
    parser.add_argument("--data-dir", type=Path, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s reaper[%(process)d] %(message)s")
    # Django is set up before the wait, so the rescue can be claimed the moment the worker
    # is gone: reconciliation must not move its numbers while their browsers are being saved.
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "blazz.settings")
    lowered = boot_at_low_priority()
    import django

    django.setup()
    # Imported before the wait: the reconciliation after a rescue writes to the cache, and
    # importing its Redis client then cost 0.25 s while the numbers were down.
    import redis  # noqa: F401
    from django.db import connection

    from sessions_app.webjs.rescue import reconcile_after_rescue, worker_rescue, worker_rescue_begin

    connection.close()  # no connection held open for the worker's whole life
    if lowered:
        back_to_normal_priority()
    wait_for_death(args.pid)
    if worker_rescue_begin(worker_name=args.worker_name, worker_pid=args.pid):
        logger.warning("worker %s (pid %s) is gone; rescuing its numbers", args.worker_name, args.pid)
    closed = close_browsers(args.data_dir)
    if closed:
        logger.warning("worker %s is gone; closed its %d browser processes", args.pid, len(closed))
    rescued = worker_rescue(worker_name=args.worker_name, worker_pid=args.pid, data_dir=args.data_dir)
    if rescued["marked_dead"]:
        logger.warning("worker %s: %s; reconciling now", args.worker_name, rescued)
        try:
            logger.warning("reconciled: %s", reconcile_after_rescue())
        except Exception:
            # Beat's next reconciliation (within 30 s) moves them all the same.
            logger.exception("the reconciliation after the rescue of %s failed", args.worker_name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
