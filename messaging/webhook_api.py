"""The webhooks API (`/api/v1/webhooks…`). Thin: the workspace is the API key's, input is
validated here and every write is one service of `messaging.webhooks` (the same ones the
UI and admin call). Another workspace's endpoint or delivery is a 404."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api_auth import api_workspace
from blazz.api_common import InputSerializer, idempotency_key_from, refuse_request_body
from blazz.api_errors import ErrorSerializer, ServiceError, ServiceErrorsMixin
from messaging import webhooks
from messaging.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

# --- Serializers ---------------------------------------------------------------------------

_EVENTS_HELP = "Event types to receive; an empty list means every type."


class WebhookEndpointSerializer(serializers.ModelSerializer):
    events = serializers.ListField(
        child=serializers.ChoiceField(webhooks.WEBHOOK_EVENT_TYPES), help_text=_EVENTS_HELP
    )
    disabled_reason = serializers.CharField(
        read_only=True,
        help_text="Why delivery switched the endpoint off (for example a 410 Gone); empty if active.",
    )
    consecutive_failures = serializers.IntegerField(
        read_only=True, help_text="Failed attempts in a row (network errors, timeouts, 429, 5xx)."
    )
    circuit_open_until = serializers.DateTimeField(
        read_only=True,
        allow_null=True,
        help_text="Set while the endpoint is backed off after too many failures in a row: nothing is sent "
        "to it before this time (deliveries wait, no attempt is spent), then one at a time until one "
        "succeeds. Null when deliveries flow normally.",
    )

    class Meta:
        model = WebhookEndpoint
        fields = [
            "uuid",
            "url",
            "events",
            "is_active",
            "disabled_reason",
            "consecutive_failures",
            "circuit_open_until",
            "created_at",
        ]
        read_only_fields = fields


class WebhookEndpointCreatedSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(
        read_only=True,
        allow_null=True,
        help_text="The signing secret (`whsec_…`). Shown only in the 201 answer: store it to verify "
        "`webhook-signature`. Null when this is a replay of an earlier create (same Idempotency-Key): "
        "a secret is never shown twice; rotate it if the first answer was lost.",
    )
    secret_note = serializers.CharField(
        read_only=True,
        allow_null=True,
        help_text="On a replay: why `secret` is null and what to do; else null.",
    )

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret", "secret_note"]
        read_only_fields = fields


class WebhookEndpointInputSerializer(InputSerializer):
    url = serializers.URLField(max_length=500, help_text="An http(s) URL that accepts POSTed JSON.")
    events = serializers.ListField(
        child=serializers.ChoiceField(webhooks.WEBHOOK_EVENT_TYPES), required=False, help_text=_EVENTS_HELP
    )
    is_active = serializers.BooleanField(required=False, help_text="Inactive endpoints get no deliveries.")


class WebhookSecretSerializer(serializers.Serializer):
    secret = serializers.CharField(help_text="The new signing secret, used from the next attempt on.")


class WebhookAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookAttempt
        fields = ["number", "at", "status_code", "error", "duration_ms"]
        read_only_fields = fields


class WebhookDeliverySerializer(serializers.ModelSerializer):
    webhook_id = serializers.UUIDField(
        source="event_id", read_only=True, help_text="The `webhook-id` header: the same on every attempt."
    )
    attempt_history = WebhookAttemptSerializer(source="attempt_log", many=True, read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "webhook_id",
            "event_type",
            "status",
            "attempts",
            "next_attempt_at",
            "last_status_code",
            "last_error",
            "delivered_at",
            "created_at",
            "payload",
            "attempt_history",
        ]
        read_only_fields = fields


# --- Errors and lookups ---------------------------------------------------------------------

_NOT_FOUND = OpenApiResponse(ErrorSerializer, description="No such webhook in this workspace.")
_INVALID = OpenApiResponse(
    ErrorSerializer, description="Invalid URL or event type, or a URL on a private address."
)
_WEBHOOK_UUID = OpenApiParameter(
    "webhook_uuid", OpenApiTypes.UUID, location=OpenApiParameter.PATH, description="The webhook's `uuid`."
)
_IDEMPOTENCY_KEY_MAX_LENGTH = WebhookEndpoint._meta.get_field("idempotency_key").max_length
_IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    description="Any unique string (a UUID is a good choice), printable ASCII, at most "
    f"{_IDEMPOTENCY_KEY_MAX_LENGTH} characters. Repeating a request with the same key returns the "
    "endpoint the first one created (200, with `secret` null: a secret is shown only once) instead of a "
    "second endpoint.",
)
_DELIVERY_ID = OpenApiParameter(
    "delivery_id", OpenApiTypes.INT, location=OpenApiParameter.PATH, description="The delivery's `id`."
)


_REPLAY_NOTE = (
    "This endpoint was created by an earlier request with this Idempotency-Key. Its secret was shown "
    "only in that answer; if it was lost, rotate the secret (POST …/rotate-secret)."
)


class WebhookApiMixin(ServiceErrorsMixin):
    """A bad target is 400 on `url`, a state conflict 409, the endpoint quota 403."""

    service_errors = (
        ServiceError(webhooks.WebhookDeliveryNotRedeliverable, 409, "not_redeliverable"),
        ServiceError(webhooks.WebhookEndpointQuotaExceeded, 403, "quota_exceeded"),
        ServiceError(webhooks.WebhookError, 400, "invalid", field="url"),
    )

    def get_endpoint(self) -> WebhookEndpoint:
        return webhooks.webhook_endpoint_get_or_404(
            workspace=api_workspace(self.request), webhook_uuid=self.kwargs["webhook_uuid"]
        )


# --- Views ----------------------------------------------------------------------------------


class WebhookListView(WebhookApiMixin, generics.ListAPIView):
    serializer_class = WebhookEndpointSerializer

    def get_queryset(self):
        return webhooks.webhook_endpoints_of_workspace(workspace=api_workspace(self.request))

    @extend_schema(summary="List webhook endpoints", description="Newest first. Secrets are never listed.")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Create a webhook endpoint",
        description="Deliveries are POSTed as `{type, timestamp, data}` and signed per Standard Webhooks "
        "(`webhook-id`, `webhook-timestamp`, `webhook-signature`). The secret is returned only here.",
        request=WebhookEndpointInputSerializer,
        parameters=[_IDEMPOTENCY_KEY],
        responses={
            201: WebhookEndpointCreatedSerializer,
            200: OpenApiResponse(
                WebhookEndpointCreatedSerializer,
                description="Already created by an earlier request with this Idempotency-Key; "
                "`secret` is null (shown only once).",
            ),
            400: _INVALID,
            403: OpenApiResponse(
                ErrorSerializer,
                description="`quota_exceeded`: the workspace has as many endpoints as allowed "
                "(BLAZZ_QUOTA_WEBHOOK_ENDPOINTS).",
            ),
        },
    )
    def post(self, request, *args, **kwargs):
        key = idempotency_key_from(request, max_length=_IDEMPOTENCY_KEY_MAX_LENGTH)
        data = _validated(WebhookEndpointInputSerializer(data=request.data))
        endpoint, secret, created = webhooks.webhook_endpoint_create_idempotent(
            workspace=api_workspace(request), idempotency_key=key, **data
        )
        body = WebhookEndpointCreatedSerializer(endpoint).data | {
            "secret": secret,
            "secret_note": None if created else _REPLAY_NOTE,
        }
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


@extend_schema_view(
    get=extend_schema(
        summary="Get a webhook endpoint",
        parameters=[_WEBHOOK_UUID],
        responses={200: WebhookEndpointSerializer, 404: _NOT_FOUND},
    ),
    patch=extend_schema(
        summary="Update a webhook endpoint",
        description="Change the URL or the events, or switch it on or off (on clears `disabled_reason`).",
        parameters=[_WEBHOOK_UUID],
        request=WebhookEndpointInputSerializer(partial=True),
        responses={200: WebhookEndpointSerializer, 400: _INVALID, 404: _NOT_FOUND},
    ),
    delete=extend_schema(
        summary="Delete a webhook endpoint",
        description="Its pending deliveries are dropped.",
        parameters=[_WEBHOOK_UUID],
        responses={204: OpenApiResponse(description="Deleted."), 404: _NOT_FOUND},
    ),
)
class WebhookDetailView(WebhookApiMixin, APIView):
    def get(self, request, webhook_uuid):
        return Response(WebhookEndpointSerializer(self.get_endpoint()).data)

    def patch(self, request, webhook_uuid):
        endpoint = self.get_endpoint()
        data = _validated(WebhookEndpointInputSerializer(data=request.data, partial=True))
        endpoint = webhooks.webhook_endpoint_update(endpoint=endpoint, **data)
        return Response(WebhookEndpointSerializer(endpoint).data)

    def delete(self, request, webhook_uuid):
        webhooks.webhook_endpoint_delete(endpoint=self.get_endpoint())
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookRotateSecretView(WebhookApiMixin, APIView):
    @extend_schema(
        summary="Rotate a webhook's secret",
        description="A new secret signs every attempt from now on, retries included. Returned only here.",
        parameters=[_WEBHOOK_UUID],
        request=None,
        responses={200: WebhookSecretSerializer, 404: _NOT_FOUND},
    )
    def post(self, request, webhook_uuid):
        refuse_request_body(request)
        secret = webhooks.webhook_endpoint_rotate_secret(endpoint=self.get_endpoint())
        return Response({"secret": secret})


class WebhookDeliveryListView(WebhookApiMixin, generics.ListAPIView):
    serializer_class = WebhookDeliverySerializer

    def get_queryset(self):
        return webhooks.webhook_deliveries_of_endpoint(endpoint=self.get_endpoint())

    @extend_schema(
        summary="List a webhook's deliveries",
        description="Newest first (cursor pagination), each with its attempts: status, error, duration.",
        parameters=[_WEBHOOK_UUID],
        responses={200: WebhookDeliverySerializer(many=True), 404: _NOT_FOUND},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class WebhookRedeliverView(WebhookApiMixin, APIView):
    @extend_schema(
        summary="Redeliver a delivery",
        description="Sends a delivered, failed or dead delivery again now, with the same `webhook-id` and a "
        "fresh retry schedule.",
        parameters=[_WEBHOOK_UUID, _DELIVERY_ID],
        request=None,
        responses={
            202: OpenApiResponse(WebhookDeliverySerializer, description="Queued."),
            404: _NOT_FOUND,
            409: OpenApiResponse(
                ErrorSerializer,
                description="Already queued or being sent, or the endpoint is disabled.",
            ),
        },
    )
    def post(self, request, webhook_uuid, delivery_id):
        refuse_request_body(request)
        delivery = webhooks.webhook_delivery_get_or_404(endpoint=self.get_endpoint(), delivery_id=delivery_id)
        delivery = webhooks.webhook_delivery_redeliver(delivery=delivery)
        return Response(WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)


def _validated(serializer: serializers.Serializer) -> dict:
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)
