"""Infrastructure the fault tests own and break: a redis-server they flush, stop and start, a
throwaway PostgreSQL cluster (Debian's initdb/pg_ctl) they stop and start, and a whole
deployment on top of them (web, session worker, general worker, Beat) driven as an
integrator would drive it: numbers connected and messages sent through the HTTP API, with
Idempotency-Keys and retries, while the simulated contacts write in.

Nothing here touches the machine's shared PostgreSQL or Redis: every process gets the URLs
of the test's own servers, and is stopped by PID."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import redis

from tests.blazz.test_healthz import free_port
from tests.e2e.web import AsgiServer
from tests.e2e.workers import PROJECT_ROOT, wait_until

PG_BIN = Path("/usr/lib/postgresql/15/bin")


class RestartableRedis:
    """A redis-server on a free port that keeps nothing on disk (like the project's machines):
    a restart is a FLUSHALL too."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.directory = directory
        self.process: subprocess.Popen | None = None

    def url(self, db: int) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary, "redis-server must be installed on this machine"
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            cwd=self.directory,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(self._answers, timeout=10, interval=0.05, what="redis-server up")

    def _answers(self) -> bool:
        try:
            return redis.Redis.from_url(self.url(0)).ping()
        except redis.ConnectionError:
            return False

    def flushall(self) -> None:
        redis.Redis.from_url(self.url(0)).flushall()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


class ThrowawayPostgres:
    """A PostgreSQL 15 cluster of its own (initdb in a temporary directory, trust auth, TCP on
    127.0.0.1 at a free port, its unix socket in that directory). PostgreSQL refuses to run
    as root: then the server process (only it) runs as the `postgres` system user."""

    def __init__(self) -> None:
        assert (PG_BIN / "initdb").exists(), f"PostgreSQL 15 server binaries are needed in {PG_BIN}"
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="blazz-pg-"))
        self.data = self.root / "data"
        self.log_path = self.root / "postgres.log"
        self.run_as = "postgres" if os.geteuid() == 0 else None
        if self.run_as:
            shutil.chown(self.root, user=self.run_as)

    def url(self, database: str = "blazz") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str) -> None:
        command = [str(a) for a in args]
        if self.run_as:
            command = ["runuser", "-u", self.run_as, "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)  # nosec B603

    def init(self) -> ThrowawayPostgres:
        self._run(
            PG_BIN / "initdb", "-D", self.data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"
        )
        self.start()
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute("CREATE DATABASE blazz")
        return self

    def start(self) -> None:
        options = (
            # fsync=off only skips flushing the OS cache, which a crash of PostgreSQL (not of
            # the machine) keeps; commits stay synchronous, so a 201 is a durable row.
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        )
        self._run(PG_BIN / "pg_ctl", "-D", self.data, "-l", self.log_path, "-o", options, "-w", "start")

    def crash(self) -> None:
        """`pg_ctl stop -m immediate`: every backend dies at once, no checkpoint; the next
        start runs crash recovery, as after a power cut or an OOM kill of the postmaster."""
        self._run(PG_BIN / "pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop")

    def answers(self) -> bool:
        try:
            with psycopg.connect(self.url(), connect_timeout=2) as conn:
                conn.execute("SELECT 1")
            return True
        except psycopg.OperationalError:
            return False

    def destroy(self) -> None:
        if (self.data / "postmaster.pid").exists():
            try:
                self._run(PG_BIN / "pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop")
            except subprocess.CalledProcessError:
                pass
        shutil.rmtree(self.root, ignore_errors=True)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""


def migrate(env: dict[str, str]) -> None:
    subprocess.run(  # nosec B603
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=PROJECT_ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )


def provision(env: dict[str, str]) -> dict[str, str]:
    done = subprocess.run(  # nosec B603
        [sys.executable, "-m", "tests.e2e.provision"],
        cwd=PROJECT_ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


class CeleryProcess:
    """A general `celery worker` or `celery beat` of the deployment, stopped by PID."""

    def __init__(self, args: list[str], log_path: Path, env: dict[str, str]) -> None:
        self.log_path = log_path
        with open(log_path, "ab") as log:
            self.proc = subprocess.Popen(  # nosec B603
                [sys.executable, "-m", "celery", "-A", "blazz", *args, "-l", "info"],
                cwd=PROJECT_ROOT,
                env=env,
                stdout=log,
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

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]


# --- the integrator -------------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    body: Any
    started: float
    ended: float


class ApiClient:
    """An integrator with an API key: every call is recorded (status, start and end time)."""

    def __init__(self, base_url: str, api_key: str) -> None:
        self.base_url = base_url
        self.api_key = api_key
        self.answers: list[tuple[str, Answer]] = []
        self._lock = threading.Lock()

    def call(self, method: str, path: str, body: Any = None, *, idempotency_key: str | None = None) -> Answer:
        headers = {"Authorization": f"Api-Key {self.api_key}", "Content-Type": "application/json"}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base_url + path, data=data, method=method, headers=headers)
        started = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # nosec B310 (loopback)
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read()
        except (urllib.error.URLError, OSError) as exc:
            status, raw = 599, str(exc).encode()  # no answer at all counts as a server failure
        try:
            parsed = json.loads(raw or b"null")
        except ValueError:
            parsed = raw.decode(errors="replace")
        answer = Answer(status, parsed, started, time.monotonic())
        with self._lock:
            self.answers.append((f"{method} {path}", answer))
        return answer


@dataclass
class Deployment:
    """The product's processes on the test's own PostgreSQL and Redis: daphne (the API), a
    session worker (real Chromium on the simulator), a general worker on the maintenance
    queue and a real `celery beat` (DatabaseScheduler) that runs the send sweep every 2 s."""

    env: dict[str, str]
    tmp_path: Path
    web: AsgiServer | None = None
    celery: list[CeleryProcess] = field(default_factory=list)

    def start_web(self) -> AsgiServer:
        self.web = AsgiServer(log_path=self.tmp_path / "daphne.log", extra_env=self.env).start()
        return self.web

    def start_beat_and_general_worker(self) -> None:
        self.celery.append(
            CeleryProcess(
                ["worker", "-n", "general@%h", "-Q", "maintenance,default", "--pool", "threads", "-c", "2"],
                self.tmp_path / "general.log",
                {**os.environ, **self.env},
            )
        )
        self.celery.append(
            CeleryProcess(
                ["beat", "--schedule", str(self.tmp_path / "beat.db"), "--max-interval", "1"],
                self.tmp_path / "beat.log",
                {**os.environ, **self.env},
            )
        )

    def stop(self) -> None:
        for process in reversed(self.celery):
            process.stop()
        if self.web is not None and self.web.proc is not None:
            self.web.stop()


def deployment_env(*, database_url: str, redis: RestartableRedis | None, **extra: str) -> dict[str, str]:
    env = {
        "DATABASE_URL": database_url,
        # The integrator sends 100 messages in a burst; the API's per-key throttles have their own tests.
        "BLAZZ_API_THROTTLE_RATE": "",
        "BLAZZ_API_SEND_THROTTLE_RATE": "",
        # The sweep wakes what nobody claimed for 3 s, and frees a claim that made nothing in
        # 20 s (the page-side idempotency key keeps a freed send from going out twice).
        "BLAZZ_SEND_SWEEP_AFTER_SECONDS": "3",
        "BLAZZ_SEND_CLAIM_STALE_SECONDS": "20",
        "BLAZZ_QR_ATTEMPTS_PER_HOUR": "100",
        **extra,
    }
    if redis is not None:
        env |= {
            "CELERY_BROKER_URL": redis.url(0),
            "REDIS_URL": redis.url(1),
            "CHANNEL_LAYER_URL": redis.url(2),
        }
    return env


def connect_number(api: ApiClient, sim, phone: str, *, log) -> str:
    """Adds a number through the API, scans its QR with the simulated phone, waits until it is
    connected; returns the session's uuid."""
    created = wait_until(
        lambda: (
            (a := api.call("POST", "/api/v1/sessions", idempotency_key=f"connect-{phone}")).status
            in (200, 201)
            and a
        ),
        timeout=90,
        interval=1,
        what="the API to accept a number (a live worker with capacity)",
        log=log,
    )
    session = created.body["uuid"]
    code = wait_until(
        lambda: (a := api.call("GET", f"/api/v1/sessions/{session}/qr")).status == 200 and a.body["code"],
        timeout=90,
        interval=0.5,
        what="a QR code",
        log=log,
    )
    sim.ok("POST", "/scan", {"phone": phone, "code": code})
    wait_until(
        lambda: api.call("GET", f"/api/v1/sessions/{session}").body.get("status") == "connected",
        timeout=60,
        interval=0.5,
        what="the number connected",
        log=log,
    )
    return session


class Traffic:
    """100 sends through the API and 100 inbound messages from simulated contacts, interleaved.
    A send is accepted once the API answers 2xx; until then the integrator retries it with the
    same Idempotency-Key (the API's promise: the same key never sends twice)."""

    def __init__(self, api: ApiClient, sim, number: str, *, count: int = 100) -> None:
        self.api = api
        self.sim = sim
        self.number = number
        self.count = count
        self.out_bodies = [f"saida {i}" for i in range(count)]
        self.in_bodies = [f"entrada {i}" for i in range(count)]
        self.accepted: dict[str, str] = {}  # body -> message uuid
        self.not_yet: list[int] = []

    def customer(self, i: int) -> str:
        return f"+1415556{i % 10:04d}"

    def step(self, i: int) -> None:
        """One send (one attempt) and one inbound message."""
        self._try_send(i)
        self.sim.ok(
            "POST", "/messages", {"from": self.customer(i), "to": self.number, "body": self.in_bodies[i]}
        )

    def _try_send(self, i: int) -> bool:
        answer = self.api.call(
            "POST",
            "/api/v1/messages",
            {"to": self.customer(i), "body": self.out_bodies[i]},
            idempotency_key=f"fault-send-{i}",
        )
        if 200 <= answer.status < 300:
            self.accepted[self.out_bodies[i]] = answer.body["uuid"]
            return True
        if i not in self.not_yet:
            self.not_yet.append(i)
        return False

    def retry_until_accepted(self, *, timeout: float = 90) -> None:
        def all_accepted() -> bool:
            for i in list(self.not_yet):
                if self._try_send(i):
                    self.not_yet.remove(i)
            return not self.not_yet

        wait_until(all_accepted, timeout=timeout, interval=1, what="the API to accept every send")


def counts(traffic: Traffic, database_url: str) -> dict[str, Any]:
    """Jepsen-style: what the integrator was promised against what WhatsApp (the simulator)
    and the database hold. A send is lost when it was accepted and neither reached WhatsApp
    nor failed visibly; an inbound message is lost when the contact sent it and it is not
    stored."""
    outbox = traffic.sim.ok("GET", f"/phones/{traffic.number}/outbox")
    at_whatsapp = Counter(m["body"] for m in outbox if m["body"] in traffic.out_bodies)
    with psycopg.connect(database_url) as conn:
        inbound = Counter(
            body
            for (body,) in conn.execute(
                "SELECT body FROM messaging_chat WHERE direction = 'inbound'"
            ).fetchall()
            if body in traffic.in_bodies
        )
        status_of = dict(
            conn.execute(
                "SELECT body, status FROM messaging_chat"
                " WHERE direction = 'outbound' AND uuid = ANY(%s::uuid[])",
                [list(traffic.accepted.values())],
            ).fetchall()
        )
    statuses = Counter(status_of.values())
    sends_lost = [b for b in traffic.accepted if b not in at_whatsapp and status_of.get(b) != "failed"]
    inbound_lost = [b for b in traffic.in_bodies if b not in inbound]
    return {
        "sends_attempted": traffic.count,
        "sends_accepted": len(traffic.accepted),
        "sent": sum(n for s, n in statuses.items() if s in ("sent", "delivered", "read")),
        "failed": statuses["failed"],
        "pending": statuses["pending"],
        "reached_whatsapp": len(at_whatsapp),
        "inbound_delivered": traffic.count,
        "inbound_stored": len(inbound),
        "lost": len(sends_lost) + len(inbound_lost),
        "duplicated": sum(n - 1 for n in at_whatsapp.values()) + sum(n - 1 for n in inbound.values()),
        "send_api_answers": dict(
            sorted(
                Counter(
                    a.status for what, a in traffic.api.answers if what == "POST /api/v1/messages"
                ).items()
            )
        ),
    }


def wait_for_quiet(
    traffic: Traffic, database_url: str, *, timeout: float, log, inbound_up_to: int | None = None
) -> None:
    """Until every accepted send left `pending` and every inbound message (of the first
    `inbound_up_to`) is stored."""
    expected = traffic.in_bodies[:inbound_up_to]

    def settled() -> bool:
        with psycopg.connect(database_url) as conn:
            pending = conn.execute(
                "SELECT count(*) FROM messaging_chat WHERE status = 'pending' AND uuid = ANY(%s::uuid[])",
                [list(traffic.accepted.values())],
            ).fetchone()[0]
            stored = conn.execute(
                "SELECT count(DISTINCT body) FROM messaging_chat"
                " WHERE direction = 'inbound' AND body = ANY(%s)",
                [expected],
            ).fetchone()[0]
        return pending == 0 and stored == len(expected)

    wait_until(
        settled, timeout=timeout, interval=1, what="every send settled and every inbound stored", log=log
    )
