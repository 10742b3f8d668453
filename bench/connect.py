"""bench/connect.py N: time to connect N numbers (create → QR → the simulated phone scans as
soon as the QR appears → connected) through a real session worker, then kill -9 that worker,
start it again and time until all N sessions are connected again from their snapshots (no
QR). Uses its own database (blazz_bench) and Redis databases 13-15. Prints one JSON object."""

from __future__ import annotations

import argparse
import base64
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, CpuByRole, Simulator, machine

BENCH_ENV = {
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/blazz_bench",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/13",
    "REDIS_URL": "redis://127.0.0.1:6379/14",
    "CHANNEL_LAYER_URL": "redis://127.0.0.1:6379/15",
    "BLAZZ_SNAPSHOT_AFTER_LOGIN_SECONDS": "6",
    "BLAZZ_WORKER_HEARTBEAT_SECONDS": "1",
    "BLAZZ_HARVEST_TICK_MS": "200",
    # One bench workspace uses the whole host: no fair share with tenants that are not there,
    # no per-workspace number quota below what the bench connects.
    "BLAZZ_FAIR_SHARE_FRACTION": "1",
    "BLAZZ_QUOTA_ACTIVE_NUMBERS": "1000",
    # Production settings, as a deployed worker runs: with DEBUG on, Django keeps the last
    # 9,000 queries of every connection in memory, which the density bench measured as the
    # worker's memory growth. Throwaway secrets, the same for every process of one run.
    "DEBUG": "false",
    "SECRET_KEY": secrets.token_urlsafe(48),
    "BLAZZ_SNAPSHOT_KEYS": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
    "BLAZZ_WEBHOOK_ALLOW_PRIVATE_TARGETS": "false",
    "BLAZZ_WASIM_INSTALLED": "true",  # the simulator the benches drive
}
os.environ.update(BENCH_ENV)

import django  # noqa: E402

django.setup()

import redis  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import Workspace  # noqa: E402
from sessions_app import services  # noqa: E402
from sessions_app.models import SessionEvent, SessionSnapshot, WhatsAppSession, WorkerInstance  # noqa: E402


def start_worker(name: str, capacity: int, wa_url: str, data_dir: Path, log: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "BLAZZ_WA_URL": wa_url,
        "BLAZZ_DATA_DIR": str(data_dir),
        "BLAZZ_WORKER_CAPACITY": str(capacity),
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "blazz",
            "worker",
            "-n",
            f"{name}@%h",
            "-Q",
            f"wa.{name}",
            "--pool",
            "threads",
            "--concurrency",
            "4",
            "--without-gossip",
            "--without-mingle",
            "-l",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def start_celery(args: list[str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "blazz", *args, "-l", "warning"],
        cwd=ROOT,
        env={**os.environ},
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise TimeoutError(what)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("n", type=int)
    args = parser.parse_args()
    # Chats of an earlier bench protect their numbers from deletion: clear them first.
    workspace, work = fresh_bench_world("connect")
    sim = Simulator("--qr-period", "20")
    worker = start_worker("wa_bench", args.n, sim.url, work / "data", work / "worker.log")
    try:
        wait(
            lambda: WorkerInstance.objects.filter(name="wa_bench", status="alive").exists(),
            60,
            "worker ready",
        )
        settings.BLAZZ_QR_ATTEMPTS_PER_HOUR = args.n + 1
        created_at: dict[int, float] = {}
        for _ in range(args.n):
            session = services.session_create(workspace=workspace)
            created_at[session.pk] = time.monotonic()
        connected_at: dict[int, float] = {}
        scanned: set[int] = set()
        deadline = time.monotonic() + 60 + 10 * args.n
        while len(connected_at) < args.n and time.monotonic() < deadline:
            for pk, status, qr in WhatsAppSession.objects.filter(pk__in=created_at).values_list(
                "pk", "status", "qr_code"
            ):
                if status == "qr_scanning" and qr and pk not in scanned:
                    sim.api("POST", "/scan", {"phone": f"+5511955{pk % 1000000:06d}", "code": qr})
                    scanned.add(pk)
                elif status == "connected" and pk not in connected_at:
                    connected_at[pk] = time.monotonic()
            time.sleep(0.05)
        connect_s = [connected_at[pk] - created_at[pk] for pk in connected_at]
        wait(
            lambda: SessionSnapshot.objects.filter(session_id__in=created_at).count() == args.n,
            60,
            "snapshots",
        )

        # Crash the worker (sessions stay assigned to it), start it again: it restores them.
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait()
        before = {
            pk: SessionEvent.objects.filter(
                session_id=pk, kind="status_change", detail__to="connected"
            ).count()
            for pk in created_at
        }
        restart_began, restart_wall = time.monotonic(), timezone.now()
        worker = start_worker("wa_bench", args.n, sim.url, work / "data", work / "worker.log")
        cpu = CpuByRole(worker_pid=worker.pid, simulator_pid=sim.proc.pid)
        cpu.start()
        restored_at: dict[int, float] = {}
        deadline = time.monotonic() + 60 + 10 * args.n
        while len(restored_at) < args.n and time.monotonic() < deadline:
            for pk in created_at:
                if (
                    pk not in restored_at
                    and SessionEvent.objects.filter(
                        session_id=pk, kind="status_change", detail__to="connected"
                    ).count()
                    > before[pk]
                ):
                    restored_at[pk] = time.monotonic()
            time.sleep(0.1)
        qr_after_restart = SessionEvent.objects.filter(
            session_id__in=created_at, kind="status_change", detail__to="qr_scanning", at__gte=restart_wall
        ).count()
        restore_s = [restored_at[pk] - restart_began for pk in restored_at]
        restore_cpu = restore_cpu_summary(cpu.stop(messages=args.n))
        steps = restore_steps(list(created_at), restart_wall)
        print(
            json.dumps(
                {
                    "benchmark": "connect",
                    "n": args.n,
                    "connected": len(connect_s),
                    "create_to_connected_s": {
                        "median": round(statistics.median(connect_s), 2),
                        "max": round(max(connect_s), 2),
                    },
                    "restored": len(restore_s),
                    "qr_scans_needed_after_restart": qr_after_restart,
                    "worker_start_to_restored_s": {
                        "median": round(statistics.median(restore_s), 2),
                        "max": round(max(restore_s), 2),
                    }
                    if restore_s
                    else None,
                    "restore_steps_s": steps,
                    "cpu_during_restore": restore_cpu,
                    "machine": machine(),
                }
            )
        )
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=60)
        except subprocess.TimeoutExpired:
            worker.kill()
        sim.stop()


def restore_cpu_summary(cpu: dict) -> dict:
    """CPU of the whole restore (worker boot included) by kind of process, per number, and
    the shortest wall time that CPU allows on this host's cores: if that alone passes a
    goal, no scheduling of the starts can meet it here."""
    per_number = cpu.pop("cpu_ms_per_message")
    total_s = sum(cpu["cores"].values()) * cpu["window_s"]
    cores = machine()["cpus"] or 1
    return {
        **cpu,
        "cpu_ms_per_number": per_number,
        "cpu_s_total": round(total_s, 1),
        "cpu_bound_wall_s": round(total_s / cores, 1),
    }


def restore_steps(pks: list[int], since) -> dict:
    """Where a restore's time went, from the sessions' events: the worker's start until the
    first browser start began, then per number the wait for a start slot, the profile
    (snapshot unpacked), the browser, the page, and the page's login until "connected"."""
    steps: dict[str, list[float]] = {}
    first_start = None
    for pk in pks:
        started = (
            SessionEvent.objects.filter(session_id=pk, kind="restart", at__gte=since).order_by("at").first()
        )
        connected = (
            SessionEvent.objects.filter(
                session_id=pk, kind="status_change", detail__to="connected", at__gte=since
            )
            .order_by("at")
            .first()
        )
        if started is None or "seconds" not in started.detail:
            continue
        for step, spent in started.detail["seconds"].items():
            steps.setdefault(step, []).append(spent)
        for step, spent in started.detail.get("page_seconds", {}).items():
            steps.setdefault(f"page.{step}", []).append(spent)
        launch_began = started.at.timestamp() - sum(
            spent for step, spent in started.detail["seconds"].items() if step != "slot_wait"
        )
        first_start = launch_began if first_start is None else min(first_start, launch_began)
        if connected is not None:
            steps.setdefault("login", []).append(connected.at.timestamp() - started.at.timestamp())
    summary = {
        step: {"median": round(statistics.median(values), 2), "max": round(max(values), 2)}
        for step, values in steps.items()
    }
    if first_start is not None:
        summary["worker_boot_to_first_launch"] = round(first_start - since.timestamp(), 2)
    return summary


def fresh_bench_world(prefix: str) -> tuple[Workspace, Path]:
    """Migrated bench database with no sessions, chats or workers, an empty broker, the
    bench workspace and a scratch directory. Shared by the benchmarks that need a worker."""
    from messaging.models import Chat, Contact

    call_command("preflight", verbosity=0, stdout=sys.stderr)  # stdout carries only the JSON
    call_command("migrate", verbosity=0)
    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()
    Chat.objects.all().delete()
    Contact.objects.all().delete()
    WhatsAppSession.objects.all().delete()
    WorkerInstance.objects.all().delete()
    workspace, _ = Workspace.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
    return workspace, Path(tempfile.mkdtemp(prefix=f"blazz-bench-{prefix}-"))


def connect_number(sim: Simulator, workspace: Workspace, phone: str) -> WhatsAppSession:
    """Creates a session, scans its QR as `phone` and waits until it is connected."""
    session = services.session_create(workspace=workspace)
    qr = wait(lambda: WhatsAppSession.objects.get(pk=session.pk).qr_code, 60, "qr")
    sim.api("POST", "/scan", {"phone": phone, "code": qr})
    wait(lambda: WhatsAppSession.objects.get(pk=session.pk).status == "connected", 60, "connected")
    return session


if __name__ == "__main__":
    main()
