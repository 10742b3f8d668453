"""The API reads JSON only, and refuses NUL characters anywhere in it.

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


def _first_nul_path(value: Any, path: str | None = None) -> tuple[bool, str | None]:
    if isinstance(value, str):
        return "\x00" in value, path
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            if "\x00" in str(key):
                return True, path
            found, where = _first_nul_path(item, here)
            if found:
                return True, where
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found, where = _first_nul_path(item, f"{path}.{index}" if path else str(index))
            if found:
                return True, where
    return False, None


class GuardedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read() if stream is not None else b""
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            data = json.loads(raw.decode(encoding), parse_constant=self._refuse_constant)
        except ValueError as exc:  # includes UnicodeDecodeError
            raise exceptions.ParseError(f"The request body is not valid JSON: {exc}") from None
        found, field = _first_nul_path(data)
        if found:
            raise exceptions.ValidationError(
                {field or "non_field_errors": ["Text may not contain NUL (\\u0000) characters."]},
                code="null_characters_not_allowed",
            )
        return data

    @staticmethod
    def _refuse_constant(name: str) -> None:
        raise ValueError(f"{name} is not valid JSON")
