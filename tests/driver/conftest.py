"""Fixtures of the driver tests. None needs the database. Every test must leave no browser
process behind: `no_browser_left_behind` checks (and cleans) after each one."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest
from cryptography.fernet import Fernet

from sessions_app.webjs.driver.browser import Browser
from sessions_app.webjs.driver.processes import become_child_subreaper, processes_mentioning

from .support import PageServer, browser_descendants


@pytest.fixture(scope="session", autouse=True)
def subreaper() -> None:
    # From the first test on, every orphaned browser helper becomes our child, so a leak
    # shows up in browser_descendants() instead of vanishing under PID 1.
    assert become_child_subreaper()


@pytest.fixture(autouse=True)
def no_browser_left_behind(tmp_path: Path) -> Iterator[None]:
    yield
    leftovers = {proc.pid: proc for proc in browser_descendants()}
    leftovers.update({proc.pid: proc for proc in processes_mentioning(tmp_path)})
    if not leftovers:
        return
    described = []
    for proc in leftovers.values():
        try:
            described.append(f"{proc.pid} {proc.name()} {proc.status()}")
            proc.kill()
        except psutil.Error:
            pass
    for proc in leftovers.values():
        try:
            os.waitpid(proc.pid, 0)
        except ChildProcessError:
            pass
    pytest.fail(f"browser processes left behind: {described}")


@pytest.fixture(scope="session")
def page_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PageServer]:
    server = PageServer(tmp_path_factory.mktemp("pages"))
    yield server
    server.close()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "var"
    path.mkdir()
    return path


@pytest.fixture
def keys() -> list[bytes]:
    return [Fernet.generate_key()]


@pytest.fixture
def start_browser(data_dir: Path) -> Iterator[Callable[..., Browser]]:
    """``start_browser(session_id, **kwargs)``; anything still running at teardown is stopped."""
    started: list[Browser] = []

    def start(session_id: str = "s1", **kwargs: object) -> Browser:
        kwargs.setdefault("user_data_dir", data_dir / "profiles" / session_id)
        browser = Browser.start(session_id=session_id, data_dir=data_dir, **kwargs)  # type: ignore[arg-type]
        started.append(browser)
        return browser

    yield start
    for browser in started:
        browser.stop(5)
