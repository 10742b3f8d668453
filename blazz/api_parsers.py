"""The API reads JSON only, and refuses NUL characters anywhere in it and absurd nesting.

PostgreSQL cannot store U+0000 in text or jsonb. CharFields refuse it, but a JSON field
(contact metadata, campaign audience) would reach the database and fail there as a 500;
refusing it while parsing covers every field, present and future, at once. (The size limit
is Django's DATA_UPLOAD_MAX_MEMORY_SIZE: DRF reads JSON through `request.body`, which
enforces it; `api_exception_handler` turns the refusal into a 413.)"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from rest_framework import exceptions
from rest_framework.parsers import JSONParser

# Deeper than any request of this API; a deeper document is an attack on the parser.
MAX_JSON_DEPTH = 32
_NUL_MESSAGE = "Text may not contain NUL (\\u0000) characters."


class _Refused(Exception):
    def __init__(self, message: str, field: str | None, code: str) -> None:
        self.message, self.field, self.code = message, field, code


def _check_document(data: Any) -> None:
    """Refuses NUL characters (in keys or values) and nesting past MAX_JSON_DEPTH, walking
    iteratively so a hostile document cannot exhaust the stack."""
    pending: list[tuple[Any, str | None, int]] = [(data, None, 0)]
    while pending:
        value, path, depth = pending.pop()
        if depth > MAX_JSON_DEPTH:
            raise _Refused(f"JSON nested deeper than {MAX_JSON_DEPTH} levels.", path, "too_deep")
        if isinstance(value, str):
            if "\x00" in value:
                raise _Refused(_NUL_MESSAGE, path, "null_characters_not_allowed")
        elif isinstance(value, dict):
            for key, item in value.items():
                if "\x00" in key:
                    raise _Refused(_NUL_MESSAGE, path, "null_characters_not_allowed")
                pending.append((item, f"{path}.{key}" if path else key, depth + 1))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                pending.append((item, f"{path}.{index}" if path else str(index), depth + 1))


class GuardedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read() if stream is not None else b""
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            data = json.loads(raw.decode(encoding), parse_constant=self._refuse_constant)
        except ValueError as exc:  # includes UnicodeDecodeError
            raise exceptions.ParseError(f"The request body is not valid JSON: {exc}") from None
        except RecursionError:
            raise exceptions.ParseError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels.") from None
        try:
            _check_document(data)
        except _Refused as refused:
            raise exceptions.ValidationError(
                {refused.field or "non_field_errors": [refused.message]}, code=refused.code
            ) from None
        return data

    @staticmethod
    def _refuse_constant(name: str) -> None:
        raise ValueError(f"{name} is not valid JSON")
