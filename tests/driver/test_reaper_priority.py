"""The reaper starts at low priority (its worker's restore is CPU-bound) and waits at normal
priority (a rescue must not be slow on a busy host); where it could not come back, it never
lowers it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from sessions_app.webjs.driver import reaper

PROBE = """
import json, os
from sessions_app.webjs.driver.reaper import back_to_normal_priority, boot_at_low_priority
lowered = boot_at_low_priority()
during = os.getpriority(os.PRIO_PROCESS, 0)
if lowered:
    back_to_normal_priority()
print(json.dumps({"lowered": lowered, "during": during, "after": os.getpriority(os.PRIO_PROCESS, 0)}))
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="only root may raise its priority again")
def test_it_boots_at_low_priority_and_waits_at_normal_priority():
    # In a process of its own: the test's priority is not the test's to change.
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=60
    )
    assert json.loads(done.stdout) == {"lowered": True, "during": reaper.BOOT_NICENESS, "after": 0}


def test_without_the_right_to_come_back_it_keeps_normal_priority(monkeypatch):
    monkeypatch.setattr(reaper.os, "geteuid", lambda: 1000)
    monkeypatch.setattr(reaper.resource, "getrlimit", lambda which: (0, 0))
    before = os.getpriority(os.PRIO_PROCESS, 0)

    assert reaper.boot_at_low_priority() is False
    assert os.getpriority(os.PRIO_PROCESS, 0) == before
