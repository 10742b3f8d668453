"""Chromium keeps its sandbox on a worker that is not root (issue 16: a renderer runs a
hostile page's code on a worker that hosts other tenants' sessions)."""

import json
import os
import subprocess  # nosec B404 # the test runs a browser as another user
import sys
import tempfile
from pathlib import Path

import psutil
import pytest

from sessions_app.webjs.driver import browser
from sessions_app.webjs.driver.browser import DEFAULT_ARGUMENTS, sandbox_arguments


def test_it_keeps_the_sandbox_when_the_worker_is_not_root(monkeypatch, settings):
    settings.BLAZZ_BROWSER_NO_SANDBOX = False
    monkeypatch.setattr(os, "geteuid", lambda: 1000)

    assert sandbox_arguments() == ()
    assert "--no-sandbox" not in DEFAULT_ARGUMENTS


def test_it_turns_the_sandbox_off_only_for_root_where_chromium_refuses_it(settings):
    settings.BLAZZ_BROWSER_NO_SANDBOX = False

    assert sandbox_arguments(euid=0) == ("--no-sandbox",)


def test_an_operator_can_force_it_off_for_a_host_without_user_namespaces(settings):
    settings.BLAZZ_BROWSER_NO_SANDBOX = True

    assert sandbox_arguments(euid=1000) == ("--no-sandbox",)


def test_browser_start_puts_the_sandbox_decision_on_the_command_line(monkeypatch):
    seen = {}

    def fake_start_selenium(profile, arguments, *rest):
        seen["arguments"] = list(arguments)
        raise RuntimeError("stop here: only the command line matters")

    monkeypatch.setattr(browser, "_start_selenium", fake_start_selenium)
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    try:
        browser.Browser.start(session_id="s", user_data_dir="/tmp/blazz-sandbox-test/profiles/s")
    except Exception:
        pass
    assert "--no-sandbox" not in seen["arguments"]


# Run by an unprivileged user: a real Browser.start, then its process ids on stdout, then
# a clean stop when the test closes stdin.
AS_WORKER_USER = """
import json, sys
from sessions_app.webjs.driver.browser import Browser
data_dir = sys.argv[1]
browser = Browser.start(session_id="sbx", user_data_dir=data_dir + "/profiles/sbx", data_dir=data_dir)
try:
    browser.driver.get("data:text/html,<p>a tenant's page</p>")
    print(json.dumps(browser.pids()), flush=True)
    sys.stdin.read()
finally:
    browser.stop(10)
"""


def user_namespace(pid: int) -> str:
    return os.readlink(f"/proc/{pid}/ns/user")


@pytest.mark.browser
@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run the browser as another, unprivileged user")
def test_a_browser_of_an_unprivileged_hardened_worker_runs_its_pages_in_a_sandbox():
    # Chromium's namespace sandbox puts renderers (a hostile page's code) in their own user
    # namespace; with --no-sandbox they share the browser's and the worker's.
    with tempfile.TemporaryDirectory(prefix="blazz-sbx-") as tmp:
        Path(tmp).chmod(0o777)  # pytest's tmp_path is under a root-only directory
        run_as_nobody_and_check(Path(tmp))


def run_as_nobody_and_check(tmp_path: Path) -> None:
    nobody = 65534
    proc = subprocess.Popen(
        [
            "setpriv",
            f"--reuid={nobody}",
            f"--regid={nobody}",
            "--clear-groups",
            # As deploy/systemd/blazz-session-worker@.service runs it: NoNewPrivileges=yes
            # and an empty CapabilityBoundingSet= must leave the sandbox working.
            "--no-new-privs",
            "--bounding-set=-all",
            "--inh-caps=-all",
            sys.executable,
            "-c",
            AS_WORKER_USER,
            str(tmp_path),
        ],
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, "HOME": str(tmp_path), "DJANGO_SETTINGS_MODULE": ""},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        assert line, "the browser did not start as an unprivileged user"
        pids = json.loads(line)
        chromium = [p for p in pids if psutil.Process(p).name() in ("chromium", "chrome")]
        main = next(
            p for p in chromium if not any(a.startswith("--type=") for a in psutil.Process(p).cmdline())
        )
        assert "--no-sandbox" not in psutil.Process(main).cmdline()
        sandboxed = [p for p in chromium if user_namespace(p) != user_namespace(main)]
        assert sandboxed, "no Chromium process runs in a namespace of its own"
        renderers = [p for p in chromium if "--type=renderer" in psutil.Process(p).cmdline()]
        assert renderers and all(p in sandboxed for p in renderers)
    finally:
        proc.stdin.close()
        proc.wait(timeout=60)
