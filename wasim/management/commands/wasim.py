"""``manage.py wasim``: run the WhatsApp Web simulator (DESIGN §6) on BLAZZ_WASIM_HOST and
BLAZZ_WASIM_PORT unless told otherwise. Stops cleanly on SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from wasim import server


class Command(BaseCommand):
    help = "Run the WhatsApp Web simulator (a test double of WhatsApp's servers and phones)."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        server.add_arguments(
            parser, default_host=settings.BLAZZ_WASIM_HOST, default_port=settings.BLAZZ_WASIM_PORT
        )

    def handle(self, *args: Any, **options: Any) -> None:
        def announce(line: str) -> None:
            self.stdout.write(line)
            self.stdout.flush()

        asyncio.run(
            server.serve(
                host=options["host"],
                port=options["port"],
                state_file=options["state_file"],
                qr_period=options["qr_period"],
                announce=announce,
            )
        )
