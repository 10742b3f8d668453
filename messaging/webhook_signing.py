"""Standard Webhooks signatures (https://www.standardwebhooks.com/): the receiver checks
`webhook-signature` = `v1,<base64 HMAC-SHA256("{id}.{timestamp}.{body}")>` keyed with the
decoded bytes of the endpoint's `whsec_<base64>` secret, and rejects old timestamps."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

SECRET_PREFIX = "whsec_"  # noqa: S105 - a format marker, not a secret  # nosec B105
SECRET_BYTES = 24


def webhook_secret_generate() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _secret_key(secret: str) -> bytes:
    if secret.startswith(SECRET_PREFIX):
        # Padding is appended as the reference library does: b64decode ignores the excess.
        return base64.b64decode(secret[len(SECRET_PREFIX) :] + "==")
    # Rows written before secrets had a format: their text is the key.
    return secret.encode()


def webhook_signature(*, secret: str, msg_id: str, timestamp: int, body: str) -> str:
    to_sign = f"{msg_id}.{timestamp}.{body}".encode()
    digest = hmac.new(_secret_key(secret), to_sign, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def webhook_headers(*, secret: str, msg_id: str, timestamp: int, body: str) -> dict[str, str]:
    """The three Standard Webhooks headers for one attempt. `msg_id` is stable across retries
    so receivers can deduplicate; `timestamp` is the attempt's, so a retry is never 'too old'."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": webhook_signature(secret=secret, msg_id=msg_id, timestamp=timestamp, body=body),
    }
