"""Inbound ingestion through one real session worker and the simulator. Prints one JSON object.

  --sessions S --messages M       closed loop: M texts over S numbers as fast as the simulator
                                  takes them; stored per minute, send→row latency, lost, duplicated.
  --sessions S --rate R           open loop: R messages a minute at a steady pace for --duration
                                  seconds; the rate actually stored and p50/p99 send→row latency
                                  at that load (an ordinary load, not a burst).
  --sessions S --find-saturation  open loop at rising rates (--rates, each for --duration seconds)
                                  until p99 passes --p99-limit seconds or the stored rate falls
                                  behind the offered one; prints every step and the knee (the
                                  highest rate that met the limit).

Latency is from the moment the bench asks the simulator to deliver a message to the row's
created_at in PostgreSQL. Own database (blazz_bench), Redis 13-15."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from _common import CpuByRole, Simulator, machine
from connect import BENCH_ENV, connect_number, fresh_bench_world, start_worker, stop, wait

os.environ.update(BENCH_ENV)

from django.conf import settings

from messaging.models import Chat
from sessions_app.models import WorkerInstance

DEFAULT_RATES = "1000,2000,4000,8000,12000,16000,20000,24000,32000"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Offer:
    """Messages handed to the simulator, each with the time it was asked to deliver it."""

    def __init__(self, sim: Simulator, phones: list[str], label: str) -> None:
        self.sim, self.phones, self.label = sim, phones, label
        self.sent_at: dict[str, float] = {}
        self.lock = threading.Lock()

    def deliver(self, index: int) -> None:
        body = f"bench {self.label} {index}"
        at = time.time()
        with self.lock:
            self.sent_at[body] = at
        self.sim.api(
            "POST",
            "/messages",
            {
                "from": f"+1415555{index % 10000:04d}",
                "to": self.phones[index % len(self.phones)],
                "body": body,
            },
        )


def flat_out(offer: Offer, count: int) -> float:
    began = time.time()
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(offer.deliver, range(count)))
    return time.time() - began


def paced(offer: Offer, rate_per_min: float, duration_s: float) -> tuple[int, float]:
    """Message i is due at start + i * 60 / rate; senders wait for its time, so the load is
    steady whatever the worker does (open loop). Returns (offered, seconds it took)."""
    count = max(1, int(rate_per_min * duration_s / 60))
    interval = 60.0 / rate_per_min
    start = time.time() + 0.5

    def due(index: int) -> None:
        delay = start + index * interval - time.time()
        if delay > 0:
            time.sleep(delay)
        offer.deliver(index)

    # Enough senders that a slow HTTP answer never holds the next message back.
    with ThreadPoolExecutor(max_workers=min(64, max(8, int(rate_per_min / 600)))) as pool:
        list(pool.map(due, range(count)))
    return count, time.time() - start


def measure(workspace, offer: Offer, *, settle_s: float) -> dict:
    wanted = set(offer.sent_at)
    deadline = time.time() + settle_s
    stored = lambda: Chat.objects.filter(workspace=workspace, body__in=list(wanted)).count()  # noqa: E731
    while stored() < len(wanted) and time.time() < deadline:
        time.sleep(0.5)
    rows = list(
        Chat.objects.filter(workspace=workspace, body__in=list(wanted)).values_list("body", "created_at")
    )
    bodies = [b for b, _ in rows]
    latencies = [created.timestamp() - offer.sent_at[b] for b, created in rows]
    first_sent = min(offer.sent_at.values())
    last_stored = max((created.timestamp() for _, created in rows), default=first_sent)
    return {
        "offered": len(wanted),
        "stored": len(set(bodies)),
        "lost": len(wanted - set(bodies)),
        "duplicated": len(bodies) - len(set(bodies)),
        "stored_per_minute": round(len(set(bodies)) / max(0.001, last_stored - first_sent) * 60),
        "latency_s": {
            "p50": round(percentile(latencies, 0.5), 3),
            "p95": round(percentile(latencies, 0.95), 3),
            "p99": round(percentile(latencies, 0.99), 3),
            "mean": round(statistics.mean(latencies), 3),
        }
        if latencies
        else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=5)
    parser.add_argument("--messages", type=int, default=5000, help="closed loop: how many")
    parser.add_argument("--rate", type=float, help="open loop: messages a minute")
    parser.add_argument("--duration", type=float, default=60, help="open loop: seconds per rate")
    parser.add_argument("--find-saturation", action="store_true")
    parser.add_argument("--rates", default=DEFAULT_RATES, help="--find-saturation: the rates to step through")
    parser.add_argument("--p99-limit", type=float, default=1.0)
    args = parser.parse_args()
    workspace, work = fresh_bench_world("ingest")
    sim = Simulator("--qr-period", "20")
    worker = start_worker("wa_ingest", args.sessions, sim.url, work / "data", work / "worker.log")
    try:
        wait(lambda: WorkerInstance.objects.filter(name="wa_ingest", status="alive").exists(), 60, "worker")
        settings.BLAZZ_QR_ATTEMPTS_PER_HOUR = args.sessions + 1
        phones = [f"+55119770{i:05d}" for i in range(args.sessions)]
        for phone in phones:
            connect_number(sim, workspace, phone)
        result: dict = {"benchmark": "ingest", "sessions": args.sessions}
        if args.find_saturation:
            steps, knee = [], None
            for rate in [float(r) for r in args.rates.split(",")]:
                offer = Offer(sim, phones, f"r{int(rate)}")
                cpu = CpuByRole(worker_pid=worker.pid, simulator_pid=sim.proc.pid)
                cpu.start()
                offered, took = paced(offer, rate, args.duration)
                step = {"rate_per_minute": rate, "offered_per_minute": round(offered / took * 60)}
                step["cpu_while_offered"] = cpu.stop(messages=offered)
                step.update(measure(workspace, offer, settle_s=30 + args.duration))
                steps.append(step)
                print(json.dumps({"step": step}), file=sys.stderr, flush=True)  # progress; stdout: one object
                p99 = (step["latency_s"] or {}).get("p99", float("inf"))
                keeping_up = step["stored"] == step["offered"] and step["offered_per_minute"] >= 0.9 * rate
                if p99 > args.p99_limit or not keeping_up:
                    break
                knee = rate
            result.update(
                mode="find-saturation", p99_limit_s=args.p99_limit, knee_per_minute=knee, steps=steps
            )
        elif args.rate:
            offer = Offer(sim, phones, "rate")
            cpu = CpuByRole(worker_pid=worker.pid, simulator_pid=sim.proc.pid)
            cpu.start()
            offered, took = paced(offer, args.rate, args.duration)
            result["cpu_while_offered"] = cpu.stop(messages=offered)
            result.update(
                mode="rate",
                rate_per_minute=args.rate,
                duration_s=args.duration,
                offered_per_minute=round(offered / took * 60),
            )
            result.update(measure(workspace, offer, settle_s=120))
        else:
            offer = Offer(sim, phones, "burst")
            delivered_in = flat_out(offer, args.messages)
            result.update(mode="burst", messages=args.messages, simulator_send_s=round(delivered_in, 1))
            result.update(measure(workspace, offer, settle_s=120 + args.messages / 50))
        result["machine"] = machine()
        print(json.dumps(result))
    finally:
        stop(worker)
        sim.stop()


if __name__ == "__main__":
    main()
