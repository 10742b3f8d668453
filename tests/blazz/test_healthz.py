"""/healthz says which dependency is down; it is tested against a real Redis we stop."""

import shutil
import socket
import subprocess
import time

import pytest
import redis

pytestmark = pytest.mark.django_db


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def private_redis(tmp_path):
    """A second redis-server on a free port, stopped by PID at teardown."""
    binary = shutil.which("redis-server")
    assert binary, "redis-server must be installed on this machine"
    port = free_port()
    process = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while True:
        try:
            redis.Redis.from_url(url).ping()
            break
        except redis.ConnectionError:
            assert time.monotonic() < deadline, "private redis did not start"
            time.sleep(0.05)
    yield process, url
    if process.poll() is None:
        process.kill()
    process.wait(timeout=10)


def test_it_reports_ok_when_database_and_redis_answer(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_it_names_redis_when_redis_is_down(client, settings, private_redis):
    process, url = private_redis
    settings.REDIS_URL = url
    assert client.get("/healthz").json()["redis"]["ok"] is True

    process.terminate()
    process.wait(timeout=10)
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down: redis"
    assert body["redis"]["ok"] is False and "Connection" in body["redis"]["detail"]
    assert body["database"]["ok"] is True


def test_it_names_the_database_when_postgres_is_down(client, monkeypatch):
    from blazz import health

    def broken_cursor():
        raise health.connection.OperationalError("connection refused")  # type: ignore[attr-defined]

    # Stopping the machine's PostgreSQL would break every other test; the check's own
    # failure path is exercised instead by making its cursor raise a driver error.
    from django.db import OperationalError

    monkeypatch.setattr(
        health.connection, "cursor", lambda: (_ for _ in ()).throw(OperationalError("refused"))
    )
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"] == "down: database"
