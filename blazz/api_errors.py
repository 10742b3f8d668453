"""One error body for the whole API: `{"error": {"code", "message", "field"}}`.

Every refusal, whether DRF's own (validation, authentication, throttling, parsing), Django's
(404) or a domain service's (turned into an `ApiError` by the app's view mixin), leaves
through `api_exception_handler`, so integrators parse one shape. A validation error with
several problems also lists them all under `details`; `code`/`message`/`field` repeat the
first, so a client that reads only those still shows something true."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


class ApiError(exceptions.APIException):
    """A domain refusal with its HTTP status, a machine `code` and a message written for users."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        code: str,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail=message, code=code)
        self.status_code = status_code
        self.field = field
        self.headers = headers or {}


@dataclass(frozen=True)
class ServiceError:
    """How one kind of service refusal is answered: its status and code; the error's field is
    `field`, else the exception's own `field` attribute; a `wait_seconds` attribute becomes
    `Retry-After` when `retry_after` is set."""

    exception: type[Exception] | tuple[type[Exception], ...]
    status_code: int
    code: str
    field: str | None = None
    retry_after: bool = False

    def answer(self, exc: Exception) -> ApiError:
        headers = (
            {"Retry-After": str(max(1, int(getattr(exc, "wait_seconds", 1))))} if self.retry_after else None
        )
        field = self.field or getattr(exc, "field", None)
        return ApiError(str(exc), status_code=self.status_code, code=self.code, field=field, headers=headers)


class ServiceErrorsMixin:
    """The one place API views turn services' refusals into answers: a view lists its
    `service_errors` (most specific first); the services' messages were written for users and
    pass through as the error's `message`."""

    service_errors: tuple[ServiceError, ...] = ()

    def handle_exception(self, exc: Exception):
        for rule in self.service_errors:
            if isinstance(exc, rule.exception):
                exc = rule.answer(exc)
                break
        return super().handle_exception(exc)  # type: ignore[misc]


class RequestTooLarge(exceptions.APIException):
    status_code = 413
    default_code = "request_too_large"
    default_detail = "The request body is too large."


def _flatten(detail: Any, path: str | None = None) -> Iterator[tuple[str | None, str, str]]:
    """(field, code, message) for every leaf of a DRF error detail; nested fields are dotted
    (`sessions.0`), and `non_field_errors` has no field."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = None if key in ("non_field_errors", "detail") else str(key)
            yield from _flatten(value, f"{path}.{name}" if path and name else (name or path))
    elif isinstance(detail, list):
        nested = any(isinstance(item, dict | list) for item in detail)
        for index, item in enumerate(detail):
            yield from _flatten(item, f"{path}.{index}" if nested and path else path)
    else:
        yield path, getattr(detail, "code", None) or "invalid", str(detail)


def _error_body(exc: Exception, data: Any) -> dict:
    problems = list(_flatten(data)) or [(None, "error", "The request failed.")]
    field, code, message = problems[0]
    if isinstance(exc, ApiError):
        field = exc.field
    body: dict[str, Any] = {"code": code, "message": message, "field": field}
    if isinstance(exc, exceptions.ValidationError):
        body["details"] = [{"field": f, "code": c, "message": m} for f, c, m in problems]
    return {"error": body}


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF's handler (statuses, `Retry-After`, `WWW-Authenticate`), then the one error body.
    Anything it does not know (a bug) stays a 500 for Django's error reporting."""
    if isinstance(exc, RequestDataTooBig):
        exc = RequestTooLarge(
            f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes."
        )
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    response.data = _error_body(exc, response.data)
    if isinstance(exc, ApiError):
        for name, value in exc.headers.items():
            response[name] = value
    return response


# --- Schema --------------------------------------------------------------------------------------


class ErrorDetailSerializer(serializers.Serializer):
    field = serializers.CharField(allow_null=True)
    code = serializers.CharField()
    message = serializers.CharField()


class ErrorBodySerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Machine-readable, e.g. `invalid`, `not_found`, `throttled`.")
    message = serializers.CharField(help_text="Written for people; safe to show.")
    field = serializers.CharField(allow_null=True, help_text="The input field at fault, if one is.")
    details = ErrorDetailSerializer(
        many=True, required=False, help_text="Every problem, for a validation error with several."
    )


class ErrorSerializer(serializers.Serializer):
    error = ErrorBodySerializer()


def error_response(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=description)


# Answers any operation can give, declared on every operation by `declare_common_errors` so
# the schema tells the truth without each view repeating them.
_COMMON_ERRORS = {
    "401": "Missing, malformed, revoked or expired API key.",
    "403": "The key may not do this.",
    "406": "The `Accept` header asks for a format the API does not produce.",
    "429": "Too many requests for this API key; `Retry-After` says how many seconds to wait.",
}
_WITH_INPUT_ERRORS = {"400": "Invalid input; `error.field` names the field at fault."}
_WITH_BODY_ERRORS = {
    "413": "The request body is larger than the API accepts.",
    "415": "The request body is not JSON (or form data).",
}
_WITH_PATH_ERRORS = {"404": "No such object in this workspace."}
_RETRY_AFTER_HEADER = {
    "Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait before retrying."}
}


def declare_common_errors(result: dict, generator, request, public) -> dict:
    """drf-spectacular postprocessing hook: adds the error answers every operation can give
    (authentication, throttling, bad input, unknown ids) where a view did not declare its own."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    if "Error" not in schemas:
        return result  # no operation uses the API's error body (not the /api/v1 schema)
    ref = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            wanted = dict(_COMMON_ERRORS)
            parameters = operation.get("parameters", [])
            if operation.get("requestBody") or parameters:
                wanted |= _WITH_INPUT_ERRORS
            if operation.get("requestBody") or method in ("post", "put", "patch"):
                wanted |= _WITH_BODY_ERRORS
            if "{" in path:
                wanted |= _WITH_PATH_ERRORS
            responses = operation.setdefault("responses", {})
            for status_code, description in wanted.items():
                responses.setdefault(status_code, {"description": description, "content": ref})
            responses["429"].setdefault("headers", _RETRY_AFTER_HEADER)
    return result
