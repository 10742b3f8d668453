"""Killing a dead worker's processes ends when they are dead, not when someone else reaps them."""

from __future__ import annotations

import subprocess
import sys
import time

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
        parent.kill()
        parent.wait()
        reap_orphans()


def test_descendants_of_many_processes_come_from_the_process_tree():
    become_child_subreaper()
    parents = [
        subprocess.Popen([sys.executable, "-c", NEGLECTFUL_PARENT], stdout=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    try:
        children = {int(parent.stdout.readline()) for parent in parents}
        tree = with_descendants(psutil.Process(parent.pid) for parent in parents)
        assert set(tree) == {parent.pid for parent in parents} | children
    finally:
        for pid in children:
            psutil.Process(pid).kill()
        for parent in parents:
            parent.kill()
            parent.wait()
        reap_orphans()


def reap_orphans() -> None:
    """The grandchildren this test started, reparented to the test process (a subreaper once
    any browser test ran) or to init: none may outlive the test."""
    time.sleep(0.2)  # the killed parents' children are reparented meanwhile
    for process in psutil.Process().children():
        try:
            if is_zombie(process):
                ours = process.name().startswith("python")  # a zombie has no command line
            else:
                ours = process.cmdline()[-1:] == ["import time; time.sleep(60)"]
            if ours:
                process.kill()
                process.wait(5)
        except psutil.Error:
            pass
