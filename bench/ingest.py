"""bench/ingest.py --sessions S --messages M: the simulator delivers M inbound texts spread
over S connected sessions of one real session worker, as fast as it can; prints one JSON
object with messages stored per minute, latency from simulator send to stored row
(p50/p95/p99) and lost/duplicated counts. Own database (blazz_bench), Redis 13-15."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

from _common import Simulator, machine
from connect import BENCH_ENV, connect_number, fresh_bench_world, start_worker, wait

os.environ.update(BENCH_ENV)

from django.conf import settings

from messaging.models import Chat
from sessions_app.models import WorkerInstance


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=5)
    parser.add_argument("--messages", type=int, default=5000)
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
        sent_at: dict[str, float] = {}

        def deliver(index: int) -> None:
            body = f"bench message {index}"
            sent_at[body] = time.time()
            sim.api(
                "POST",
                "/messages",
                {"from": f"+1415555{index % 10000:04d}", "to": phones[index % len(phones)], "body": body},
            )

        began = time.time()
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(deliver, range(args.messages)))
        delivered_in = time.time() - began
        deadline = time.time() + 120 + args.messages / 50
        while Chat.objects.filter(workspace=workspace).count() < args.messages and time.time() < deadline:
            time.sleep(0.5)
        rows = list(Chat.objects.filter(workspace=workspace).values_list("body", "created_at"))
        bodies = [b for b, _ in rows]
        latencies = [created.timestamp() - sent_at[b] for b, created in rows if b in sent_at]
        last_stored = max(created.timestamp() for _, created in rows) if rows else began
        print(
            json.dumps(
                {
                    "benchmark": "ingest",
                    "sessions": args.sessions,
                    "messages": args.messages,
                    "stored": len(set(bodies)),
                    "lost": args.messages - len(set(bodies) & set(sent_at)),
                    "duplicated": len(bodies) - len(set(bodies)),
                    "simulator_send_s": round(delivered_in, 1),
                    "stored_per_minute": round(len(rows) / max(0.001, last_stored - began) * 60),
                    "latency_s": {
                        "p50": round(percentile(latencies, 0.5), 3),
                        "p95": round(percentile(latencies, 0.95), 3),
                        "p99": round(percentile(latencies, 0.99), 3),
                        "mean": round(statistics.mean(latencies), 3),
                    }
                    if latencies
                    else None,
                    "machine": machine(),
                }
            )
        )
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=60)
        except Exception:
            worker.kill()
        sim.stop()


if __name__ == "__main__":
    main()
