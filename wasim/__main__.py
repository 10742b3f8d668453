"""``python -m wasim [--host H] [--port N] [--state-file F] [--qr-period S]``"""

from .server import main

main()
