"""The numbers API (`/api/v1/sessions…`). Thin: authenticate the key, validate input, call
one service (the same ones the UI and admin call), serialize. The workspace is always the
API key's; another workspace's number is a 404, never a 403."""

from __future__ import annotations

from collections.abc import Callable

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api_auth import api_workspace
from blazz.api_common import InputSerializer, idempotency_key_from, refuse_request_body
from blazz.api_errors import ApiError, ErrorSerializer, ServiceError, ServiceErrorsMixin
from blazz.idempotency import IDEMPOTENCY_KEY_MAX_LENGTH
from blazz.pagination import cursor_paginator
from blazz.phones import InvalidPhoneNumber, normalize_phone
from sessions_app import services
from sessions_app.models import SessionEvent, WhatsAppSession
from sessions_app.qr import qr_png_base64, qr_svg
from sessions_app.selectors import (
    session_current_qr,
    session_events,
    session_get_or_404,
    sessions_of_workspace,
)
from sessions_app.services.idempotency import session_create_idempotent

# --- Serializers ---------------------------------------------------------------------------


class SessionSerializer(serializers.ModelSerializer):
    phone_number = serializers.CharField(
        source="phone_number.as_e164",
        allow_null=True,
        read_only=True,
        help_text="E.164 (`+5511987650103`); null until the number has connected once.",
    )
    worker = serializers.CharField(
        source="assigned_worker.name",
        allow_null=True,
        read_only=True,
        help_text="The session worker hosting this number's browser; null while unassigned.",
    )

    class Meta:
        model = WhatsAppSession
        fields = [
            "uuid",
            "session_id",
            "status",
            "phone_number",
            "display_name",
            "is_primary",
            "worker",
            "qr_expires_at",
            "last_activity_at",
            "last_connected_at",
            "created_at",
        ]
        read_only_fields = fields


class SessionUpdateSerializer(InputSerializer):
    display_name = serializers.CharField(
        allow_blank=True,
        trim_whitespace=False,
        max_length=200,
        help_text='What the team calls this number ("Sales"), at most 80 characters; blank clears it.',
    )


class SessionQrSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="The raw string encoded in the QR code.")
    expires_at = serializers.DateTimeField(
        allow_null=True, help_text="When WhatsApp rotates this code; fetch again after it."
    )
    svg = serializers.CharField(help_text="The QR code as a standalone SVG document.")
    png_base64 = serializers.CharField(help_text="The QR code as a base64-encoded PNG image.")


# --- Errors --------------------------------------------------------------------------------

_NOT_FOUND = OpenApiResponse(ErrorSerializer, description="No such number in this workspace.")
_CONFLICT = OpenApiResponse(ErrorSerializer, description="The number's state does not allow this.")
_QR_BUDGET = OpenApiResponse(
    ErrorSerializer,
    description="The workspace used its QR attempts for the hour (numbers that show too many QR codes "
    "get logged out in loops). `Retry-After` says when to try again.",
)
_NO_CAPACITY = OpenApiResponse(
    ErrorSerializer,
    description="No session worker has free capacity right now (`no_capacity`), or the workspace already "
    "holds its fair share of the fleet's browsers (`fair_share`; `GET /workspace/usage` shows it).",
)
_QUOTA = OpenApiResponse(
    ErrorSerializer,
    description="The workspace has as many active numbers as its quota allows (`quota_exceeded`); delete "
    "or stop one first.",
)
_RETRY_AFTER = OpenApiParameter(
    "Retry-After",
    OpenApiTypes.INT,
    location=OpenApiParameter.HEADER,
    response=[429],
    description="Seconds until a QR attempt is possible again.",
)
_SESSION_UUID = OpenApiParameter(
    "session_uuid", OpenApiTypes.UUID, location=OpenApiParameter.PATH, description="The number's `uuid`."
)


class SessionServiceErrorsMixin(ServiceErrorsMixin):
    service_errors = (
        ServiceError(services.InvalidSessionField, 400, "invalid"),
        ServiceError(services.QrAttemptsExceeded, 429, "qr_attempts_exceeded", retry_after=True),
        ServiceError(services.NoWorkerCapacity, 503, "no_capacity"),
        ServiceError(services.FairShareExceeded, 503, "fair_share"),
        ServiceError(services.ActiveNumbersQuotaExceeded, 403, "quota_exceeded"),
        ServiceError(services.SessionServiceError, 409, "conflict"),
    )


class SessionObjectMixin(SessionServiceErrorsMixin):
    def get_session(self) -> WhatsAppSession:
        return session_get_or_404(
            workspace=api_workspace(self.request), session_uuid=self.kwargs["session_uuid"]
        )


# --- Collection ----------------------------------------------------------------------------

_IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    description=f"Any unique string (a UUID is a good choice), at most {IDEMPOTENCY_KEY_MAX_LENGTH} "
    "characters. Repeating a request with the same key returns the number the first one created "
    "(200) instead of adding another, so a retry after a timeout is safe.",
)
_STATUS_FILTER = OpenApiParameter(
    "status",
    OpenApiTypes.STR,
    enum=WhatsAppSession.Status.values,
    description="Only numbers in this status.",
)


class SessionListView(SessionServiceErrorsMixin, generics.ListAPIView):
    serializer_class = SessionSerializer

    def get_queryset(self):
        sessions = sessions_of_workspace(workspace=api_workspace(self.request))
        wanted = self.request.query_params.get("status")
        return sessions.filter(status=wanted) if wanted else sessions

    @extend_schema(
        summary="List the workspace's numbers",
        description="Newest first; soft-deleted numbers are not listed.",
        parameters=[_STATUS_FILTER],
        responses={200: SessionSerializer(many=True), 400: ErrorSerializer},
    )
    def get(self, request, *args, **kwargs):
        wanted = request.query_params.get("status")
        if wanted and wanted not in WhatsAppSession.Status.values:
            raise serializers.ValidationError(
                {"status": f"Unknown status {wanted!r}; one of {', '.join(WhatsAppSession.Status.values)}."}
            )
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Add a number",
        description="Opens a WhatsApp Web browser for a new number on the least-loaded session worker. "
        "Poll `GET /sessions/{session_uuid}/qr` for the QR code to scan with the phone (it rotates "
        "about every 20 s) and `GET /sessions/{session_uuid}` until `status` is `connected`. Counts as "
        "one QR attempt of the workspace's hourly budget.",
        request=None,
        parameters=[_IDEMPOTENCY_KEY, _RETRY_AFTER],
        responses={
            201: OpenApiResponse(SessionSerializer, description="Created; its browser is starting."),
            200: OpenApiResponse(
                SessionSerializer,
                description="Already created by an earlier request with this Idempotency-Key.",
            ),
            400: OpenApiResponse(ErrorSerializer, description="Malformed Idempotency-Key."),
            409: OpenApiResponse(
                ErrorSerializer, description="The Idempotency-Key's number has since been deleted."
            ),
            403: _QUOTA,
            429: _QR_BUDGET,
            503: _NO_CAPACITY,
        },
    )
    def post(self, request, *args, **kwargs):
        refuse_request_body(request)
        key = idempotency_key_from(request, max_length=IDEMPOTENCY_KEY_MAX_LENGTH)
        session, created = session_create_idempotent(
            workspace=api_workspace(request), created_by=None, idempotency_key=key
        )
        return Response(
            SessionSerializer(session).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


# --- One number ----------------------------------------------------------------------------


@extend_schema_view(
    get=extend_schema(
        summary="Get a number",
        parameters=[_SESSION_UUID],
        responses={200: SessionSerializer, 404: _NOT_FOUND},
    ),
    delete=extend_schema(
        summary="Delete a number",
        description="Closes its browser, drops its saved login and hides it (soft delete). "
        "The phone keeps a stale linked device until it is removed there.",
        parameters=[_SESSION_UUID],
        responses={204: OpenApiResponse(description="Deleted."), 404: _NOT_FOUND, 409: _CONFLICT},
    ),
    patch=extend_schema(
        summary="Name a number",
        parameters=[_SESSION_UUID],
        request=SessionUpdateSerializer,
        responses={200: SessionSerializer, 400: OpenApiResponse(ErrorSerializer), 404: _NOT_FOUND},
    ),
)
class SessionDetailView(SessionObjectMixin, APIView):
    def get(self, request, session_uuid):
        return Response(SessionSerializer(self.get_session()).data)

    def patch(self, request, session_uuid):
        session = self.get_session()  # another workspace's number is a 404 whatever the body
        body = SessionUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        session = services.session_rename(session=session, **body.validated_data)
        return Response(SessionSerializer(session).data)

    def delete(self, request, session_uuid):
        services.session_delete(session=self.get_session())
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    get=extend_schema(
        summary="The QR code to scan now",
        description="Only while the number is `qr_scanning`. The code rotates about every 20 s: fetch "
        "it again after `expires_at`.",
        parameters=[_SESSION_UUID],
        responses={
            200: SessionQrSerializer,
            404: _NOT_FOUND,
            409: OpenApiResponse(ErrorSerializer, description="The number is not showing a QR code now."),
        },
    )
)
class SessionQrView(SessionObjectMixin, APIView):
    def get(self, request, session_uuid):
        session = self.get_session()
        qr = session_current_qr(session=session)
        if qr is None:
            raise ApiError(
                f"This number is not showing a QR (status: {session.status}).",
                status_code=status.HTTP_409_CONFLICT,
                code="no_qr",
            )
        data = {
            "code": qr.code,
            "expires_at": qr.expires_at,
            "svg": qr_svg(qr.code),
            "png_base64": qr_png_base64(qr.code),
        }
        return Response(SessionQrSerializer(data).data)


class SessionEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = SessionEvent
        fields = ["kind", "detail", "at"]
        read_only_fields = fields


class SessionEventFilterSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=SessionEvent.Kind.choices, required=False, help_text="Only events of this kind."
    )


# Ids grow with time and are unique, so the cursor never skips or repeats an event written at
# the same instant as another.
_NewestEventFirst = cursor_paginator("-id")


@extend_schema_view(
    get=extend_schema(
        summary="A number's timeline",
        description="Status changes, QR attempts, restarts, failovers, probe failures and errors, newest "
        "first (what the number's page shows), cursor-paginated.",
        parameters=[_SESSION_UUID, SessionEventFilterSerializer],
        responses={200: SessionEventSerializer(many=True), 404: _NOT_FOUND},
    )
)
class SessionEventListView(SessionObjectMixin, generics.ListAPIView):
    serializer_class = SessionEventSerializer
    pagination_class = _NewestEventFirst

    def get_queryset(self):
        filters = SessionEventFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)  # an unknown kind is a 400, not an empty page
        return session_events(session=self.get_session(), kind=filters.validated_data.get("kind"))


# --- Verbs ---------------------------------------------------------------------------------


class SessionVerbView(SessionObjectMixin, APIView):
    """POST with no body: calls `service` and answers with the number as it is now. Verbs
    carried out by the worker (start, stop, restart, logout, refresh-qr) answer 202: the
    status in the body may still be the old one; follow `session.status` events or GET."""

    service: Callable[..., WhatsAppSession]
    success_status = status.HTTP_202_ACCEPTED

    def post(self, request, session_uuid):
        refuse_request_body(request)
        session = self.service(session=self.get_session())
        # Services may return a copy read before the worker acted; show the committed row.
        session = session_get_or_404(workspace=api_workspace(request), session_uuid=session.uuid)
        return Response(SessionSerializer(session).data, status=self.success_status)


def _verb_schema(
    summary: str, description: str, *, ok: int = 202, qr_budget: bool = False, needs_worker: bool = False
):
    responses = {
        ok: OpenApiResponse(SessionSerializer, description="The number as it is now."),
        404: _NOT_FOUND,
        409: _CONFLICT,
    }
    parameters = [_SESSION_UUID]
    if needs_worker:
        responses[503] = _NO_CAPACITY
        responses[403] = _QUOTA
    if qr_budget:
        responses[429] = _QR_BUDGET
        parameters.append(_RETRY_AFTER)
    return extend_schema_view(
        post=extend_schema(
            summary=summary, description=description, request=None, parameters=parameters, responses=responses
        )
    )


@_verb_schema(
    "Start a number",
    "Opens its browser, restoring the saved login when there is one (no QR needed). "
    "A number that is already running is left as it is.",
    needs_worker=True,
)
class SessionStartView(SessionVerbView):
    service = staticmethod(services.session_start)


@_verb_schema("Stop a number", "Saves its login and closes its browser; it becomes `stopped`.")
class SessionStopView(SessionVerbView):
    service = staticmethod(services.session_stop)


@_verb_schema(
    "Restart a number",
    "Closes and reopens its browser from the saved login (no QR when logged in).",
    needs_worker=True,
)
class SessionRestartView(SessionVerbView):
    service = staticmethod(services.session_restart)


@_verb_schema(
    "Log a number out",
    "Logs the linked device out of WhatsApp and drops the saved login; connecting again needs a QR scan. "
    "It becomes `disconnected`.",
)
class SessionLogoutView(SessionVerbView):
    service = staticmethod(services.session_logout)


@_verb_schema(
    "Make a number the primary one",
    "Messages with no explicit number and no earlier conversation go out from the primary number.",
    ok=200,
)
class SessionPrimaryView(SessionVerbView):
    service = staticmethod(services.session_set_primary)
    success_status = status.HTTP_200_OK


@_verb_schema(
    "Show a fresh QR code",
    "Reloads the number's page for a new QR code. Counts as one QR attempt of the workspace's hourly "
    "budget. A connected number is left as it is.",
    qr_budget=True,
    needs_worker=True,
)
class SessionRefreshQrView(SessionVerbView):
    service = staticmethod(services.session_refresh_qr)


class LinkCodeRequestSerializer(InputSerializer):
    phone_number = serializers.CharField(
        max_length=32, help_text="The number to link, E.164 (`+5511987650103`)."
    )

    def validate_phone_number(self, value: str) -> str:
        try:
            return normalize_phone(value)
        except InvalidPhoneNumber as exc:
            raise serializers.ValidationError(str(exc)) from exc


class LinkCodeSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Type this 8-character code on the phone (Linked devices).")
    phone_number = serializers.CharField()
    at = serializers.DateTimeField()


class SessionLinkCodeView(SessionObjectMixin, APIView):
    """Pair by code instead of scanning the QR."""

    @extend_schema(
        summary="The latest pairing code",
        parameters=[_SESSION_UUID],
        responses={200: LinkCodeSerializer, 404: _NOT_FOUND, 409: _CONFLICT},
    )
    def get(self, request, session_uuid):
        link = self.get_session().metadata.get("link_code")
        if not link:
            raise ApiError(
                "No pairing code was produced for this number yet.",
                status_code=status.HTTP_409_CONFLICT,
                code="no_link_code",
            )
        return Response(LinkCodeSerializer(link).data)

    @extend_schema(
        summary="Ask for a pairing code",
        description="While the number shows a QR, asks WhatsApp Web for an 8-character code to type on "
        "the phone instead. Counts as one QR attempt. The code arrives as a `session.link_code` event "
        "and on GET.",
        parameters=[_SESSION_UUID],
        request=LinkCodeRequestSerializer,
        responses={
            202: OpenApiResponse(SessionSerializer, description="The number as it is now."),
            400: OpenApiResponse(description="Invalid phone number."),
            404: _NOT_FOUND,
            409: _CONFLICT,
            429: _QR_BUDGET,
        },
    )
    def post(self, request, session_uuid):
        session = self.get_session()  # a foreign or unknown number is a 404 before anything else
        body = LinkCodeRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        session = services.session_request_link_code(
            session=session, phone_number=body.validated_data["phone_number"]
        )
        return Response(SessionSerializer(session).data, status=status.HTTP_202_ACCEPTED)
