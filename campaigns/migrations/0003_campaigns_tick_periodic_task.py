"""Beat runs the campaigns dispatch tick every second: it launches scheduled campaigns, claims
due CampaignLogs (select_for_update(skip_locked=True)) and follows their messages. Far-future
sends are scheduled_at rows, never long Celery countdowns. A tick that waited in the queue
longer than a few seconds is dropped (expire_seconds): the next one does its work."""

from django.db import migrations

TASK_NAME = "campaigns dispatch tick"


def add_periodic_task(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_second, _ = IntervalSchedule.objects.get_or_create(every=1, period="seconds")
    PeriodicTask.objects.update_or_create(
        name=TASK_NAME,
        defaults={
            "task": "campaigns.tasks.campaigns_tick",
            "interval": every_second,
            "enabled": True,
            "expire_seconds": 5,
            "queue": "campaigns",
        },
    )


def remove_periodic_task(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0002_campaign_dispatch_fields"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(add_periodic_task, remove_periodic_task)]
