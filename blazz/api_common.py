"""Small pieces every DRF view of Blazz shares."""

from rest_framework.exceptions import ParseError
from rest_framework.request import Request


def idempotency_key_from(request: Request, *, max_length: int) -> str | None:
    """The request's `Idempotency-Key` header, or None when absent. A malformed key is a 400
    (never stored, never a 500): printable ASCII of at most `max_length` characters."""
    key = request.headers.get("Idempotency-Key", "").strip()
    if len(key) > max_length or not key.isascii() or not key.isprintable():
        raise ParseError(f"Idempotency-Key must be printable ASCII of at most {max_length} characters.")
    return key or None
