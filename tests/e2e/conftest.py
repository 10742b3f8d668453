"""End-to-end fixtures: a real simulator process, real session-worker processes (Celery,
threads pool), real headless Chromium, the test database and Redis. Every process is
stopped by PID and no Chromium may survive a test."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import psutil
import pytest
import redis
from django.conf import settings

from sessions_app.webjs.driver.processes import reap_browser_zombies
from tests.e2e.workers import WorkerProcess, browser_processes
from tests.simulator.support import SimProcess

ZOMBIE_REAP_GRACE_S = 15.0


@pytest.fixture(autouse=True)
def one_tenant_may_fill_the_fleet(settings) -> None:
    """End-to-end tests connect several numbers of one workspace on a fleet of a few slots; the
    fair-share rule (tests/sessions_app/test_fair_share_and_number_quota.py) is off here."""
    settings.BLAZZ_FAIR_SHARE_FRACTION = 1


@pytest.fixture
def sim(tmp_path) -> Iterator[SimProcess]:
    process = SimProcess("--port", "0", "--qr-period", "20", log_path=tmp_path / "wasim.log").start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture
def clean_broker() -> None:
    """Queued tasks of an earlier test must not reach this test's workers."""
    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()


@pytest.fixture
def start_worker(transactional_db, sim, tmp_path, clean_broker) -> Iterator[Callable[..., WorkerProcess]]:
    started: list[WorkerProcess] = []
    browsers_before = browser_processes()

    def start(name: str = "wa_e2e", *, capacity: int = 4, env: dict[str, str] | None = None) -> WorkerProcess:
        worker = WorkerProcess(
            name,
            wa_url=sim.url,
            data_dir=tmp_path / "data" / name,
            capacity=capacity,
            log_dir=tmp_path,
            extra_env=env,
        ).start()
        started.append(worker)
        return worker

    yield start
    for worker in reversed(started):
        worker.stop(timeout=30)
    # Killed browsers of a kill -9'd worker are reparented to the nearest subreaper: PID 1,
    # which reaps them a moment later, or this test process (the driver tests make it one),
    # which reaps them here. Only what is still there after that counts.
    deadline = time.monotonic() + ZOMBIE_REAP_GRACE_S
    while (leaked := browser_processes() - browsers_before) and time.monotonic() < deadline:
        reap_browser_zombies()
        time.sleep(0.2)
    for pid in leaked:
        try:
            psutil.Process(pid).kill()
        except psutil.Error:
            pass
    assert not leaked, f"browser processes survived the test's workers: {sorted(leaked)}"
