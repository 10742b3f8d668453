"""Limits on any JSON document Blazz stores, whichever door it came in by (the API's parser,
a form's JSON field): PostgreSQL cannot store U+0000 in text or jsonb, and a deeply nested
document is an attack on whoever walks it next."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

# Deeper than any document Blazz takes; a deeper one is an attack, not data.
MAX_JSON_DEPTH = 32
_NUL_MESSAGE = "Text may not contain NUL (\\u0000) characters."


class JsonDocumentRefused(ValueError):
    def __init__(self, message: str, field: str | None, code: str) -> None:
        self.message, self.field, self.code = message, field, code


def json_document_check(data: Any) -> None:
    """Refuses NUL characters (in keys or values) and nesting past MAX_JSON_DEPTH, walking
    iteratively so a hostile document cannot exhaust the stack."""
    pending: list[tuple[Any, str | None, int]] = [(data, None, 0)]
    while pending:
        value, path, depth = pending.pop()
        if depth > MAX_JSON_DEPTH:
            raise JsonDocumentRefused(f"JSON nested deeper than {MAX_JSON_DEPTH} levels.", path, "too_deep")
        if isinstance(value, str):
            if "\x00" in value:
                raise JsonDocumentRefused(_NUL_MESSAGE, path, "null_characters_not_allowed")
        elif isinstance(value, dict):
            for key, item in value.items():
                if "\x00" in key:
                    raise JsonDocumentRefused(_NUL_MESSAGE, path, "null_characters_not_allowed")
                pending.append((item, f"{path}.{key}" if path else key, depth + 1))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                pending.append((item, f"{path}.{index}" if path else str(index), depth + 1))


class JsonDocumentFormField(forms.JSONField):
    """A form's JSON field: a document nested so deeply that the JSON decoder itself gives up
    (RecursionError) is a form error, not a 500. The services check what it decodes to
    (json_document_check), as they do for the API."""

    def to_python(self, value: Any) -> Any:
        try:
            return super().to_python(value)
        except RecursionError:
            raise ValidationError(
                f"JSON nested deeper than {MAX_JSON_DEPTH} levels.", code="too_deep"
            ) from None

    def bound_data(self, data: Any, initial: Any) -> Any:
        # Re-showing the refused text decodes it again (Django keeps text that is not JSON).
        try:
            return super().bound_data(data, initial)
        except RecursionError:
            return forms.fields.InvalidJSONInput(data)
