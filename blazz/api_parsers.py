"""The API reads JSON only, and refuses NUL characters anywhere in it and absurd nesting.

PostgreSQL cannot store U+0000 in text or jsonb. CharFields refuse it, but a JSON field
(contact metadata, campaign audience) would reach the database and fail there as a 500;
refusing it while parsing covers every field, present and future, at once. (The size limit
is Django's DATA_UPLOAD_MAX_MEMORY_SIZE: DRF reads JSON through `request.body`, which
enforces it; `api_exception_handler` turns the refusal into a 413.)"""

from __future__ import annotations

import json

from django.conf import settings
from rest_framework import exceptions
from rest_framework.parsers import JSONParser

from blazz.json_documents import MAX_JSON_DEPTH, JsonDocumentRefused, json_document_check


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
            json_document_check(data)
        except JsonDocumentRefused as refused:
            raise exceptions.ValidationError(
                {refused.field or "non_field_errors": [refused.message]}, code=refused.code
            ) from None
        return data

    @staticmethod
    def _refuse_constant(name: str) -> None:
        raise ValueError(f"{name} is not valid JSON")
