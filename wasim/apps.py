from django.apps import AppConfig


class WasimConfig(AppConfig):
    """Only so `manage.py wasim` exists in development; the simulator itself needs no Django."""

    name = "wasim"
    verbose_name = "WhatsApp Web simulator (test double)"
