"""Installs the sessions' Beat schedule (django-celery-beat's DatabaseScheduler; DESIGN
section 7): reconciliation and liveness every 30 s, stale cleanup and snapshot refresh
every 10 min. Rows are created only when missing (get_or_create by name), so an interval
an operator changed in the admin is never overwritten.

Each row expires after one interval: when the workers are down for a while, Beat's
backlog of ticks is dropped instead of replayed (the next tick does the same work)."""

from django.db import migrations
from django.utils import timezone

SCHEDULE = [
    # (name, task, every, period)
    ("sessions reconcile", "sessions_app.tasks.sessions_reconcile", 30, "seconds"),
    ("sessions liveness check", "sessions_app.tasks.sessions_liveness_check", 30, "seconds"),
    ("sessions stale cleanup", "sessions_app.tasks.sessions_cleanup_stale", 10, "minutes"),
    ("sessions snapshot refresh", "sessions_app.tasks.sessions_snapshot_refresh", 10, "minutes"),
]
_SECONDS = {"seconds": 1, "minutes": 60}


def install_schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, task, every, period in SCHEDULE:
        interval, _ = IntervalSchedule.objects.get_or_create(every=every, period=period)
        PeriodicTask.objects.get_or_create(
            name=name,
            defaults={
                "task": task,
                "interval": interval,
                "enabled": True,
                "expire_seconds": every * _SECONDS[period],
            },
        )
    _tell_running_beat(apps)


def remove_schedule(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=[name for name, *_ in SCHEDULE]).delete()
    _tell_running_beat(apps)


def _tell_running_beat(apps):
    # What PeriodicTasks.changed() does from the model's signals, which historical models
    # do not send: a Beat already running reloads its schedule.
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


class Migration(migrations.Migration):
    dependencies = [
        ("sessions_app", "0002_session_event_qr_attempt"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(install_schedule, remove_schedule)]
