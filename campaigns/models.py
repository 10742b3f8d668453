import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from blazz.idempotency import idempotency_key_field, idempotency_key_unique


class Campaign(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SCHEDULED = "scheduled", "Scheduled"
        RUNNING = "running", "Running"
        PAUSED = "paused", "Paused"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="campaigns")
    name = models.CharField(max_length=200)
    body = models.TextField(help_text="Text with {{name}}-style variables.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT, db_index=True)
    scheduled_at = models.DateTimeField(null=True, blank=True)
    window_start_hour = models.PositiveSmallIntegerField(default=6)
    window_end_hour = models.PositiveSmallIntegerField(default=22)
    sessions = models.ManyToManyField("sessions_app.WhatsAppSession", blank=True, related_name="campaigns")
    audience = models.JSONField(default=dict, blank=True)
    total_count = models.PositiveIntegerField(default=0)
    sent_count = models.PositiveIntegerField(default=0)
    failed_count = models.PositiveIntegerField(default=0)
    skipped_count = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    # Why the last start failed (a scheduled start that found no number, say); shown in the UI.
    last_error = models.TextField(blank=True)
    # The API's Idempotency-Key of the request that created it: a retried POST returns it.
    idempotency_key = idempotency_key_field()
    # One attachment (issue 17), uploaded once and sent to every recipient, the body being its
    # templated caption. PROTECT, not SET_NULL: a file deleted under a campaign (a cleanup of
    # unused media) would otherwise turn it, silently, into a text campaign of bare captions
    # sent to thousands; the deletion must fail instead, and media cleanup skip files a
    # campaign holds. (A workspace's deletion removes both, which PROTECT allows.)
    media_file = models.ForeignKey(
        "messaging.MediaFile", null=True, blank=True, on_delete=models.PROTECT, related_name="campaigns"
    )
    # What the file is sent as: image | video | audio | ptt | document | sticker.
    media_kind = models.CharField(max_length=10, blank=True, default="", db_default="")
    media_filename = models.CharField(max_length=255, blank=True, default="", db_default="")

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(window_start_hour__lte=23) & Q(window_end_hour__lte=24),
                name="campaign_window_hours_valid",
            ),
            models.CheckConstraint(
                condition=Q(window_start_hour__lt=models.F("window_end_hour")),
                name="campaign_window_not_empty",
            ),
            idempotency_key_unique(name="campaign_unique_idempotency_key"),
            models.CheckConstraint(
                condition=Q(media_file__isnull=True, media_kind="")
                | Q(
                    media_file__isnull=False,
                    media_kind__in=["image", "video", "audio", "ptt", "document", "sticker"],
                ),
                name="campaign_media_kind_with_file",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def done_count(self) -> int:
        return self.sent_count + self.failed_count + self.skipped_count

    @property
    def percent(self) -> float:
        """Recipients done (sent, failed or skipped), in %, from the counters."""
        if not self.total_count:
            return 100.0 if self.status == self.Status.COMPLETED else 0.0
        return round(100.0 * self.done_count / self.total_count, 1)


class CampaignLog(models.Model):
    """One recipient of a campaign; dispatch claims due rows from this table."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ONGOING = "ongoing", "Ongoing"
        SUCCESS = "success", "Success"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="logs")
    contact = models.ForeignKey("messaging.Contact", on_delete=models.CASCADE, related_name="campaign_logs")
    whatsapp_session = models.ForeignKey(
        "sessions_app.WhatsAppSession", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    chat = models.ForeignKey(
        "messaging.Chat", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    scheduled_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    # When the last attempt was handed to messaging (the Chat row written): throughput.
    dispatched_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "campaign recipient"
        ordering = ["scheduled_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "contact"], name="campaign_log_one_per_recipient")
        ]
        indexes = [
            models.Index(fields=["status", "scheduled_at"]),
            # Progress counts per campaign, and per number (distribution, redistribution).
            models.Index(fields=["campaign", "status"], name="campaign_log_progress"),
            models.Index(fields=["whatsapp_session", "status"], name="campaign_log_by_number"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id} → {self.contact_id} ({self.status})"


class RecipientImport(models.Model):
    """A campaign's long recipient list, imported in the background (issue 16: 5,000 phones
    took one 12-second request in one transaction). The row is the record of the work: a
    Celery task on the `campaigns` queue advances it in batches, each batch and its progress
    committed together, and Beat re-enqueues an import nobody advanced for a while, so a lost
    Celery message only delays it."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        COMPLETED = "completed", "Completed"
        SUPERSEDED = "superseded", "Superseded"  # the campaign's audience changed meanwhile

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="recipient_imports")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    # The phones as given, until the import completes (then emptied: the contacts hold them).
    phones = models.JSONField(default=list, blank=True)
    # Uuids of the contacts made or found so far, handed to the campaign's audience at the end.
    contact_uuids = models.JSONField(default=list, blank=True)
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    # The first few refused phones with the reason, to show.
    errors = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Moves with every batch: the sweep's measure of an import nobody is advancing.
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "updated_at"], name="recipient_import_sweep")]

    def __str__(self) -> str:
        return f"import {self.uuid} ({self.processed}/{self.total}, {self.status})"

    @property
    def percent(self) -> float:
        return round(100.0 * self.processed / self.total, 1) if self.total else 100.0

    @property
    def imported(self) -> int:
        return self.processed - self.error_count

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.COMPLETED, self.Status.SUPERSEDED)
