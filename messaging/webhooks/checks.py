"""System checks of the webhook settings (DESIGN F13: a detectable misconfiguration is a
`manage.py check` error, not a surprise in production)."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, register

from messaging.webhooks.delivery import CLAIM_LEASE


@register()
def check_webhook_settings(app_configs, **kwargs) -> list[Error]:
    errors = []
    lease = CLAIM_LEASE.total_seconds()
    if not 0 < settings.BLAZZ_WEBHOOK_DEADLINE_SECONDS < lease:
        errors.append(
            Error(
                "BLAZZ_WEBHOOK_DEADLINE_SECONDS must be above 0 and under the delivery claim lease "
                f"({lease:.0f} s): an attempt still running after its lease could be sent a second time.",
                id="messaging.E001",
            )
        )
    for name in (
        "BLAZZ_WEBHOOK_ENDPOINT_CONCURRENCY",
        "BLAZZ_WEBHOOK_CIRCUIT_FAILURES",
        "BLAZZ_QUOTA_WEBHOOK_ENDPOINTS",
    ):
        if getattr(settings, name) < 1:
            errors.append(Error(f"{name} must be at least 1.", id="messaging.E002"))
    return errors
