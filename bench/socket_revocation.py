"""bench/socket_revocation.py [--runs N]: how long an open websocket outlives the access it was
opened with. A real daphne serving blazz.asgi, real websocket clients, the Redis channel layer of
REDIS/CHANNEL_LAYER_URL and the database of DATABASE_URL (migrated here first). For each kind of
change (membership removal, role change, logout over HTTP, workspace switch over HTTP), N times:
open a socket, check it relays, make the change, time until the server closes the socket.
Prints one JSON object (milliseconds). Creates its own users and workspaces and deletes them."""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid

import django
from _common import ROOT, machine

django.setup()

import httpx  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model  # noqa: E402
from django.contrib.sessions.backends.db import SessionStore  # noqa: E402
from django.core.management import call_command  # noqa: E402
from websockets.exceptions import ConnectionClosed  # noqa: E402
from websockets.sync.client import connect  # noqa: E402

from accounts.models import Membership, Workspace  # noqa: E402
from accounts.services import membership_add, membership_remove, workspace_create  # noqa: E402
from blazz.realtime import publish_to_workspace  # noqa: E402


def start_daphne() -> tuple[subprocess.Popen, str]:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "daphne", "--fd", str(listener.fileno()), "blazz.asgi:application"],
        cwd=ROOT,
        env={**os.environ, "DEBUG": "true"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        pass_fds=(listener.fileno(),),
    )
    listener.close()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/login/", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("daphne did not answer")


def session_for(user, workspace) -> str:
    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store["workspace_id"] = workspace.id
    store.save()
    return store.session_key


def time_to_close(url: str, session_key: str, workspace, change) -> float:
    ws_url = url.replace("http://", "ws://") + "/ws/events/"
    with connect(ws_url, additional_headers={"Cookie": f"sessionid={session_key}", "Origin": url}) as ws:
        publish_to_workspace(workspace_uuid=workspace.uuid, event="probe", payload={})
        assert json.loads(ws.recv(timeout=10))["event"] == "probe"
        began = time.perf_counter()
        change()
        try:
            while True:
                ws.recv(timeout=10)
        except ConnectionClosed:
            return (time.perf_counter() - began) * 1000
        except TimeoutError:
            raise AssertionError("the socket stayed open") from None


def http_post(url: str, session_key: str, path: str) -> None:
    with httpx.Client(base_url=url, timeout=10) as client:
        client.get("/login/")  # the CSRF cookie
        client.cookies.set("sessionid", session_key)
        response = client.post(path, headers={"X-CSRFToken": client.cookies["csrftoken"]})
        assert response.status_code == 302, response.status_code


def summary(values: list[float]) -> dict:
    ordered = sorted(values)
    return {
        "median": round(ordered[len(ordered) // 2], 1),
        "max": round(ordered[-1], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    tag = uuid.uuid4().hex[:8]
    users = get_user_model().objects
    owner = users.create_user(username=f"bench-owner-{tag}@example.com", password=None)
    member = users.create_user(username=f"bench-member-{tag}@example.com", password=None)
    home = workspace_create(name=f"Bench {tag}", owner=owner)
    other = workspace_create(name=f"Bench other {tag}", owner=owner)
    membership_add(workspace=other, user=member, role=Membership.Role.AGENT)
    proc, url = start_daphne()
    results: dict[str, list[float]] = {"removal": [], "role_change": [], "logout": [], "switch": []}
    try:
        for _ in range(args.runs):
            membership_add(workspace=home, user=member, role=Membership.Role.ADMIN)
            key = session_for(member, home)
            results["removal"].append(
                time_to_close(
                    url,
                    key,
                    home,
                    lambda: membership_remove(membership=Membership.objects.get(user=member, workspace=home)),
                )
            )
            membership_add(workspace=home, user=member, role=Membership.Role.ADMIN)
            results["role_change"].append(
                time_to_close(
                    url,
                    key,
                    home,
                    lambda: membership_add(workspace=home, user=member, role=Membership.Role.AGENT),
                )
            )
            key = session_for(member, home)
            results["switch"].append(
                time_to_close(
                    url, key, home, lambda k=key: http_post(url, k, f"/workspaces/{other.uuid}/switch/")
                )
            )
            key = session_for(member, home)
            results["logout"].append(
                time_to_close(url, key, home, lambda k=key: http_post(url, k, "/logout/"))
            )
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        users.filter(pk__in=[owner.pk, member.pk]).delete()
        Workspace.objects.filter(pk__in=[home.pk, other.pk]).delete()
    print(
        json.dumps(
            {
                "benchmark": "socket_revocation",
                "runs": args.runs,
                "change_to_close_ms": {kind: summary(values) for kind, values in results.items()},
                "note": "removal and role change are made in this process (the close includes the commit); "
                "logout and switch go over HTTP (the time includes a GET for the CSRF cookie and the POST)",
                "recheck_seconds": settings.BLAZZ_WS_ACCESS_RECHECK_SECONDS,
                "machine": machine(),
            }
        )
    )


if __name__ == "__main__":
    main()
