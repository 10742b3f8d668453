from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self) -> None:
        from accounts import schema, signals  # noqa: F401  (OpenAPI auth scheme; socket access receivers)
