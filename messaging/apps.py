from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "messaging"

    def ready(self) -> None:
        from messaging.media import checks as media_checks  # noqa: F401  (registers the system checks)
        from messaging.webhooks import checks  # noqa: F401
