"""Shared by the benchmarks: a simulator subprocess and its control API. Not a test."""

from __future__ import annotations

import json
import os
import platform
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "blazz.settings")


def machine() -> dict:
    with open("/proc/meminfo") as meminfo:
        total_kb = int(meminfo.readline().split()[1])
    return {
        "cpus": os.cpu_count(),
        "mem_gb": round(total_kb / 2**20, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
    }


class Simulator:
    def __init__(self, *extra: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "wasim", "--port", "0", *extra],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        line = self.proc.stdout.readline()
        if "listening on" not in line:
            self.stop()
            raise RuntimeError(f"simulator did not start: {line!r}")
        self.url = line.split()[-1]

    def api(self, method: str, path: str, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + "control/api" + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def chrome_process_kind(cmdline: list[str]) -> str:
    """Chrome's own name for a process (its ``--type=``: renderer, zygote, utility...);
    the browser process itself has none."""
    return next((arg[7:] for arg in cmdline if arg.startswith("--type=")), "browser")


class CpuByRole:
    """CPU seconds each kind of process on the host used between ``start()`` and ``stop()``:
    the session worker, Chrome's renderers, browser and other processes, chromedriver, the
    simulator, the bench itself (it offers the load), PostgreSQL, Redis. Says where the time
    goes when a figure is missed on two cores, without a profiler slowing the run down."""

    def __init__(self, *, worker_pid: int, simulator_pid: int) -> None:
        self.worker_pid, self.simulator_pid = worker_pid, simulator_pid
        self._before: dict[int, tuple[str, float]] = {}
        self._began = 0.0

    def _role(self, proc) -> str | None:
        try:
            if proc.pid == self.worker_pid:
                return "session_worker"
            if proc.pid == self.simulator_pid:
                return "simulator"
            if proc.pid == os.getpid():
                return "bench"
            name = proc.name()
            if name.startswith("chromedriver"):
                return "chromedriver"
            if "chrom" in name:
                kind = chrome_process_kind(proc.cmdline())
                return "chrome_" + (kind if kind in ("renderer", "browser") else "other")
            if name.startswith("postgres"):
                return "postgresql"
            if name.startswith("redis"):
                return "redis"
        except psutil.Error:
            return None
        return None

    def _sample(self) -> dict[int, tuple[str, float]]:
        sample = {}
        for proc in psutil.process_iter():
            role = self._role(proc)
            if role is None:
                continue
            try:
                times = proc.cpu_times()
            except psutil.Error:
                continue
            sample[proc.pid] = (role, times.user + times.system)
        return sample

    def start(self) -> None:
        self._before = self._sample()
        self._began = time.monotonic()

    def stop(self, *, messages: int) -> dict:
        """Per role: cores used on average, and CPU milliseconds per message."""
        elapsed = max(0.001, time.monotonic() - self._began)
        used: dict[str, float] = {}
        for pid, (role, seconds) in self._sample().items():
            earlier = self._before.get(pid)
            already = earlier[1] if earlier and earlier[0] == role else 0.0
            used[role] = used.get(role, 0.0) + seconds - already
        ordered = sorted(used.items(), key=lambda item: -item[1])
        return {
            "window_s": round(elapsed, 1),
            "cores": {role: round(seconds / elapsed, 2) for role, seconds in ordered},
            "cpu_ms_per_message": {
                role: round(1000 * seconds / max(1, messages), 2) for role, seconds in ordered
            },
        }
