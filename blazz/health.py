"""Liveness of the two things every process depends on. Used by /healthz and the run script."""

from dataclasses import dataclass

import redis
from django.conf import settings
from django.db import connection


@dataclass(frozen=True)
class DependencyStatus:
    name: str
    ok: bool
    detail: str


def check_database() -> DependencyStatus:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means "down"; the message says why
        return DependencyStatus("database", False, f"{type(exc).__name__}: {exc}".strip())
    return DependencyStatus("database", True, "ok")


def check_redis(url: str | None = None) -> DependencyStatus:
    target = url or settings.REDIS_URL
    client = redis.Redis.from_url(target, socket_connect_timeout=1, socket_timeout=1)
    try:
        client.ping()
    except redis.RedisError as exc:
        return DependencyStatus("redis", False, f"{type(exc).__name__}: {exc}")
    finally:
        client.close()
    return DependencyStatus("redis", True, "ok")


def check_dependencies() -> list[DependencyStatus]:
    return [check_database(), check_redis()]
