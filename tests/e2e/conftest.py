"""End-to-end fixtures: a real simulator process, real session-worker processes (Celery,
threads pool), real headless Chromium, the test database and Redis. Every process is
stopped by PID and no Chromium may survive a test."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import psutil
import pytest
import redis
from django.conf import settings

from tests.e2e.workers import WorkerProcess, browser_processes
from tests.simulator.support import SimProcess


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

    def start(name: str = "wa_e2e", *, capacity: int = 4) -> WorkerProcess:
        worker = WorkerProcess(
            name, wa_url=sim.url, data_dir=tmp_path / "data" / name, capacity=capacity, log_dir=tmp_path
        ).start()
        started.append(worker)
        return worker

    yield start
    for worker in reversed(started):
        worker.stop(timeout=30)
    leaked = browser_processes() - browsers_before
    for pid in leaked:
        try:
            psutil.Process(pid).kill()
        except psutil.Error:
            pass
    assert not leaked, f"browser processes survived the test's workers: {sorted(leaked)}"
