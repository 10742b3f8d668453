"""bench/send.py --sends N: one connected number on a real session worker; N messages are
posted through the API (POST /api/v1/messages, in-process client) one after another; prints
one JSON object with p50/p99 latency from the API call to the row being `sent`, and the
database queries one API send costs with a warm routing cache (and how many of them are
routing lookups: must be 0). Own database (blazz_bench), Redis 13-15."""

from __future__ import annotations

import argparse
import json
import os
import time

from _common import Simulator, machine
from connect import BENCH_ENV, connect_number, fresh_bench_world, start_worker, stop, wait

os.environ.update(BENCH_ENV)

from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.services import api_key_create
from messaging.models import Chat
from sessions_app.models import WorkerInstance


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sends", type=int, default=200)
    args = parser.parse_args()
    workspace, work = fresh_bench_world("send")
    sim = Simulator("--qr-period", "20")
    worker = start_worker("wa_send", 1, sim.url, work / "data", work / "worker.log")
    try:
        wait(lambda: WorkerInstance.objects.filter(name="wa_send", status="alive").exists(), 60, "worker")
        connect_number(sim, workspace, "+5511977099999")
        client = APIClient()
        client.credentials(
            HTTP_AUTHORIZATION="Api-Key " + api_key_create(workspace=workspace, name="b", created_by=None)[1]
        )
        latencies, queries, routing_queries = [], [], []
        for index in range(args.sends):
            began = time.monotonic()
            with CaptureQueriesContext(connection) as captured:
                response = client.post(
                    "/api/v1/messages", {"to": "+14155550199", "body": f"send {index}"}, format="json"
                )
            assert response.status_code == 201, response.content
            queries.append(len(captured.captured_queries))
            routing_queries.append(
                sum(
                    "assigned_worker" in q["sql"] and "sessions_app_workerinstance" in q["sql"]
                    for q in captured.captured_queries
                )
            )
            uuid = response.json()["uuid"]
            wait(lambda u=uuid: Chat.objects.filter(uuid=u, status="sent").exists(), 30, "sent")
            latencies.append(time.monotonic() - began)
        warm = queries[1:] or queries
        print(
            json.dumps(
                {
                    "benchmark": "send",
                    "sends": args.sends,
                    "api_to_sent_s": {
                        "p50": round(percentile(latencies, 0.5), 3),
                        "p99": round(percentile(latencies, 0.99), 3),
                    },
                    "db_queries_per_api_send_warm": {"min": min(warm), "max": max(warm)},
                    "routing_queries_per_send_warm": max(routing_queries[1:] or routing_queries),
                    "simulator_outbox": len(sim.api("GET", "/phones/+5511977099999/outbox")),
                    "machine": machine(),
                }
            )
        )
    finally:
        stop(worker)
        sim.stop()


if __name__ == "__main__":
    main()
