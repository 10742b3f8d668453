"""Fixtures of the messaging tests: `media_root`, a media storage of the test's own."""

from tests.messaging.media_support import media_root

__all__ = ["media_root"]
