"""How much of an unauthenticated 100 MB POST a real daphne reads before it answers, with the
body cap (blazz/body_limit.py) and with the cap set out of reach (the behaviour before it).

    python bench/request_body_cap.py [--megabytes 100]

Starts `daphne blazz.asgi:application` on a socket of its own (stopped by PID), POSTs to
/api/v1/messages without an API key, and prints one JSON line per mode: the answer's status,
how many body bytes the client sent before the answer came (the
body is only sent when no answer came within 2 s of the headers), and the time to the answer.
Not a test: tests/blazz/test_request_body_limit.py holds the claims."""

from __future__ import annotations

import argparse
import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

from _common import ROOT, machine

CHUNK = 256 * 1024


def start_daphne(extra_env: dict[str, str]) -> tuple[subprocess.Popen, int]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    port = listener.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "daphne", "--fd", str(listener.fileno()), "blazz.asgi:application"],
        cwd=ROOT,
        env={**os.environ, **extra_env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        pass_fds=(listener.fileno(),),
    )
    listener.close()
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=5)  # nosec B310
            break
        except urllib.error.HTTPError:
            break  # it answers (the page itself may need a database this run does not have)
        except OSError:
            if time.monotonic() > deadline:
                process.kill()
                raise SystemExit("daphne did not start") from None
            time.sleep(0.2)
    return process, port


def post_huge(port: int, size: int) -> dict:
    head = (
        f"POST /api/v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {size}\r\nConnection: close\r\n\r\n"
    ).encode()
    chunk = b" " * CHUNK
    sent = 0
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=120) as sock:
        sock.sendall(head)
        # A server that answers from the headers alone does so at once; one that wants the body
        # stays silent, and then gets it.
        select.select([sock], [], [], 2.0)
        while sent < size and not select.select([sock], [], [], 0)[0]:
            try:
                sock.sendall(chunk[: size - sent])
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += min(CHUNK, size - sent)
        answer = sock.recv(4096)
    elapsed = time.monotonic() - started  # includes the 2 s wait when the body was wanted
    status = int(answer.split(b" ")[1])
    return {"status": status, "body_bytes_sent": sent, "seconds_to_answer": round(elapsed, 3)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--megabytes", type=int, default=100)
    size = parser.parse_args().megabytes * 1024 * 1024
    modes = {
        "cap (default settings)": {},
        "no cap (before)": {"BLAZZ_MAX_REQUEST_BODY_BYTES": str(10 * size)},
    }
    for mode, extra_env in modes.items():
        process, port = start_daphne(extra_env)
        try:
            result = post_huge(port, size)
        finally:
            os.kill(process.pid, signal.SIGTERM)
            process.wait(timeout=10)
        print(json.dumps({"mode": mode, "declared_bytes": size, **result, "machine": machine()}))


if __name__ == "__main__":
    main()
