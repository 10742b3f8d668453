"""Fixtures for the simulator and page-bridge tests. None of them needs the database: the
simulator runs as a real process and the browsers are real headless Chromium."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .support import Browser, SimProcess, processes_using, random_phone, start_chromium, wait_for

QR_PERIOD_S = 2.0


@pytest.fixture(scope="session")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimProcess]:
    """One simulator for the session, with a short QR period so rotation is observable."""
    log = tmp_path_factory.mktemp("wasim") / "wasim.log"
    process = SimProcess("--port", "0", "--qr-period", str(QR_PERIOD_S), log_path=log).start()
    try:
        yield process
    finally:
        returncode = process.stop()
    assert returncode == 0, f"simulator did not stop cleanly on SIGTERM (rc={returncode}); see {log}"


@pytest.fixture
def phone() -> str:
    return random_phone()


@pytest.fixture
def browsers(tmp_path: Path) -> Iterator[Callable[..., Browser]]:
    """``browsers(profile_dir=None)`` starts a headless Chromium; every one is quit at
    teardown, and no Chromium process may survive it."""
    started: list[Browser] = []
    counter = iter(range(100))

    def start(profile_dir: Path | None = None) -> Browser:
        profile = profile_dir or tmp_path / f"profile-{next(counter)}"
        profile.mkdir(parents=True, exist_ok=True)
        browser = Browser(driver=start_chromium(profile), profile_dir=profile)
        started.append(browser)
        return browser

    try:
        yield start
    finally:
        for browser in started:
            quit_browser(browser)
        deadline_s = 10.0
        try:
            wait_for(
                lambda: not any(processes_using(b.profile_dir) for b in started),
                timeout=deadline_s,
                what="every Chromium of this test to exit",
            )
        except AssertionError:
            pass
        leftovers = [p for browser in started for p in processes_using(browser.profile_dir)]
        for proc in leftovers:
            proc.kill()
        assert not leftovers, f"Chromium processes survived the test: {[p.pid for p in leftovers]}"


def quit_browser(browser: Browser) -> None:
    """Quit and reap chromedriver. A browser that is already gone must not stop the others
    from being quit, so nothing here raises."""
    process = browser.driver.service.process
    try:
        browser.driver.quit()
    except Exception:  # the leftover check below is what matters
        pass
    if process is not None:
        try:
            process.wait(timeout=10)
        except Exception:
            process.kill()
