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
            fields = {field.field_name: field for field in self._writable_fields}
            unknown = sorted(str(name) for name in data if name not in fields)
            if unknown:
                hint = f"Unknown field; this accepts: {', '.join(sorted(fields))}."
                raise serializers.ValidationError(
                    {name: [ErrorDetail(hint, code="unknown_field")] for name in unknown}
                )
            # DRF's CharField turns 42 into "42"; a number where text is expected is a
            # client's bug (a phone number that lost its "+", a template id), not text.
            not_text = {
                name: [ErrorDetail(f"Expected text, got {type(value).__name__}.", code="invalid")]
                for name, value in data.items()
                if isinstance(fields[name], serializers.CharField) and isinstance(value, int | float)
            }
            if not_text:
                raise serializers.ValidationError(not_text)
        return super().to_internal_value(data)


def refuse_request_body(request: Request) -> None:
    """For write endpoints that take no body (verbs such as start or cancel): a body is a
    client's mistake, answered with a 400 (or the parser's 400/413) instead of being ignored."""
    if request.data:
        names = sorted(str(name) for name in request.data) if isinstance(request.data, Mapping) else []
        message = "This endpoint takes no request body."
        raise serializers.ValidationError(
            {name: [ErrorDetail(message, code="unknown_field")] for name in names}
            or [ErrorDetail(message, code="unexpected_body")]
        )
