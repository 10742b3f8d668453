from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self) -> None:
        # Socket access receivers. The OpenAPI auth scheme (accounts.schema) is registered by
        # blazz/urls.py: only a process that serves the schema needs drf-spectacular loaded,
        # and importing it cost every Celery worker 0.23 s of its start (issue 18).
        from accounts import signals  # noqa: F401
