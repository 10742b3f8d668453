"""Refusals that belong before any view runs."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse

_NUL_MESSAGE = "Query parameters may not contain NUL (\\u0000) characters."


class RefuseNulQueryMiddleware:
    """PostgreSQL cannot compare text with U+0000, so a `?q=%00` reaching any filter would be
    a database error (a 500). Refusing it here covers every list, search and filter of the UI
    and the API, including ones not written yet. API callers get the API's error body."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        for name, values in request.GET.lists():
            if "\x00" in name or any("\x00" in value for value in values):
                if request.path.startswith("/api/"):
                    error = {"code": "null_characters_not_allowed", "message": _NUL_MESSAGE, "field": name}
                    return JsonResponse({"error": error | {"details": [error]}}, status=400)
                return HttpResponseBadRequest(_NUL_MESSAGE)
        return self.get_response(request)
