"""bench/failover.py --sessions S --runs R: two session workers, a general worker and Beat
(all real processes, thresholds at their defaults: heartbeat 5 s, dead after 30 s, Beat
reconciles every 30 s). The worker hosting the S sessions is killed with SIGKILL while
sends are in flight and inbound messages arrive; the time from the kill until all S are
connected again on the other worker is measured, and lost or duplicated messages are
counted. The killed worker is started again as the next run's standby. Prints one JSON
object. Own database (blazz_bench), Redis 13-15."""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import sys
import threading
import time

from _common import Simulator, machine
from connect import (
    BENCH_ENV,
    connect_number,
    fresh_bench_world,
    restore_steps,
    start_celery,
    start_worker,
    stop,
    wait,
)

os.environ.update({**BENCH_ENV, "BLAZZ_WORKER_HEARTBEAT_SECONDS": "5"})

from django.db import connection
from django.utils import timezone

from messaging import services as messaging
from messaging.models import Chat
from sessions_app.models import SessionSnapshot, WhatsAppSession, WorkerInstance

SENDS_PER_RUN = 30
INBOUND_PER_SESSION = 5


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=5)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    workspace, work = fresh_bench_world("failover")
    from django.conf import settings

    settings.BLAZZ_QR_ATTEMPTS_PER_HOUR = args.sessions + 1
    sim = Simulator("--qr-period", "20")
    names = ["wa_fa", "wa_fb"]
    workers = {
        name: start_worker(name, args.sessions, sim.url, work / "data" / name, work / f"{name}.log")
        for name in names[:1]
    }
    general = start_celery(
        [
            "worker",
            "-n",
            "general@%h",
            "-Q",
            "maintenance,default",
            "--pool",
            "threads",
            "--concurrency",
            "4",
        ],
        work / "general.log",
    )
    beat = start_celery(["beat", "--schedule", str(work / "beat.db")], work / "beat.log")
    runs = []
    try:
        wait(lambda: WorkerInstance.objects.filter(name="wa_fa", status="alive").exists(), 60, "worker a")
        phones = [f"+55119880{i:05d}" for i in range(args.sessions)]
        pks = [connect_number(sim, workspace, phone).pk for phone in phones]
        sessions = list(WhatsAppSession.objects.filter(pk__in=pks).order_by("pk"))
        wait(lambda: SessionSnapshot.objects.filter(session_id__in=pks).count() == len(pks), 60, "snapshots")
        workers["wa_fb"] = start_worker(
            "wa_fb", args.sessions, sim.url, work / "data" / "wa_fb", work / "wa_fb.log"
        )
        wait(lambda: WorkerInstance.objects.filter(name="wa_fb", status="alive").exists(), 60, "worker b")
        hosting, standby = "wa_fa", "wa_fb"
        for run in range(args.runs):
            issued: list[str] = []

            def send_some(run: int = run, issued: list[str] = issued) -> None:
                try:
                    for i in range(SENDS_PER_RUN):
                        body = f"run {run} envio {i}"
                        messaging.chat_send(
                            workspace=workspace,
                            to=f"+1415556{i:04d}",
                            body=body,
                            session=sessions[i % len(sessions)],
                            idempotency_key=f"bench-{run}-{i}",
                        )
                        issued.append(body)
                        time.sleep(0.05)
                finally:
                    connection.close()

            sender = threading.Thread(target=send_some)
            sender.start()
            wait(lambda issued=issued: len(issued) >= SENDS_PER_RUN // 3, 30, "sends under way")
            workers[hosting].send_signal(signal.SIGKILL)
            killed_at, killed_wall = time.monotonic(), timezone.now()
            workers[hosting].wait()
            inbound = []
            for phone in phones:
                for i in range(INBOUND_PER_SESSION):
                    body = f"run {run} {phone} {i}"
                    sim.api("POST", "/messages", {"from": "+14155559998", "to": phone, "body": body})
                    inbound.append(body)
            sender.join()

            def all_back(standby: str = standby) -> bool:
                return WhatsAppSession.objects.filter(
                    pk__in=pks, status="connected", assigned_worker__name=standby
                ).count() == len(pks)

            wait(all_back, 180, f"run {run}: sessions back")
            recovered_s = time.monotonic() - killed_at
            wait(
                lambda run=run: (
                    Chat.objects.filter(
                        body__startswith=f"run {run} ", direction="outbound", status="sent"
                    ).count()
                    == SENDS_PER_RUN
                ),
                120,
                f"run {run}: sends",
            )
            expected = len(inbound)
            wait(
                lambda run=run, expected=expected: (
                    Chat.objects.filter(body__startswith=f"run {run} ", direction="inbound").count()
                    >= expected
                ),
                120,
                f"run {run}: inbound",
            )
            time.sleep(2)
            at_whatsapp = [
                m["body"]
                for phone in phones
                for m in sim.api("GET", f"/phones/{phone}/outbox")
                if m["body"].startswith(f"run {run} ")
            ]
            stored = list(
                Chat.objects.filter(body__startswith=f"run {run} ", direction="inbound").values_list(
                    "body", flat=True
                )
            )
            runs.append(
                {
                    "recovered_s": round(recovered_s, 2),
                    "sends": SENDS_PER_RUN,
                    "sends_lost": len(set(issued) - set(at_whatsapp)),
                    "sends_duplicated": len(at_whatsapp) - len(set(at_whatsapp)),
                    "inbound": len(inbound),
                    "inbound_lost": len(set(inbound) - set(stored)),
                    "inbound_duplicated": len(stored) - len(set(stored)),
                    # "worker_boot_to_first_launch" here is kill -> first browser start on the standby.
                    "restore_steps_s": restore_steps(pks, killed_wall),
                }
            )
            print(json.dumps({"run": run, **runs[-1]}), file=sys.stderr)
            # The killed worker comes back as the standby of the next run.
            workers[hosting] = start_worker(
                hosting, args.sessions, sim.url, work / "data" / hosting, work / f"{hosting}.log"
            )
            wait(
                lambda hosting=hosting: WorkerInstance.objects.filter(name=hosting, status="alive").exists(),
                60,
                "restarted worker",
            )
            hosting, standby = standby, hosting
        recovered = [r["recovered_s"] for r in runs]
        print(
            json.dumps(
                {
                    "benchmark": "failover",
                    "sessions": args.sessions,
                    "runs": len(runs),
                    "recovered_s": {"median": round(statistics.median(recovered), 2), "max": max(recovered)},
                    "messages_lost": sum(r["sends_lost"] + r["inbound_lost"] for r in runs),
                    "messages_duplicated": sum(r["sends_duplicated"] + r["inbound_duplicated"] for r in runs),
                    "sends": sum(r["sends"] for r in runs),
                    "inbound": sum(r["inbound"] for r in runs),
                    "thresholds": {
                        "heartbeat_s": 5,
                        "dead_after_s": settings.BLAZZ_WORKER_DEAD_AFTER_SECONDS,
                        "beat_reconcile_every_s": 30,
                    },
                    "per_run": runs,
                    "machine": machine(),
                }
            )
        )
    finally:
        for proc in [*workers.values(), general, beat]:
            stop(proc)
        sim.stop()


if __name__ == "__main__":
    main()
