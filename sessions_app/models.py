import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from phonenumber_field.modelfields import PhoneNumberField

from blazz.idempotency import idempotency_key_field, idempotency_key_unique


class WorkerInstance(models.Model):
    """A session worker process (`celery worker -Q wa.<name>`), as its heartbeat reports it."""

    class Status(models.TextChoices):
        ALIVE = "alive", "Alive"
        DRAINING = "draining", "Draining"
        # The process died and its reaper is saving what its browsers held (rescue.py):
        # its numbers stay put until the reaper marks it dead, or the rescue deadline passes.
        RESCUING = "rescuing", "Rescuing"
        DEAD = "dead", "Dead"

    name = models.CharField(max_length=100, unique=True)
    queue = models.CharField(max_length=120)
    hostname = models.CharField(max_length=255, blank=True)
    pid = models.IntegerField(null=True, blank=True)
    capacity = models.PositiveIntegerField(default=10)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ALIVE, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    last_heartbeat_at = models.DateTimeField(null=True, blank=True)
    metrics = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class WhatsAppSession(models.Model):
    """One WhatsApp number connection, hosted by one worker's browser at a time."""

    class Status(models.TextChoices):
        STARTING = "starting", "Starting"
        QR_SCANNING = "qr_scanning", "Waiting for QR scan"
        AUTHENTICATED = "authenticated", "Authenticated"
        CONNECTED = "connected", "Connected"
        DISCONNECTED = "disconnected", "Disconnected"
        FAILED = "failed", "Failed"
        STOPPED = "stopped", "Stopped"

    class Verb(models.TextChoices):
        """A verb asked of the session's worker and not yet carried out (see pending_verb)."""

        NONE = "", "None"
        STOP = "stop", "Stop"
        RESTART = "restart", "Restart"
        LOGOUT = "logout", "Log out"

    class Provider(models.TextChoices):
        WEBJS = "webjs", "WhatsApp Web"
        META = "meta", "Meta Cloud API (reserved)"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="wa_sessions")
    session_id = models.CharField(max_length=64, unique=True)
    phone_number = PhoneNumberField(null=True, blank=True)
    # What the team calls this number ("Sales", "Support"), shown beside the phone everywhere.
    display_name = models.CharField(max_length=80, blank=True, db_default="")
    provider_type = models.CharField(max_length=10, choices=Provider.choices, default=Provider.WEBJS)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.STARTING, db_index=True)
    qr_code = models.TextField(blank=True)
    qr_expires_at = models.DateTimeField(null=True, blank=True)
    is_primary = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    assigned_worker = models.ForeignKey(
        WorkerInstance, null=True, blank=True, on_delete=models.SET_NULL, related_name="sessions"
    )
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    restart_attempts = models.PositiveIntegerField(default=0)
    # A stop, restart or logout asked of the worker is recorded here before its Celery
    # message goes out and cleared by the worker once done: a lost message is re-sent by
    # reconciliation, and a second request while one is pending is not sent at all (a burst
    # of restarts is one restart). Starts need no such record: a `starting` session its
    # worker does not host stops having its lease renewed, and reconciliation starts it again.
    pending_verb = models.CharField(
        max_length=10, choices=Verb.choices, default="", db_default="", blank=True
    )
    pending_verb_at = models.DateTimeField(null=True, blank=True)
    last_activity_at = models.DateTimeField(null=True, blank=True)
    last_connected_at = models.DateTimeField(null=True, blank=True)
    last_heartbeat_at = models.DateTimeField(null=True, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    # The API client's (or the form's) Idempotency-Key of the create, if any (blazz.idempotency).
    idempotency_key = idempotency_key_field()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    deleted_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        verbose_name = "WhatsApp number"
        ordering = ["-created_at"]
        constraints = [
            # F3: one connected, live session per phone and workspace; disconnected and
            # soft-deleted rows of the same phone may coexist with it.
            models.UniqueConstraint(
                fields=["workspace", "phone_number"],
                condition=Q(status="connected", deleted_at__isnull=True),
                name="wa_session_one_connected_per_phone",
            ),
            models.UniqueConstraint(
                fields=["workspace"],
                condition=Q(is_primary=True, deleted_at__isnull=True),
                name="wa_session_one_primary_per_workspace",
            ),
            idempotency_key_unique(name="wa_session_unique_idempotency_key"),
        ]
        indexes = [models.Index(fields=["workspace", "status"])]

    def __str__(self) -> str:
        return f"{self.phone_number or self.session_id} ({self.status})"


class SessionSnapshot(models.Model):
    """The browser login state of a session (compressed, encrypted), so any worker can
    restore it without a QR scan (F1). Caches are never part of it."""

    session = models.OneToOneField(WhatsAppSession, on_delete=models.CASCADE, related_name="snapshot")
    data = models.BinaryField()
    size_bytes = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    saved_at = models.DateTimeField()
    browser_version = models.CharField(max_length=64, blank=True)

    def __str__(self) -> str:
        return f"snapshot of {self.session_id} ({self.size_bytes} B)"


class SessionEvent(models.Model):
    """The timeline of a session: status changes, restarts, failovers, probe failures."""

    class Kind(models.TextChoices):
        STATUS_CHANGE = "status_change", "Status change"
        RESTART = "restart", "Restart"
        FAILOVER = "failover", "Failover"
        PROBE_FAILURE = "probe_failure", "Probe failure"
        ASSIGNMENT = "assignment", "Assignment"
        QR_ATTEMPT = "qr_attempt", "QR attempt"
        SNAPSHOT = "snapshot", "Snapshot"
        PAGE_EVENT = "page_event", "Page event"
        ERROR = "error", "Error"

    session = models.ForeignKey(WhatsAppSession, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    detail = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["session", "at"])]

    def __str__(self) -> str:
        return f"{self.kind} @ {self.at:%Y-%m-%d %H:%M:%S}"
