"""Campaign settings that cannot work are `manage.py check` errors (F13), not a dispatcher
that silently sends nothing or floods a number."""

from django.conf import settings
from django.core.checks import Error, register


@register()
def campaign_settings_check(app_configs, **kwargs):
    errors = []
    positive = [
        "BLAZZ_CAMPAIGN_DAILY_CAP_NEW",
        "BLAZZ_CAMPAIGN_DAILY_CAP_YOUNG",
        "BLAZZ_CAMPAIGN_DAILY_CAP_MATURE",
        "BLAZZ_CAMPAIGN_PER_MINUTE",
        "BLAZZ_CAMPAIGN_PER_HOUR",
        "BLAZZ_CAMPAIGN_MAX_ATTEMPTS",
        "BLAZZ_CAMPAIGN_DISPATCH_BATCH",
        "BLAZZ_CAMPAIGN_REPLAN_LAG_SECONDS",
    ]
    for name in positive:
        if getattr(settings, name) < 1:
            errors.append(Error(f"{name} must be at least 1.", id="campaigns.E001"))
    gap_min, gap_max = settings.BLAZZ_CAMPAIGN_GAP_MIN_SECONDS, settings.BLAZZ_CAMPAIGN_GAP_MAX_SECONDS
    if not 0 <= gap_min <= gap_max:
        errors.append(
            Error(
                "BLAZZ_CAMPAIGN_GAP_MIN_SECONDS must be between 0 and BLAZZ_CAMPAIGN_GAP_MAX_SECONDS "
                f"(got {gap_min} and {gap_max}).",
                id="campaigns.E002",
            )
        )
    return errors
