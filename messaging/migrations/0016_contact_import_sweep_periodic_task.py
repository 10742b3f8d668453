"""Beat wakes contact imports nobody advanced (messaging.tasks.contact_imports_sweep, every
30 s): an import is a row, and a broker that lost its data never delivers the message that
announced it."""

from django.db import migrations

TASK_NAME = "contact imports sweep"


def add_periodic_task(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_30s, _ = IntervalSchedule.objects.get_or_create(every=30, period="seconds")
    PeriodicTask.objects.update_or_create(
        name=TASK_NAME,
        defaults={
            "task": "messaging.tasks.contact_imports_sweep",
            "interval": every_30s,
            "enabled": True,
            "expire_seconds": 30,  # a tick Beat could not hand over in time: the next one sweeps
        },
    )


def remove_periodic_task(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0015_contact_imports"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(add_periodic_task, remove_periodic_task)]
