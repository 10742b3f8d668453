"""Inbound media through one real session worker and the simulator (issue 17). Prints one JSON
object.

  --sessions 5 --images 200 --size 1048576

Each image is a distinct JPEG of --size bytes, delivered by the simulator's control API to the
numbers in turn. Measured: seconds from the first delivery until every message is stored with
its bytes (media_status ready), the worker's RSS and the Chrome PSS of its pages before, right
after, and after --settle seconds (growth that stays would show there), lost (not ready),
duplicated (more rows or files than images), and whether every stored file has the sha256 of
what was sent. Own database (blazz_bench), Redis 13-15, media under a scratch directory."""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

# The worker and this process must see the same media storage.
MEDIA_ROOT = Path(tempfile.mkdtemp(prefix="blazz-bench-media-files-"))
os.environ["BLAZZ_MEDIA_ROOT"] = str(MEDIA_ROOT)

from _common import ROOT, Simulator, machine  # noqa: E402
from connect import BENCH_ENV, connect_number, fresh_bench_world, start_worker, stop, wait  # noqa: E402

os.environ.update(BENCH_ENV)

import psutil  # noqa: E402
from django.conf import settings  # noqa: E402

from messaging.models import Chat, MediaFile  # noqa: E402
from sessions_app.models import WorkerInstance  # noqa: E402

sys.path.insert(0, str(ROOT))
from tests.simulator.media_samples import jpeg  # noqa: E402


def memory(worker: psutil.Popen | object, data_dir: Path) -> dict:
    """The worker process's RSS and the PSS of every Chrome process under its data dir (PSS
    counts shared pages once, so the sum is what the browsers really cost)."""
    rss = psutil.Process(worker.pid).memory_info().rss
    pss = 0
    marker = str(data_dir)
    for proc in psutil.process_iter(["cmdline"]):
        try:
            if any(marker in part for part in proc.info["cmdline"] or []) and proc.pid != worker.pid:
                pss += proc.memory_full_info().pss
        except psutil.Error:
            continue
    return {"worker_rss_mb": round(rss / 2**20, 1), "chrome_pss_mb": round(pss / 2**20, 1)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=5)
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--size", type=int, default=2**20, help="bytes per image")
    parser.add_argument("--settle", type=float, default=90, help="seconds before the last memory reading")
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--rounds", type=int, default=2, help="rounds of --images new files each")
    args = parser.parse_args()
    workspace, work = fresh_bench_world("media")
    MediaFile.objects.all().delete()
    sim = Simulator("--qr-period", "20")
    data_dir = work / "data"
    worker = start_worker("wa_media", args.sessions, sim.url, data_dir, work / "worker.log")
    try:
        wait(lambda: WorkerInstance.objects.filter(name="wa_media", status="alive").exists(), 60, "worker")
        settings.BLAZZ_QR_ATTEMPTS_PER_HOUR = args.sessions + 1
        settings.BLAZZ_FAIR_SHARE_FRACTION = 1  # one bench workspace fills the worker
        phones = [f"+55119771{i:05d}" for i in range(args.sessions)]
        for phone in phones:
            connect_number(sim, workspace, phone)
        time.sleep(8)  # the first snapshots after login, so they do not land in the measurement
        before = memory(worker, data_dir)
        lock = threading.Lock()

        def run_round(number: int) -> dict:
            images = [jpeg(320, 240, size=args.size) for _ in range(args.images)]
            digests = {hashlib.sha256(image).hexdigest() for image in images}
            ids: list[str] = []

            def deliver(index: int) -> None:
                answer = sim.api(
                    "POST",
                    "/messages",
                    {
                        "from": f"+1415556{index % 10000:04d}",
                        "to": phones[index % len(phones)],
                        "type": "image",
                        "mimetype": "image/jpeg",
                        "caption": f"bench media {number}-{index}",
                        "data": base64.b64encode(images[index]).decode("ascii"),
                    },
                )
                with lock:
                    ids.append(answer["message"]["id"])

            began = time.time()
            with ThreadPoolExecutor(max_workers=4) as pool:
                list(pool.map(deliver, range(args.images)))
            delivered_s = time.time() - began
            images.clear()  # the bench's own copies are not what is measured
            ours = Chat.objects.filter(workspace=workspace, direction="inbound", wam_id__in=ids)
            deadline = began + args.timeout
            while ours.filter(media_status="ready").count() < args.images and time.time() < deadline:
                time.sleep(0.5)
            all_ready_s = time.time() - began
            readings = {"right_after": memory(worker, data_dir)}
            # Readings while the pages sit idle: garbage the pages' JS has not collected yet
            # goes down over time; growth that stays does not.
            for at in (args.settle / 3, args.settle):
                time.sleep(max(0.0, began + all_ready_s + at - time.time()))
                readings[f"after_{int(at)}s"] = memory(worker, data_dir)
            rows = list(ours.values_list("wam_id", "media_status", "media_file__sha256"))
            ready = [r for r in rows if r[1] == "ready"]
            return {
                "simulator_deliver_s": round(delivered_s, 1),
                "seconds_to_all_ready": round(all_ready_s, 1),
                "mb_per_second": round(args.images * args.size / 2**20 / all_ready_s, 2),
                "ready": len(ready),
                "lost": args.images - len({r[0] for r in ready}),
                "duplicated_rows": len(rows) - len({r[0] for r in rows}),
                "bytes_match": {r[2] for r in ready} == digests,
                "failed": sum(1 for r in rows if r[1] == "failed"),
                "memory": readings,
            }

        rounds = [run_round(number) for number in range(1, args.rounds + 1)]
        files = MediaFile.objects.filter(workspace=workspace).count()
        first = rounds[0]
        result = {
            "benchmark": "media",
            "sessions": args.sessions,
            "images": args.images,
            "image_bytes": args.size,
            "seconds_to_all_ready": first["seconds_to_all_ready"],
            "lost": sum(r["lost"] for r in rounds),
            "duplicated": sum(r["duplicated_rows"] for r in rounds)
            + max(0, files - args.images * args.rounds),
            "bytes_match": all(r["bytes_match"] for r in rounds),
            "memory_before": before,
            # A second round of as many new files shows whether memory grows per file (a leak)
            # or stays at the first round's level (a high-water mark the pages keep).
            "rounds": rounds,
            "machine": machine(),
        }
        print(json.dumps(result))
    finally:
        stop(worker)
        sim.stop()


if __name__ == "__main__":
    main()
