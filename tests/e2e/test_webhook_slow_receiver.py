"""A slow receiver does not stall anyone else (issue 16), with the processes the Procfile
starts: its `general` and `webhooks` workers (whatever queues and pools the Procfile gives
them) and Beat, against the test database and broker.

Workspace A has 20 endpoints at a receiver that answers after 14 s; three events make 60
deliveries. While they hang, workspace B records events one at a time: each must reach B's
receiver in under 2 s (the bound the issue names), and the campaigns tick and maintenance,
fired by Beat every second, must keep running. At the end every delivery has reached its
receiver exactly once (counted by webhook-id at the receivers).

Before the fix the Procfile's one `general` worker (2 processes) consumed webhooks, campaigns
and maintenance: B's webhooks waited behind A's (23.5 s in the issue) and the tick stopped."""

import itertools
import os
import re
import signal
import subprocess
import time
from collections import Counter
from datetime import datetime

import pytest
from django.conf import settings
from django.db import transaction
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from messaging.models import WebhookDelivery
from messaging.webhooks import webhook_endpoint_create, webhook_events_record
from tests.e2e import workers
from tests.e2e.workers import PROJECT_ROOT, wait_until
from tests.factories import WorkspaceFactory
from tests.messaging.webhook_receiver import Receiver, Reply

pytestmark = pytest.mark.e2e

HANG_SECONDS = 14
SLOW_ENDPOINTS = 20
SLOW_EVENTS = 3
FAST_EVENTS = 16
LATENCY_BOUND = 2.0  # the bound for the other workspace's webhooks
TICK_GAP_BOUND = 5.0  # Beat fires the tick every second; before the fix it stopped for 26 s
FAST_SCHEDULE = [
    ("campaigns tick", "campaigns.tasks.campaigns_tick", 1),
    ("sessions reconcile", "sessions_app.tasks.sessions_reconcile", 1),
    ("webhook retries due", "messaging.tasks.deliver_webhooks_due", 1),
]
TASK_DONE = re.compile(
    r"^\[(?P<at>[\d-]+ [\d:,]+): INFO/[^\]]*\] Task (?P<task>[\w.]+)\[[^\]]+\] succeeded", re.M
)


def procfile_commands() -> dict[str, str]:
    lines = (PROJECT_ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if ": " in line and not line.startswith("#"))


class ProcfileProcess:
    """One Procfile entry run through the shell (as honcho does), exec'd so its PID is
    Celery's, stopped by that PID."""

    def __init__(self, name: str, command: str, *, env: dict[str, str], log_path) -> None:
        self.name, self.log_path = name, log_path
        self.proc = subprocess.Popen(
            ["/bin/sh", "-c", f"exec {command}"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=open(log_path, "ab"),
            stderr=subprocess.STDOUT,
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


@pytest.fixture
def procfile(transactional_db, clean_broker, tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": workers.test_database_url(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "REDIS_URL": settings.REDIS_URL,
        "CHANNEL_LAYER_URL": settings.CHANNEL_LAYER_URL,
        "BLAZZ_WEBHOOK_ALLOW_PRIVATE_TARGETS": "true",  # the receivers are on 127.0.0.1
        # Longer than the hang: every slow delivery succeeds, so a duplicate would be a bug
        # (at-least-once after a timeout is not what this test counts).
        "BLAZZ_WEBHOOK_TIMEOUT_SECONDS": "30",
    }
    started: list[ProcfileProcess] = []

    def start(name: str, *extra: str) -> ProcfileProcess:
        command = " ".join([procfile_commands()[name], *extra])
        process = ProcfileProcess(name, command, env=env, log_path=tmp_path / f"{name}.log")
        started.append(process)
        return process

    yield start
    for process in reversed(started):
        process.stop()


@pytest.fixture
def fast_beat_schedule(transactional_db):
    PeriodicTask.objects.all().delete()
    for name, task, seconds in FAST_SCHEDULE:
        every, _ = IntervalSchedule.objects.get_or_create(every=seconds, period="seconds")
        PeriodicTask.objects.create(name=name, task=task, interval=every, expire_seconds=30)


def record_event(workspace, n: int) -> list[int]:
    with transaction.atomic():
        return webhook_events_record(workspace_id=workspace.id, event_type="session.status", payload={"n": n})


def completions(log: str, task: str) -> list[float]:
    return [
        datetime.strptime(m["at"], "%Y-%m-%d %H:%M:%S,%f").timestamp()
        for m in TASK_DONE.finditer(log)
        if m["task"] == task
    ]


def test_a_hanging_receiver_of_one_tenant_delays_no_one_else(procfile, fast_beat_schedule, settings):
    settings.BLAZZ_WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    settings.BLAZZ_QUOTA_WEBHOOK_ENDPOINTS = SLOW_ENDPOINTS  # the 20 (above the default)
    tenant_a, tenant_b = WorkspaceFactory(name="A"), WorkspaceFactory(name="B")
    commands = procfile_commands()
    general = procfile("general", "--without-gossip", "--without-mingle")
    webhook_workers = (
        [procfile("webhooks", "--without-gossip", "--without-mingle")] if "webhooks" in commands else []
    )
    procfile("beat", "--max-interval", "1")

    with Receiver(default=200) as fast, Receiver(default=Reply(200, delay=HANG_SECONDS)) as slow:
        for _ in range(SLOW_ENDPOINTS):
            webhook_endpoint_create(workspace=tenant_a, url=slow.url)
        webhook_endpoint_create(workspace=tenant_b, url=fast.url)
        # Both pools are up (the tick has run once) before the load starts.
        wait_until(
            lambda: completions(general.log(), "campaigns.tasks.campaigns_tick"),
            timeout=60,
            what="the first campaigns tick",
            log=general.log,
        )

        slow_ids = [i for n in range(SLOW_EVENTS) for i in record_event(tenant_a, n)]
        wait_until(
            lambda: len(slow.requests) >= SLOW_ENDPOINTS,
            timeout=30,
            what="A's receiver hanging on 20 requests",
            log=lambda: "\n".join(p.log()[-3000:] for p in [general, *webhook_workers]),
        )
        hang_started = time.time()

        latencies = []
        fast_ids = []
        for n in range(FAST_EVENTS):
            before = len(fast.requests)
            committed = time.monotonic()
            fast_ids += record_event(tenant_b, n)
            wait_until(lambda: len(fast.requests) > before, timeout=60, interval=0.02, what=f"B's event {n}")
            latencies.append(fast.requests[before].at - committed)
            time.sleep(0.7)  # B keeps sending through most of the hang
        hang_seen_until = time.time()

        everything = slow_ids + fast_ids
        wait_until(
            lambda: (
                WebhookDelivery.objects.filter(pk__in=everything, status="delivered").count()
                == len(everything)
            ),
            timeout=SLOW_EVENTS * HANG_SECONDS * 3 + 60,
            interval=1,
            what="every delivery",
            log=lambda: "\n".join(p.log()[-3000:] for p in webhook_workers or [general]),
        )
        time.sleep(3)  # a few more sweeps: anything sent twice shows up now
        received = Counter(r.headers["webhook-id"] for r in [*slow.requests, *fast.requests])

    recorded = Counter(
        str(e) for e in WebhookDelivery.objects.filter(pk__in=everything).values_list("event_id", flat=True)
    )
    counts = {
        "recorded": len(recorded),
        "delivered": sum(1 for e in recorded if received[e]),
        "lost": sum(1 for e in recorded if not received[e]),
        "duplicated": sum(n - 1 for n in received.values() if n > 1),
        "unknown": sum(1 for e in received if e not in recorded),
    }
    window = (hang_started, hang_seen_until)
    tick_gap = longest_gap(completions(general.log(), "campaigns.tasks.campaigns_tick"), *window)
    maintenance_gap = longest_gap(
        completions(general.log(), "sessions_app.tasks.sessions_reconcile"), *window
    )
    print(
        f"\nslow receiver counts: {counts}; B's webhook latency max {max(latencies):.2f} s "
        f"(all: {[round(x, 2) for x in latencies]}); while A hung ({window[1] - window[0]:.1f} s): "
        f"longest gap between campaigns ticks {tick_gap:.1f} s, "
        f"between maintenance runs {maintenance_gap:.1f} s"
    )
    assert counts["lost"] == 0 and counts["duplicated"] == 0 and counts["unknown"] == 0, counts
    assert max(latencies) < LATENCY_BOUND, latencies
    assert tick_gap < TICK_GAP_BOUND and maintenance_gap < TICK_GAP_BOUND, (tick_gap, maintenance_gap)


def longest_gap(times: list[float], start: float, end: float) -> float:
    """The longest stretch of [start, end] with no completion in it."""
    inside = sorted(t for t in times if start <= t <= end)
    edges = [start, *inside, end]
    return max(b - a for a, b in itertools.pairwise(edges))
