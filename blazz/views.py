from django.http import HttpRequest, JsonResponse
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
