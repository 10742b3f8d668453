"""Two Beat processes at once (an operator started a second one by mistake): every periodic
task fires twice as often, concurrently, yet nothing is done twice. A session worker is
killed with numbers, pending sends and webhook deliveries in flight; two real `celery beat`
processes drive reconciliation, liveness and the webhook sweep on a fast schedule through a
real general worker. Each number fails over once, each send reaches WhatsApp once, each
webhook event reaches the receiver once."""

import os
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from messaging import services as messaging
from messaging.models import Chat, WebhookDelivery
from sessions_app.models import SessionSnapshot, WhatsAppSession, WorkerInstance
from tests.e2e import workers
from tests.e2e.test_connect_number import connect
from tests.e2e.workers import PROJECT_ROOT, wait_until
from tests.factories import WebhookEndpointFactory, WorkspaceFactory
from tests.messaging.webhook_receiver import Receiver

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
NUMBERS = ["+5511987650101", "+5511987650102"]
SENDS = 20
FAST_SCHEDULE = [
    ("sessions reconcile", "sessions_app.tasks.sessions_reconcile", 1),
    ("sessions liveness check", "sessions_app.tasks.sessions_liveness_check", 2),
    ("webhook retries due", "messaging.tasks.deliver_webhooks_due", 1),
]


class CeleryProcess:
    """`celery beat` or a general `celery worker` against the test database and broker."""

    def __init__(self, args: list[str], log_path, env: dict[str, str]) -> None:
        self.log_path = log_path
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "blazz", *args, "-l", "info"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=open(log_path, "ab"),
            stderr=subprocess.STDOUT,
        )

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


@pytest.fixture
def celery_env(settings):
    return {
        **os.environ,
        "DATABASE_URL": workers.test_database_url(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "REDIS_URL": settings.REDIS_URL,
        "CHANNEL_LAYER_URL": settings.CHANNEL_LAYER_URL,
        "BLAZZ_WORKER_DEAD_AFTER_SECONDS": "5",
        "BLAZZ_WEBHOOK_ALLOW_PRIVATE_TARGETS": "true",
    }


@pytest.fixture
def processes():
    started: list[CeleryProcess] = []
    yield started
    for process in reversed(started):
        process.stop()


def _install_fast_schedule() -> None:
    PeriodicTask.objects.all().delete()
    for name, task, seconds in FAST_SCHEDULE:
        every, _ = IntervalSchedule.objects.get_or_create(every=seconds, period="seconds")
        PeriodicTask.objects.create(name=name, task=task, interval=every, expire_seconds=seconds * 5)


def test_two_beats_at_once_do_nothing_twice(sim, start_worker, settings, celery_env, processes, tmp_path):
    settings.BLAZZ_WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    settings.BLAZZ_QR_ATTEMPTS_PER_HOUR = 10
    doomed = start_worker("wa_beats_a")
    wait_until(
        lambda: WorkerInstance.objects.filter(name="wa_beats_a").exists(), what="worker a", log=doomed.log
    )
    workspace = WorkspaceFactory()
    sessions = [connect(sim, doomed, workspace, number) for number in NUMBERS]
    wait_until(
        lambda: SessionSnapshot.objects.filter(session__in=sessions).count() == 2,
        timeout=30,
        what="snapshots",
    )
    survivor = start_worker("wa_beats_b")
    wait_until(
        lambda: WorkerInstance.objects.filter(name="wa_beats_b").exists(), what="worker b", log=survivor.log
    )

    with Receiver() as receiver:
        WebhookEndpointFactory(workspace=workspace, url=receiver.url, events=["message.sent"])
        _install_fast_schedule()
        processes.append(
            CeleryProcess(
                [
                    "worker",
                    "-n",
                    "general@%h",
                    "-Q",
                    "maintenance,default,webhooks",
                    "--pool",
                    "threads",
                    "-c",
                    "4",
                ],
                tmp_path / "general.log",
                celery_env,
            )
        )
        for index in range(2):
            processes.append(
                CeleryProcess(
                    ["beat", "--schedule", str(tmp_path / f"beat-{index}.db"), "--max-interval", "1"],
                    tmp_path / f"beat-{index}.log",
                    celery_env,
                )
            )
        doomed.kill()
        for i in range(SENDS):
            messaging.chat_send(
                workspace=workspace,
                to=f"+1415557{i:04d}",
                body=f"duas batidas {i}",
                session=sessions[i % 2],
                idempotency_key=f"beats-{i}",
            )

        wait_until(
            lambda: (
                WhatsAppSession.objects.filter(
                    pk__in=[s.pk for s in sessions], status="connected", assigned_worker__name="wa_beats_b"
                ).count()
                == 2
            ),
            timeout=90,
            what="both numbers on wa_beats_b",
            log=survivor.log,
        )
        wait_until(
            lambda: Chat.objects.filter(workspace=workspace, status="sent").count() == SENDS,
            timeout=60,
            what="every send",
            log=survivor.log,
        )
        wait_until(
            lambda: (
                WebhookDelivery.objects.filter(endpoint__workspace=workspace, status="delivered").count()
                == SENDS
            ),
            timeout=60,
            what="every webhook delivered",
        )
        time.sleep(5)  # a few more ticks of both beats: anything done twice shows up now
        webhook_ids = Counter(r.headers["webhook-id"] for r in receiver.requests)

    at_whatsapp = Counter(m["body"] for number in NUMBERS for m in sim.ok("GET", f"/phones/{number}/outbox"))
    beat_logs = [(tmp_path / f"beat-{i}.log").read_text(errors="replace") for i in range(2)]
    assert all("Sending due task sessions reconcile" in log for log in beat_logs)  # both really ran
    assert len(at_whatsapp) == SENDS and max(at_whatsapp.values()) == 1
    assert len(webhook_ids) == SENDS and max(webhook_ids.values()) == 1
    for session in sessions:
        assert session.events.filter(kind="failover").count() == 1
        assert (
            session.events.filter(kind="restart").count() == 2
        )  # the first start, and the one after failover
