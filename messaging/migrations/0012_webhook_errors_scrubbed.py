"""Receiver text recorded before issue 16 is removed: `last_error` and attempt errors held the
first 200 characters of a non-2xx answer (an internal page, read back through SSRF) and raw
exception texts. They become the fixed reasons delivery records now (messaging.webhooks.delivery).
Not reversible: the text is gone on purpose."""

from django.db import migrations
from django.db.models import CharField, Q, Value
from django.db.models.functions import Cast, Concat

REDIRECT = " from receiver: redirects are not followed (register the final URL)."
TIMEOUT = "Timeout: the receiver did not answer in time."
BROKEN = "Connection failed: the connection to the receiver broke."
# What delivery wrote itself (not receiver text), kept as it is.
OURS = ("Refused: ", "Endpoint is disabled", "Not sent: ")


def _scrub(model, code: str, error: str) -> None:
    rows = model.objects.exclude(**{error: ""})
    as_text = Cast(code, CharField())
    rows.filter(**{f"{code}__gte": 300, f"{code}__lt": 400}).update(
        **{error: Concat(Value("HTTP "), as_text, Value(REDIRECT))}
    )
    rows.filter(**{f"{code}__gte": 400}).update(**{error: Concat(Value("HTTP "), as_text, Value(" from receiver."))})
    unanswered = rows.filter(**{f"{code}__isnull": True})
    unanswered.filter(**{f"{error}__startswith": "Timeout"}).update(**{error: TIMEOUT})
    ours = Q()
    for prefix in (*OURS, "Timeout"):
        ours |= Q(**{f"{error}__startswith": prefix})
    unanswered.exclude(ours).update(**{error: BROKEN})


def scrub_receiver_text(apps, schema_editor):
    _scrub(apps.get_model("messaging", "WebhookDelivery"), "last_status_code", "last_error")
    _scrub(apps.get_model("messaging", "WebhookAttempt"), "status_code", "error")


class Migration(migrations.Migration):
    dependencies = [("messaging", "0011_webhook_secret_encrypted_circuit")]

    operations = [migrations.RunPython(scrub_receiver_text, migrations.RunPython.noop)]
