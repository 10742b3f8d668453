from django.apps import AppConfig


class BlazzConfig(AppConfig):
    name = "blazz"

    def ready(self) -> None:
        from blazz import checks  # noqa: F401  (registers the system checks)
