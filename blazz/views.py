from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from django.views.decorators.http import require_GET

from blazz.health import check_dependencies


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when PostgreSQL and Redis answer; 503 naming the one that does not."""
    statuses = check_dependencies()
    body = {s.name: {"ok": s.ok, "detail": s.detail} for s in statuses}
    down = [s.name for s in statuses if not s.ok]
    body["status"] = "ok" if not down else "down: " + ", ".join(down)
    return JsonResponse(body, status=200 if not down else 503)


# Django answers a URL no pattern matches (an id the <uuid:> converter refuses) and an
# unhandled error before DRF sees the request; API clients still get the API's error body.
def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path.startswith("/api/"):
        error = {"code": "not_found", "message": "No such resource.", "field": None}
        return JsonResponse({"error": error}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if request.path.startswith("/api/"):
        error = {"code": "server_error", "message": "The server failed; the error was logged.", "field": None}
        return JsonResponse({"error": error}, status=500)
    return defaults.server_error(request)
