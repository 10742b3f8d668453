"""Finding, killing and reaping the processes of browsers (Linux, psutil).

PID 1 on our hosts does not reap orphans, and Chrome orphans helpers even on a clean exit
(zygotes and crashpad handlers outlive the browser process by a few ms; crashpad
double-forks). ``become_child_subreaper`` makes those orphans children of this process,
and the functions here reap them by pid. Only pids known to be browser processes are ever
waited for, so exit statuses of unrelated children are not stolen. Signals go through
psutil, which checks a process's create time first: a reused pid is never killed.
"""

from __future__ import annotations

import ctypes
import os
import subprocess  # nosec B404 # only waits on and kills Popen objects we started
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import psutil

# Process names (comm, at most 15 chars) of everything a session starts.
BROWSER_PROCESS_NAMES = ("chromium", "chrome", "chrome_crashpad", "chrome_crashpad_handler", "chromedriver")
# How long SIGKILLed processes get to disappear (they only need the kernel to tear them down).
KILL_GRACE_S = 5.0
PR_SET_CHILD_SUBREAPER = 36
# Set in the environment of chromedriver and Chrome (inherited by every helper).
PROFILE_ENV = "BLAZZ_BROWSER_PROFILE"


def become_child_subreaper() -> bool:
    """Make orphaned descendants of this process its children (Linux), so it can reap them."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _mentions_path(cmdline: Sequence[str], directory: str) -> bool:
    """True if an ``--option=value`` argument names ``directory`` or a path inside it."""
    for arg in cmdline:
        _, sep, value = arg.partition("=")
        if sep and (value == directory or value.startswith(directory + os.sep)):
            return True
    return False


def process_infos(attrs: list[str]) -> Iterator[tuple[psutil.Process, dict[str, Any]]]:
    """Every live process with the asked attributes, as this call's own dict. Not
    ``process_iter(attrs)`` and ``proc.info``: psutil shares its Process objects between
    threads, so another thread's walk with other attributes replaced ``info`` under this one
    (seen at fifty numbers: ``KeyError: 'ppid'`` failed a heartbeat)."""
    for proc in psutil.process_iter():
        try:
            yield proc, proc.as_dict(attrs=attrs, ad_value=None)
        except psutil.Error:
            continue  # exited meanwhile


def processes_mentioning(
    directory: str | os.PathLike[str], *, by_environ: bool = False
) -> list[psutil.Process]:
    """Live processes whose command line names ``directory`` (a profile, or a data dir).
    With ``by_environ``, also those whose ``BLAZZ_BROWSER_PROFILE`` is in it: that finds
    a chromedriver whose browser has exited (its command line names no profile), e.g. one
    orphaned by a dead worker. Slower (reads every environment), so for cleanups only."""
    paths = _both_spellings(directory)
    found = []
    for proc, info in process_infos(["cmdline", "environ"] if by_environ else ["cmdline"]):
        cmdline = info["cmdline"] or ()
        profile = (info.get("environ") or {}).get(PROFILE_ENV, "")
        if any(_mentions_path(cmdline, path) or _mentions_path([f"={profile}"], path) for path in paths):
            found.append(proc)
    return found


def _both_spellings(directory: str | os.PathLike[str]) -> set[str]:
    """The directory as given (absolute) and with its symlinks resolved: either may be on a
    command line."""
    return {os.path.abspath(directory), os.path.realpath(directory)}


class ProcessTable:
    """One walk of /proc: every process with its parent and command line. The processes of
    fifty browsers found from one table cost one walk; found one browser at a time they
    cost hundreds (psutil's ``children`` walks /proc for each process asked), which a
    profile of bench/density.py at 50 numbers showed holding the worker's GIL for seconds
    every metrics round and delaying every page's harvest (issue 18)."""

    def __init__(self) -> None:
        self.procs: dict[int, psutil.Process] = {}
        self._cmdlines: dict[int, Sequence[str]] = {}
        self._children: dict[int, list[int]] = {}
        for proc, info in process_infos(["ppid", "cmdline"]):
            self.procs[proc.pid] = proc
            self._cmdlines[proc.pid] = info["cmdline"] or ()
            self._children.setdefault(info["ppid"], []).append(proc.pid)

    def mentioning(self, directory: str | os.PathLike[str]) -> list[psutil.Process]:
        """As ``processes_mentioning`` (by command line), from the table."""
        paths = _both_spellings(directory)
        return [
            self.procs[pid]
            for pid, cmdline in self._cmdlines.items()
            if any(_mentions_path(cmdline, path) for path in paths)
        ]

    def with_descendants(self, pids: Iterable[int]) -> dict[int, psutil.Process]:
        """The given processes that were running at the walk, and all their descendants."""
        tree: dict[int, psutil.Process] = {}
        waiting = [pid for pid in pids if pid in self.procs]
        while waiting:
            pid = waiting.pop()
            if pid in tree:
                continue
            tree[pid] = self.procs[pid]
            waiting.extend(self._children.get(pid, ()))
        return tree


def with_descendants(procs: Iterable[psutil.Process]) -> dict[int, psutil.Process]:
    """The given processes and all their descendants, from one walk of /proc. psutil's
    ``children(recursive=True)`` walks /proc once per process asked: for a dead worker's
    forty browser processes that was forty walks, 0.6 s of a failover (issue 18)."""
    tree = {proc.pid: proc for proc in procs}
    if tree:
        for pid, proc in ProcessTable().with_descendants(list(tree)).items():
            tree.setdefault(pid, proc)
    return tree


def with_driver_parents(tree: dict[int, psutil.Process]) -> dict[int, psutil.Process]:
    """Add the chromedriver that launched any of these processes. Killing an orphaned
    browser alone leaves its chromedriver running with a zombie child it never reaps;
    killed together, the zombie is reparented to us (subreaper) and reaped."""
    found = dict(tree)
    for proc in tree.values():
        try:
            parent = proc.parent()
            if parent is not None and parent.name().startswith("chromedriver"):
                found.setdefault(parent.pid, parent)
        except psutil.Error:
            pass
    return found


def _reaped_elsewhere(proc: psutil.Process, pending: dict[int, psutil.Process]) -> bool:
    try:
        parent = proc.ppid()
    except psutil.Error:
        return True
    return parent != os.getpid() and parent not in pending


def is_zombie(proc: psutil.Process) -> bool:
    try:
        return proc.status() == psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def kill_and_reap(
    procs: Iterable[psutil.Process], popens: Sequence[subprocess.Popen], grace_s: float
) -> list[int]:
    """SIGKILL every process, then wait until each is gone and reaped. Returns the pids still
    present after ``grace_s`` (should be none). psutil checks create times before signalling,
    so a pid reused by an unrelated process is never killed."""
    procs = list(procs)
    for proc in procs:
        try:
            proc.kill()
        except psutil.Error:
            pass
    return wait_gone(procs, popens, grace_s)


def wait_gone(
    procs: Iterable[psutil.Process], popens: Sequence[subprocess.Popen], timeout_s: float
) -> list[int]:
    """Wait until the processes have exited and been reaped. A Popen we own is reaped through
    Popen (keeping its returncode right); other pids with ``waitpid`` once they are our
    children, which they become when their parent dies (we are a subreaper)."""
    by_pid = {popen.pid: popen for popen in popens}
    pending = {proc.pid: proc for proc in procs}
    deadline = time.monotonic() + timeout_s
    while True:
        for pid, proc in list(pending.items()):
            if pid in by_pid:
                if by_pid[pid].poll() is not None:
                    del pending[pid]
                continue
            if not proc.is_running():  # gone, or the pid now belongs to another process
                del pending[pid]
                continue
            try:
                if os.waitpid(pid, os.WNOHANG)[0] == pid:
                    del pending[pid]
            except ChildProcessError:
                # Not our child (yet). A zombie whose parent is neither us nor one of these
                # processes is dead for good and is not ours to reap: an orphan of a killed
                # worker belongs to init, which may reap it seconds later (the reaper waited
                # 1.8 s for that in every failover, issue 18).
                if is_zombie(proc) and _reaped_elsewhere(proc, pending):
                    del pending[pid]
        if not pending or time.monotonic() >= deadline:
            return sorted(pending)
        time.sleep(0.02)


def is_browser_main_process(proc: psutil.Process) -> bool:
    """The top Chrome process of a browser (not a renderer, zygote or crashpad helper)."""
    try:
        return proc.name().startswith(("chromium", "chrome")) and not any(
            arg.startswith("--type=") for arg in proc.cmdline()
        )
    except psutil.Error:
        return False


def freeze_renderers(procs: Iterable[psutil.Process]) -> int:
    """SIGSTOP every renderer among ``procs``: a page stopped mid-flight takes nothing more
    from WhatsApp's servers (no receipt goes out, so the servers keep what follows for the
    next page), while the browser process still commits the storage writes the page had
    already issued. Returns how many were frozen."""
    frozen = 0
    for proc in procs:
        try:
            if "--type=renderer" in proc.cmdline():
                proc.suspend()
                frozen += 1
        except psutil.Error:
            pass
    return frozen


def close_gracefully(procs: Iterable[psutil.Process], timeout_s: float) -> list[int]:
    """SIGTERM each browser main process and wait until each has exited (or is a zombie
    waiting for its parent). Chrome shuts down cleanly on SIGTERM, committing its pending
    storage writes (localStorage is committed seconds after a write); a SIGKILL would lose
    them. Returns the pids still running after ``timeout_s``; the caller kills those."""
    mains = [proc for proc in procs if is_browser_main_process(proc)]
    for proc in mains:
        try:
            proc.terminate()
        except psutil.Error:
            pass
    deadline = time.monotonic() + timeout_s
    while True:
        running = [proc.pid for proc in mains if proc.is_running() and not is_zombie(proc)]
        if not running or time.monotonic() >= deadline:
            return running
        time.sleep(0.05)


def reap_browser_zombies() -> list[int]:
    """Reap zombie children of this process that are browser processes (orphans handed to us
    as subreaper after their session was already stopped). Safe to call any time."""
    reaped = []
    for child in psutil.Process().children():
        try:
            if child.status() == psutil.STATUS_ZOMBIE and child.name().startswith(BROWSER_PROCESS_NAMES):
                if os.waitpid(child.pid, os.WNOHANG)[0] == child.pid:
                    reaped.append(child.pid)
        except (psutil.Error, ChildProcessError):
            pass
    return reaped
