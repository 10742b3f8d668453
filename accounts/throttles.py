"""Sign-ups per client IP address (BLAZZ_SIGNUP_RATE), on the cache like the API's throttles
(DRF's sliding window). The address is REMOTE_ADDR only, as for the login lockout: DRF's own
get_ident would believe any X-Forwarded-For a client sends. Behind a reverse proxy, the
server must be told to take the client address from it (daphne --proxy-headers)."""

from __future__ import annotations

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle


class SignupRateThrottle(SimpleRateThrottle):
    scope = "signup"

    def get_rate(self) -> str | None:
        return settings.BLAZZ_SIGNUP_RATE or None

    def get_cache_key(self, request, view) -> str | None:
        return self.cache_format % {"scope": self.scope, "ident": request.META.get("REMOTE_ADDR", "")}
