"""Per-API-key throttles on the Redis cache (DRF's sliding window). Only the public API is
throttled: inbound messages never pass through here (F4). The limits are settings read on
every request, so an operator's change (or a test's) applies without a restart."""

from __future__ import annotations

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from accounts.models import ApiKey


class ApiKeyRateThrottle(SimpleRateThrottle):
    """Every request of one key: BLAZZ_API_THROTTLE_RATE (e.g. `600/min`)."""

    scope = "api_key"
    setting = "BLAZZ_API_THROTTLE_RATE"

    def get_rate(self) -> str | None:
        return getattr(settings, self.setting) or None

    def get_cache_key(self, request, view) -> str | None:
        if not isinstance(request.auth, ApiKey):
            return None  # refused by authentication anyway; nothing to count against
        return self.cache_format % {"scope": self.scope, "ident": request.auth.prefix}


class ApiKeySendRateThrottle(ApiKeyRateThrottle):
    """Message sends of one key, a tighter budget on top of the general one:
    BLAZZ_API_SEND_THROTTLE_RATE. Only POST counts (reading messages is not sending)."""

    scope = "api_key_send"
    setting = "BLAZZ_API_SEND_THROTTLE_RATE"

    def allow_request(self, request, view) -> bool:
        if request.method != "POST":
            return True
        return super().allow_request(request, view)
