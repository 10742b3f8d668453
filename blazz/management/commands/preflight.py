"""Checks that PostgreSQL and every Redis database the settings use can be reached, and
creates the PostgreSQL database if it is absent. Says exactly what is down and how to start it."""

import sys

import psycopg
import redis
from django.conf import settings
from django.core.management.base import BaseCommand

START_POSTGRES = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
START_REDIS = (
    "redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save '' --appendonly no "
    "--dir /var/lib/redis --logfile /var/log/redis/ci.log"
)


class Command(BaseCommand):
    help = "Verify PostgreSQL and Redis are reachable; create the database if missing."

    def handle(self, *args, **options):
        problems = [*self._check_postgres(), *self._check_redis()]
        if problems:
            for problem in problems:
                self.stderr.write(problem)
            sys.exit(1)
        self.stdout.write("preflight: PostgreSQL and Redis are reachable")

    def _check_postgres(self) -> list[str]:
        db = settings.DATABASES["default"]
        where = f"{db.get('HOST') or 'localhost'}:{db.get('PORT') or 5432}"
        params = {
            "host": db.get("HOST") or None,
            "port": db.get("PORT") or None,
            "user": db.get("USER") or None,
            "password": db.get("PASSWORD") or None,
            "connect_timeout": 3,
        }
        try:
            with psycopg.connect(dbname="postgres", autocommit=True, **params) as conn:
                exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db["NAME"]]).fetchone()
                if not exists:
                    conn.execute(f'CREATE DATABASE "{db["NAME"]}"')
                    self.stdout.write(f"preflight: created database {db['NAME']}")
        except psycopg.OperationalError as exc:
            return [
                f"PostgreSQL at {where} cannot be reached ({str(exc).strip().splitlines()[0]}).\n"
                f"  Start it with: {START_POSTGRES}\n  or point DATABASE_URL at a running server."
            ]
        return []

    def _check_redis(self) -> list[str]:
        urls = {
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "REDIS_URL": settings.REDIS_URL,
            "CHANNEL_LAYER_URL": settings.CHANNEL_LAYER_URL,
        }
        problems = []
        for name, url in urls.items():
            client = redis.Redis.from_url(url, socket_connect_timeout=2)
            try:
                client.ping()
            except redis.RedisError as exc:
                problems.append(
                    f"Redis for {name} ({url}) cannot be reached ({exc}).\n"
                    f"  Start it with: {START_REDIS}\n  or point {name} at a running server."
                )
            finally:
                client.close()
        return problems
