"""bench/density.py --numbers 50: many numbers on one host (issue 18).

One session worker process hosts every number (the design needs one: it owns all the
browsers of its host; Celery's thread pool sends, its own threads harvest and fetch), plus a
general worker and Beat so liveness probes, reconciliation and sweeps run as in production.
All are real processes against the simulator. After the numbers are connected and a warm-up,
it offers --inbound-per-minute inbound messages spread over the numbers and
--sends-per-minute sends, at a steady pace (open loop) for --duration seconds, and reports:
p50/p99 inbound latency (the simulator asked to deliver → the row in PostgreSQL) and its
split by hop (offered → queued in the page → worker woken → drain began → drained →
committed → confirmed, from the worker's inbound trace), send
latency (chat_send → sent, i.e. WhatsApp's servers acked), lost and duplicated each way,
liveness failures and restarts in the window, the worker's RSS and all Chrome processes'
PSS (by process type) at the start, --baseline-after seconds into the load and at its end,
with the growth from both. Then it kills the session worker with SIGKILL, starts it
again and reports the seconds until every number is connected again (from its snapshot).
Own database (blazz_bench), Redis 13-15. Prints one JSON object; progress on stderr."""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
from _common import CpuByRole, Simulator, chrome_process_kind, machine
from connect import BENCH_ENV, fresh_bench_world, start_celery, start_worker, stop, wait

os.environ.update({**BENCH_ENV, "BLAZZ_WORKER_HEARTBEAT_SECONDS": "5", "BLAZZ_INBOUND_TRACE_LEVEL": "DEBUG"})

from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone

from messaging import services as messaging
from messaging.models import Chat
from sessions_app import services
from sessions_app.models import SessionEvent, SessionSnapshot, WhatsAppSession, WorkerInstance

WORKER = "wa_density"


def progress(**fields) -> None:
    print(json.dumps(fields), file=sys.stderr, flush=True)


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)


def memory(worker: subprocess.Popen, data_dir: Path) -> dict:
    """The session worker's RSS and the PSS of every Chrome process on its profiles."""
    rss = psutil.Process(worker.pid).memory_info().rss
    chrome_pss, chrome_count = 0, 0
    by_type: dict[str, int] = {}  # renderer / browser / gpu-process / utility ...: which one grows
    marker = str(data_dir)
    for proc in psutil.process_iter(["name", "cmdline"]):
        try:
            cmdline = proc.info["cmdline"] or []
            if "chrom" not in (proc.info["name"] or "") or marker not in " ".join(cmdline):
                continue
            pss = proc.memory_full_info().pss
        except (psutil.Error, OSError):
            continue
        chrome_pss += pss
        chrome_count += 1
        kind = chrome_process_kind(cmdline)
        by_type[kind] = by_type.get(kind, 0) + pss
    mb = 2**20
    return {
        "worker_rss_mb": round(rss / mb, 1),
        "chrome_pss_mb": round(chrome_pss / mb, 1),
        "chrome_processes": chrome_count,
        "chrome_pss_mb_by_type": {kind: round(pss / mb, 1) for kind, pss in sorted(by_type.items())},
    }


TRACE_MARK = "inbound-trace "


def growth(before: dict, after: dict) -> dict:
    def pct(key: str) -> float | None:
        return round((after[key] / before[key] - 1) * 100, 1) if before[key] else None

    return {"chrome_pss": pct("chrome_pss_mb"), "worker_rss": pct("worker_rss_mb")}


def inbound_hops(log: Path, offered: dict[str, float], rows: list[tuple[str, str, float]]) -> dict:
    """Splits each inbound message's latency by hop, from the worker's trace of its drained
    batches (sessions_app/webjs/host/harvest.py) and the time the bench offered it.
    ``rows``: (body, wam_id, created_at) of the stored messages."""
    batches: dict[str, dict] = {}
    with log.open(errors="replace") as lines:
        for line in lines:
            at = line.find(TRACE_MARK)
            if at < 0:
                continue
            try:
                batch = json.loads(line[at + len(TRACE_MARK) :])
            except ValueError:
                continue
            for wam_id, page_at in batch["messages"]:
                batches[wam_id] = {**batch, "page_at": page_at / 1000}
    hops: dict[str, list[float]] = {
        "offered_to_page_queued": [],
        "page_queued_to_worker_woken": [],
        "woken_to_drain_began": [],
        "page_queued_to_drain_began": [],
        "drain": [],
        "commit": [],
        "confirm": [],
    }
    traced = 0
    for body, wam_id, _ in rows:
        batch = batches.get(wam_id)
        if batch is None or body not in offered:
            continue
        traced += 1
        queued, woken = batch["page_at"], batch["woken_at"]
        hops["offered_to_page_queued"].append(queued - offered[body])
        hops["page_queued_to_drain_began"].append(batch["began_at"] - queued)
        if woken is not None and woken >= queued:  # this message's own wake-up (or one after it)
            hops["page_queued_to_worker_woken"].append(woken - queued)
            hops["woken_to_drain_began"].append(batch["began_at"] - woken)
        hops["drain"].append(batch["drained_at"] - batch["began_at"])
        hops["commit"].append(batch["committed_at"] - batch["drained_at"])
        hops["confirm"].append(batch["confirmed_at"] - batch["committed_at"])
    return {
        "traced_messages": traced,
        **{
            name: {"p50": percentile(values, 0.5), "p99": percentile(values, 0.99), "n": len(values)}
            for name, values in hops.items()
        },
    }


def connect_all(sim: Simulator, workspace, phones: list[str]) -> list[int]:
    """Creates every number at once and scans each QR as it appears, like connect.py."""
    pks = {services.session_create(workspace=workspace).pk: phone for phone in phones}
    scanned: set[int] = set()
    deadline = time.monotonic() + 120 + 10 * len(phones)
    while time.monotonic() < deadline:
        rows = list(WhatsAppSession.objects.filter(pk__in=pks).values_list("pk", "status", "qr_code"))
        for pk, status, qr in rows:
            if status == "qr_scanning" and qr and pk not in scanned:
                sim.api("POST", "/scan", {"phone": pks[pk], "code": qr})
                scanned.add(pk)
        connected = sum(1 for _, status, _ in rows if status == "connected")
        if connected == len(pks):
            return list(pks)
        time.sleep(0.2)
    raise TimeoutError(f"only {connected} of {len(pks)} numbers connected")


class Load:
    """Inbound messages and sends at a steady pace, each with the time it was offered."""

    def __init__(self, sim: Simulator, workspace, sessions: list[WhatsAppSession]) -> None:
        self.sim, self.workspace, self.sessions = sim, workspace, sessions
        self.inbound_at: dict[str, float] = {}
        self.send_at: dict[str, tuple[float, int]] = {}  # idempotency key -> (time, chat pk)
        self.errors: list[str] = []
        self.lock = threading.Lock()

    def inbound(self, index: int) -> None:
        session = self.sessions[index % len(self.sessions)]
        body = f"density in {index}"
        with self.lock:
            self.inbound_at[body] = time.time()
        try:
            self.sim.api(
                "POST",
                "/messages",
                {"from": f"+1415556{index % 5000:04d}", "to": str(session.phone_number), "body": body},
            )
        except Exception as exc:  # counted, the run goes on
            self.errors.append(f"deliver {index}: {exc}")

    def send(self, index: int) -> None:
        session = self.sessions[index % len(self.sessions)]
        key = f"density-out-{index}"
        began = time.time()
        try:
            chat, _ = messaging.chat_send(
                workspace=self.workspace,
                to=f"+1415557{index % 5000:04d}",
                body=f"density out {index}",
                session=session,
                idempotency_key=key,
            )
            with self.lock:
                self.send_at[key] = (began, chat.pk)
        except Exception as exc:
            self.errors.append(f"send {index}: {exc}")
        finally:
            close_old_connections()


def paced(action, rate_per_min: float, duration_s: float, start: float) -> None:
    count = int(rate_per_min * duration_s / 60)
    interval = 60.0 / rate_per_min

    def due(index: int) -> None:
        delay = start + index * interval - time.time()
        if delay > 0:
            time.sleep(delay)
        action(index)

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(due, range(count)))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--numbers", type=int, default=50)
    parser.add_argument("--inbound-per-minute", type=float, default=1000)
    parser.add_argument("--sends-per-minute", type=float, default=200)
    parser.add_argument("--duration", type=float, default=600, help="seconds of load")
    parser.add_argument("--warmup", type=float, default=30, help="seconds between connected and load")
    parser.add_argument(
        "--baseline-after",
        type=float,
        default=60,
        help="seconds into the load of a second memory baseline (growth is reported from both)",
    )
    args = parser.parse_args()
    workspace, work = fresh_bench_world("density")
    settings.BLAZZ_QR_ATTEMPTS_PER_HOUR = args.numbers + 1
    sim = Simulator("--qr-period", "60")
    data_dir = work / "data"
    worker = start_worker(WORKER, args.numbers, sim.url, data_dir, work / "worker.log")
    general = start_celery(
        ["worker", "-n", "general@%h", "-Q", "default,maintenance,campaigns", "--pool", "threads", "-c", "4"],
        work / "general.log",
    )
    beat = start_celery(["beat", "--schedule", str(work / "beat.db")], work / "beat.log")
    result: dict = {"benchmark": "density", "numbers": args.numbers, "session_workers": 1}
    try:
        wait(lambda: WorkerInstance.objects.filter(name=WORKER, status="alive").exists(), 60, "worker")
        phones = [f"+55119660{i:05d}" for i in range(args.numbers)]
        began = time.monotonic()
        pks = connect_all(sim, workspace, phones)
        result["connect_all_s"] = round(time.monotonic() - began, 1)
        progress(connected=len(pks), seconds=result["connect_all_s"])
        wait(lambda: SessionSnapshot.objects.filter(session_id__in=pks).count() == len(pks), 120, "snapshots")
        sessions = list(WhatsAppSession.objects.filter(pk__in=pks).order_by("pk"))
        time.sleep(args.warmup)
        window_start = timezone.now()
        result["memory_start"] = memory(worker, data_dir)
        progress(memory_start=result["memory_start"])

        load = Load(sim, workspace, sessions)
        cpu = CpuByRole(worker_pid=worker.pid, simulator_pid=sim.proc.pid)
        cpu.start()
        start = time.time() + 1
        threads = [
            threading.Thread(
                target=paced, args=(load.inbound, args.inbound_per_minute, args.duration, start)
            ),
            threading.Thread(target=paced, args=(load.send, args.sends_per_minute, args.duration, start)),
        ]
        for thread in threads:
            thread.start()
        next_report = start + 30
        baseline_at = start + args.baseline_after if 0 < args.baseline_after < args.duration else None
        while any(thread.is_alive() for thread in threads):
            due = min(next_report, baseline_at or next_report)
            time.sleep(max(0.0, min(1.0, due - time.time())))
            if baseline_at is not None and time.time() >= baseline_at:
                baseline_at = None
                result["memory_after_first_load"] = memory(worker, data_dir)
                progress(memory_after_first_load=result["memory_after_first_load"])
            if time.time() >= next_report:
                next_report += 30
                progress(
                    at_s=round(time.time() - start),
                    inbound_offered=len(load.inbound_at),
                    sends_offered=len(load.send_at),
                    **memory(worker, data_dir),
                )
        # At the end of the load, before the settle (when Chrome gives memory back).
        result["memory_end"] = memory(worker, data_dir)
        # Where the two cores went during the load (per message: inbound and sends together).
        result["cpu_during_load"] = cpu.stop(messages=len(load.inbound_at) + len(load.send_at))
        settle_until = time.time() + 120
        wanted = set(load.inbound_at)
        while time.time() < settle_until:
            stored = Chat.objects.filter(
                workspace=workspace, direction="inbound", body__in=list(wanted)
            ).count()
            unsent = Chat.objects.filter(
                pk__in=[pk for _, pk in load.send_at.values()], status="pending"
            ).count()
            if stored >= len(wanted) and unsent == 0:
                break
            time.sleep(1)
        window_end = timezone.now()

        rows = list(
            Chat.objects.filter(workspace=workspace, direction="inbound", body__in=list(wanted)).values_list(
                "body", "wam_id", "created_at"
            )
        )
        bodies = [body for body, _, _ in rows]
        inbound_latency = [created.timestamp() - load.inbound_at[body] for body, _, created in rows]
        sent = {
            pk: (sent_at, status)
            for pk, sent_at, status in Chat.objects.filter(
                pk__in=[pk for _, pk in load.send_at.values()]
            ).values_list("pk", "sent_at", "status")
        }
        send_latency = [
            sent[pk][0].timestamp() - at for at, pk in load.send_at.values() if pk in sent and sent[pk][0]
        ]
        outbox_bodies = []
        for phone in phones:
            outbox_bodies += [m["body"] for m in sim.api("GET", f"/phones/{phone}/outbox")]
        issued = {f"density out {key.rsplit('-', 1)[1]}" for key in load.send_at}
        events = SessionEvent.objects.filter(session_id__in=pks, at__gte=window_start, at__lte=window_end)
        result.update(
            duration_s=args.duration,
            inbound={
                "offered_per_minute": args.inbound_per_minute,
                "offered": len(wanted),
                "stored": len(set(bodies)),
                "lost": len(wanted - set(bodies)),
                "duplicated": len(bodies) - len(set(bodies)),
                "latency_s": {
                    "p50": percentile(inbound_latency, 0.5),
                    "p99": percentile(inbound_latency, 0.99),
                    "max": round(max(inbound_latency), 3) if inbound_latency else None,
                },
                "hops_s": inbound_hops(work / "worker.log", load.inbound_at, rows),
            },
            sends={
                "offered_per_minute": args.sends_per_minute,
                "offered": len(load.send_at),
                "sent": sum(1 for _, status in sent.values() if status in ("sent", "delivered", "read")),
                "lost": len(issued - set(outbox_bodies)),
                "duplicated": len(outbox_bodies) - len(set(outbox_bodies)),
                "latency_s": {"p50": percentile(send_latency, 0.5), "p99": percentile(send_latency, 0.99)},
            },
            load_errors=load.errors[:10],
            load_error_count=len(load.errors),
            liveness_failures=events.filter(kind="probe_failure").count(),
            restarts=events.filter(kind="restart").count(),
            growth_pct=growth(result["memory_start"], result["memory_end"]),
        )
        if "memory_after_first_load" in result:
            # Growth over the rest of the load: what keeps growing with messages and time, without
            # the one-time cost of the first messages (code compiled, stores and caches opened).
            result["growth_pct_after_first_load"] = growth(
                result["memory_after_first_load"], result["memory_end"]
            )
        progress(load_done=True)

        # kill -9 the session worker, start it again: seconds until every number is back.
        before = {
            pk: SessionEvent.objects.filter(
                session_id=pk, kind="status_change", detail__to="connected"
            ).count()
            for pk in pks
        }
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        killed_at = time.monotonic()
        worker = start_worker(WORKER, args.numbers, sim.url, data_dir, work / "worker.log")
        back: dict[int, float] = {}
        deadline = time.monotonic() + 120 + 10 * args.numbers
        while len(back) < len(pks) and time.monotonic() < deadline:
            for pk in pks:
                if pk not in back and (
                    SessionEvent.objects.filter(
                        session_id=pk, kind="status_change", detail__to="connected"
                    ).count()
                    > before[pk]
                ):
                    back[pk] = time.monotonic() - killed_at
            time.sleep(0.2)
        result["after_kill"] = {
            "connected_again": len(back),
            "all_connected_s": round(max(back.values()), 1) if len(back) == len(pks) else None,
            "median_s": round(statistics.median(back.values()), 1) if back else None,
        }
        result["machine"] = machine()
        print(json.dumps(result))
    finally:
        connection.close()
        for proc in (worker, general, beat):
            stop(proc)
        sim.stop()


if __name__ == "__main__":
    main()
