"""The sessions' Beat schedule is installed by a migration (DESIGN section 7) and stays
editable: installing it again never overwrites what an operator changed in the admin."""

import importlib

import pytest
from django.apps import apps
from django_celery_beat.models import IntervalSchedule, PeriodicTask

pytestmark = pytest.mark.django_db

migration = importlib.import_module("sessions_app.migrations.0003_beat_schedule")

EXPECTED = {
    "sessions reconcile": ("sessions_app.tasks.sessions_reconcile", 30, "seconds"),
    "sessions liveness check": ("sessions_app.tasks.sessions_liveness_check", 30, "seconds"),
    "sessions stale cleanup": ("sessions_app.tasks.sessions_cleanup_stale", 10, "minutes"),
    "sessions snapshot refresh": ("sessions_app.tasks.sessions_snapshot_refresh", 10, "minutes"),
}


def test_it_installs_the_sessions_schedule_with_the_migrations():
    for name, (task, every, period) in EXPECTED.items():
        row = PeriodicTask.objects.select_related("interval").get(name=name)
        assert (row.task, row.interval.every, row.interval.period, row.enabled) == (task, every, period, True)
        # A tick Beat could not hand to a worker in time is dropped, not replayed later.
        expected_expiry = every * (60 if period == "minutes" else 1)
        assert row.expire_seconds == expected_expiry


def test_it_keeps_an_operator_edited_schedule_when_installed_again():
    every_5_min, _ = IntervalSchedule.objects.get_or_create(every=5, period="minutes")
    PeriodicTask.objects.filter(name="sessions stale cleanup").update(interval=every_5_min, enabled=False)
    PeriodicTask.objects.filter(name="sessions reconcile").delete()

    migration.install_schedule(apps, None)

    edited = PeriodicTask.objects.get(name="sessions stale cleanup")
    assert (edited.interval_id, edited.enabled) == (every_5_min.id, False)
    assert PeriodicTask.objects.get(name="sessions reconcile").task == "sessions_app.tasks.sessions_reconcile"
    assert PeriodicTask.objects.filter(name__in=EXPECTED).count() == len(EXPECTED)


def test_it_removes_only_its_own_rows_when_unapplied():
    other_count = PeriodicTask.objects.exclude(name__in=EXPECTED).count()

    migration.remove_schedule(apps, None)

    assert not PeriodicTask.objects.filter(name__in=EXPECTED).exists()
    assert PeriodicTask.objects.exclude(name__in=EXPECTED).count() == other_count


def test_it_schedules_only_tasks_that_exist_and_routes_them_off_the_session_queues():
    from django.conf import settings

    from blazz.celery import app

    app.loader.import_default_modules()
    for row in PeriodicTask.objects.all():
        assert row.task in app.tasks, f"Beat row {row.name!r} names no registered task: {row.task}"
        route = settings.CELERY_TASK_ROUTES.get(row.task) or next(
            (
                r
                for pattern, r in settings.CELERY_TASK_ROUTES.items()
                if pattern.endswith("*") and row.task.startswith(pattern[:-1])
            ),
            None,
        )
        # A Beat task left on `default` would queue behind general work (F5).
        assert route or row.queue, f"Beat task {row.task} has no queue of its own"
