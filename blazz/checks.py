"""Misconfiguration that can be detected is a `manage.py check` error (F13), not a
surprise in production."""

from pathlib import Path
from urllib.parse import urlparse

from cryptography.fernet import Fernet
from django.conf import settings
from django.core.checks import Error, Tags, Warning, register


@register(Tags.security, deploy=False)
def check_secrets(app_configs, **kwargs):
    problems = []
    if not settings.BLAZZ_SNAPSHOT_KEYS:
        problems.append(
            Error(
                "BLAZZ_SNAPSHOT_KEYS is empty: session snapshots cannot be encrypted.",
                hint="Set BLAZZ_SNAPSHOT_KEYS to a comma-separated list of Fernet keys (make one with: "
                "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())').",
                id="blazz.E002",
            )
        )
    for index, key in enumerate(settings.BLAZZ_SNAPSHOT_KEYS):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            problems.append(
                Error(f"BLAZZ_SNAPSHOT_KEYS[{index}] is not a valid Fernet key.", id="blazz.E003")
            )
    return problems


@register()
def check_browser_and_targets(app_configs, **kwargs):
    problems = []
    if settings.BLAZZ_BROWSER not in ("selenium", "uc"):
        problems.append(
            Error(f"BLAZZ_BROWSER={settings.BLAZZ_BROWSER!r}; expected 'selenium' or 'uc'.", id="blazz.E010")
        )
    wa_url = urlparse(settings.BLAZZ_WA_URL)
    if wa_url.scheme not in ("http", "https") or not wa_url.netloc:
        problems.append(
            Error(f"BLAZZ_WA_URL={settings.BLAZZ_WA_URL!r} is not an http(s) URL.", id="blazz.E011")
        )
    if settings.BLAZZ_FAULT_KILL_BEFORE_INBOUND_COMMIT and not settings.DEBUG:
        problems.append(
            Error(
                "BLAZZ_FAULT_KILL_BEFORE_INBOUND_COMMIT is a test hook and must be off when DEBUG is off.",
                id="blazz.E016",
            )
        )
    if settings.BLAZZ_WORKER_CAPACITY < 1:
        problems.append(Error("BLAZZ_WORKER_CAPACITY must be at least 1.", id="blazz.E012"))
    for name in ("BLAZZ_CHROMIUM_PATH", "BLAZZ_CHROMEDRIVER_PATH"):
        if not Path(getattr(settings, name)).exists():
            problems.append(
                Warning(
                    f"{name}={getattr(settings, name)} does not exist: workers cannot start browsers.",
                    hint="apt-get install -y chromium chromium-driver (the run command does this).",
                    id="blazz.W010",
                )
            )
    bundle = str(settings.BLAZZ_WAJS_BUNDLE)
    if not bundle.startswith(("http://", "https://")) and not Path(bundle).is_file():
        problems.append(
            Warning(
                f"BLAZZ_WAJS_BUNDLE={bundle} does not exist: no session can open WhatsApp Web.",
                hint="scripts/vendor_wajs.sh installs the pinned wa-js bundle (the run command does this).",
                id="blazz.W011",
            )
        )
    return problems


@register()
def check_media_uploads(app_configs, **kwargs):
    """Issue 17: the upload cap must let a document at its limit through, and a media URL
    exemption must name one host and port (a bare name would read as every port)."""
    problems = []
    document_limit = getattr(settings, "BLAZZ_MEDIA_MAX_DOCUMENT_BYTES", 0)
    upload_cap = settings.BLAZZ_MEDIA_UPLOAD_MAX_REQUEST_BYTES
    if upload_cap <= document_limit:
        problems.append(
            Error(
                f"BLAZZ_MEDIA_UPLOAD_MAX_REQUEST_BYTES ({upload_cap}) must be "
                f"larger than BLAZZ_MEDIA_MAX_DOCUMENT_BYTES ({document_limit}): a document at its limit, "
                "with the form around it, would be refused with 413.",
                id="blazz.E020",
            )
        )
    for entry in settings.BLAZZ_MEDIA_URL_ALLOWED_HOSTS:
        host, _, port = entry.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            problems.append(
                Error(f"BLAZZ_MEDIA_URL_ALLOWED_HOSTS entry {entry!r} is not host:port.", id="blazz.E021")
            )
    return problems
