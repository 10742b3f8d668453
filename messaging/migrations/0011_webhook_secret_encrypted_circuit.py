"""Webhook secrets encrypted at rest (issue 16): every existing secret is encrypted with the
snapshot keys (blazz.encryption) into `secret_encrypted`, then the clear column is dropped.
Reversible: going back decrypts them into the clear column again.

Also the endpoint's circuit breaker (consecutive failures, open until), the index the
per-endpoint concurrency limit counts in-flight deliveries with, and the one the sweep finds
each endpoint's due deliveries with."""

from django.db import migrations, models

from blazz.encryption import decrypt_text, encrypt_text


def encrypt_secrets(apps, schema_editor):
    WebhookEndpoint = apps.get_model("messaging", "WebhookEndpoint")
    for endpoint in WebhookEndpoint.objects.only("id", "secret").iterator():
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(secret_encrypted=encrypt_text(endpoint.secret))


def decrypt_secrets(apps, schema_editor):
    WebhookEndpoint = apps.get_model("messaging", "WebhookEndpoint")
    for endpoint in WebhookEndpoint.objects.only("id", "secret_encrypted").iterator():
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(secret=decrypt_text(endpoint.secret_encrypted))


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0010_conversations_notes_quick_replies"),
    ]

    operations = [
        migrations.AddField(
            model_name="webhookendpoint",
            name="secret_encrypted",
            field=models.TextField(default=""),
            preserve_default=False,
        ),
        migrations.AlterField(
            model_name="webhookendpoint",
            name="secret",
            field=models.CharField(max_length=128, blank=True, default=""),
        ),
        migrations.RunPython(encrypt_secrets, decrypt_secrets),
        migrations.RemoveField(model_name="webhookendpoint", name="secret"),
        migrations.AddField(
            model_name="webhookendpoint",
            name="circuit_open_until",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="webhookendpoint",
            name="consecutive_failures",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddIndex(
            model_name="webhookdelivery",
            index=models.Index(
                condition=models.Q(("status", "sending")), fields=["endpoint"], name="webhook_delivery_sending"
            ),
        ),
        migrations.AddIndex(
            model_name="webhookdelivery",
            index=models.Index(
                condition=models.Q(("status__in", ["pending", "failed", "sending"])),
                fields=["endpoint", "next_attempt_at"],
                name="webhook_delivery_due_endpoint",
            ),
        ),
    ]
