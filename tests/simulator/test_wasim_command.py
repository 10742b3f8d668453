"""``manage.py wasim`` serves the simulated WhatsApp Web page and stops cleanly on signals."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import urllib.request

import pytest

from .support import PROJECT_ROOT, read_announced_url


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_it_serves_the_page_and_stops_on_a_signal(stop_signal, tmp_path):
    with open(tmp_path / "wasim.log", "w", encoding="utf-8") as log:
        proc = subprocess.Popen(
            [sys.executable, "manage.py", "wasim", "--port", "0", "--qr-period", "5"],
            cwd=PROJECT_ROOT,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        try:
            url = read_announced_url(proc)
            assert url.startswith("http://127.0.0.1:")
            with urllib.request.urlopen(url, timeout=5) as response:
                page = response.read().decode("utf-8")
            with urllib.request.urlopen(url + "control/", timeout=5) as response:
                control = response.read().decode("utf-8")

            os.kill(proc.pid, stop_signal)
            returncode = proc.wait(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            if proc.stdout:
                proc.stdout.close()

    assert '<script src="/wa.js">' in page
    assert "control" in control.lower()
    assert returncode == 0, (tmp_path / "wasim.log").read_text()
