"""One ASGI app for HTTP (Django) and websockets (Channels), served by daphne."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "blazz.settings")
# Django must be set up before anything imports models (the consumers do).
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from blazz.body_limit import RequestBodyLimitMiddleware, install_daphne_guard  # noqa: E402
from blazz.routing import websocket_urlpatterns  # noqa: E402

# Bodies over the cap are refused before they are read: by daphne as the headers arrive, and
# by the middleware for any server that streams bodies (blazz/body_limit.py).
install_daphne_guard()

application = ProtocolTypeRouter(
    {
        "http": RequestBodyLimitMiddleware(django_asgi_app),
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
