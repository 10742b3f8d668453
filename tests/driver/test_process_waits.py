"""Killing a dead worker's processes ends when they are dead, not when someone else reaps them."""

from __future__ import annotations

import subprocess
import sys

import psutil

from sessions_app.webjs.driver.processes import (
    become_child_subreaper,
    is_zombie,
    kill_and_reap,
    with_descendants,
)

# A parent that never reaps its child, as init may not for seconds: the killed child stays a
# zombie whose parent is neither the test nor a process it kills.
NEGLECTFUL_PARENT = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
print(child.pid, flush=True)
time.sleep(60)
"""


def test_a_killed_process_whose_parent_reaps_it_elsewhere_counts_as_gone():
    become_child_subreaper()  # what this test starts and orphans comes back to it to reap
    parent = subprocess.Popen([sys.executable, "-c", NEGLECTFUL_PARENT], stdout=subprocess.PIPE, text=True)
    try:
        child = psutil.Process(int(parent.stdout.readline()))

        left = kill_and_reap([child], (), 3.0)

        assert left == []
        assert is_zombie(child)  # dead, and its own parent's to reap
    finally:
        kill_and_reap([child, psutil.Process(parent.pid)], [parent], 5.0)


def test_descendants_of_many_processes_come_from_the_process_tree():
    become_child_subreaper()
    parents = [
        subprocess.Popen([sys.executable, "-c", NEGLECTFUL_PARENT], stdout=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    children = {int(parent.stdout.readline()) for parent in parents}
    started = [psutil.Process(pid) for pid in [*children, *(parent.pid for parent in parents)]]
    try:
        tree = with_descendants(psutil.Process(parent.pid) for parent in parents)
        assert set(tree) == {parent.pid for parent in parents} | children
    finally:
        # The test is a subreaper: the children of the killed parents come back to it.
        kill_and_reap(started, parents, 5.0)
