"""What a Celery process does at start is what it needs (issue 18: a session worker restores
its numbers only once it is ready, so every second of its boot is a second every number on it
is down after a restart)."""

from __future__ import annotations

from celery.fixups.django import DjangoWorkerFixup
from django.core import checks

from blazz.celery import app


def _checks_run_by_worker_start(monkeypatch) -> int:
    ran: list[int] = []
    monkeypatch.setattr(checks, "run_checks", lambda *args, **kwargs: ran.append(1) or [])
    DjangoWorkerFixup(app).validate_models()  # the real fixup a worker runs before its tasks import
    return len(ran)


def test_it_skips_the_system_checks_celery_would_discard(monkeypatch):
    assert _checks_run_by_worker_start(monkeypatch) == 0


def test_without_blazz_celery_s_setting_the_fixup_runs_them(monkeypatch):
    # What the test above guards against: Celery's default.
    monkeypatch.delenv("CELERY_SKIP_CHECKS", raising=False)
    assert _checks_run_by_worker_start(monkeypatch) == 1
