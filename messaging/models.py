import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.functions import RandomUUID
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector
from django.db import models
from django.db.models import Q, Value
from django.db.models.functions import Now
from phonenumber_field.modelfields import PhoneNumberField

from blazz.encryption import decrypt_text, encrypt_text
from blazz.idempotency import idempotency_key_field, idempotency_key_unique


class Contact(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="contacts")
    # E.164. Null for a contact WhatsApp shows Blazz only by its LID (see wa_lid) until the
    # phone number behind it is known.
    phone = PhoneNumberField(null=True, blank=True)
    # WhatsApp's "linked identity" (`<digits>@lid`): after WhatsApp's LID migration most 1:1
    # chats address a contact by it instead of by `<phone>@c.us`. It is not a phone number
    # and is never parsed as one; a contact first seen by LID gets its phone (or is merged
    # into the contact that has it) when the page learns the mapping.
    wa_lid = models.CharField("WhatsApp LID", max_length=64, null=True, blank=True)
    # The sender's own WhatsApp id (`<digits>@c.us`) when its number is one the phone-number
    # library does not accept (a new or test range): WhatsApp delivered the message, so it is
    # stored and answered under that id rather than dropped. Null for every parseable number.
    wa_id = models.CharField("WhatsApp id", max_length=64, null=True, blank=True)
    name = models.CharField(max_length=200, blank=True)
    # The name the customer gave themselves in WhatsApp (the push name each of their messages
    # carries), kept current by ingestion; shown until a person sets `name`.
    profile_name = models.CharField(max_length=200, blank=True, db_default="")
    metadata = models.JSONField(default=dict, blank=True)
    # Labels people put on a contact ("vip", "wholesale"): what campaign audiences and the
    # contact list filter on. Cleaned by the contacts service (lower case, at most
    # CONTACT_TAGS_MAX of CONTACT_TAG_MAX_CHARS each); indexed for containment queries.
    tags = ArrayField(
        models.CharField(max_length=50),
        default=list,
        blank=True,
        db_default=Value([], output_field=ArrayField(models.CharField(max_length=50))),
    )
    # When someone last opened this conversation in the shared inbox: inbound messages after
    # it are unread. One mark per workspace (the inbox is shared), null = never opened.
    inbox_read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "phone"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "phone"], name="contact_unique_phone"),
            models.UniqueConstraint(
                fields=["workspace", "wa_lid"], condition=Q(wa_lid__isnull=False), name="contact_unique_lid"
            ),
            models.UniqueConstraint(
                fields=["workspace", "wa_id"], condition=Q(wa_id__isnull=False), name="contact_unique_wa_id"
            ),
            models.CheckConstraint(
                condition=Q(phone__isnull=False) | Q(wa_lid__isnull=False) | Q(wa_id__isnull=False),
                name="contact_has_an_address",
            ),
        ]
        indexes = [GinIndex(fields=["tags"], name="contact_tags")]

    def __str__(self) -> str:
        return f"{self.name or ''} {self.address}".strip()

    @property
    def phone_e164(self) -> str | None:
        return self.phone.as_e164 if self.phone else None

    @property
    def label(self) -> str:
        """What the UI calls this contact: the name a person set, else the WhatsApp profile
        name, else where WhatsApp reaches it."""
        return self.name or self.profile_name or self.address

    @property
    def address(self) -> str:
        """Where WhatsApp reaches this contact: E.164 when known, else its LID, else the raw
        WhatsApp id of a number the phone library does not accept."""
        return self.phone_e164 or self.wa_lid or self.wa_id or ""


class MediaFile(models.Model):
    """The bytes of one photo, voice note, video, document or sticker, stored once per workspace
    (issue 17): content-addressed by sha256, so a forwarded image that arrives twice is one
    file; never shared across workspaces. `storage_name` is the name in Django's media storage
    (the filesystem under BLAZZ_MEDIA_ROOT, or an S3-compatible bucket)."""

    uuid = models.UUIDField(default=uuid.uuid4, db_default=RandomUUID(), unique=True, editable=False)
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="media_files")
    sha256 = models.CharField(max_length=64)
    size = models.BigIntegerField()
    # Sniffed from the bytes, never trusted from the page or the uploader.
    mimetype = models.CharField(max_length=100)
    storage_name = models.CharField(max_length=300)
    thumbnail_name = models.CharField(max_length=300, blank=True, db_default="")
    # Pillow refused the bytes (not an image, a decompression bomb): the thumbnail sweep stops
    # asking for one.
    thumbnail_failed = models.BooleanField(default=False, db_default=False)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_default=Now())

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "sha256"], name="media_file_unique_per_workspace")
        ]

    def __str__(self) -> str:
        return f"{self.mimetype} {self.size} B ({self.sha256[:12]})"


class Chat(models.Model):
    """One message, inbound or outbound."""

    class Direction(models.TextChoices):
        INBOUND = "inbound", "Inbound"
        OUTBOUND = "outbound", "Outbound"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        DELIVERED = "delivered", "Delivered"
        READ = "read", "Read"
        FAILED = "failed", "Failed"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="chats")
    whatsapp_session = models.ForeignKey(
        "sessions_app.WhatsAppSession", on_delete=models.PROTECT, related_name="chats"
    )
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="chats")
    wam_id = models.CharField(max_length=200, null=True, blank=True)
    direction = models.CharField(max_length=8, choices=Direction.choices)
    body = models.TextField(blank=True)
    # What WhatsApp tells of a media message (type, mimetype, size, filename, duration, width,
    # height, ptt, location, vcard; messaging.services.media documents the keys); the caption
    # is `body`. The bytes are `media_file`, fetched after the row is stored: `media_status`
    # pending -> ready (or failed, retried until media_next_attempt_at gives up).
    media = models.JSONField(null=True, blank=True)
    media_file = models.ForeignKey(
        MediaFile, null=True, blank=True, on_delete=models.SET_NULL, related_name="chats"
    )

    class MediaStatus(models.TextChoices):
        PENDING = "pending", "Downloading"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    media_status = models.CharField(max_length=8, choices=MediaStatus.choices, null=True, blank=True)
    media_attempts = models.PositiveSmallIntegerField(default=0, db_default=0)
    media_next_attempt_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    idempotency_key = idempotency_key_field()
    error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # Set by the worker that claims a pending message for sending, so a task delivered twice
    # sends once (the page bridge de-duplicates by the chat's uuid as a second guard).
    send_claimed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "message"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["whatsapp_session", "wam_id"],
                condition=Q(wam_id__isnull=False),
                name="chat_unique_wam_id_per_session",
            ),
            idempotency_key_unique(name="chat_unique_idempotency_key"),
        ]
        indexes = [
            models.Index(fields=["whatsapp_session", "created_at"]),
            # A conversation's thread and its latest message, newest first.
            models.Index(fields=["contact", "whatsapp_session", "-created_at"], name="chat_by_conversation"),
            # The inbox's text search (messaging.selectors.MESSAGE_SEARCH_VECTOR is the same
            # expression, so PostgreSQL answers from this index). 'simple': customers write in
            # any language, so words are matched as written, not stemmed for one of them.
            GinIndex(SearchVector("body", config="simple"), name="chat_body_search"),
            # The media a session's worker still has to fetch from its page.
            models.Index(
                fields=["whatsapp_session", "media_next_attempt_at"],
                name="chat_media_pending",
                condition=Q(media_status="pending"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.direction} {self.contact_id}: {self.body[:40]}"


# Columns added after the first release carry a database default as well (`db_default`):
# during a rolling deploy the previous version's processes, and its raw SQL, still insert rows
# without them.


class ContactSession(models.Model):
    """A conversation: one contact on one of the workspace's numbers. It drives "reply from
    the same number", and it is what the team inbox lists, assigns and resolves: a customer
    who writes to two numbers has two conversations, as on the phones themselves."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        PENDING = "pending", "Pending"
        RESOLVED = "resolved", "Resolved"

    uuid = models.UUIDField(default=uuid.uuid4, db_default=RandomUUID(), unique=True, editable=False)
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="session_links")
    whatsapp_session = models.ForeignKey(
        "sessions_app.WhatsAppSession", on_delete=models.CASCADE, related_name="contact_links"
    )
    first_interaction_at = models.DateTimeField()
    last_interaction_at = models.DateTimeField()
    # When the customer last wrote on this number: the inbox warns before a reply from another.
    last_inbound_at = models.DateTimeField(null=True, blank=True)
    total_messages = models.PositiveIntegerField(default=0)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.OPEN, db_default=Status.OPEN
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_conversations",
    )
    # Inbound messages nobody has opened yet; a counter kept by ingestion, so listing the inbox
    # never counts messages. "Mark unread" sets it back to at least one.
    unread_count = models.PositiveIntegerField(default=0, db_default=0)

    class Meta:
        verbose_name = "conversation"
        constraints = [
            models.UniqueConstraint(
                fields=["contact", "whatsapp_session"], name="contact_session_unique_pair"
            )
        ]
        indexes = [
            models.Index(fields=["contact", "-last_interaction_at"]),
            models.Index(fields=["whatsapp_session", "-last_interaction_at"], name="conversation_by_number"),
            models.Index(fields=["assignee", "status"], name="conversation_by_assignee"),
        ]

    def __str__(self) -> str:
        return f"{self.contact_id} via {self.whatsapp_session_id}"


class WebhookEndpoint(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    workspace = models.ForeignKey(
        "accounts.Workspace", on_delete=models.CASCADE, related_name="webhook_endpoints"
    )
    url = models.URLField(max_length=500)
    # The signing secret, encrypted at rest (blazz.encryption, the snapshot keys); read and
    # written through `secret`. Shown to the tenant only when created or rotated.
    secret_encrypted = models.TextField()
    events = ArrayField(models.CharField(max_length=64), default=list, blank=True)
    is_active = models.BooleanField(default=True)
    # Why delivery switched the endpoint off (a 410 from the receiver); cleared on re-enable.
    disabled_reason = models.CharField(max_length=300, blank=True)
    # Circuit breaker (messaging.webhooks.delivery): failed attempts in a row (network errors,
    # timeouts, 429, 5xx); past the threshold no delivery of this endpoint is sent until
    # `circuit_open_until`, then one at a time until one succeeds.
    consecutive_failures = models.PositiveIntegerField(default=0, db_default=0)
    circuit_open_until = models.DateTimeField(null=True, blank=True)
    # The API's Idempotency-Key of the request that created it: a retried create returns it.
    idempotency_key = idempotency_key_field()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [idempotency_key_unique(name="webhook_endpoint_unique_idempotency_key")]

    def __str__(self) -> str:
        return self.url

    @property
    def secret(self) -> str:
        return decrypt_text(self.secret_encrypted)

    @secret.setter
    def secret(self, plaintext: str) -> None:
        self.secret_encrypted = encrypt_text(plaintext)


class WebhookDelivery(models.Model):
    """The outbox: one row per (endpoint, event), written in the transaction that made
    the event, delivered after commit with retries and backoff."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        SENDING = "sending", "Sending"
        FAILED = "failed", "Failed (will retry)"
        DEAD = "dead", "Dead (gave up)"

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.UUIDField(default=uuid.uuid4)
    event_type = models.CharField(max_length=64)
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "webhook deliveries"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event_id"], name="webhook_delivery_unique_event")
        ]
        indexes = [
            # The Beat sweep's query: due rows of the states that still need a send.
            models.Index(
                fields=["next_attempt_at"],
                name="webhook_delivery_due",
                condition=Q(status__in=["pending", "failed", "sending"]),
            ),
            # The per-endpoint concurrency limit counts an endpoint's deliveries in flight.
            models.Index(fields=["endpoint"], name="webhook_delivery_sending", condition=Q(status="sending")),
            # The sweep asks, per endpoint, for its due rows (oldest first).
            models.Index(
                fields=["endpoint", "next_attempt_at"],
                name="webhook_delivery_due_endpoint",
                condition=Q(status__in=["pending", "failed", "sending"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.endpoint_id} ({self.status})"


class WebhookAttempt(models.Model):
    """One HTTP attempt of a delivery: what the receiver answered (or why nothing did)."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"#{self.number} {self.status_code or self.error[:40]}"


class ConversationNote(models.Model):
    """An internal note in a conversation's thread: written by a member, read by the team,
    never sent to WhatsApp."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    conversation = models.ForeignKey(ContactSession, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.body[:40]


class QuickReply(models.Model):
    """A canned answer an agent inserts with `/shortcut` in the reply box; `{{name}}`-style
    variables are filled from the contact the same way campaign texts are."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    workspace = models.ForeignKey(
        "accounts.Workspace", on_delete=models.CASCADE, related_name="quick_replies"
    )
    shortcut = models.SlugField(max_length=40)
    body = models.TextField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["shortcut"]
        verbose_name_plural = "quick replies"
        constraints = [
            models.UniqueConstraint(fields=["workspace", "shortcut"], name="quick_reply_unique_shortcut")
        ]

    def __str__(self) -> str:
        return f"/{self.shortcut}"


class ContactImport(models.Model):
    """A CSV of contacts, imported in the background (issue 19). The row is the record of the
    work: the parsed rows wait here, a Celery task advances `processed` one batch per
    transaction, and Beat wakes an import nobody advanced for a while, so a lost message or a
    dead worker only delays it. Existing contacts are left as they are (counted, not changed)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting"
        RUNNING = "running", "Importing"
        COMPLETED = "completed", "Done"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    workspace = models.ForeignKey(
        "accounts.Workspace", on_delete=models.CASCADE, related_name="contact_imports"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    filename = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    # [line, phone, name, metadata] per data row, until the import completes (then emptied).
    rows = models.JSONField(default=list, blank=True)
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    existing_count = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    # The first refused rows with their line and reason, to show.
    errors = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Moves with every batch: the sweep's measure of an import nobody is advancing.
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["updated_at"],
                name="contact_import_unfinished",
                condition=Q(status__in=["pending", "running"]),
            )
        ]

    def __str__(self) -> str:
        return f"{self.filename or 'import'} ({self.processed}/{self.total})"
