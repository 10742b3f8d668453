"""Small pieces every DRF view of Blazz shares."""

from collections.abc import Mapping

from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail, ParseError
from rest_framework.request import Request


def idempotency_key_from(request: Request, *, max_length: int) -> str | None:
    """The request's `Idempotency-Key` header, or None when absent. A malformed key is a 400
    (never stored, never a 500): printable ASCII of at most `max_length` characters."""
    key = request.headers.get("Idempotency-Key", "").strip()
    if len(key) > max_length or not key.isascii() or not key.isprintable():
        raise ParseError(f"Idempotency-Key must be printable ASCII of at most {max_length} characters.")
    return key or None


class InputSerializer(serializers.Serializer):
    """Base of every request body: a field the endpoint does not take is a 400 naming it, not
    silently dropped (a typo such as `bdy` or a guessed `is_admin` must not look accepted)."""

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            accepted = {field.field_name for field in self._writable_fields}
            unknown = sorted(str(name) for name in data if name not in accepted)
            if unknown:
                hint = f"Unknown field; this accepts: {', '.join(sorted(accepted))}."
                raise serializers.ValidationError(
                    {name: [ErrorDetail(hint, code="unknown_field")] for name in unknown}
                )
        return super().to_internal_value(data)
